/**
 * The fleet change log in a real PostgreSQL (src/storage/pg/): migrations run
 * once when several nodes connect at once; a resent change (same id) is not
 * doubled; versions are in commit order; last writer wins, and overwriting a
 * key another node set (or unset) after the writer last looked is recorded
 * as a conflict, while overwriting one it had seen is not; a change with a
 * later one for its key is marked superseded for nodes catching up.
 * Configuration changes (domains, proxies) in a batch of over a thousand:
 * versions in order, bodies back as written (quotes, backslashes, non-ASCII),
 * each key's state row from its last change, conflicts as for addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migratedPool, startTestPostgres } from '../helpers/postgres.js';
import { migratePg } from '../../src/storage/pg/schema.js';
import { pgMigrations } from '../../src/storage/pg/migrations/index.js';
import { changeCounts, changesAfter, pruneSupersededChanges, sharedBlocked, writeChanges, type ChangeToWrite, type FleetChange, type IpChange } from '../../src/storage/pg/changes.js';
import { sharedDomains, type DomainWire } from '../../src/storage/pg/config-changes.js';
import { domainBody } from '../helpers/harness.js';

const block = (ip: string, expiresAt: string | null = null): IpChange => ({ kind: 'block', ip, reason: 'r', blockedBy: 'test', expiresAt });
const item = (change: FleetChange, baseVersion = 0, changeId = randomUUID()): ChangeToWrite => ({ changeId, change, baseVersion, madeAt: new Date().toISOString() });

test('change log: migrate once, no doubles, order, last writer wins with conflicts recorded', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_changes');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  t.after(async () => {
    await pool.end();
    pgc.destroy();
  });

  // Three nodes migrating at once: one applies, the others find it done.
  const clients = await Promise.all([1, 2, 3].map(() => pool.connect()));
  const applied = await Promise.all(clients.map((c) => migratePg(c)));
  for (const c of clients) c.release();
  assert.deepEqual(applied.map((a) => a.length).sort(), [0, 0, pgMigrations.length]);

  // A batch, then the same batch resent (a node that crashed before deleting its outbox rows).
  const batch = [item(block('203.0.113.1')), item(block('203.0.113.2', '2030-01-01T00:00:00.000Z')), item({ kind: 'trust', ip: '192.0.2.9', scope: 'real_ip', note: 'n' })];
  const first = await writeChanges(pool, 'a', batch);
  assert.deepEqual(first.versions, [1, 2, 3]);
  const again = await writeChanges(pool, 'a', batch);
  assert.deepEqual(again, { versions: [], duplicates: 3, conflicts: [] });
  assert.deepEqual(await changeCounts(pool), { total: 3, distinct: 3 });
  const log = await changesAfter(pool, 1, 10);
  assert.deepEqual(log.map((c) => [c.version, c.node, c.change.kind, (c.change as IpChange).ip]), [[2, 'a', 'block', '203.0.113.2'], [3, 'a', 'trust', '192.0.2.9']]);
  assert.deepEqual(log[0]!.change, block('203.0.113.2', '2030-01-01T00:00:00.000Z'));

  // Concurrent writers: versions stay unique and in commit order (a resend drew none).
  await Promise.all(['b', 'c', 'd'].map((n, i) => writeChanges(pool, n, [item(block(`198.51.100.${i}`)), item(block(`198.51.100.${i + 10}`))])));
  const all = await changesAfter(pool, 0, 100);
  assert.deepEqual(all.map((c) => c.version), [1, 2, 3, 4, 5, 6, 7, 8, 9]);

  // Node b unblocks 203.0.113.1 having seen version 1 (a's block): no conflict.
  const seen = await writeChanges(pool, 'b', [item({ kind: 'unblock', ip: '203.0.113.1' }, 9)]);
  assert.deepEqual(seen.conflicts, []);
  // Node c, which had applied only up to version 1, blocks 203.0.113.2 that a set at version 2: c wins, the conflict is recorded.
  const stale = await writeChanges(pool, 'c', [item(block('203.0.113.2', null), 1)]);
  assert.deepEqual(stale.conflicts, [{ key: 'blocked:203.0.113.2', version: 11, loserVersion: 2, loserNode: 'a' }]);
  const shared = await sharedBlocked(pool);
  assert.deepEqual(
    shared.filter((s) => s.ip.startsWith('203.')).map((s) => [s.ip, s.expiresAt, s.node, s.version]),
    [['203.0.113.2', null, 'c', 11]],
    'the last writer\'s block (permanent) stands; the unblocked address is gone',
  );
  // Node a, back from an outage with only version 1 applied, blocks 203.0.113.1 again: it overwrites b's unblock (v10), a conflict too.
  const late = await writeChanges(pool, 'a', [item(block('203.0.113.1'), 1)]);
  assert.deepEqual(late.conflicts, [{ key: 'blocked:203.0.113.1', version: 12, loserVersion: 10, loserNode: 'b' }]);
  const conflicts = await pool.query('SELECT winner_node, loser_node, loser_version, key FROM fleet_conflicts ORDER BY id');
  assert.deepEqual(conflicts.rows, [
    { winner_node: 'c', loser_node: 'a', loser_version: '2', key: 'blocked:203.0.113.2' },
    { winner_node: 'a', loser_node: 'b', loser_version: '10', key: 'blocked:203.0.113.1' },
  ]);

  // Catching up, a change with a later one for its key is marked superseded (a node skips it: b's unblock must not undo a's later block on a).
  const flags = (await changesAfter(pool, 0, 100)).filter((c) => c.key.startsWith('blocked:203.0.113.')).map((c) => [c.version, c.key, c.superseded]);
  assert.deepEqual(flags, [
    [1, 'blocked:203.0.113.1', true],
    [2, 'blocked:203.0.113.2', true],
    [10, 'blocked:203.0.113.1', true],
    [11, 'blocked:203.0.113.2', false],
    [12, 'blocked:203.0.113.1', false],
  ]);
});

test('the database stopping in the middle of writes: they fail (never end the process), and a resend after its return is not doubled', async (t) => {
  const { pgc, pool } = await migratedPool(t, 'fleet_outage', 4);

  const sent: ChangeToWrite[] = [];
  let failed = 0;
  let stopping = false;
  const writers = [0, 1, 2].map(async (w) => {
    for (let i = 0; !stopping || i < 5; i++) {
      const it = item(block(`198.51.${w}.${i % 250}`));
      sent.push(it);
      try {
        await writeChanges(pool, `n${w}`, [it, item(block(`198.52.${w}.${i % 250}`))]);
      } catch {
        failed++;
        if (stopping) return;
      }
      if (i > 2000) return;
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  stopping = true;
  pgc.stop();
  await Promise.all(writers);
  assert.ok(failed > 0, 'writes failed while the database was down');

  pgc.start();
  const again = await writeChanges(pool, 'n0', sent);
  const counts = await changeCounts(pool);
  assert.equal(counts.total, counts.distinct, 'no change twice');
  assert.equal(again.versions.length + again.duplicates, sent.length);
});

test('configuration changes: a batch of any size is one transaction, bodies come back as written, the state tables hold each key\'s last change', async (t) => {
  const { pool } = await migratedPool(t, 'fleet_config_changes');
  // Quotes, backslashes, braces and non-ASCII text survive the array parameters.
  const page = '<p class="x">a \\ b {c}, "d" – é</p>\n';
  const domain = (name: string, port: number): FleetChange => ({
    kind: 'domain',
    domain: name,
    body: { ...domainBody(name, name.split('.')[0]!, [port]), error_pages: { '502': null, '503': page, '504': null } } as unknown as DomainWire,
  });
  const items = Array.from({ length: 1203 }, (_, i) => item(domain(`d${i}.test`, 1000 + i)));
  items.push(item(domain('d0.test', 9999)), item({ kind: 'domain_delete', domain: 'd1.test' }), item({ kind: 'trusted_proxy', cidr: '10.0.0.0/8', note: 'lb "x"' }));
  const r = await writeChanges(pool, 'a', items);
  assert.deepEqual(r.versions, Array.from({ length: items.length }, (_, i) => i + 1), 'versions in the order written');
  const log = await changesAfter(pool, 0, 2000);
  assert.deepEqual(log.map((c) => c.change), items.map((it) => it.change), 'bodies as written');
  assert.deepEqual(log.map((c) => c.key).slice(-3), ['domain:d0.test', 'domain:d1.test', 'trusted_proxy:10.0.0.0/8']);
  assert.equal(log[0]!.superseded, true, 'd0 is changed again later in the batch');
  assert.equal(log[1]!.superseded, true, 'd1 is deleted later in the batch');
  assert.equal(log[2]!.superseded, false);
  const shared = await sharedDomains(pool);
  assert.equal(shared.length, 1202);
  assert.deepEqual(shared.find((d) => d.domain === 'd0.test'), { domain: 'd0.test', version: 1204, node: 'a' });
  assert.equal(shared.find((d) => d.domain === 'd1.test'), undefined);
  // Another node, having seen none of it, edits d5: it wins, a conflict is recorded.
  const late = await writeChanges(pool, 'b', [item(domain('d5.test', 5555), 0)]);
  assert.deepEqual(late.conflicts, [{ key: 'domain:d5.test', version: 1207, loserVersion: 6, loserNode: 'a' }]);
});

test('change log pruning: a superseded change leaves once it and its successor are past the horizon; each key keeps its latest', async (t) => {
  const { pool } = await migratedPool(t, 'fleet_prune');
  // Old: 10.0.0.1 twice (the first superseded) and 10.0.0.2 once; then, recently, 10.0.0.3 twice.
  await writeChanges(pool, 'a', [item(block('10.0.0.1')), item(block('10.0.0.1', '2030-01-01T00:00:00.000Z')), item(block('10.0.0.2'))]);
  await pool.query(`UPDATE fleet_changes SET committed_at = now() - interval '8 days'`);
  await writeChanges(pool, 'b', [item(block('10.0.0.3')), item(block('10.0.0.3', '2030-01-01T00:00:00.000Z'))]);
  // A change superseded by a recent one stays (its successor is not past the horizon yet).
  await writeChanges(pool, 'b', [item(block('10.0.0.2', '2031-01-01T00:00:00.000Z'))]);
  const before = await changesAfter(pool, 0, 100);
  assert.equal(before.length, 6);

  assert.equal(await pruneSupersededChanges(pool, 7 * 86_400, 1000), 1);
  const after = await changesAfter(pool, 0, 100);
  assert.deepEqual(
    after.map((x) => [x.key, x.superseded]),
    [
      ['blocked:10.0.0.1', false],
      ['blocked:10.0.0.2', true],
      ['blocked:10.0.0.3', true],
      ['blocked:10.0.0.3', false],
      ['blocked:10.0.0.2', false],
    ],
  );
  // What a node replaying from 0 applies (the changes not superseded) is the same before and after.
  const latest = (xs: typeof before) => xs.filter((x) => !x.superseded).map((x) => x.changeId).sort();
  assert.deepEqual(latest(after), latest(before));
  assert.equal(await pruneSupersededChanges(pool, 7 * 86_400, 1000), 0, 'nothing more to prune');
});
