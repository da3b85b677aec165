/**
 * GET /api/traffic: HTTP requests, 4xx and 5xx per second over the last
 * hour, from HAProxy's frontend counters sampled by the daemon every 10 s
 * (console/traffic.ts); the overview chart reads it. In memory: a restart
 * starts it again. A sample HAProxy could not answer is null, not zero.
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../context.js';
import { mount, route } from '../contract/route.js';

const rate = z.number().nonnegative().nullable();
export const trafficOut = z.strictObject({
  interval_seconds: z.number().int().positive(),
  points: z.array(z.strictObject({ at: z.iso.datetime({ offset: true }), requests_per_second: rate, responses_4xx_per_second: rate, responses_5xx_per_second: rate })),
});

export const traffic = route({
  id: 'traffic',
  method: 'GET',
  path: '/api/traffic',
  tag: 'monitor',
  summary: 'Requests, 4xx and 5xx per second over the last hour (10 s samples of HAProxy\'s frontend counters)',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The samples, oldest first',
      schema: trafficOut,
      example: { interval_seconds: 10, points: [{ at: '2026-12-07T10:00:10.000Z', requests_per_second: 12.4, responses_4xx_per_second: 0.3, responses_5xx_per_second: 0 }] },
    },
  },
});

export function trafficRoutes(r: Router, d: ApiDeps): void {
  mount(r, traffic, (ctx) => {
    ctx.body = {
      interval_seconds: d.traffic?.intervalSeconds ?? 10,
      points: (d.traffic?.points() ?? []).map((p) => ({
        at: new Date(p.t * 1000).toISOString(),
        requests_per_second: p.requests,
        responses_4xx_per_second: p.responses4xx,
        responses_5xx_per_second: p.responses5xx,
      })),
    };
  });
}
