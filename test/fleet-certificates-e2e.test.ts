/**
 * Fleet, one of each job (issue 17): three real daemons, each with its own
 * managed HAProxy (2.6, 3.0, 2.6) and HTTPS listener on loopback, sharing a
 * real PostgreSQL (a throwaway cluster) and one fleet secret key; Debian's
 * pebble as the CA, sending every HTTP-01 validation to a loopback forwarder
 * (a load balancer in front of the fleet) that the test points at the
 * HAProxy of a node that does not lead: the token is found in the shared store.
 * What a client sees is what counts: the certificate each HAProxy presents
 * in a TLS handshake. Waits are bounded conditions, never timed assertions.
 *
 * - No node leads at first: the test holds the leader lock itself (a
 *   stand-in, as between a leader's death and the next election, made long
 *   enough to be certain). An order sent to B's API is queued (202, with the
 *   request id); bad input is a 400 and queues nothing; nothing reaches the
 *   CA while nobody leads.
 * - The stand-in lets go: one of the three leads and carries the queued
 *   order out, once (pebble sees one order), validated through a node that did
 *   not order; all three HAProxy serve the
 *   same serial, hot-loaded; PostgreSQL holds the key sealed only, and the
 *   fleet's ACME account key sealed only. The same order asked again of a
 *   follower is skipped by the leader (the name is covered): no new order.
 * - A node with another fleet key refuses the shared certificate (audited)
 *   and keeps serving what it has.
 * - The leader daemon stops (its connection, and so its lock, go with it):
 *   another node leads, says so in GET /api/fleet; a renewal asked of the
 *   follower is carried out there, and one asked of the new leader runs at
 *   once (200), under the same ACME account (one account at pebble, the
 *   same account URL); the renewed certificate reaches the other node.
 * - The follower's console (a real Chromium): Renew shows the name queued
 *   for the leader, then the leader's outcome.
 * - `certs request` (the CLI) against a follower waits for the leader's
 *   outcome and prints it as on the leader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import net from 'node:net';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LEADER_LOCK } from '../src/storage/pg/leader.js';
import { requestCerts } from '../src/cli/certs.js';
import { browserPerFile, consolePage, waitForText } from './helpers/browser.js';
import { HAPROXIES, freePort, startTestDaemon, startBackend, domainBody, waitFor, type TestDaemon } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { startDns, startPebble } from './helpers/pebble.js';

const browser = browserPerFile();

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

interface RequestOut {
  id: number;
  state: string;
  run_node: string | null;
  attempts: number;
  requested_by: { node: string; actor: string };
  results: { status: string; serial?: string; domain: string }[] | null;
  error: string | null;
}

test('a certificate ordered once by the leader is served by all three nodes; the leader dies and another takes over', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_certs');
  const admin = new pg.Pool({ connectionString: url });
  admin.on('error', () => undefined);
  const dns = await startDns();
  // Every HTTP-01 validation goes to the forwarder, and from it to the HAProxy of a running node that does not lead.
  const running = new Map<string, { n: TestDaemon; httpPort: number }>();
  const validatedVia: string[] = [];
  const forwarder = net.createServer((inbound) => {
    inbound.pause();
    inbound.on('error', () => undefined);
    void (async () => {
      let pick: string | undefined;
      for (const [name, x] of running) {
        const f = await x.n.api('GET', '/api/fleet').then((r) => r.json<{ is_leader: boolean }>()).catch(() => null);
        if (f && !f.is_leader) {
          pick = name;
          break;
        }
      }
      if (!pick) return inbound.destroy();
      validatedVia.push(pick);
      const out = net.connect(running.get(pick)!.httpPort, '127.0.0.1');
      out.on('error', () => inbound.destroy());
      inbound.pipe(out).pipe(inbound);
      inbound.resume();
    })();
  });
  await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', r));
  const pebble = await startPebble({ httpPort: (forwarder.address() as net.AddressInfo).port, dnsPort: dns.port });
  const be = await startBackend('shop');
  const nodes: TestDaemon[] = [];
  t.after(async () => {
    if (process.env.FLEET_TEST_LOGS) for (const n of nodes) console.log(n.logs.filter((l) => /fleet|certificate|ACME|renew/i.test(l)).join('\n'));
    for (const n of nodes) await n.stop();
    await admin.end();
    await be.close();
    await pebble.stop();
    forwarder.close();
    await dns.stop();
    pgc.destroy();
  });
  const caFile = join(pebble.dir, 'api-ca-for-daemon.pem');
  writeFileSync(caFile, pebble.caPem);
  const keyFile = join(pebble.dir, 'fleet.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });

  const start = async (name: string, i: number, opts: { keyFile?: string } = {}) => {
    const httpsPort = await freePort();
    const httpPort = await freePort();
    const n = await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, {
      httpPort,
      config: {
        haproxy: { https_port: httpsPort },
        acme: { directory: pebble.directoryUrl, ca_file: caFile, renew_jitter: '0s', timeout: '20s', self_check_resolver: `127.0.0.1:${dns.port}` },
        fleet: { node_name: name, database_url: url, tls: { enabled: false }, secret_key_file: opts.keyFile ?? keyFile },
      },
    });
    nodes.push(n);
    running.set(name, { n, httpPort });
    // Domains are shared configuration: made on the first node, the others have it from the fleet.
    if (nodes.length === 1) assert.equal((await n.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
    else assert.ok(await waitFor(async () => (await n.api('GET', '/api/domains')).json<{ domain: string }[]>().some((d) => d.domain === 'shop.test'), 15_000, 50), `${name} has the domain`);
    return { n, httpsPort };
  };
  const fleetOf = async (n: TestDaemon) => (await n.api('GET', '/api/fleet')).json<FleetOut>();
  const requestOf = async (n: TestDaemon, id: number) => (await n.api('GET', `/api/fleet/requests/${id}`)).json<RequestOut>();
  const finished = async (n: TestDaemon, id: number) => {
    let last: RequestOut | null = null;
    const ok = await waitFor(async () => ['done', 'failed'].includes((last = await requestOf(n, id)).state), 60_000, 100);
    assert.ok(ok, `request ${id} finished (now: ${JSON.stringify(last)})`);
    return last!;
  };
  const queuedCount = async () => (await admin.query('SELECT count(*)::int AS n FROM fleet_cert_requests')).rows[0].n as number;

  // A stand-in holds the leader lock: no daemon leads until it lets go.
  const standIn = new pg.Client({ connectionString: url, application_name: 'haproxy-manager stand-in' });
  standIn.on('error', () => undefined);
  await standIn.connect();
  assert.equal((await standIn.query('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK])).rows[0].ok, true);

  const A = await start('node-a', 0);
  const B = await start('node-b', 1);
  const C = await start('node-c', 2);
  const all = [A, B, C];
  assert.ok(await waitFor(async () => (await Promise.all(all.map((x) => fleetOf(x.n)))).every((f) => f.leader === 'stand-in' && !f.is_leader), 15_000, 50), 'no daemon leads; each names the lock holder');

  // Bad input on a follower: 400 naming the field, nothing queued.
  const ordersBefore = pebble.orders();
  const badInput = await B.n.api('POST', '/api/ssl', { domain: 'shop test' });
  assert.equal(badInput.status, 400, badInput.body);
  assert.equal(badInput.json<{ field: string }>().field, 'domain');
  assert.equal(await queuedCount(), 0, 'nothing queued');

  // An order sent to B while nobody leads is queued; nothing reaches the CA.
  const onB = await B.n.api('POST', '/api/ssl', { domain: 'shop.test' });
  assert.equal(onB.status, 202, onB.body);
  const q = onB.json<{ status: string; request_id: number; state: string; leader: string | null; status_url: string }>();
  assert.deepEqual([q.status, q.state, q.leader, q.status_url], ['queued', 'queued', 'stand-in', `/api/fleet/requests/${q.request_id}`]);
  const seenOnC = await requestOf(C.n, q.request_id);
  assert.deepEqual([seenOnC.state, seenOnC.requested_by.node, seenOnC.run_node], ['queued', 'node-b', null]);
  assert.equal(pebble.orders(), ordersBefore);
  const listed = (await A.n.api('GET', '/api/fleet/requests?limit=5')).json<{ requests: RequestOut[] }>().requests;
  assert.deepEqual(listed.map((x) => [x.id, x.state]), [[q.request_id, 'queued']], 'listed on any node');
  const badId = await A.n.api('GET', '/api/fleet/requests/x1');
  assert.equal(badId.status, 400, badId.body);
  assert.equal(badId.json<{ field: string }>().field, 'id');
  assert.equal((await A.n.api('GET', '/api/fleet/requests/999999')).status, 404);

  // The stand-in lets go: a daemon leads and carries the queued order out, once.
  await standIn.end();
  const done = await finished(B.n, q.request_id);
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.ok(['node-a', 'node-b', 'node-c'].includes(done.run_node ?? ''), `run by a daemon (${done.run_node})`);
  assert.equal(done.attempts, 1);
  assert.equal(done.results?.[0]?.status, 'success');
  const serial = norm(done.results![0]!.serial!);
  assert.equal(pebble.orders(), ordersBefore + 1, 'one order');
  assert.equal(pebble.accounts(), 1, 'one ACME account');
  assert.ok(validatedVia.length > 0 && !validatedVia.includes(done.run_node!), `validated through nodes that did not order (${validatedVia.join(', ')})`);
  const names = ['node-a', 'node-b', 'node-c'];
  const first = all[names.indexOf(done.run_node!)]!;
  assert.ok((await fleetOf(first.n)).is_leader, 'the node that ran it leads');
  const fa = await fleetOf(first.n);
  assert.deepEqual([fa.shared.includes('certificates'), typeof fa.leader_since], [true, 'string']);
  const servedBy = async (list: typeof all) => Promise.all(list.map((x) => servedSerial(x.httpsPort, 'shop.test')));
  assert.ok(await waitFor(async () => (await servedBy(all)).every((s) => s === serial), 20_000, 100), `all three serve ${serial} (now: ${(await servedBy(all)).join(', ')})`);
  for (const x of all) {
    const st = (await x.n.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; serial: string; cert_path: string }[] }>();
    const row = st.certificates.find((c) => c.domain === 'shop.test')!;
    assert.equal(norm(row.serial), serial);
    assert.equal(statSync(row.cert_path).mode & 0o777, 0o600, 'the PEM file is 0600 on every node');
  }
  assert.equal(pebble.orders(), ordersBefore + 1, 'still one order: the other nodes did not order their own');
  // Hot-loaded: no reload was needed on the nodes that did not order.
  for (const x of all.filter((y) => y !== first)) assert.ok(x.n.logs.some((l) => /certificate installed.*hot_loaded=true/.test(l)), 'hot-loaded');
  // The database holds the chain and a sealed key, never a usable one.
  const rows = (await admin.query<{ key_sealed: string; chain: string }>('SELECT key_sealed, chain FROM fleet_certificates')).rows;
  assert.equal(rows.length, 1);
  assert.match(rows[0]!.chain, /BEGIN CERTIFICATE/);
  assert.doesNotMatch(rows[0]!.key_sealed, /PRIVATE KEY/);
  assert.match(rows[0]!.key_sealed, /^hm1:[0-9a-f]{16}:/);
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM fleet_challenges')).rows[0].n, 0, 'the token was removed after the order');
  // The fleet's ACME account: its key sealed, the URL the leader used.
  const acct = (await admin.query<{ key_sealed: string; account_url: string; node: string }>('SELECT key_sealed, account_url, node FROM fleet_acme_account')).rows;
  assert.equal(acct.length, 1);
  assert.match(acct[0]!.key_sealed, /^hm1:[0-9a-f]{16}:/);
  assert.doesNotMatch(acct[0]!.key_sealed, /PRIVATE KEY/);
  assert.equal(acct[0]!.node, done.run_node);
  const accountUsed = (n: TestDaemon) => n.logs.map((l) => /ACME account ready.* account=(\S+)/.exec(l)?.[1]).filter((x) => x !== undefined);
  assert.deepEqual(accountUsed(first.n), [acct[0]!.account_url]);
  for (const x of all) assert.ok(!x.n.logs.some((l) => /PRIVATE KEY|hm1:/.test(l)), 'no key material in the logs');

  // Asked again of a follower: queued, and the leader skips it (the name is covered); no new order.
  const follower0 = all.find((x) => x !== first)!;
  const again = await follower0.n.api('POST', '/api/ssl', { domain: 'shop.test' });
  assert.equal(again.status, 202, again.body);
  const againDone = await finished(follower0.n, again.json<{ request_id: number }>().request_id);
  assert.deepEqual([againDone.state, againDone.results?.[0]?.status], ['done', 'skipped']);
  // The CLI on a follower waits for the leader's outcome and prints it as on the leader.
  const printed: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, cb) => (printed.push(String(chunk)), cb()) });
  const target = { host: '127.0.0.1', port: follower0.n.apiPort, key: follower0.n.apiKey };
  const quiet = { active: false, update: () => undefined, clear: () => undefined, end: () => undefined };
  assert.equal(await requestCerts(target, ['shop.test'], { www: false, force: false }, { json: false, out: sink, progress: quiet }), 0);
  // Seen once under the whole suite's load: the follower still named the stand-in here. What it knew then goes into the message.
  const leaderSeen = /^queued for the fleet leader \(node-[abc]\) as request \d+; waiting for it\nskipped shop\.test: skipped: the valid certificate shop\.test/.test(printed.join(''));
  if (!leaderSeen) {
    const holders = (await admin.query('SELECT a.pid, a.application_name, a.state, a.xact_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = $1 AND l.granted AND l.objid = $2', ['advisory', LEADER_LOCK])).rows;
    const fleetLog = follower0.n.logs.filter((l) => /fleet|leader/i.test(l)).slice(-15);
    assert.fail(`follower ${JSON.stringify(await fleetOf(follower0.n))} printed ${JSON.stringify(printed.join(''))}; lock holders now ${JSON.stringify(holders)}; its fleet log: ${fleetLog.join(' | ')}`);
  }
  assert.match(printed.join(''), /1 of 1 done, 0 failed\n$/);
  assert.equal(pebble.orders(), ordersBefore + 1, 'still one order');

  // A node with another fleet key refuses the certificate, audits it, and keeps its own.
  const otherKey = join(pebble.dir, 'other.key');
  writeFileSync(otherKey, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const D = await start('node-d', 1, { keyFile: otherKey });
  const refusal = async () => (await D.n.api('GET', '/api/audit?limit=200')).json<{ action: string; target: string | null; error: string | null }[]>().find((e) => e.action === 'fleet.certificate_refused');
  assert.ok(await waitFor(async () => (await refusal()) !== undefined, 15_000, 100), 'D audits the refusal');
  assert.match((await refusal())!.error ?? '', /sealed with another fleet key/);
  assert.notEqual(await servedSerial(D.httpsPort, 'shop.test'), serial, 'D serves its own certificate');
  nodes.splice(nodes.indexOf(D.n), 1);
  running.delete('node-d');
  await D.n.stop();

  // The leader's daemon stops: its lock goes with its connection, and another node takes over.
  nodes.splice(nodes.indexOf(first.n), 1);
  running.delete(done.run_node!);
  await first.n.stop();
  const rest = all.filter((x) => x !== first);
  const restNames = rest.map((x) => names[all.indexOf(x)]!);
  let next = '';
  assert.ok(
    await waitFor(async () => {
      const fs = await Promise.all(rest.map((x) => fleetOf(x.n)));
      next = fs[0]!.leader ?? '';
      return restNames.includes(next) && fs.every((f) => f.leader === next) && fs.filter((f) => f.is_leader).length === 1;
    }, 15_000, 50),
    'one of the remaining nodes leads, and both say which',
  );
  const leader = rest[restNames.indexOf(next)]!;
  const follower = rest.find((x) => x !== leader)!;

  // A renewal asked of the follower is carried out by the new leader (validated through the follower), and reaches the other node.
  const queuedRenew = await follower.n.api('POST', '/api/certificates/renew', { domain: 'shop.test', force: true });
  assert.equal(queuedRenew.status, 202, queuedRenew.body);
  assert.equal(queuedRenew.json<{ leader: string }>().leader, next);
  const renewDone = await finished(follower.n, queuedRenew.json<{ request_id: number }>().request_id);
  assert.deepEqual([renewDone.state, renewDone.run_node, renewDone.results?.[0]?.status], ['done', next, 'renewed'], JSON.stringify(renewDone));
  const serial2 = norm(renewDone.results![0]!.serial!);
  assert.notEqual(serial2, serial);
  assert.ok(await waitFor(async () => (await servedBy(rest)).every((s) => s === serial2), 20_000, 100), `both remaining nodes serve the renewed ${serial2}`);
  // The leader itself acts at once, as before.
  const renewed = await leader.n.api('POST', '/api/certificates/renew', { domain: 'shop.test', force: true });
  assert.equal(renewed.status, 200, renewed.body);
  const serial3 = norm(renewed.json<{ results: { status: string; serial: string }[] }>().results[0]!.serial);
  assert.ok(await waitFor(async () => (await servedBy(rest)).every((s) => s === serial3), 20_000, 100), `both remaining nodes serve ${serial3}`);
  assert.equal(pebble.orders(), ordersBefore + 3, 'three orders in all: the issue and two renewals');
  // The same ACME account after the failover: pebble registered one, and the new leader used the stored one.
  assert.equal(pebble.accounts(), 1, 'still one ACME account at pebble');
  assert.deepEqual(accountUsed(leader.n), [acct[0]!.account_url]);
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM fleet_acme_account')).rows[0].n, 1);

  // Renew from the follower's console: the name shows queued, then the leader's outcome.
  const op = await consolePage(browser(), follower.n.apiPort, follower.n.apiKey!);
  assert.equal(await op.goto('/certificates'), 200);
  const row = '#cert-list tr[data-cert="shop.test"]';
  await op.page.waitForSelector(row, { timeout: 10_000 });
  // Every status the name shows, in order (a string: tsx would wrap named arrow functions in a helper the page lacks).
  await op.page.evaluate(`(() => {
    const seen = [];
    window.seen = seen;
    const list = document.querySelector('#renew-progress');
    new MutationObserver(() => {
      const pill = list.querySelector('li[data-key="shop.test"] .pill');
      if (pill && seen.at(-1) !== pill.textContent) seen.push(pill.textContent);
    }).observe(list, { childList: true, subtree: true, characterData: true });
  })()`);
  await op.page.$eval(`${row} button[aria-label="Renew shop.test"]`, (b) => (b as HTMLButtonElement).click());
  await waitForText(op.page, '#renew-result', '1 done: 1 succeeded, 0 skipped, 0 failed', 60_000);
  assert.deepEqual(await op.page.evaluate(() => (window as unknown as { seen: string[] }).seen), ['renewing…', 'queued for the leader', 'renewed']);
  assert.deepEqual([op.problems, op.dialogs], [[], []]);
  assert.equal(pebble.orders(), ordersBefore + 4, 'the console renewal was one more order, by the leader');
  const last = (await admin.query<{ state: string; run_node: string; requested_node: string; requested_actor: string }>('SELECT state, run_node, requested_node, requested_actor FROM fleet_cert_requests ORDER BY id DESC LIMIT 1')).rows[0]!;
  assert.deepEqual([last.state, last.run_node, last.requested_node], ['done', next, names[all.indexOf(follower)]]);
});
