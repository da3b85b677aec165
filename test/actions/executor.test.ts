/**
 * The executor (src/pipeline/remediation/executor.ts) on an in-memory database
 * with fake ActionDeps: it carries out enforced records through their unit,
 * approval and revert call the right unit, a unit's failure is recorded, and
 * rounds started in the same millisecond for the same subject decide against
 * each other's records (one enforced block, one proposal; the rest cooldown).
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { actions as store } from '../../src/storage/actions.js';
import { createRemediation, type ActedRound } from '../../src/pipeline/remediation/executor.js';
import type { ActionDeps } from '../../src/pipeline/actions/types.js';
import { parsePolicy } from '../../src/pipeline/policy/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ProtectedAddresses } from '../../src/pipeline/policy/types.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { silentLogger } from '../../src/log.js';
import { makeIncident } from '../helpers/incident.js';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const IP = '203.0.113.77';

const POLICY = parsePolicy(
  `version: 1
rules:
  - name: block-and-propose-reload
    actions:
      - { type: block_ip, mode: enforce }
      - { type: reload_haproxy, from: policy, mode: propose }
      - { type: notify, mode: enforce }
`,
  'test-policy',
);

const cfg = { remediation: { max_actions_per_hour: 1000, max_concurrent_blocks: 1000, cooldown: '10m', max_block_ttl: '30d', protected: [], range_aggregation: { mode: 'propose', threshold: 16, window: '10m', prefix_v4: 24, prefix_v6: 64 }, block_spike: { per_minute: 60, quiet: '1h' } } } as unknown as Config;
const isProtected = Object.assign((_ip: string) => false, { ranges: () => [] as string[], self: () => [] as string[] }) as unknown as ProtectedAddresses;

/** Fake deps: each call is logged and yields to the event loop first, as real HAProxy work does. */
function fakeDeps(fail?: string) {
  const calls: string[] = [];
  const step = async (what: string) => {
    await new Promise((r) => setImmediate(r));
    calls.push(what);
    if (fail && what.startsWith(fail)) throw new Error(`${fail} went wrong`);
  };
  const deps: ActionDeps = {
    ipLists: {
      block: async (actor, ip, _reason, expiresAt) => (await step(`block ${ip} ${actor} ${expiresAt}`), 'blocked (fake)'),
      unblock: (actor, ip) => step(`unblock ${ip} ${actor}`),
      trust: (actor, ip) => step(`trust ${ip} ${actor}`),
      untrust: (actor, ip) => step(`untrust ${ip} ${actor}`),
    },
    serverState: (actor, b, s, state) => step(`server ${b}/${s} ${state} ${actor}`),
    reload: (actor) => step(`reload ${actor}`),
    restart: () => step('restart'),
  };
  return { deps, calls };
}

function setup(fail?: string) {
  const { writer: db } = openDatabase(':memory:');
  const { deps, calls } = fakeDeps(fail);
  const told: ActedRound[] = [];
  const rem = createRemediation({ cfg, log: silentLogger, db, actions: deps, policy: POLICY, isProtected, onActed: (r) => told.push(r) });
  return { db, rem, calls, told };
}

function stored(db: Db, over: Partial<Incident>): Incident {
  const inc = makeIncident({ id: 0, subject: { type: 'ip', value: IP }, actions: [{ type: 'block_ip', ttl_s: 3600 }, { type: 'notify' }], ...over }, NOW);
  inc.id = incidents.write(db, [inc])[0]!;
  return inc;
}

test('an enforced block is carried out by its unit and marked done with its expiry; the proposal waits', async (t) => {
  t.mock.method(Date, 'now', () => NOW);
  const { db, rem, calls, told } = setup();
  const inc = stored(db, {});
  const out = await rem.onIncident(inc);
  const block = out.find((r) => r.action === 'block_ip');
  assert.equal(block?.status, 'done');
  assert.equal(block?.result, 'blocked (fake)');
  assert.equal(block?.expiresAt, NOW + 3600_000);
  assert.deepEqual(calls, [`block ${IP} rule:block-and-propose-reload ${new Date(NOW + 3600_000).toISOString()}`]);
  assert.equal(out.find((r) => r.action === 'reload_haproxy')?.status, 'proposed');
  assert.equal(out.find((r) => r.action === 'notify')?.status, 'done');
  assert.deepEqual(store.get(db, block!.id), block);
  // Told of the block and the proposal, not of the rule's own notify.
  assert.deepEqual(told.flatMap((r) => r.records.map((x) => x.action)).sort(), ['block_ip', 'reload_haproxy']);
});

test('approving a proposal right after it was made runs its unit (its own proposal is no cooldown); reverting a block runs the inverse unit', async (t) => {
  t.mock.method(Date, 'now', () => NOW);
  const { db, rem, calls } = setup();
  const out = await rem.onIncident(stored(db, {}));
  const proposal = out.find((r) => r.action === 'reload_haproxy')!;
  const approved = await rem.approve(proposal.id, 'alice');
  assert.equal(approved.status, 'done', approved.result ?? '');
  assert.equal(approved.reviewedBy, 'alice');
  assert.equal(calls.at(-1), 'reload rule:block-and-propose-reload');

  const block = out.find((r) => r.action === 'block_ip')!;
  const { reverted, inverse } = await rem.revert(block.id, 'alice');
  assert.equal(reverted.status, 'reverted');
  assert.equal(inverse.action, 'unblock_ip');
  assert.equal(inverse.status, 'done');
  assert.equal(inverse.revertsId, block.id);
  assert.equal(calls.at(-1), `unblock ${IP} person:alice`);
  await assert.rejects(rem.revert(proposal.id, 'alice'), /reload_haproxy has no inverse/);
});

test("a unit's failure is recorded as failed with its message, not thrown", async (t) => {
  t.mock.method(Date, 'now', () => NOW);
  const { db, rem, told } = setup('block');
  const out = await rem.onIncident(stored(db, {}));
  const block = out.find((r) => r.action === 'block_ip')!;
  assert.equal(block.status, 'failed');
  assert.match(block.result ?? '', /block went wrong/);
  assert.equal(store.get(db, block.id)?.status, 'failed');
  assert.ok(told.some((r) => r.records.some((x) => x.id === block.id && x.status === 'failed')));
});

test('rounds for one subject started in the same millisecond: one enforced block, one proposal, the rest refused by the cooldown', async () => {
  const clock = mock.method(Date, 'now', () => NOW);
  try {
    const { db, rem, calls } = setup();
    const N = 10;
    const incs = Array.from({ length: N }, (_, i) => stored(db, { rule: `rule-${i}` }));
    const rounds = await Promise.all(incs.map((inc) => rem.onIncident(inc)));
    const all = rounds.flat();
    const of = (action: string) => all.filter((r) => r.action === action);

    const blocks = of('block_ip');
    assert.equal(blocks.length, N, 'every round recorded its block decision');
    assert.deepEqual(blocks.filter((r) => r.mode === 'enforce').map((r) => r.status), ['done'], 'exactly one block enforced');
    assert.equal(blocks.filter((r) => r.mode === 'refused' && /guardrail cooldown/.test(r.reason)).length, N - 1);

    const reloads = of('reload_haproxy');
    assert.equal(reloads.filter((r) => r.mode === 'propose').length, 1, 'exactly one reload proposed');
    assert.equal(reloads.filter((r) => r.mode === 'refused' && /guardrail cooldown/.test(r.reason)).length, N - 1);

    // A notification is no change: each round's is done.
    assert.equal(of('notify').filter((r) => r.status === 'done').length, N);
    assert.equal(calls.filter((c) => c.startsWith('block ')).length, 1, 'HAProxy was asked to block once');
    // The store agrees with what the rounds returned.
    const rows = store.list(db, { limit: 1000 });
    assert.equal(rows.length, 3 * N);
    assert.equal(rows.filter((r) => (r.mode === 'enforce' || r.mode === 'propose') && r.action !== 'notify').length, 2);
  } finally {
    clock.mock.restore();
  }
});
