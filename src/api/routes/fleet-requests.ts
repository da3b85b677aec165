/**
 * GET /api/fleet/requests and /api/fleet/requests/:id: certificate orders
 * and renewals queued for the fleet's leader by a node that does not lead
 * (fleet/cert-requests.ts), with their state and outcome. Any node answers
 * (the queue is in PostgreSQL); 503 when this node cannot reach it; 404 on
 * a single node. `queuedAnswer` is the 202 the certificate routes give.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ApiDeps } from '../context.js';
import type { QueuedRequest } from '../../certs/service.js';
import type { CertRequestRow } from '../../storage/pg/cert-requests.js';
import { AppError, describe } from '../../errors.js';
import { mount, route } from '../contract/route.js';
import { requestIdParams, requestList, requestListQuery, requestView } from '../schemas/fleet-requests.js';

export const QUEUED_202 = {
  202: {
    description:
      'In a fleet, this node does not lead it: the request is queued for the leader, which carries it out (the certificate then reaches every node); request_id and status_url follow it (GET /api/fleet/requests/:id). Bad input is still a 400 here and nothing is queued; 503 when this node cannot reach the fleet database.',
  },
} as const;

/** The 202 answer to a request queued for the leader. */
export function queuedAnswer(ctx: Context, q: QueuedRequest): void {
  ctx.status = 202;
  ctx.body = {
    status: 'queued',
    request_id: q.id,
    state: q.state,
    leader: q.leader,
    status_url: `/api/fleet/requests/${q.id}`,
    message: `queued for the fleet leader (${q.leader ?? 'none at this moment: the next one'}), which orders certificates for every node; GET /api/fleet/requests/${q.id} shows its state`,
  };
}

const view = (r: CertRequestRow) => ({
  id: r.id,
  kind: r.kind,
  names: r.names,
  state: r.state,
  requested_by: { node: r.requestedNode, actor: r.requestedActor },
  run_node: r.runNode,
  attempts: r.attempts,
  results: Array.isArray(r.result) ? r.result : null,
  error: r.error,
  created_at: r.createdAt,
  started_at: r.startedAt,
  finished_at: r.finishedAt,
});

const example = { id: 12, kind: 'order', names: ['shop.example.com'], state: 'done', requested_by: { node: 'edge-b', actor: 'api' }, run_node: 'edge-a', attempts: 1, results: [{ domain: 'shop.example.com', names: ['shop.example.com'], status: 'success', serial: '04a1...' }], error: null, created_at: '2026-12-07T10:00:00.000Z', started_at: '2026-12-07T10:00:00.200Z', finished_at: '2026-12-07T10:00:04.900Z' };

export const fleetRequest = route({
  id: 'fleetRequest',
  method: 'GET',
  path: '/api/fleet/requests/:id',
  tag: 'fleet',
  summary: 'A certificate order or renewal queued for the fleet leader: its state and outcome',
  auth: 'api_key',
  params: requestIdParams,
  responses: {
    200: { description: 'The request', schema: requestView, example },
    404: { description: 'No such request (or no fleet)' },
    503: { description: 'This node cannot reach the fleet database' },
  },
});

export const fleetRequests = route({
  id: 'fleetRequests',
  method: 'GET',
  path: '/api/fleet/requests',
  tag: 'fleet',
  summary: 'The newest certificate requests queued for the fleet leader, newest first',
  auth: 'api_key',
  query: requestListQuery,
  responses: {
    200: { description: 'The requests', schema: requestList, example: { requests: [example] } },
    404: { description: 'No fleet' },
    503: { description: 'This node cannot reach the fleet database' },
  },
});

export function fleetRequestRoutes(r: Router, d: ApiDeps): void {
  const queue = () => {
    const q = d.fleetJobs?.requests;
    if (!q) throw new AppError('not_found', 'this node is not in a fleet: certificate requests are carried out at once');
    return q;
  };
  const reach = async <T>(p: () => Promise<T>): Promise<T> => {
    try {
      return await p();
    } catch (e) {
      throw new AppError('unavailable', `the fleet database did not answer: ${describe(e)}`, { cause: e });
    }
  };
  mount(r, fleetRequest, async (ctx, { params: { id } }) => {
    const q = queue();
    const row = await reach(() => q.get(id));
    if (!row) throw new AppError('not_found', `no certificate request ${id} in the fleet`, { field: 'id' });
    ctx.body = view(row);
  });
  mount(r, fleetRequests, async (ctx, { query: { limit } }) => {
    const q = queue();
    ctx.body = { requests: (await reach(() => q.recent(limit))).map(view) };
  });
}
