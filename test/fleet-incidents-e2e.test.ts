/**
 * Fleet incidents end to end (issue 17): three real daemons, each with its
 * own managed HAProxy (2.6, 3.0, 2.6), a throwaway PostgreSQL and a real SMTP
 * server on loopback that every node mails to.
 *
 * - Detection stays local, decisions are shared: an attack seen only in B's
 *   logs (real probes through B's HAProxy) opens an incident on B alone,
 *   carrying node-b; B's policy blocks the attacker and A's and C's HAProxy
 *   refuse it too. B mails about it as a single node would.
 * - One condition seen by several nodes is one fleet incident and one set of
 *   notifications: the same attack lines replayed into A's and C's logs at
 *   once give an incident on each (each with its node), both part of one
 *   fleet incident with one notifier, and the same mails a single node sends
 *   (the ones B sent for its attack), from the notifier only, not one per node.
 *   The console shows each incident's node and, on the attached node, who
 *   notifies.
 * Waits are bounded conditions, never timed assertions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor, type TestDaemon } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { startSmtpCapture, type CapturedMail } from './helpers/smtp.js';

const PROXY = '127.0.0.10';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** An HAProxy log line (syslog prefix, httplog) as a node's file source reads it, at time `at`. */
function probeLine(ip: string, path: string, at: Date): string {
  const syslog = `${MONTHS[at.getMonth()]} ${String(at.getDate()).padStart(2, ' ')} ${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}`;
  const accept = `${p2(at.getDate())}/${MONTHS[at.getMonth()]}/${at.getFullYear()}:${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
  return `${syslog} lb haproxy[2231]: ${ip}:37296 [${accept}] web~ web-backend/s1 2/0/0/29/32 404 162 - - ---- 12/12/3/1/0 0/0 {shop.test|curl/8.0} "GET ${path} HTTP/1.1"\n`;
}

/** Logs in to a node's console with its API key (the login form's POST); returns the session cookie. */
async function consoleLogin(n: TestDaemon): Promise<string> {
  const origin = `http://127.0.0.1:${n.apiPort}`;
  const r = await fetch(`${origin}/login`, { method: 'POST', redirect: 'manual', headers: { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key: n.apiKey! }).toString() });
  assert.equal(r.status, 302);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  assert.match(cookie, /^hm_session=/);
  return cookie;
}

async function consoleGet(n: TestDaemon, cookie: string, path: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${n.apiPort}${path}`, { headers: { Cookie: cookie } });
  assert.equal(r.status, 200, path);
  return r.text();
}

interface IncidentRow {
  id: number;
  rule: string;
  subject: { value: string };
  node: string | null;
  fleet_incident_id: number | null;
  fleet_notifier: string | null;
}

test('fleet incidents: an attack seen by one node is blocked on all; one seen by two is one fleet incident and one set of mails', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_incidents_e2e');
  const smtp = await startSmtpCapture();
  const be = await startBackend('shop');
  const names = ['node-a', 'node-b', 'node-c'];
  const nodes: TestDaemon[] = [];
  const replay: string[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
    await be.close();
    await smtp.close().catch(() => undefined);
    pgc.destroy();
  });
  for (const [i, name] of names.entries()) {
    const dir = mkdtempSync(join(tmpdir(), 'hm-fleet-inc-'));
    const file = join(dir, 'replay.log');
    writeFileSync(file, '');
    replay.push(file);
    nodes.push(
      await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, {
        config: {
          fleet: { node_name: name, database_url: url, tls: { enabled: false } },
          monitor: { incident_quiet: '10m', sources: [{ name: 'replay', type: 'file', path: file, format: 'haproxy', start_at: 'end' }] },
          notifications: { channels: { mail: { type: 'email', host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'hm@example.test', to: ['ops@example.test'], timeout: '3s' } } },
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
  const incidentsAbout = async (n: TestDaemon, ip: string) => (await n.api('GET', `/api/incidents?subject=${ip}&rule=sensitive-files`)).json<IncidentRow[]>();
  const mailsAbout = (ip: string) => smtp.mails.filter((m) => m.subject.includes(`sensitive-files ip=${ip}`));
  const kinds = (ms: CapturedMail[]) => ms.map((m) => /\b(opened|escalated|acted|resolved):/.exec(m.subject)?.[1] ?? m.subject).sort();
  const sender = (m: CapturedMail) => /Sent by (\S+?)\./.exec(m.text)?.[1];
  /** Every decision asked of the fleet made and every mail handed to the SMTP server, on every node. */
  const quiet = async () => {
    for (const n of nodes) await n.daemon.fleetIncidents!.settled();
    return nodes.every((n) => n.daemon.notifications.stats().pending === 0);
  };

  // 1. An attack seen only in B's logs: real probes through B's HAProxy.
  const X = '203.0.113.70';
  for (const n of nodes) assert.equal(await status(n, X), 200, 'served before the attack');
  for (const path of ['/.env', '/.git/config', '/backup.sql']) await b.get('shop.test', path, { localAddress: PROXY, headers: { 'X-Forwarded-For': X, 'User-Agent': 'curl/8.0' } });
  assert.ok(await waitFor(async () => (await status(b, X)) === 403, 10_000, 50), 'B\'s policy blocks the attacker');
  assert.ok(await waitFor(async () => (await status(a, X)) === 403 && (await status(c, X)) === 403, 10_000, 50), 'A and C refuse the attacker B blocked');
  const onB = await incidentsAbout(b, X);
  assert.equal(onB.length, 1);
  assert.deepEqual([onB[0]!.rule, onB[0]!.node], ['sensitive-files', 'node-b'], 'the incident carries the node that saw it');
  assert.deepEqual(await incidentsAbout(a, X), [], 'A saw nothing of it');
  assert.deepEqual(await incidentsAbout(c, X), [], 'C saw nothing of it');
  assert.ok(await waitFor(async () => mailsAbout(X).some((m) => / opened: /.test(m.subject)) && (await quiet()), 15_000, 100), 'B mails about its incident');
  assert.ok(await waitFor(async () => (await incidentsAbout(b, X))[0]!.fleet_notifier === 'node-b', 5000, 50));
  const single = kinds(mailsAbout(X));
  assert.ok(single.includes('opened'), single.join(','));
  assert.ok(mailsAbout(X).every((m) => sender(m) === 'node-b'), 'sent by B, named as its node');

  // 2. The same attack lines replayed into A's and C's logs at once.
  const Z = '203.0.113.80';
  const at = new Date();
  const lines = ['/.env', '/.git/config', '/backup.sql'].map((p, i) => probeLine(Z, p, new Date(at.getTime() + i * 10))).join('');
  appendFileSync(replay[0]!, lines);
  appendFileSync(replay[2]!, lines);
  let onA: IncidentRow[] = [];
  let onC: IncidentRow[] = [];
  assert.ok(
    await waitFor(async () => {
      onA = await incidentsAbout(a, Z);
      onC = await incidentsAbout(c, Z);
      return onA.length === 1 && onC.length === 1 && onA[0]!.fleet_incident_id !== null && onC[0]!.fleet_incident_id !== null;
    }, 15_000, 100),
    'A and C each open an incident and ask the fleet',
  );
  assert.deepEqual([onA[0]!.node, onC[0]!.node], ['node-a', 'node-c'], 'each carries its own node');
  assert.equal(onA[0]!.fleet_incident_id, onC[0]!.fleet_incident_id, 'one fleet incident');
  const notifier = onA[0]!.fleet_notifier!;
  assert.ok(['node-a', 'node-c'].includes(notifier));
  assert.equal(onC[0]!.fleet_notifier, notifier, 'one notifier');
  assert.deepEqual(await incidentsAbout(b, Z), [], 'B saw nothing of it');
  assert.ok(await waitFor(async () => (await status(b, Z)) === 403, 10_000, 50), 'blocked on B too');

  // The mails: what a single node sends for one attack (B's for X), once, from the notifier only.
  // Both nodes' policies act on their own incident (the attached node's round is not mailed).
  const actedOn = async (n: TestDaemon) => (await n.api('GET', '/api/actions')).json<{ target: string | null }[]>().some((x) => x.target === Z);
  assert.ok(await waitFor(async () => (await actedOn(a)) && (await actedOn(c)), 10_000, 50), 'A and C both acted');
  assert.ok(await waitFor(async () => kinds(mailsAbout(Z)).length >= single.length && (await quiet()), 15_000, 100), 'the notifier mails');
  assert.deepEqual(kinds(mailsAbout(Z)), single, `one set of mails for one condition: ${mailsAbout(Z).map((m) => `${sender(m)}: ${m.subject}`).join(' | ')}`);
  assert.ok(mailsAbout(Z).every((m) => sender(m) === notifier), 'all from the notifier');
  assert.equal(mailsAbout(Z).filter((m) => / opened: /.test(m.subject)).length, 1, 'one "opened" mail, not one per node');

  // The console shows the node, and on the attached node who notifies.
  const attached = notifier === 'node-a' ? { n: c, inc: onC[0]!, name: 'node-c' } : { n: a, inc: onA[0]!, name: 'node-a' };
  const cookie = await consoleLogin(attached.n);
  const list = await consoleGet(attached.n, cookie, '/incidents');
  assert.match(list, /<th>Node<\/th>/);
  assert.match(list, new RegExp(`<td>${attached.name}<div class="muted">notified by ${notifier}</div></td>`));
  const detail = await consoleGet(attached.n, cookie, `/incidents/${attached.inc.id}`);
  assert.match(detail, new RegExp(`<dt>Seen by node</dt><dd>${attached.name}</dd>`));
  assert.match(detail, new RegExp(`<dt>Fleet incident</dt><dd>#${attached.inc.fleet_incident_id}, notified by ${notifier}</dd>`));
});
