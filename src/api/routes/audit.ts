/** GET /api/audit: the audit log, newest first; `before` (an id) pages back, `action` filters. */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../context.js';
import { listAudit } from '../../storage/audit.js';
import { mount, route } from '../contract/route.js';
import { auditOut, auditQuery } from '../schemas/monitor.js';

export const list = route({
  id: 'listAudit',
  method: 'GET',
  path: '/api/audit',
  tag: 'audit',
  summary: 'Every change, who made it and its result, newest first',
  auth: 'api_key',
  query: auditQuery,
  responses: {
    200: {
      description: 'The entries',
      schema: z.array(auditOut),
      example: [{ id: 41, at: '2026-12-01T10:00:00.000Z', actor: 'api', action: 'blocked_ip.add', target: '203.0.113.7', detail: { reason: 'scanner', expires_at: null }, result: 'ok', error: null }],
    },
  },
});

export function auditRoutes(r: Router, d: ApiDeps): void {
  mount(r, list, (ctx, { query: { limit, before, action } }) => {
    ctx.body = listAudit(d.reader, { limit, ...(before ? { before } : {}), ...(action ? { action } : {}) });
  });
}
