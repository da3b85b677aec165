/**
 * The fleet leader election (src/fleet/leader.ts, src/fleet/jobs.ts) against
 * a real PostgreSQL (a throwaway cluster): three nodes, exactly one leads and
 * all three name it; the leader's connection killed by the server → it
 * steps down at once and, holding off, lets another node lead; the
 * leader stopped → another leads; the database stopped → nobody leads and
 * the order gate refuses (503), back → one leads again. A follower's gate
 * refuses with 409 naming the leader. Waits are bounded conditions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/harness.js';
import { createLogger } from '../../src/log.js';
import { createFleetJobs, type FleetJobs } from '../../src/fleet/jobs.js';
import { openDatabase } from '../../src/storage/db.js';
import { AppError } from '../../src/errors.js';
import { LEADER_LOCK } from '../../src/storage/pg/leader.js';
import type { FleetSettings } from '../../src/config/fleet.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('one leader among three; failover when it dies or its connection drops; nobody leads without the database', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_leader');
  const admin = new pg.Pool({ connectionString: url });
  admin.on('error', () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'hm-leader-'));
  const logs: string[] = [];
  const nodes = new Map<string, FleetJobs>();
  t.after(async () => {
    if (process.env.FLEET_TEST_LOGS) console.log(logs.join('\n'));
    for (const n of nodes.values()) await n.stop();
    await admin.end();
    pgc.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = (name: string) => {
    const settings: FleetSettings = { nodeName: name, databaseUrl: url, host: '127.0.0.1', tls: { enabled: false, verify: false, caFile: null }, peers: [], secretKey: null };
    const log = createLogger({ level: 'debug', format: 'text', priorityPrefix: false, write: (_l, line) => logs.push(`${name} ${line}`) });
    const db = openDatabase(join(dir, `${name}.db`)).writer;
    const j = createFleetJobs({ settings, db, log, certs: () => assert.fail('no certificates here') });
    j.start();
    nodes.set(name, j);
    return j;
  };
  const leaders = () => [...nodes.entries()].filter(([, n]) => n.leads()).map(([k]) => k);
  const agreed = () => {
    const l = leaders();
    return l.length === 1 && [...nodes.values()].every((n) => n.status().leader === l[0]);
  };
  const gate = (n: FleetJobs) => {
    try {
      n.certFleet.assertMayOrder();
      return null;
    } catch (e) {
      assert.ok(e instanceof AppError);
      return e;
    }
  };

  start('node-a');
  assert.ok(await waitFor(() => leaders().length === 1, 10_000, 50), 'the first node leads');
  start('node-b');
  start('node-c');
  assert.ok(await waitFor(agreed, 10_000, 50), 'exactly one leads and every node names it');
  assert.deepEqual(leaders(), ['node-a']);
  assert.equal(gate(nodes.get('node-a')!), null, 'the leader may order');
  const refused = gate(nodes.get('node-b')!)!;
  assert.equal(refused.kind, 'conflict');
  assert.match(refused.message, /^node-a leads the fleet: certificates are ordered and renewed there/);
  assert.ok(nodes.get('node-a')!.status().since, 'the leader says since when');

  // The server ends the leader's lock connection (as when its process is killed): it steps down, another leads.
  const killed = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1", [LEADER_LOCK]);
  assert.equal(killed.rowCount, 1, 'the leader connection was found');
  assert.ok(await waitFor(() => agreed() && leaders()[0] !== 'node-a', 10_000, 50), `another node leads (now: ${leaders().join(',')})`);
  assert.ok(logs.some((l) => /^node-a .*this node no longer leads the fleet/.test(l)), 'the old leader stepped down');
  const second = leaders()[0]!;

  // The leader stops (the daemon dies): another one leads.
  await nodes.get(second)!.stop();
  nodes.delete(second);
  assert.ok(await waitFor(() => agreed() && leaders()[0] !== second, 10_000, 50), 'a third leader');

  // The database stops: nobody can prove it leads, and the gate says why.
  pgc.stop();
  assert.ok(await waitFor(() => leaders().length === 0, 15_000, 50), 'nobody leads without the database');
  for (const n of nodes.values()) {
    const e = gate(n)!;
    assert.equal(e.kind, 'unavailable');
    assert.match(e.message, /cannot reach the fleet database, so it cannot prove it leads/);
    assert.equal(n.status().leader, null);
  }
  pgc.start();
  assert.ok(await waitFor(agreed, 20_000, 100), 'one leads again once the database is back');
});
