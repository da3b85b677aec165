/** GET /api/audit: the audit log, newest first; `before` (an id) pages back, `action` filters. */
import type Router from '@koa/router';
import type { ApiDeps } from '../context.js';
import { listAudit } from '../../storage/audit.js';
import { validationError } from '../../errors.js';

export function auditRoutes(r: Router, d: ApiDeps): void {
  r.get('/api/audit', (ctx) => {
    const q = ctx.query;
    const digits = (v: unknown, field: string): number | undefined => {
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || !/^[1-9]\d{0,15}$/.test(v)) throw validationError(field, 'must be a positive integer (digits only), given once');
      return Number(v);
    };
    const limit = digits(q.limit, 'limit') ?? 100;
    if (limit > 1000) throw validationError('limit', 'must be an integer from 1 to 1000');
    const before = digits(q.before, 'before');
    const action = q.action;
    if (action !== undefined && (typeof action !== 'string' || !/^[a-z_.]{1,64}$/.test(action))) throw validationError('action', 'must be one action name such as domain.upsert');
    ctx.body = listAudit(d.reader, { limit, ...(before ? { before } : {}), ...(action ? { action } : {}) });
  });
}
