/**
 * GET /api/security/stats: the per-client counters of HAProxy's tracking
 * table, read by field name. A reply that is not a table dump is an error
 * (502), never an empty or made-up list (the original's b6a62e7).
 */
import type Router from '@koa/router';
import type { ApiDeps } from '../context.js';
import { validationError } from '../../errors.js';

const FIELDS = ['conn_cur', 'conn_rate(10000)', 'http_req_rate(10000)', 'http_err_rate(30000)'] as const;

function intParam(v: unknown, field: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw validationError(field, `must be an integer from ${min} to ${max}`);
  return Number(v);
}

export function securityRoutes(r: Router, d: ApiDeps): void {
  r.get('/api/security/stats', async (ctx) => {
    const limit = intParam(ctx.query.limit, 'limit', 1, 1000, 50);
    const minRate = intParam(ctx.query.min_req_rate, 'min_req_rate', 0, 1_000_000_000, 1);
    const table = await d.control.runtime.tables.show('web');
    const sources = table.entries
      .map((e) => {
        for (const f of FIELDS) {
          if (e[f] === undefined) throw validationError('table', `the tracking table lacks the field ${f}`);
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
