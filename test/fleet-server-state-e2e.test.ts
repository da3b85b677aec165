/**
 * Fleet, a server's administrative state (issue 17): ready, drain and maint
 * set on one node reach every node's HAProxy through the change log of a
 * real PostgreSQL (a throwaway cluster), applied through the runtime API.
 * Three real daemons, each with its own managed HAProxy (2.6, 3.0, 2.6) on
 * loopback ports; what each HAProxy answers (`show servers state`, and which
 * backend server a request through it reaches) is what counts. Waits are
 * bounded conditions, never timed assertions.
 *
 * - A domain with two servers is made on A and routes on B.
 * - s1 drained on A: B's HAProxy has it drained (runtime API, no reload) and
 *   new requests through B all reach s2. C joins afterwards with an empty
 *   state: it replays the domain and the drain in one catch-up (the drain
 *   after the domain) and has s1 drained as soon as it has started.
 * - B restarted (daemon and HAProxy): s1 is still drained there.
 * - s1 back to ready on C: ready on A and B, and B's traffic reaches both
 *   servers again. s2 put in maintenance on B: in maintenance on A and C.
 * - Changes injected straight into fleet_changes: a malformed one (a state
 *   that is not ready, drain or maint) is refused and audited as
 *   fleet.change_refused on every node; a well-formed one naming a server no
 *   node has is refused and audited as a failed server.state; a good change
 *   after them still applies everywhere.
 * - A drained server removed from the domain and made again is ready on
 *   every node, and on a fourth node D that replays the log afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { HAPROXIES, freePort, rawStats, startTestDaemon, startBackend, domainBody, waitFor, type TestDaemon, type Backend } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { sharedServerStates } from '../src/storage/pg/config-changes.js';
import { parseServersState } from '../src/haproxy/runtime/servers.js';

const fleetConfig = (name: string, url: string, httpsPort: number) => ({ config: { haproxy: { https_port: httpsPort }, fleet: { node_name: name, database_url: url, tls: { enabled: false } } } });

type Audit = { actor: string; action: string; target: string | null; detail: Record<string, unknown> | null; result: string; error: string | null };

/**
 * A server's administrative state as n's HAProxy has it, from `show servers
 * state`: maint is srv_admin_state 0x01; drain is 0x08 when set through the
 * runtime API, and weight 0 (srv_uweight) when HAProxy started from a config
 * that renders it so (a restart, a node that applied it before its HAProxy
 * ran), as on a single node. The servers here are made with weight 100.
 */
async function adminState(n: TestDaemon, server: string): Promise<'ready' | 'drain' | 'maint' | null> {
  const row = parseServersState(await rawStats(n).send('show servers state app-backend')).find((r) => r.srv_name === server);
  if (!row?.srv_admin_state) return null;
  const a = Number(row.srv_admin_state);
  return a & 0x01 ? 'maint' : a & 0x08 || row.srv_uweight === '0' ? 'drain' : 'ready';
}

test('three nodes share a server\'s drain, maintenance and ready through PostgreSQL', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_server_state');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  const one = await startBackend('one');
  const two = await startBackend('two');
  const nodes = new Map<string, TestDaemon>();
  // B keeps its state directory and ports across a restart.
  const bDir = mkdtempSync(join(tmpdir(), 'hm-fleet-b-'));
  t.after(async () => {
    if (process.env.FLEET_TEST_LOGS) for (const n of nodes.values()) console.log(n.logs.filter((l) => /fleet|server\.state/.test(l)).join('\n'));
    for (const n of nodes.values()) await n.stop();
    await pool.end();
    await one.close();
    await two.close();
    pgc.destroy();
    rmSync(bDir, { recursive: true, force: true });
  });
  const start = async (i: number, name: string, keep: { dir: string; httpPort: number; statsPort: number; httpsPort: number } | null = null) => {
    const httpsPort = keep?.httpsPort ?? (await freePort());
    const n = await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, { ...fleetConfig(name, url, httpsPort), ...(keep ? { dir: keep.dir, httpPort: keep.httpPort, statsPort: keep.statsPort } : {}) });
    nodes.set(name, n);
    return n;
  };
  const bKeep = { dir: bDir, httpPort: await freePort(), statsPort: await freePort(), httpsPort: await freePort() };
  const a = await start(0, 'node-a');
  let b = await start(1, 'node-b', bKeep);
  assert.ok(await waitFor(() => [a, b].every((n) => n.daemon.fleet!.status().connected), 15_000), 'A and B connect to PostgreSQL');

  /** Which backend server answered for app.test through n's HAProxy (null: none did). */
  const servedBy = async (n: TestDaemon): Promise<string | null> => {
    const r = await n.get('app.test', '/');
    if (r.status !== 200) return null;
    return (JSON.parse(r.body) as { server: string }).server;
  };
  /** The servers that answered `count` requests through n, in order. */
  const serve = async (n: TestDaemon, count: number) => {
    const out: (string | null)[] = [];
    for (let i = 0; i < count; i++) out.push(await servedBy(n));
    return out;
  };
  const stored = async (n: TestDaemon, server: string) =>
    (await n.api('GET', '/api/backends')).json<{ name: string; servers: { name: string; state: string }[] }[]>().find((x) => x.name === 'app')?.servers.find((s) => s.name === server)?.state;
  const auditOn = async (n: TestDaemon) => (await n.api('GET', '/api/audit?limit=500')).json<Audit[]>();
  /** Whether every node in `list` has `server` in `state`, in HAProxy and in its store. */
  const everywhere = async (list: TestDaemon[], server: string, state: 'ready' | 'drain' | 'maint') => {
    for (const n of list) if ((await adminState(n, server)) !== state || (await stored(n, server)) !== state) return false;
    return true;
  };
  const setState = async (n: TestDaemon, server: string, state: string) => {
    const r = await n.api('POST', '/api/servers/state', { backend: 'app', server, state });
    assert.equal(r.status, 200, r.body);
    return r.json<{ runtime_updated: boolean }>();
  };

  // The shared list says so.
  assert.ok((await a.api('GET', '/api/fleet')).json<{ shared: string[] }>().shared.includes('server_states'));

  // A domain with two servers, made on A, routes on B to both.
  assert.equal((await a.api('POST', '/api/domain', domainBody('app.test', 'app', [one.port, two.port]))).status, 201);
  assert.ok(await waitFor(async () => (await servedBy(b)) !== null, 15_000, 100), 'B routes app.test');
  assert.deepEqual(new Set(await serve(b, 6)), new Set(['one', 'two']), 'B balances over both servers');
  assert.equal(await adminState(b, 's1'), 'ready');

  // s1 drained on A: drained in B's HAProxy, applied at runtime (no reload), and new requests through B avoid it.
  assert.equal((await setState(a, 's1', 'drain')).runtime_updated, true);
  assert.equal(await adminState(a, 's1'), 'drain');
  assert.ok(await waitFor(() => everywhere([b], 's1', 'drain'), 15_000, 100), "B's HAProxy has s1 drained");
  assert.deepEqual(await serve(b, 8), Array(8).fill('two'), 'new requests through B all reach s2');
  const applied = (await auditOn(b)).find((e) => e.action === 'server.state' && e.target === 'app/s1');
  assert.equal(applied?.actor, 'fleet:node-a');
  assert.equal(applied?.result, 'ok');
  const line = b.logs.find((l) => /server\.state applied/.test(l) && /fleet:node-a/.test(l)) ?? '';
  assert.match(line, /runtime=true/, 'B applied it through the runtime API');
  assert.match(line, /reloaded=false/, 'without a reload');

  // C joins with an empty state: the domain and the drain in one catch-up, the drain applied after the domain.
  const c = await start(2, 'node-c');
  assert.ok(c.logs.some((l) => /fleet caught up before serving/.test(l)), 'C caught up before serving');
  assert.equal(await adminState(c, 's1'), 'drain', "C's HAProxy has s1 drained as soon as it has started");
  assert.equal(await stored(c, 's1'), 'drain');
  assert.deepEqual(await serve(c, 6), Array(6).fill('two'), 'new requests through C all reach s2');
  assert.ok(await waitFor(() => c.daemon.fleet!.status().connected, 15_000));

  // B restarted (daemon and HAProxy): s1 is still drained there (its own store renders it).
  await b.stop();
  nodes.delete('node-b');
  b = await start(1, 'node-b', bKeep);
  assert.equal(await adminState(b, 's1'), 'drain', 'a restart keeps the drain');
  assert.deepEqual(await serve(b, 6), Array(6).fill('two'));
  assert.ok(await waitFor(() => b.daemon.fleet!.status().connected, 15_000));

  // s1 back to ready on C: ready on A and B, whose traffic reaches both servers again.
  await setState(c, 's1', 'ready');
  assert.ok(await waitFor(() => everywhere([a, b, c], 's1', 'ready'), 15_000, 100), 's1 is ready on every node');
  assert.deepEqual(new Set(await serve(b, 6)), new Set(['one', 'two']), 'B balances over both servers again');
  // s2 in maintenance on B: in maintenance on A and C.
  await setState(b, 's2', 'maint');
  assert.ok(await waitFor(() => everywhere([a, b, c], 's2', 'maint'), 15_000, 100), 's2 is in maintenance on every node');
  assert.deepEqual(await serve(a, 6), Array(6).fill('one'), 'A sends nothing to s2');
  const shared = await sharedServerStates(pool);
  assert.deepEqual(shared.map((s) => `${s.backend}/${s.server} ${s.state} ${s.node}`), ['app/s1 ready node-c', 'app/s2 maint node-b']);

  // Changes injected straight into the log: malformed, naming a server no node has, then a good one.
  const all = [a, b, c];
  const inject = async (key: string, change: unknown) => {
    await pool.query("INSERT INTO fleet_changes (change_id, node, kind, key, body, made_at) VALUES ($1, 'node-x', 'server_state', $2, $3, now())", [randomUUID(), key, JSON.stringify(change)]);
  };
  await inject('server_state:app/s1', { kind: 'server_state', backend: 'app', server: 's1', state: 'off' });
  await inject('server_state:app/s9', { kind: 'server_state', backend: 'app', server: 's9', state: 'drain' });
  await inject('server_state:app/s2', { kind: 'server_state', backend: 'app', server: 's2', state: 'ready' });
  await pool.query("SELECT pg_notify('hm_fleet_changes', '0')");
  assert.ok(await waitFor(() => everywhere(all, 's2', 'ready'), 20_000, 100), 'the good change after the bad ones applies on every node');
  for (const n of all) {
    assert.equal(await adminState(n, 's1'), 'ready', 'the malformed change left s1 as it was');
    assert.equal(await adminState(n, 's9'), null);
    const audit = await auditOn(n);
    const refused = audit.find((e) => e.action === 'fleet.change_refused' && e.actor === 'fleet:node-x');
    assert.equal(refused?.result, 'failed');
    assert.match(refused?.error ?? '', /state/);
    const missing = audit.find((e) => e.action === 'server.state' && e.target === 'app/s9');
    assert.equal(missing?.actor, 'fleet:node-x');
    assert.equal(missing?.result, 'failed');
    assert.match(missing?.error ?? '', /no server s9 in backend app/);
  }

  // A drained server removed and made again is ready, also on a node that replays the log afterwards:
  // the removal shared s1 as ready, so the old drain is superseded (D would otherwise drain the new s1).
  await setState(a, 's1', 'drain');
  assert.ok(await waitFor(() => everywhere(all, 's1', 'drain'), 15_000, 100), 's1 drained on every node');
  const onlyS2 = { domain: 'app.test', backend_name: 'app', servers: [{ name: 's2', address: '127.0.0.1', port: two.port, check: false }] };
  assert.equal((await a.api('POST', '/api/domain', onlyS2)).status, 200);
  assert.equal((await a.api('POST', '/api/domain', domainBody('app.test', 'app', [one.port, two.port]))).status, 200);
  assert.equal(await adminState(a, 's1'), 'ready', 's1 made anew on A is ready');
  assert.ok(await waitFor(() => everywhere(all, 's1', 'ready'), 20_000, 100), 's1 made anew is ready on every node');
  const d = await start(1, 'node-d');
  assert.ok(d.logs.some((l) => /fleet caught up before serving/.test(l)), 'D caught up before serving');
  assert.equal(await adminState(d, 's1'), 'ready', 'D, replaying the log, does not drain the new s1');
  assert.equal(await adminState(d, 's2'), 'ready');
  assert.deepEqual(new Set(await serve(d, 6)), new Set(['one', 'two']), 'D balances over both servers');
  assert.equal((await sharedServerStates(pool)).find((x) => x.server === 's1')?.state, 'ready');
});
