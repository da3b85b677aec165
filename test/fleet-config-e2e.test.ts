/**
 * Fleet, shared configuration (issue 17): domains (with their backend and
 * servers), trusted proxies and TCP services shared by three nodes through a
 * real PostgreSQL (a throwaway cluster), each node a real daemon with its own
 * managed HAProxy (2.6, 3.0, 2.6) on loopback ports. What a client sees
 * through each node's HAProxy is what counts. Waits are bounded conditions,
 * never timed assertions.
 *
 * - A domain added on A routes real requests on B; a trusted proxy added on A
 *   is listed on B.
 * - C joins afterwards with an empty state: it catches up from version 0
 *   before it renders, so it routes the domain as soon as it has started.
 * - A TLS passthrough service made on A passes B's and C's HTTPS port
 *   through to its server; removed on C, A and B stop passing it.
 * - Deleting the domain on B removes it on A and C.
 * - PostgreSQL stopped: A and B both edit one domain (and A adds three
 *   more); back: all three nodes route it the same way, the winner (the last
 *   writer in the log) audits `fleet.conflict`; C applies A's three domains
 *   in one change (one reload).
 * - A change injected straight into fleet_changes that fails the checks, or
 *   the storage rules, is refused and audited and changes nothing; a good
 *   change after it still applies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import { HAPROXIES, freePort, startTestDaemon, startBackend, domainBody, waitFor, type TestDaemon, type Backend } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { sharedDomains } from '../src/storage/pg/config-changes.js';

const fleetConfig = (name: string, url: string, httpsPort: number) => ({ config: { haproxy: { https_port: httpsPort }, fleet: { node_name: name, database_url: url, tls: { enabled: false } } } });

/** A TCP server that counts connections and closes each at once: a passthrough's server. */
async function countingServer(): Promise<{ port: number; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const srv = net.createServer((sock) => {
    hits++;
    sock.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { port: (srv.address() as net.AddressInfo).port, hits: () => hits, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

/** Opens TLS to `port` naming `sni` and waits until that ends, however (the counting server cuts it; HAProxy may terminate it). */
const tlsHello = (port: number, sni: string) =>
  new Promise<void>((r) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: sni, rejectUnauthorized: false });
    const done = () => {
      s.destroy();
      r();
    };
    s.on('error', done);
    s.on('secureConnect', done);
    s.on('close', done);
    s.setTimeout(3000, done);
  });

type Audit = { actor: string; action: string; target: string | null; detail: Record<string, unknown> | null; result: string; error: string | null };

test('three nodes share domains, trusted proxies and their edits through PostgreSQL', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_config');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  const backends: Backend[] = [];
  for (const name of ['shop', 'next', 'third', 'ok']) backends.push(await startBackend(name));
  const [shop, next, third, okBe] = backends as [Backend, Backend, Backend, Backend];
  const nodes: TestDaemon[] = [];
  t.after(async () => {
    if (process.env.FLEET_TEST_LOGS) for (const n of nodes) console.log(n.logs.filter((l) => /fleet/.test(l)).join('\n'));
    for (const n of nodes) await n.stop();
    await pool.end();
    for (const b of backends) await b.close();
    pgc.destroy();
  });
  const httpsPorts = new Map<TestDaemon, number>();
  const start = async (i: number, name: string) => {
    const httpsPort = await freePort();
    const n = await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, fleetConfig(name, url, httpsPort));
    nodes.push(n);
    httpsPorts.set(n, httpsPort);
    return n;
  };
  const a = await start(0, 'node-a');
  const b = await start(1, 'node-b');
  assert.ok(await waitFor(() => [a, b].every((n) => n.daemon.fleet!.status().connected), 15_000), 'A and B connect to PostgreSQL');

  /** Which backend server answered for `host` through n's HAProxy (null: none did). */
  const servedBy = async (n: TestDaemon, host: string): Promise<string | null> => {
    const r = await n.get(host, '/');
    if (r.status !== 200) return null;
    try {
      return (JSON.parse(r.body) as { server: string }).server;
    } catch {
      return null;
    }
  };
  const allServe = async (list: TestDaemon[], host: string, server: string | null) => (await Promise.all(list.map((n) => servedBy(n, host)))).every((s) => s === server);
  const domainsOn = async (n: TestDaemon) => (await n.api('GET', '/api/domains')).json<{ domain: string }[]>().map((d) => d.domain).sort();
  const auditOn = async (n: TestDaemon) => (await n.api('GET', '/api/audit?limit=500')).json<Audit[]>();

  // A domain with its backend and server, added on A, routes real traffic on B.
  assert.equal(await servedBy(b, 'shop.test'), null, 'B does not serve shop.test before');
  assert.equal((await a.api('POST', '/api/domain', domainBody('shop.test', 'shop', [shop.port], { maintenance: { enabled: false, retry_after: 30 } }))).status, 201);
  assert.equal(await servedBy(a, 'shop.test'), 'shop');
  assert.ok(await waitFor(() => allServe([b], 'shop.test', 'shop'), 15_000, 100), 'B routes shop.test to the shop backend');
  // A trusted proxy added on A is listed on B.
  assert.equal((await a.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10', note: 'lb' })).status, 201);
  const proxiesOn = async (n: TestDaemon) => (await n.api('GET', '/api/trusted-proxies')).json<{ cidr: string; note: string | null }[]>().map((p) => `${p.cidr} ${p.note}`);
  assert.ok(await waitFor(async () => (await proxiesOn(b)).includes('127.0.0.10 lb'), 10_000, 50), 'B lists the proxy trusted on A');

  // C joins with an empty state: it has caught up before it rendered, so it routes at once.
  const c = await start(2, 'node-c');
  assert.ok(c.logs.some((l) => /fleet caught up before serving/.test(l)), 'C caught up before serving');
  assert.equal(await servedBy(c, 'shop.test'), 'shop', 'C routes shop.test as soon as it has started');
  assert.deepEqual(await proxiesOn(c), ['127.0.0.10 lb']);
  assert.ok(await waitFor(() => c.daemon.fleet!.status().connected, 15_000));

  // A TLS passthrough service made on A passes B's and C's HTTPS port through to its server; removed on C, A no longer does.
  const git = await countingServer();
  t.after(() => git.close());
  /** Whether a TLS hello naming git.test through n's HTTPS port reaches the service's server. */
  const passes = async (n: TestDaemon) => {
    const before = git.hits();
    await tlsHello(httpsPorts.get(n)!, 'git.test');
    return git.hits() > before;
  };
  assert.equal(await passes(b), false, 'B has no such service before');
  const svc = { name: 'git', kind: 'tls_passthrough', sni: 'git.test', servers: [{ name: 'g1', address: '127.0.0.1', port: git.port, check: false }] };
  assert.equal((await a.api('POST', '/api/tcp-services', svc)).status, 201);
  assert.equal(await passes(a), true);
  for (const n of [b, c]) assert.ok(await waitFor(() => passes(n), 15_000, 100), 'B and C pass git.test through');
  assert.equal((await c.api('DELETE', '/api/tcp-services/git')).status, 200);
  assert.ok(await waitFor(async () => !(await passes(a)) && !(await passes(b)), 15_000, 100), 'A and B no longer pass it through');

  // Deleting it on B removes it on A and C.
  assert.equal((await b.api('DELETE', '/api/domain', { domain: 'shop.test' })).status, 200);
  assert.equal(await servedBy(b, 'shop.test'), null);
  // HAProxy takes a change before the database commits it: wait for both.
  const listedNowhere = async () => (await Promise.all(nodes.map(domainsOn))).every((l) => l.length === 0);
  assert.ok(await waitFor(async () => (await allServe([a, c], 'shop.test', null)) && (await listedNowhere()), 15_000, 100), 'A and C no longer route or list shop.test');

  // A conflicting edit: the domain again on A, then PostgreSQL stops and A and B both edit it.
  assert.equal((await a.api('POST', '/api/domain', domainBody('shop.test', 'shop', [shop.port]))).status, 201);
  assert.ok(await waitFor(() => allServe([b, c], 'shop.test', 'shop'), 15_000, 100), 'B and C route it again');
  pgc.stop();
  assert.ok(await waitFor(() => nodes.every((n) => !n.daemon.fleet!.status().connected), 15_000), 'the nodes notice the outage');
  assert.equal((await a.api('POST', '/api/domain', domainBody('shop.test', 'shop', [next.port]))).status, 200);
  for (const d of ['d1.test', 'd2.test', 'd3.test']) assert.equal((await a.api('POST', '/api/domain', domainBody(d, d.replace('.test', ''), [okBe.port]))).status, 201);
  assert.equal((await b.api('POST', '/api/domain', domainBody('shop.test', 'shop', [third.port]))).status, 200);
  assert.equal(await servedBy(a, 'shop.test'), 'next', 'A serves its edit during the outage');
  assert.equal(await servedBy(b, 'shop.test'), 'third', 'B serves its edit during the outage');
  assert.equal(await servedBy(c, 'shop.test'), 'shop', 'C serves what it had');
  pgc.start();
  assert.ok(await waitFor(() => nodes.every((n) => n.daemon.fleet!.status().connected && n.daemon.fleet!.status().outbox === 0), 20_000), 'every node reconnects and writes its queue');
  const winner = (await sharedDomains(pool)).find((d) => d.domain === 'shop.test')!;
  const want = winner.node === 'node-a' ? 'next' : 'third';
  assert.ok(await waitFor(() => allServe(nodes, 'shop.test', want), 20_000, 100), `every node routes shop.test as ${winner.node} (the last writer) set it`);
  const winnerNode = winner.node === 'node-a' ? a : b;
  const conflict = (await auditOn(winnerNode)).find((e) => e.action === 'fleet.conflict' && e.target === 'domain:shop.test');
  assert.ok(conflict, 'the winner audits the conflict');
  assert.equal(conflict.detail?.loser_node, winner.node === 'node-a' ? 'node-b' : 'node-a');
  // C got A's three domains in one change (one render, one reload).
  assert.ok(await waitFor(async () => (await Promise.all(['d1.test', 'd2.test', 'd3.test'].map((d) => servedBy(c, d)))).every((s) => s === 'ok'), 20_000, 100), 'C routes the domains A added during the outage');
  // (The applier audits a change once it is committed, just after HAProxy took it.)
  const oneChange = async () => (await auditOn(c)).some((e) => e.action === 'fleet.apply' && e.actor === 'fleet:node-a' && e.result === 'ok' && Number(e.detail?.changes) >= 3);
  assert.ok(await waitFor(oneChange, 10_000, 100), "C applied A's queued domains as one change");

  // A bad change injected straight into the log is refused and audited and changes nothing; a good one after it applies.
  const before = await Promise.all(nodes.map(domainsOn));
  const inject = async (change: unknown) => {
    const body = change as { kind: string; domain: string };
    await pool.query("INSERT INTO fleet_changes (change_id, node, kind, key, body, made_at) VALUES ($1, 'node-x', $2, $3, $4, now())", [randomUUID(), body.kind, `domain:${body.domain}`, JSON.stringify(change)]);
  };
  // Fails the checks: a reserved backend name.
  await inject({ kind: 'domain', domain: 'evil.test', body: domainBody('evil.test', 'hm-evil', [okBe.port]) });
  // Passes the checks, fails the storage rules: a route to a backend no node has.
  await inject({ kind: 'domain', domain: 'evil2.test', body: domainBody('evil2.test', 'evil2', [okBe.port], { routes: [{ path: '/x', backend: 'nowhere' }] }) });
  await inject({ kind: 'domain', domain: 'ok.test', body: domainBody('ok.test', 'okb', [okBe.port]) });
  await pool.query("SELECT pg_notify('hm_fleet_changes', '0')");
  const listedEverywhere = async () => (await Promise.all(nodes.map(domainsOn))).every((l) => l.includes('ok.test'));
  assert.ok(await waitFor(async () => (await allServe(nodes, 'ok.test', 'ok')) && (await listedEverywhere()), 20_000, 100), 'the good change after the bad ones applies on every node');
  for (const [i, n] of nodes.entries()) {
    assert.deepEqual(await domainsOn(n), [...before[i]!, 'ok.test'].sort(), 'the bad changes left nothing');
    assert.equal(await servedBy(n, 'evil.test'), null);
    assert.equal(await servedBy(n, 'evil2.test'), null);
    const audit = await auditOn(n);
    const refused = audit.find((e) => e.action === 'fleet.change_refused');
    assert.equal(refused?.actor, 'fleet:node-x');
    assert.equal(refused?.result, 'failed');
    assert.match(refused?.error ?? '', /body\.backend_name: names starting with "hm-" are reserved/);
    const failed = audit.find((e) => e.action === 'domain.upsert' && e.target === 'evil2.test');
    assert.equal(failed?.actor, 'fleet:node-x');
    assert.equal(failed?.result, 'failed');
    assert.match(failed?.error ?? '', /no backend named "nowhere"/);
  }
});
