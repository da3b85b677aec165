/** GET /api/audit: the audit log, newest first; `before` (an id) pages back, `action` filters. */
import type Router from '@koa/router';
import type { ApiDeps } from '../context.js';
import { listAudit } from '../../storage/audit.js';
import { validationError } from '../../errors.js';

export function auditRoutes(r: Router, d: ApiDeps): void {
  r.get('/api/audit', (ctx) => {
    const q = ctx.query;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw validationError('limit', 'must be an integer from 1 to 1000');
    const before = q.before === undefined ? undefined : Number(q.before);
    if (before !== undefined && (!Number.isInteger(before) || before < 1)) throw validationError('before', 'must be a positive integer');
    const action = typeof q.action === 'string' ? q.action : undefined;
    if (action !== undefined && !/^[a-z_.]{1,64}$/.test(action)) throw validationError('action', 'must be an action name such as domain.upsert');
    ctx.body = listAudit(d.reader, { limit, ...(before ? { before } : {}), ...(action ? { action } : {}) });
  });
}
