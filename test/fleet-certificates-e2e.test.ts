/**
 * Fleet, one of each job (issue 17): three real daemons, each with its own
 * managed HAProxy (2.6, 3.0, 2.6) and HTTPS listener on loopback, sharing a
 * real PostgreSQL (a throwaway cluster) and one fleet secret key; Debian's
 * pebble as the CA, sending every HTTP-01 validation to node B's HAProxy.
 * What a client sees is what counts: the certificate each HAProxy presents
 * in a TLS handshake. Waits are bounded conditions, never timed assertions.
 *
 * - The first node leads; every node names it in GET /api/fleet; a follower
 *   refuses to order (409 naming the leader).
 * - The leader (A) orders once; pebble validates through B (a node that did
 *   not order: the token is in the shared store); all three HAProxy serve
 *   the same serial, hot-loaded; PostgreSQL holds the key sealed only.
 * - A node with another fleet key refuses the shared certificate (audited)
 *   and keeps serving what it has.
 * - The leader daemon stops (its connection, and so its lock, go with it):
 *   another node leads, says so in GET /api/fleet, and a renewal runs there;
 *   the renewed certificate reaches the other remaining node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { HAPROXIES, freePort, startTestDaemon, startBackend, domainBody, waitFor, type TestDaemon } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { startDns, startPebble } from './helpers/pebble.js';

/** The serial of the certificate HAProxy on `port` presents for `servername` (upper case, no leading zeros). */
function servedSerial(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().serialNumber.toUpperCase().replace(/^0+/, ''));
      s.end();
    });
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('tls timeout')));
  });
}
const norm = (s: string) => s.toUpperCase().replace(/^0+/, '');

interface FleetOut {
  node_name: string;
  leader: string | null;
  is_leader: boolean;
  leader_since: string | null;
  shared: string[];
}

test('a certificate ordered once by the leader is served by all three nodes; the leader dies and another takes over', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_certs');
  const admin = new pg.Pool({ connectionString: url });
  admin.on('error', () => undefined);
  const dns = await startDns();
  const portB = await freePort();
  // Every HTTP-01 validation goes to node B's HAProxy, whichever node ordered.
  const pebble = await startPebble({ httpPort: portB, dnsPort: dns.port });
  const be = await startBackend('shop');
  const nodes: TestDaemon[] = [];
  t.after(async () => {
    if (process.env.FLEET_TEST_LOGS) for (const n of nodes) console.log(n.logs.filter((l) => /fleet|certificate|ACME|renew/i.test(l)).join('\n'));
    for (const n of nodes) await n.stop();
    await admin.end();
    await be.close();
    await pebble.stop();
    await dns.stop();
    pgc.destroy();
  });
  const caFile = join(pebble.dir, 'api-ca-for-daemon.pem');
  writeFileSync(caFile, pebble.caPem);
  const keyFile = join(pebble.dir, 'fleet.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });

  const start = async (name: string, i: number, opts: { httpPort?: number; keyFile?: string } = {}) => {
    const httpsPort = await freePort();
    const n = await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, {
      ...(opts.httpPort ? { httpPort: opts.httpPort } : {}),
      config: {
        haproxy: { https_port: httpsPort },
        acme: { directory: pebble.directoryUrl, ca_file: caFile, renew_jitter: '0s', timeout: '20s', self_check_resolver: `127.0.0.1:${dns.port}` },
        fleet: { node_name: name, database_url: url, tls: { enabled: false }, secret_key_file: opts.keyFile ?? keyFile },
      },
    });
    nodes.push(n);
    // Domains are not shared by this slice: each node gets its own.
    assert.equal((await n.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
    return { n, httpsPort };
  };
  const fleetOf = async (n: TestDaemon) => (await n.api('GET', '/api/fleet')).json<FleetOut>();

  const A = await start('node-a', 0);
  assert.ok(await waitFor(async () => (await fleetOf(A.n)).is_leader, 15_000, 50), 'the first node leads');
  const B = await start('node-b', 1, { httpPort: portB });
  const C = await start('node-c', 2);
  const all = [A, B, C];
  assert.ok(await waitFor(async () => (await Promise.all(all.map((x) => fleetOf(x.n)))).every((f) => f.leader === 'node-a'), 15_000, 50), 'every node names node-a the leader');
  const fa = await fleetOf(A.n);
  assert.deepEqual([fa.is_leader, fa.shared.includes('certificates'), typeof fa.leader_since], [true, true, 'string']);
  assert.deepEqual(((await fleetOf(B.n)) as FleetOut).is_leader, false);

  // A follower does not order: it names the leader, and nothing reaches the CA.
  const ordersBefore = pebble.orders();
  const onB = await B.n.api('POST', '/api/ssl', { domain: 'shop.test' });
  assert.equal(onB.status, 409, onB.body);
  assert.match(onB.json<{ message: string }>().message, /^node-a leads the fleet: certificates are ordered and renewed there/);
  assert.equal(pebble.orders(), ordersBefore);

  // The leader orders once; pebble validates through B's HAProxy (B's responder finds A's token in PostgreSQL).
  const issued = await A.n.api('POST', '/api/ssl', { domain: 'shop.test' });
  assert.equal(issued.status, 200, issued.body);
  const serial = norm(issued.json<{ serial: string }>().serial);
  assert.equal(pebble.orders(), ordersBefore + 1, 'one order');
  const servedBy = async (list: typeof all) => Promise.all(list.map((x) => servedSerial(x.httpsPort, 'shop.test')));
  assert.ok(await waitFor(async () => (await servedBy(all)).every((s) => s === serial), 20_000, 100), `all three serve ${serial} (now: ${(await servedBy(all)).join(', ')})`);
  for (const x of all) {
    const st = (await x.n.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; serial: string; cert_path: string }[] }>();
    const row = st.certificates.find((c) => c.domain === 'shop.test')!;
    assert.equal(norm(row.serial), serial);
    assert.equal(statSync(row.cert_path).mode & 0o777, 0o600, 'the PEM file is 0600 on every node');
  }
  assert.equal(pebble.orders(), ordersBefore + 1, 'still one order: B and C did not order their own');
  // Hot-loaded: no reload was needed on B or C.
  for (const x of [B, C]) assert.ok(x.n.logs.some((l) => /certificate installed.*hot_loaded=true/.test(l)), 'hot-loaded');
  // The database holds the chain and a sealed key, never a usable one.
  const rows = (await admin.query<{ key_sealed: string; chain: string }>('SELECT key_sealed, chain FROM fleet_certificates')).rows;
  assert.equal(rows.length, 1);
  assert.match(rows[0]!.chain, /BEGIN CERTIFICATE/);
  assert.doesNotMatch(rows[0]!.key_sealed, /PRIVATE KEY/);
  assert.match(rows[0]!.key_sealed, /^hm1:[0-9a-f]{16}:/);
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM fleet_challenges')).rows[0].n, 0, 'the token was removed after the order');

  // A node with another fleet key refuses the certificate, audits it, and keeps its own.
  const otherKey = join(pebble.dir, 'other.key');
  writeFileSync(otherKey, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const D = await start('node-d', 1, { keyFile: otherKey });
  const refusal = async () => (await D.n.api('GET', '/api/audit?limit=200')).json<{ action: string; target: string | null; error: string | null }[]>().find((e) => e.action === 'fleet.certificate_refused');
  assert.ok(await waitFor(async () => (await refusal()) !== undefined, 15_000, 100), 'D audits the refusal');
  assert.match((await refusal())!.error ?? '', /sealed with another fleet key/);
  assert.notEqual(await servedSerial(D.httpsPort, 'shop.test'), serial, 'D serves its own certificate');
  nodes.splice(nodes.indexOf(D.n), 1);
  await D.n.stop();

  // The leader's daemon stops: its lock goes with its connection, and another node takes over.
  nodes.splice(nodes.indexOf(A.n), 1);
  await A.n.stop();
  const rest = [B, C];
  let next = '';
  assert.ok(
    await waitFor(async () => {
      const fs = await Promise.all(rest.map((x) => fleetOf(x.n)));
      next = fs[0]!.leader ?? '';
      return ['node-b', 'node-c'].includes(next) && fs.every((f) => f.leader === next) && fs.filter((f) => f.is_leader).length === 1;
    }, 15_000, 50),
    'B or C leads, and both say which',
  );
  const leader = next === 'node-b' ? B : C;
  const follower = next === 'node-b' ? C : B;

  // A renewal runs on the new leader (validated through B again), and reaches the other node.
  const refusedRenew = await follower.n.api('POST', '/api/certificates/renew', { domain: 'shop.test', force: true });
  assert.equal(refusedRenew.status, 409, refusedRenew.body);
  assert.match(refusedRenew.json<{ message: string }>().message, new RegExp(`^${next} leads the fleet`));
  const renewed = await leader.n.api('POST', '/api/certificates/renew', { domain: 'shop.test', force: true });
  assert.equal(renewed.status, 200, renewed.body);
  const r = renewed.json<{ results: { status: string; serial: string }[] }>().results[0]!;
  assert.equal(r.status, 'renewed');
  const serial2 = norm(r.serial);
  assert.notEqual(serial2, serial);
  assert.ok(await waitFor(async () => (await servedBy(rest)).every((s) => s === serial2), 20_000, 100), `both remaining nodes serve the renewed ${serial2}`);
  assert.equal(pebble.orders(), ordersBefore + 2, 'two orders in all: the issue and the renewal');
});
