/**
 * Fleet, HAProxy peers (issue 17): three real daemons, each with its own
 * managed HAProxy (2.6, 3.0, 2.6), share the rate-limit stick table through
 * the `peers` section rendered from fleet.peers (loopback ports), so a client
 * spread over the three nodes is counted once. What the client sees counts:
 * with a limit of DENY requests per 10 s, a client sending round-robin to the
 * three nodes is refused (429) before any one node has seen DENY of its
 * requests, i.e. well before a node alone would refuse it, and then every
 * node refuses it while another client is served. After a reload of one
 * node's HAProxy, its table holds the client again and it still pushes.
 *
 * The client is behind a trusted proxy (127.0.0.10, X-Forwarded-For), so its
 * real address is not a loopback one (loopback is exempt from rate limits).
 * Waits are bounded conditions, never timed assertions; the requests of the
 * burst are sent one after the other well inside the 10 s rate window, each
 * once the three tables agree (the peers' push is asynchronous).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, freePort, startTestDaemon, startBackend, domainBody, waitFor, type TestDaemon } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';

const PROXY = '127.0.0.10';
const DENY = 12;

test('three nodes share the rate-limit table through HAProxy peers: a client spread over them is counted once', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_peers');
  const be = await startBackend('shop');
  const names = ['node-a', 'node-b', 'node-c'];
  const peers = await Promise.all(names.map(async (name) => ({ name, address: '127.0.0.1', port: await freePort() })));
  const nodes: TestDaemon[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
    await be.close();
    pgc.destroy();
  });
  for (const [i, name] of names.entries()) {
    nodes.push(
      await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, {
        config: {
          fleet: { node_name: name, database_url: url, tls: { enabled: false }, peers },
          haproxy: { rate_limits: { deny_requests_10s: DENY, tarpit_requests_10s: DENY, connections_10s: 10_000, concurrent_connections: 10_000 } },
        },
      }),
    );
  }
  const [a, b, c] = nodes as [TestDaemon, TestDaemon, TestDaemon];
  assert.ok(await waitFor(() => nodes.every((n) => n.daemon.fleet!.status().connected), 15_000), 'every node connects to PostgreSQL');
  // The domain and the trusted proxy are shared configuration: made on A, they reach B and C.
  assert.equal((await a.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
  assert.equal((await a.api('POST', '/api/trusted-proxies', { cidr: PROXY })).status, 201);
  const proxied = async (n: TestDaemon) => (await n.api('GET', '/api/trusted-proxies')).json<{ cidr: string }[]>().some((p) => p.cidr === PROXY);
  assert.ok(await waitFor(async () => (await Promise.all([b, c].map(async (n) => (await n.get('shop.test', '/')).status === 200 && (await proxied(n))))).every(Boolean), 15_000, 100), 'B and C have the domain and the proxy');
  const status = async (n: TestDaemon, ip: string) => (await n.get('shop.test', '/', { localAddress: PROXY, headers: { 'X-Forwarded-For': ip } })).status;
  const tracked = async (n: TestDaemon, ip: string) => (await n.daemon.control.runtime.tables.show('web')).entries.some((e) => e.key === `::ffff:${ip}` || e.key === ip);

  // The peers are connected both ways once one request on each node shows up in the other two's tables.
  for (const [i, n] of nodes.entries()) {
    const w = `198.51.100.${i + 1}`;
    assert.equal(await status(n, w), 200);
    const others = nodes.filter((o) => o !== n);
    assert.ok(await waitFor(async () => (await Promise.all(others.map((o) => tracked(o, w)))).every(Boolean), 20_000, 100), `${names[i]}'s entry reaches the two other nodes`);
  }

  // A client spread round-robin over the three nodes: each node sees a third of its requests.
  const X = '203.0.113.50';
  const seen: number[] = [];
  const SENT = DENY + DENY / 2;
  // HAProxy's peers copy an entry (last writer wins) rather than add counts: an update reaches the others
  // within a millisecond on a quiet machine, but a loaded one can take longer than a client's next request.
  // So each request waits until the three tables agree (the push made), and the test judges the counting.
  const rates = async (ip: string) => Promise.all(nodes.map(async (n) => (await n.daemon.control.runtime.tables.show('web')).entries.find((e) => e.key === `::ffff:${ip}`)?.['http_req_rate(10000)']));
  for (let i = 0; i < SENT; i++) {
    seen.push(await status(nodes[i % 3]!, X));
    assert.ok(await waitFor(async () => new Set(await rates(X)).size === 1, 10_000, 10), `request ${i + 1}: the three tables agree`);
  }
  const first = seen.indexOf(429);
  assert.ok(first !== -1, `refused (429) within ${SENT} requests, each node having seen only ${SENT / 3} (a node alone refuses after ${DENY}): ${seen.join(' ')}`);
  assert.ok(first >= DENY, `served until the shared count passes the limit, refused after: ${seen.join(' ')}`);
  assert.deepEqual(seen.slice(0, DENY), Array(DENY).fill(200));
  for (const n of [a, b, c]) assert.equal(await status(n, X), 429, 'every node refuses the client now');

  // Another client is not affected on any node.
  for (const n of [a, b, c]) assert.equal(await status(n, '203.0.113.51'), 200);

  // A reload of A's HAProxy (new workers, the peers listener handed over): A holds the client's entry again
  // (from its old process or the other nodes), and the peers still push: a new client on A reaches B and C.
  assert.equal((await a.daemon.applier.reloadLive('test')).reloaded, true);
  assert.ok(await waitFor(() => tracked(a, X), 10_000, 100), 'A\'s table holds the client again after the reload');
  assert.equal(await status(a, '198.51.100.9'), 200);
  assert.ok(await waitFor(async () => (await tracked(b, '198.51.100.9')) && (await tracked(c, '198.51.100.9')), 20_000, 100), 'the reloaded node still pushes to the others');
});
