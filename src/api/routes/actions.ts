/** Remediation actions: GET /api/actions, GET /api/actions/:id, POST /api/actions/:id/approve|reject|revert. */
import type Router from '@koa/router';
import { actorOf, body, type ApiDeps } from '../context.js';
import { AppError, validationError } from '../../errors.js';
import { validateNote } from '../../validate/names.js';
import { ACTION_STATUSES } from '../../pipeline/policy/actions.js';

function idOf(v: unknown): number {
  if (typeof v !== 'string' || !/^[1-9]\d{0,15}$/.test(v)) throw validationError('id', 'must be a positive integer');
  return Number(v);
}

export function actionRoutes(r: Router, d: ApiDeps): void {
  const rem = () => {
    if (!d.remediation) throw new AppError('unavailable', 'remediation is not running (the log monitor is disabled)');
    return d.remediation;
  };
  r.get('/api/actions', (ctx) => {
    const q = ctx.query;
    const limit = q.limit === undefined ? 100 : typeof q.limit === 'string' && /^[1-9]\d{0,3}$/.test(q.limit) && Number(q.limit) <= 1000 ? Number(q.limit) : NaN;
    if (Number.isNaN(limit)) throw validationError('limit', 'must be an integer from 1 to 1000');
    const status = q.status;
    if (status !== undefined && (typeof status !== 'string' || !(ACTION_STATUSES as readonly string[]).includes(status))) throw validationError('status', `must be one of ${ACTION_STATUSES.join(', ')}`);
    ctx.body = rem().list({ limit, ...(status ? { status } : {}) });
  });
  r.get('/api/actions/:id', (ctx) => {
    ctx.body = rem().get(idOf(ctx.params.id));
  });
  // Input first: a bad id or note is a 400 whether or not remediation is running.
  r.post('/api/actions/:id/approve', async (ctx) => {
    const id = idOf(ctx.params.id);
    ctx.body = await rem().approve(id, actorOf(ctx));
  });
  r.post('/api/actions/:id/reject', (ctx) => {
    const id = idOf(ctx.params.id);
    const note = validateNote(body(ctx).note, 'note');
    ctx.body = rem().reject(id, actorOf(ctx), note ?? undefined);
  });
  r.post('/api/actions/:id/revert', async (ctx) => {
    const id = idOf(ctx.params.id);
    ctx.body = await rem().revert(id, actorOf(ctx));
  });
}
