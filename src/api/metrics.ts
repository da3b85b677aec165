/**
 * GET /metrics: the Prometheus text exposition (src/metrics/metrics.ts).
 *
 * Contract: answered before the API's own authentication, so that the
 * read-only metrics token (api.metrics_token_file or the generated
 * <state_dir>/metrics-token) opens this path and nothing else; the API key
 * opens it too. Under `api.auth: none` (loopback only) it is open. Any other
 * method is a 405 with `Allow: GET, HEAD`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Metrics } from '../metrics/metrics.js';
import { envelope } from './errors.js';
import { route } from './contract/route.js';

/** Described for the OpenAPI document; served by the middleware below (before the API's own auth). */
export const metricsRoute = route({
  id: 'metrics',
  method: 'GET',
  path: '/metrics',
  tag: 'health',
  summary: 'Prometheus metrics (text exposition 0.0.4): opened by the read-only metrics token or the API key',
  auth: 'metrics_token',
  responses: {
    200: {
      description: 'The metrics',
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      example: '# HELP haproxy_manager_haproxy_up 1 when HAProxy serves\n# TYPE haproxy_manager_haproxy_up gauge\nhaproxy_manager_haproxy_up 1\n',
    },
  },
});

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsMiddleware(metrics: Metrics, tokens: (string | null)[]) {
  const wants = tokens.filter((t): t is string => t !== null).map(digest);
  const open = tokens.every((t) => t === null);
  return async (ctx: Context, next: Next) => {
    if (ctx.path !== '/metrics') return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = envelope('method_not_allowed', `${ctx.method} is not allowed on /metrics (GET, HEAD)`, { detail: ['GET', 'HEAD'] });
      return;
    }
    if (!open) {
      const m = /^Bearer (.+)$/.exec(ctx.get('authorization'));
      const got = m ? digest(m[1]!) : null;
      // Every configured token is compared, so the time does not tell which one matched.
      let ok = false;
      for (const w of wants) if (got && timingSafeEqual(got, w)) ok = true;
      if (!ok) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer');
        ctx.body = envelope('unauthorized', 'GET /metrics needs the metrics token or the API key (Authorization: Bearer <token>)');
        return;
      }
    }
    ctx.set('Content-Type', metrics.contentType);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await metrics.render();
  };
}
