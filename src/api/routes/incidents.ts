/** Incidents and the monitor's status: GET /api/incidents, GET /api/incidents/:id (with its analyses), GET /api/monitor/status (with the analysis tier's usage and spend). */
import type Router from '@koa/router';
import { body, type ApiDeps } from '../context.js';
import { incidents } from '../../storage/incidents.js';
import { analyses } from '../../storage/analyses.js';
import { AppError, validationError } from '../../errors.js';
import { validateNote } from '../../validate/names.js';
import { SEVERITIES } from '../../pipeline/types.js';

function digits(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[1-9]\d{0,15}$/.test(v)) throw validationError(field, 'must be a positive integer (digits only), given once');
  return Number(v);
}

export function incidentRoutes(r: Router, d: ApiDeps): void {
  r.get('/api/incidents', (ctx) => {
    const q = ctx.query;
    const limit = digits(q.limit, 'limit') ?? 100;
    if (limit > 1000) throw validationError('limit', 'must be an integer from 1 to 1000');
    const before = digits(q.before, 'before');
    const status = q.status;
    if (status !== undefined && status !== 'open' && status !== 'resolved') throw validationError('status', 'must be open or resolved');
    const severity = q.severity;
    if (severity !== undefined && (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity))) throw validationError('severity', `must be one of ${SEVERITIES.join(', ')}`);
    d.monitor?.flush();
    ctx.body = incidents.list(d.reader, { limit, ...(before ? { before } : {}), ...(status ? { status } : {}), ...(severity ? { severity } : {}) });
  });
  r.get('/api/incidents/:id', (ctx) => {
    const id = digits(ctx.params.id, 'id')!;
    d.monitor?.flush();
    const row = incidents.get(d.reader, id);
    if (!row) throw new AppError('not_found', `no incident ${id}`, { field: 'id' });
    ctx.body = { ...row, analyses: analyses.forIncident(d.reader, id) };
  });
  r.get('/api/monitor/status', (ctx) => {
    ctx.body = {
      ...(d.monitor ? d.monitor.status() : { enabled: false }),
      notifications: d.notifications?.stats() ?? null,
      analysis: d.analysis?.status() ?? { enabled: false },
    };
  });
  r.post('/api/notifications/test', (ctx) => {
    const b = body(ctx);
    if (typeof b.channel !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(b.channel)) throw validationError('channel', 'must be the name of a configured channel');
    const message = validateNote(b.message, 'message', 500);
    // Own keys only: "constructor" is no channel.
    if (!d.notifications || !Object.hasOwn(d.cfg.notifications.channels, b.channel)) throw new AppError('not_found', `no notification channel named "${b.channel}"`, { field: 'channel' });
    const queued = d.notifications.notifier.test(b.channel, message ?? undefined);
    ctx.status = 202;
    ctx.body = { status: 'success', channel: b.channel, queued: queued.length, message: 'test message queued; delivery is retried until it succeeds' };
  });
}
