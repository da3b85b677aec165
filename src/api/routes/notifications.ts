/**
 * GET /api/notifications: the configured notification channels (name and
 * type only: never an address, a URL, a header or a secret file) and each
 * channel's outbox counts (pending, delivered, failed attempts, dead), with
 * the totals GET /api/monitor/status reports. The console's notifications
 * page reads it; POST /api/notifications/test (routes/incidents.ts) sends.
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../context.js';
import type { Db } from '../../storage/db.js';
import { metricsQueries } from '../../storage/metrics.js';
import { mount, route } from '../contract/route.js';

const counts = z.strictObject({
  pending: z.number().int().meta({ description: 'Waiting for a first or a further attempt' }),
  delivered: z.number().int(),
  failed_attempts: z.number().int().meta({ description: 'Sends that failed (a send in flight counts until it ends)' }),
  dead: z.number().int().meta({ description: 'Given up (notifications.outbox.give_up_after)' }),
});

const channelsOut = z.strictObject({
  enabled: z.boolean().meta({ description: 'notifications.enabled: false keeps messages queued, never sent' }),
  channels: z.array(
    z.strictObject({
      name: z.string(),
      type: z.enum(['email', 'webhook']),
      outbox: counts,
    }),
  ),
  totals: counts.nullable().meta({ description: 'Every channel together (null when the notifications unit is not running)' }),
});

export const listChannels = route({
  id: 'listNotificationChannels',
  method: 'GET',
  path: '/api/notifications',
  tag: 'monitor',
  summary: 'The notification channels (names and types; never a secret, a URL or a header) and their outbox counts',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The channels',
      schema: channelsOut,
      example: {
        enabled: true,
        channels: [
          { name: 'ops-mail', type: 'email', outbox: { pending: 0, delivered: 40, failed_attempts: 1, dead: 0 } },
          { name: 'chat', type: 'webhook', outbox: { pending: 1, delivered: 12, failed_attempts: 0, dead: 0 } },
        ],
        totals: { pending: 1, delivered: 52, failed_attempts: 1, dead: 0 },
      },
    },
  },
});

/** Each channel's outbox counts (the query the metrics use: storage/metrics.ts). */
function countsByChannel(db: Db): Map<string, z.infer<typeof counts>> {
  return new Map(
    metricsQueries.outbox(db).map((r) => [r.channel, { pending: r.pending ?? 0, delivered: r.delivered ?? 0, failed_attempts: Math.max(0, r.failed_attempts ?? 0), dead: r.dead ?? 0 }]),
  );
}

export function notificationRoutes(r: Router, d: ApiDeps): void {
  mount(r, listChannels, (ctx) => {
    const by = countsByChannel(d.reader);
    const none = { pending: 0, delivered: 0, failed_attempts: 0, dead: 0 };
    const s = d.notifications?.stats() ?? null;
    ctx.body = {
      enabled: d.cfg.notifications.enabled,
      // Only the name and the type: a channel's URL, address, headers and secret files stay in the config.
      channels: Object.entries(d.cfg.notifications.channels).map(([name, c]) => ({ name, type: c.type, outbox: by.get(name) ?? none })),
      totals: s ? { pending: s.pending, delivered: s.delivered, failed_attempts: s.failedAttempts, dead: s.dead } : null,
    };
  });
}
