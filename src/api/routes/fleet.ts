/**
 * GET /api/fleet: this node's place in a fleet (README "Running several
 * nodes"): its name, whether it reaches PostgreSQL now, the last fleet
 * version it applied, the changes waiting in its outbox (made while the
 * database was away) and the last sync error. `enabled: false` on a single
 * node. The database URL is never shown. `leader`: the node that runs ACME
 * orders, renewals and the fleet-once jobs (fleet/leader.ts); null while
 * nobody leads or this node cannot reach the database (it cannot know).
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../context.js';
import { mount, route } from '../contract/route.js';

export const fleetOut = z.strictObject({
  enabled: z.boolean(),
  node_name: z.string().nullable(),
  connected: z.boolean(),
  last_applied_version: z.number().int().nonnegative(),
  outbox: z.number().int().nonnegative(),
  last_error: z.string().nullable(),
  shared: z.array(z.string()),
  leader: z.string().nullable(),
  is_leader: z.boolean(),
  leader_since: z.string().nullable(),
});

export const fleetStatus = route({
  id: 'fleetStatus',
  method: 'GET',
  path: '/api/fleet',
  tag: 'fleet',
  summary: 'This node in the fleet: connected to PostgreSQL, last version applied, changes queued',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The fleet status (enabled: false on a single node)',
      schema: fleetOut,
      example: { enabled: true, node_name: 'edge-a', connected: true, last_applied_version: 1042, outbox: 0, last_error: null, shared: ['blocked_ips', 'trusted_ips', 'certificates'], leader: 'edge-b', is_leader: false, leader_since: null },
    },
  },
});

export function fleetRoutes(r: Router, d: ApiDeps): void {
  mount(r, fleetStatus, (ctx) => {
    const s = d.fleet?.status();
    const l = d.fleetJobs?.status();
    const leader = { leader: l?.leader ?? null, is_leader: l?.isLeader ?? false, leader_since: l?.since ?? null };
    ctx.body = s
      ? { enabled: true, node_name: s.node, connected: s.connected, last_applied_version: s.lastAppliedVersion, outbox: s.outbox, last_error: s.lastError, shared: ['blocked_ips', 'trusted_ips', ...(l?.certificates ? ['certificates'] : [])], ...leader }
      : { enabled: false, node_name: null, connected: false, last_applied_version: 0, outbox: 0, last_error: null, shared: [], ...leader };
  });
}
