/**
 * The executor in a fleet (src/pipeline/remediation/executor.ts with its
 * `fleet` dependency) on an in-memory database with fake ActionDeps and
 * records of another node applied as the fleet sync applies them
 * (storage/fleet-actions.ts):
 * - every new record gets a fleet id and is marked for PostgreSQL; the sync is woken;
 * - another node's records are listed with its node, never read by this
 *   node's policy (cooldown, caps), and carried out here only when their
 *   effect is shared (an address), judged by this node's guardrails;
 * - on a single node nothing of this shows (no fleet id, node null).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { fleetActions, type RemoteAction } from '../../src/storage/fleet-actions.js';
import { createRemediation } from '../../src/pipeline/remediation/executor.js';
import type { ActionDeps } from '../../src/pipeline/actions/types.js';
import { parsePolicy } from '../../src/pipeline/policy/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ProtectedAddresses } from '../../src/pipeline/policy/types.js';
import { silentLogger } from '../../src/log.js';
import { makeIncident } from '../helpers/incident.js';
import { isAppError } from '../../src/errors.js';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const IP = '203.0.113.77';
const PROTECTED = '198.51.100.9';

const POLICY = parsePolicy(
  `version: 1
rules:
  - name: block
    actions:
      - { type: block_ip, mode: enforce }
`,
  'test-policy',
);
const cfg = { remediation: { max_actions_per_hour: 1000, max_concurrent_blocks: 1000, cooldown: '10m', max_block_ttl: '30d', protected: [], range_aggregation: { mode: 'off', threshold: 16, window: '10m', prefix_v4: 24, prefix_v6: 64 }, block_spike: { per_minute: 60, quiet: '1h' } } } as unknown as Config;
const isProtected = Object.assign((ip: string) => ip === PROTECTED, { ranges: () => [`${PROTECTED}/32`], self: () => [] as string[] }) as unknown as ProtectedAddresses;

function setup(fleet: boolean) {
  const { writer: db } = openDatabase(':memory:');
  const calls: string[] = [];
  const deps: ActionDeps = {
    ipLists: {
      block: async (actor, ip) => (calls.push(`block ${ip} ${actor}`), 'blocked (fake)'),
      unblock: async (actor, ip) => void calls.push(`unblock ${ip} ${actor}`),
      trust: async (actor, ip) => void calls.push(`trust ${ip} ${actor}`),
      untrust: async (actor, ip) => void calls.push(`untrust ${ip} ${actor}`),
    },
    serverState: async (actor, b, s, state) => void calls.push(`server ${b}/${s} ${state} ${actor}`),
    reload: async (actor) => void calls.push(`reload ${actor}`),
    restart: async () => void calls.push('restart'),
  };
  let woken = 0;
  const rem = createRemediation({ cfg, log: silentLogger, db, actions: deps, policy: POLICY, isProtected, ...(fleet ? { fleet: { node: 'node-a', changed: () => void woken++ } } : {}) });
  return { db, rem, calls, woken: () => woken };
}

const remote = (over: Partial<RemoteAction>): RemoteAction => ({
  fleetId: randomUUID(),
  node: 'node-b',
  version: 3,
  createdAt: NOW - 1000,
  updatedAt: NOW - 1000,
  action: 'block_ip',
  target: IP,
  ttlS: 3600,
  expiresAt: NOW + 3_599_000,
  decidedBy: 'rule',
  actor: 'block',
  mode: 'enforce',
  status: 'done',
  reason: 'policy rule block',
  analysisSummary: null,
  result: 'blocked',
  reviewedBy: null,
  revertsFleetId: null,
  ...over,
});

test('in a fleet: new records get a fleet id and are marked for PostgreSQL; another node\'s are listed with its node and left out of this node\'s policy', async (t) => {
  t.mock.method(Date, 'now', () => NOW);
  const { db, rem, woken } = setup(true);
  // Node B blocked IP a moment ago: this node's cooldown does not see it (B's decisions are B's), so A decides for itself.
  assert.equal(fleetActions.applyRemote(db, remote({}), 'node-a'), 'inserted');
  const inc = makeIncident({ id: 0, subject: { type: 'ip', value: IP }, actions: [{ type: 'block_ip', ttl_s: 3600 }] }, NOW);
  inc.id = incidents.write(db, [inc])[0]!;
  const [mine] = await rem.onIncident(inc);
  assert.equal(mine!.status, 'done', 'not refused by a cooldown on B\'s action');
  await new Promise((r) => setImmediate(r));
  assert.ok(woken() > 0, 'the sync was woken');
  const list = rem.list({ limit: 10 });
  assert.deepEqual(list.map((a) => [a.action, a.node, a.status]), [['block_ip', 'node-a', 'done'], ['block_ip', 'node-b', 'done']]);
  assert.match(list[0]!.fleetId!, /^[0-9a-f-]{36}$/);
  const dirty = fleetActions.dirty(db, 10);
  assert.deepEqual(dirty.map((d) => [d.record.id, d.record.fleetId]), [[list[0]!.id, list[0]!.fleetId]], 'only this node\'s new record waits for PostgreSQL');
  fleetActions.markWritten(db, dirty[0]!.record.id, dirty[0]!.dirty, 9);
  assert.equal(fleetActions.count(db), 0);
});

test('in a fleet: another node\'s block is reverted here with this node\'s guardrails; a server action of another node is refused (409)', async (t) => {
  t.mock.method(Date, 'now', () => NOW);
  const { db, rem, calls } = setup(true);
  const bBlock = remote({});
  fleetActions.applyRemote(db, bBlock, 'node-a');
  const id = rem.list({ limit: 10 })[0]!.id;
  const out = await rem.revert(id, 'alice');
  assert.deepEqual([out.reverted.status, out.reverted.node, out.reverted.fleetId], ['reverted', 'node-b', bBlock.fleetId]);
  assert.deepEqual([out.inverse.action, out.inverse.node, out.inverse.revertsId, out.inverse.status], ['unblock_ip', 'node-a', id, 'done']);
  assert.deepEqual(calls, [`unblock ${IP} person:alice`], 'carried out here');
  // Both wait for PostgreSQL: B's record with its new status, the inverse pointing at B's record by fleet id.
  const dirty = fleetActions.dirty(db, 10);
  assert.deepEqual(dirty.map((d) => [d.record.fleetId, d.record.status, d.revertsFleetId]).sort(), [[bBlock.fleetId, 'reverted', null], [out.inverse.fleetId, 'done', bBlock.fleetId]].sort());
  // A later write by B of the same record while this node's change is not written yet is left for the write (last writer wins there).
  assert.equal(fleetActions.applyRemote(db, { ...bBlock, version: 10, status: 'expired' }, 'node-a'), 'pending');
  assert.equal(rem.get(id).status, 'reverted');

  // B unblocked the protected address; reverting that here would block it: this node's guardrails refuse.
  fleetActions.applyRemote(db, remote({ action: 'unblock_ip', target: PROTECTED, ttlS: null, expiresAt: null, decidedBy: 'person', actor: 'bob' }), 'node-a');
  const unblockId = rem.list({ limit: 10 }).find((a) => a.target === PROTECTED)!.id;
  await assert.rejects(rem.revert(unblockId, 'alice'), (e) => isAppError(e) && e.kind === 'policy_denied' && /protected/.test(e.message));
  assert.equal(rem.get(unblockId).status, 'done', 'nothing changed');

  // B disabled one of its servers: that is B's HAProxy; revert it on B.
  fleetActions.applyRemote(db, remote({ action: 'disable_server', target: 'shop/s1', ttlS: null, expiresAt: null }), 'node-a');
  const serverId = rem.list({ limit: 10 }).find((a) => a.action === 'disable_server')!.id;
  await assert.rejects(rem.revert(serverId, 'alice'), (e) => isAppError(e) && e.kind === 'conflict' && /node node-b took it/.test(e.message));
  assert.equal(calls.length, 1, 'nothing else was carried out');
  // A record of this node that comes back through the fleet (another node changed it) is this node's own.
  const own = remote({ node: 'node-a', fleetId: randomUUID() });
  fleetActions.applyRemote(db, own, 'node-a');
  assert.equal(rem.list({ limit: 10 }).find((a) => a.fleetId === own.fleetId)!.node, 'node-a');
});

test('on a single node: no fleet id, node null, nothing marked', async (t) => {
  t.mock.method(Date, 'now', () => NOW);
  const { db, rem } = setup(false);
  const inc = makeIncident({ id: 0, subject: { type: 'ip', value: IP }, actions: [{ type: 'block_ip', ttl_s: 3600 }] }, NOW);
  inc.id = incidents.write(db, [inc])[0]!;
  await rem.onIncident(inc);
  const [a] = rem.list({ limit: 10 });
  assert.deepEqual([a!.fleetId, a!.node], [null, null]);
  await rem.revert(a!.id, 'alice');
  assert.equal(fleetActions.count(db), 0);
});
