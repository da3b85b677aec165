/**
 * GET /api/security/stats: the per-client counters of HAProxy's tracking
 * table, read by field name. A reply that is not a table dump is an error
 * (502), never an empty or made-up list (the original's b6a62e7).
 */
import type Router from '@koa/router';
import type { ApiDeps } from '../context.js';
import { AppError } from '../../errors.js';
import { mount, route } from '../contract/route.js';
import { securityStatsOk, securityStatsQuery } from '../schemas/operations.js';

const FIELDS = ['conn_cur', 'conn_rate(10000)', 'http_req_rate(10000)', 'http_err_rate(30000)'] as const;

export const stats = route({
  id: 'securityStats',
  method: 'GET',
  path: '/api/security/stats',
  tag: 'blocks',
  summary: "The busiest clients in HAProxy's tracking table, by request rate",
  auth: 'api_key',
  query: securityStatsQuery,
  responses: {
    200: {
      description: 'The table',
      schema: securityStatsOk,
      example: {
        status: 'success',
        table: 'web',
        table_size: 1048576,
        total_tracked_ips: 2,
        sources_with_activity: 1,
        counters: ['conn_cur', 'conn_rate', 'http_req_rate', 'http_err_rate'],
        counter_windows_ms: { conn_rate: 10000, http_req_rate: 10000, http_err_rate: 30000 },
        returned: 1,
        min_req_rate: 1,
        sources: [{ ip: '203.0.113.7', conn_cur: 1, conn_rate: 14, http_req_rate: 120, http_err_rate: 98 }],
      },
    },
    502: { description: 'HAProxy answered something that is not a table dump' },
  },
});

export function securityRoutes(r: Router, d: ApiDeps): void {
  mount(r, stats, async (ctx, { query: { limit, min_req_rate: minRate } }) => {
    const table = await d.control.runtime.tables.show('web');
    const sources = table.entries
      .map((e) => {
        for (const f of FIELDS) {
          if (e[f] === undefined) throw new AppError('runtime', `the tracking table lacks the field ${f}`);
        }
        return {
          ip: (e.key ?? '').replace(/^::ffff:/, ''),
          conn_cur: Number(e['conn_cur']),
          conn_rate: Number(e['conn_rate(10000)']),
          http_req_rate: Number(e['http_req_rate(10000)']),
          http_err_rate: Number(e['http_err_rate(30000)']),
        };
      })
      .filter((s) => s.http_req_rate >= minRate)
      .sort((a, b) => b.http_req_rate - a.http_req_rate);
    ctx.body = {
      status: 'success',
      table: 'web',
      table_size: Number(table.header.size ?? 0),
      total_tracked_ips: Number(table.header.used ?? table.entries.length),
      sources_with_activity: sources.length,
      counters: ['conn_cur', 'conn_rate', 'http_req_rate', 'http_err_rate'],
      counter_windows_ms: { conn_rate: 10000, http_req_rate: 10000, http_err_rate: 30000 },
      returned: Math.min(limit, sources.length),
      min_req_rate: minRate,
      sources: sources.slice(0, limit),
    };
  });
}
