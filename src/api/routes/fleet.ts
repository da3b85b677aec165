/**
 * GET /api/fleet: this node's place in a fleet (README "Running several
 * nodes"): its name, whether it reaches PostgreSQL now, the last fleet
 * version it applied, the changes waiting in its outbox (made while the
 * database was away), the last sync error, the action records waiting to be
 * written, and the fleet's recent conflicts (a change that overwrote another
 * node's newer one: the last writer won, the loser is named). `enabled:
 * false` on a single node. The database URL is never shown. `leader`: the
 * node that runs ACME orders, renewals and the fleet-once jobs
 * (fleet/leader.ts); null while nobody leads or this node cannot reach the
 * database (it cannot know).
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../context.js';
import { mount, route } from '../contract/route.js';

const iso = z.iso.datetime({ offset: true });

export const conflictOut = z.strictObject({
  key: z.string().meta({ description: 'What was overwritten: blocked:<ip>, trusted:<scope>:<ip>, action:<fleet id>, ...' }),
  winner_node: z.string(),
  winner_version: z.number().int(),
  loser_node: z.string(),
  loser_version: z.number().int(),
  at: iso,
});

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
  actions_pending: z.number().int().nonnegative().meta({ description: 'Action records changed on this node and not yet written to PostgreSQL' }),
  conflicts: z.array(conflictOut).meta({ description: 'The fleet\'s most recent conflicts, newest first (as last read from PostgreSQL)' }),
});

export const fleetStatus = route({
  id: 'fleetStatus',
  method: 'GET',
  path: '/api/fleet',
  tag: 'fleet',
  summary: 'This node in the fleet: connected to PostgreSQL, last version applied, changes queued, recent conflicts',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The fleet status (enabled: false on a single node)',
      schema: fleetOut,
      example: {
        enabled: true,
        node_name: 'edge-a',
        connected: true,
        last_applied_version: 1042,
        outbox: 0,
        last_error: null,
        shared: ['blocked_ips', 'trusted_ips', 'trusted_proxies', 'domains', 'tcp_services', 'server_states', 'certificates', 'actions'],
        leader: 'edge-b',
        is_leader: false,
        leader_since: null,
        actions_pending: 0,
        conflicts: [{ key: 'blocked:203.0.113.7', winner_node: 'edge-b', winner_version: 1040, loser_node: 'edge-a', loser_version: 1038, at: '2026-12-01T10:00:00.000Z' }],
      },
    },
  },
});

export function fleetRoutes(r: Router, d: ApiDeps): void {
  mount(r, fleetStatus, (ctx) => {
    const s = d.fleet?.status();
    const l = d.fleetJobs?.status();
    const leader = { leader: l?.leader ?? null, is_leader: l?.isLeader ?? false, leader_since: l?.since ?? null };
    const a = d.fleetActions;
    ctx.body = s
      ? {
          enabled: true,
          node_name: s.node,
          connected: s.connected,
          last_applied_version: s.lastAppliedVersion,
          outbox: s.outbox,
          last_error: s.lastError,
          shared: ['blocked_ips', 'trusted_ips', 'trusted_proxies', 'domains', 'tcp_services', 'server_states', ...(l?.certificates ? ['certificates'] : []), ...(a ? ['actions'] : [])],
          ...leader,
          actions_pending: a?.status().pending ?? 0,
          conflicts: (a?.conflicts() ?? []).map((c) => ({ key: c.key, winner_node: c.winnerNode, winner_version: c.winnerVersion, loser_node: c.loserNode, loser_version: c.loserVersion, at: c.at })),
        }
      : { enabled: false, node_name: null, connected: false, last_applied_version: 0, outbox: 0, last_error: null, shared: [], ...leader, actions_pending: 0, conflicts: [] };
  });
}
