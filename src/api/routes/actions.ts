/** Remediation actions: GET /api/actions, GET /api/actions/:id, POST /api/actions/:id/approve|reject|revert. */
import type Router from '@koa/router';
import { z } from 'zod';
import { actorOf, type ApiDeps } from '../context.js';
import { AppError } from '../../errors.js';
import { mount, route } from '../contract/route.js';
import { actionOut, actionQuery, idParams, rejectBody, revertOut } from '../schemas/monitor.js';

const example = {
  id: 7,
  created_at: '2026-12-01T10:00:00.000Z',
  updated_at: '2026-12-01T10:00:00.050Z',
  incident_id: 3,
  action: 'block_ip',
  target: '203.0.113.7',
  ttl_s: 3600,
  expires_at: '2026-12-01T11:00:00.050Z',
  decided_by: 'rule',
  actor: 'block-clear-attackers',
  mode: 'enforce',
  status: 'done',
  reason: 'block-clear-attackers: scanners that hit known secrets',
  analysis_summary: null,
  result: 'blocked',
  reviewed_by: null,
  reverts_id: null,
  fleet_id: null,
  node: null,
};
const unavailable = { 503: { description: 'Remediation is not running (the log monitor is disabled)' } };
const transitions = {
  403: { description: 'Refused by the guardrails when judged again' },
  404: { description: 'No such action' },
  409: { description: 'Not allowed from its current status (only a proposal is approved or rejected; only a done action is reverted), or another node\'s action whose effect is that node\'s own (a server state, a reload): act on it there' },
};

export const list = route({
  id: 'listActions',
  method: 'GET',
  path: '/api/actions',
  tag: 'actions',
  summary: 'Remediation actions, newest first: done, proposed, refused, with who decided and why; in a fleet, every node\'s, each with the node that took it',
  auth: 'api_key',
  query: actionQuery,
  responses: { 200: { description: 'The actions', schema: z.array(actionOut), example: [example] }, ...unavailable },
});
export const get = route({
  id: 'getAction',
  method: 'GET',
  path: '/api/actions/:id',
  tag: 'actions',
  summary: 'One action',
  auth: 'api_key',
  params: idParams,
  responses: { 200: { description: 'The action', schema: actionOut, example }, 404: { description: 'No such action' }, ...unavailable },
});
export const approve = route({
  id: 'approveAction',
  method: 'POST',
  path: '/api/actions/:id/approve',
  tag: 'actions',
  summary: 'Approve a proposed action: the guardrails judge it again, then it is carried out',
  auth: 'api_key',
  params: idParams,
  responses: { 200: { description: 'The action after approval (done, or failed with the reason)', schema: actionOut, example: { ...example, decided_by: 'llm', reviewed_by: 'api' } }, ...transitions, ...unavailable },
});
export const reject = route({
  id: 'rejectAction',
  method: 'POST',
  path: '/api/actions/:id/reject',
  tag: 'actions',
  summary: 'Reject a proposed action',
  auth: 'api_key',
  params: idParams,
  body: rejectBody,
  bodyExample: { note: 'a known crawler' },
  responses: { 200: { description: 'The rejected action', schema: actionOut, example: { ...example, status: 'rejected', reviewed_by: 'api', result: 'a known crawler' } }, ...transitions, ...unavailable },
});
export const revert = route({
  id: 'revertAction',
  method: 'POST',
  path: '/api/actions/:id/revert',
  tag: 'actions',
  summary: 'Undo a done action (unblock what was blocked, and so on), recorded as an inverse action',
  auth: 'api_key',
  params: idParams,
  responses: {
    200: { description: 'The reverted action and its inverse', schema: revertOut, example: { reverted: { ...example, status: 'reverted', reviewed_by: 'api' }, inverse: { ...example, id: 8, action: 'unblock_ip', ttl_s: null, expires_at: null, decided_by: 'person', actor: 'api', reverts_id: 7 } } },
    ...transitions,
    ...unavailable,
  },
});

export function actionRoutes(r: Router, d: ApiDeps): void {
  // Input first (mount validates before the handler): a bad id or note is a 400 whether or not remediation is running.
  const rem = () => {
    if (!d.remediation) throw new AppError('unavailable', 'remediation is not running (the log monitor is disabled)');
    return d.remediation;
  };
  mount(r, list, (ctx, { query: { limit, status, incident_id: incidentId } }) => {
    ctx.body = rem().list({ limit, ...(status ? { status } : {}), ...(incidentId !== undefined ? { incidentId } : {}) });
  });
  mount(r, get, (ctx, { params: { id } }) => {
    ctx.body = rem().get(id);
  });
  mount(r, approve, async (ctx, { params: { id } }) => {
    ctx.body = await rem().approve(id, actorOf(ctx));
  });
  mount(r, reject, (ctx, { params: { id }, body: { note } }) => {
    ctx.body = rem().reject(id, actorOf(ctx), note ?? undefined);
  });
  mount(r, revert, async (ctx, { params: { id } }) => {
    ctx.body = await rem().revert(id, actorOf(ctx));
  });
}
