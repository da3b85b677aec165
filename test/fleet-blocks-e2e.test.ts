/**
 * Fleet, first slice (issue 17): blocked and trusted addresses shared by three
 * nodes through a real PostgreSQL (a throwaway cluster), each node a real
 * daemon with its own managed HAProxy (2.6, 3.0, 2.6) on loopback ports.
 * What a client sees is what counts: a request from a blocked address (the
 * real-IP header from a trusted proxy at 127.0.0.10) is refused (403) by
 * HAProxy. Waits are bounded conditions, never timed assertions.
 *
 * - A block made on A is refused by B and C; A refuses it at once.
 * - PostgreSQL stopped: every node serves; a block on A is refused by A at
 *   once and not by B/C (A queues it); a fourth node starts and serves its
 *   local copy (it says so);
 *   PostgreSQL back: B and C refuse it, the fourth node catches up with all.
 * - Nothing lost or doubled: the change log has each change once; each node
 *   lists each block once.
 * - An unblock on B reaches A and C; a trusted address on C reaches A.
 * - The last writer's block stands as written (a permanent block replaces a
 *   temporary one); a change in the log that fails the checks is skipped and
 *   audited, and the changes after it still apply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor, type TestDaemon } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { randomUUID } from 'node:crypto';
import { changeCounts, writeChanges } from '../src/storage/pg/changes.js';

const PROXY = '127.0.0.10';

test('three nodes share blocks and trusted addresses through PostgreSQL, across an outage', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_blocks');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  const be = await startBackend('shop');
  const names = ['node-a', 'node-b', 'node-c'];
  const nodes: TestDaemon[] = [];
  // One teardown, in order: the nodes (their connections), the pool, then the cluster.
  t.after(async () => {
    if (process.env.FLEET_TEST_LOGS) for (const n of nodes) console.log(n.logs.filter((l) => /fleet/.test(l)).join('\n'));
    for (const n of nodes) await n.stop();
    await pool.end();
    await be.close();
    pgc.destroy();
  });
  for (const [i, name] of names.entries()) {
    nodes.push(await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, { config: { fleet: { node_name: name, database_url: url, tls: { enabled: false } } } }));
  }
  const [a, b, c] = nodes as [TestDaemon, TestDaemon, TestDaemon];
  assert.ok(await waitFor(() => nodes.every((n) => n.daemon.fleet!.status().connected), 15_000), 'every node connects to PostgreSQL');
  // The domain and the trusted proxy are shared configuration: made on A, they reach B and C.
  assert.equal((await a.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
  assert.equal((await a.api('POST', '/api/trusted-proxies', { cidr: PROXY })).status, 201);
  const proxied = async (n: TestDaemon) => (await n.api('GET', '/api/trusted-proxies')).json<{ cidr: string }[]>().some((p) => p.cidr === PROXY);
  assert.ok(await waitFor(async () => (await Promise.all([b, c].map(async (n) => (await n.get('shop.test', '/')).status === 200 && (await proxied(n))))).every(Boolean), 15_000, 100), 'B and C have the domain and the proxy');

  const status = async (n: TestDaemon, ip: string) => (await n.get('shop.test', '/', { localAddress: PROXY, headers: { 'X-Forwarded-For': ip } })).status;
  const refusedBy = async (list: TestDaemon[], ip: string) => (await Promise.all(list.map((n) => status(n, ip)))).every((s) => s === 403);
  const blockedOn = async (n: TestDaemon) => (await n.api('GET', '/api/blocked-ips')).json<{ ip_address: string }[]>().map((x) => x.ip_address);

  const X = '203.0.113.7';
  for (const n of nodes) assert.equal(await status(n, X), 200, 'served before any block');

  // A block on A: A refuses at once, B and C within the bound.
  assert.equal((await a.api('POST', '/api/blocked-ips', { ip_address: X, reason: 'scanner' })).status, 201);
  assert.equal(await status(a, X), 403);
  assert.ok(await waitFor(() => refusedBy([b, c], X), 10_000, 50), 'B and C refuse the address blocked on A');
  const onB = (await b.api('GET', '/api/blocked-ips')).json<{ ip_address: string; reason: string | null }[]>();
  assert.deepEqual(onB.map((r) => [r.ip_address, r.reason]), [[X, 'scanner']]);

  // PostgreSQL stops: every node keeps serving and acting locally; A queues its block.
  pgc.stop();
  assert.ok(await waitFor(() => nodes.every((n) => !n.daemon.fleet!.status().connected), 15_000), 'the nodes notice the outage');
  const Y = '203.0.113.8';
  assert.equal((await a.api('POST', '/api/blocked-ips', { ip_address: Y, reason: 'during the outage' })).status, 201);
  assert.equal(await status(a, Y), 403, 'A refuses at once');
  assert.equal(a.daemon.fleet!.status().outbox, 1, 'A queued the change');
  const st = (await a.api('GET', '/api/fleet')).json<{ enabled: boolean; node_name: string; connected: boolean; outbox: number; last_error: string | null }>();
  assert.deepEqual([st.enabled, st.node_name, st.connected, st.outbox], [true, 'node-a', false, 1], 'the operator sees the outage and the queue');
  assert.ok(st.last_error, 'and why');
  assert.equal(await status(b, Y), 200, 'B has not heard of it');
  assert.equal(await status(c, Y), 200, 'C has not heard of it');
  for (const n of nodes) assert.equal(await status(n, X), 403, 'the earlier block still holds everywhere');
  assert.equal(await status(b, '203.0.113.99'), 200, 'B serves');
  // A fourth node starting while the database is away starts and serves all the same (with the domain and proxy made locally).
  const d = await startTestDaemon(HAPROXIES[1 % HAPROXIES.length]!.bin, { config: { fleet: { node_name: 'node-d', database_url: url, tls: { enabled: false } } } });
  nodes.push(d);
  assert.ok(d.logs.some((l) => /fleet database unreachable at start: serving this node's local copy/.test(l)), 'D says it serves its local copy');
  assert.equal((await d.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
  assert.equal((await d.api('POST', '/api/trusted-proxies', { cidr: PROXY })).status, 201);
  assert.equal(d.daemon.fleet!.status().connected, false);
  assert.equal(await status(d, X), 200, 'D has not caught up yet');

  // PostgreSQL returns: A's queued block reaches B and C.
  pgc.start();
  assert.ok(await waitFor(() => refusedBy([b, c], Y), 20_000, 100), 'B and C refuse the block made during the outage');
  assert.ok(await waitFor(async () => (await refusedBy([d], X)) && (await refusedBy([d], Y)), 20_000, 100), 'D caught up with every block made before it joined');
  assert.ok(await waitFor(() => a.daemon.fleet!.status().outbox === 0, 10_000), 'the outbox empties');

  // Nothing lost or doubled: A's domain and proxy, two blocks, D's domain and proxy.
  assert.deepEqual(await changeCounts(pool), { total: 6, distinct: 6 });
  for (const n of nodes) assert.deepEqual((await blockedOn(n)).sort(), [X, Y], 'each block listed once on every node');
  nodes.pop();
  await d.stop();

  // An unblock on B reaches A and C.
  assert.equal((await b.api('DELETE', '/api/blocked-ips', { ip_address: X })).status, 200);
  assert.ok(await waitFor(async () => (await Promise.all([a, c].map((n) => status(n, X)))).every((s) => s === 200), 10_000, 50), 'A and C serve the unblocked address');
  assert.equal(await status(a, Y), 403, 'the other block stays');

  // A trusted address on C reaches A (and an untrust goes back).
  const T = '198.51.100.20';
  assert.equal((await c.api('POST', '/api/trusted-ips', { ip_address: T, note: 'monitoring' })).status, 201);
  const trustedOn = async (n: TestDaemon) => (await n.api('GET', '/api/trusted-ips')).json<{ ip_address: string; note: string | null }[]>().map((x) => `${x.ip_address} ${x.note}`);
  assert.ok(await waitFor(async () => (await trustedOn(a)).includes(`${T} monitoring`), 10_000, 50), 'A lists the address trusted on C');
  assert.equal((await a.api('DELETE', '/api/trusted-ips', { ip_address: T })).status, 200);
  assert.ok(await waitFor(async () => (await trustedOn(c)).length === 0, 10_000, 50), 'C no longer trusts it');

  // Remote changes are audited with the node that made them; none was echoed back.
  assert.deepEqual(await changeCounts(pool), { total: 9, distinct: 9 });
  const audit = (await b.api('GET', '/api/audit?limit=200')).json<{ actor: string; action: string; target: string | null }[]>();
  assert.ok(audit.some((e) => e.actor === 'fleet:node-a' && e.action === 'blocked_ip.add' && e.target === Y), 'B audits A\'s block as fleet:node-a');

  // A temporary block on A, then another node's permanent block of the same address: the last writer's values stand everywhere.
  const Z = '203.0.113.9';
  assert.equal((await a.api('POST', '/api/security/temporary-block', { ip_address: Z, duration_minutes: 30 })).status, 201);
  const expiresOn = async (n: TestDaemon) => (await n.api('GET', '/api/blocked-ips')).json<{ ip_address: string; expires_at: string | null; reason: string | null }[]>().find((r) => r.ip_address === Z);
  assert.ok(await waitFor(async () => (await expiresOn(c))?.expires_at != null, 10_000, 50), 'C has the temporary block');
  // A change in the log that does not pass the checks (not canonical) is skipped and audited, and what follows still applies.
  await writeChanges(pool, 'node-x', [
    { changeId: randomUUID(), change: { kind: 'block', ip: '203.0.113.010', reason: null, blockedBy: null, expiresAt: null }, baseVersion: 0, madeAt: new Date().toISOString() },
    { changeId: randomUUID(), change: { kind: 'block', ip: Z, reason: 'made permanent', blockedBy: 'x', expiresAt: null }, baseVersion: 1000, madeAt: new Date().toISOString() },
  ]);
  for (const n of [a, b, c]) assert.ok(await waitFor(async () => (await expiresOn(n))?.reason === 'made permanent', 10_000, 50), 'the permanent block replaces the temporary one');
  for (const n of [a, b, c]) assert.equal((await expiresOn(n))!.expires_at, null);
  const refused = (await c.api('GET', '/api/audit?limit=200')).json<{ actor: string; action: string; result: string; error: string | null }[]>().find((e) => e.action === 'fleet.change_refused');
  assert.equal(refused?.actor, 'fleet:node-x');
  assert.equal(refused?.result, 'failed');
  assert.match(refused?.error ?? '', /ip: an address or network in canonical form/);
  for (const n of nodes) assert.ok(!(await blockedOn(n)).includes('203.0.113.010'));
});
