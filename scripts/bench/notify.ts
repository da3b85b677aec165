/**
 * Notification benchmark: incident events through the notifier, the SQLite
 * outbox and the real channels to real loopback receivers, end to end.
 * Prints figures; asserts nothing about timings.
 *
 *   npm run bench:notify       (node --import tsx scripts/bench/notify.ts)
 *
 * Parts: the database of storage/db.ts (migrations, outbox table included) in
 * a temporary directory, createNotifications() from notify/service.ts (the
 * unit the daemon runs: notifier, digest rule, outbox worker, channels built
 * from the config), a node:http webhook receiver that checks every HMAC
 * signature and a smtp-server receiver (cleartext, no AUTH), both on
 * 127.0.0.1. Events are enqueued in one synchronous burst, as a flood of
 * incidents would arrive, with `notifier.incident('opened', inc, { db })`.
 *
 * Rows: 2,000 events to a webhook; 500 to email; 2,000 to a webhook that
 * answers 503 until 3 s after the burst (time to drain once it is back);
 * 2,000 with the default digest threshold (short window); and, as a
 * diagnostic, the first row again without the unit's per-event wake-up.
 * Digests are off (threshold above N) except in row 4, so rows 1-3 measure
 * one message per event.
 *
 * Receivers count EVENTS, not only messages: every accepted message is parsed
 * (the JSON body, or `incident #<id>` lines of the mail text) so an event
 * merged into a digest still counts as received. "lost" is events enqueued
 * minus events received (listed, or counted by a digest as "omitted");
 * "dup" is message ids accepted more than once plus events that arrived in
 * two different messages. Latency is enqueue -> first receipt of that event
 * (performance.now(), one process); omitted digest events have none.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { openDatabase } from '../../src/storage/db.js';
import { silentLogger } from '../../src/log.js';
import { notificationsSchema } from '../../src/config/notifications.js';
import { createNotifications } from '../../src/pipeline/notify/service.js';
import { createNotifier } from '../../src/pipeline/notify/notifier.js';
import { MESSAGE_ID_HEADER, verifyWebhook } from '../../src/pipeline/notify/signature.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { t, ms, int, loadAvg, median, p95, max, table, printFindings, secs } from './stats.js';

const SECRET = 'bench-webhook-secret-0123456789';
/** Short backoff so a 503 period costs seconds, not minutes; concurrency is the daemon's default. */
const OUTBOX = { concurrency: 4, poll_interval: '50ms', backoff_base: '50ms', backoff_max: '500ms', give_up_after: '1h' };
/** A threshold above any N: every event is its own message (raw outbox throughput). */
const NO_DIGEST = { threshold: 1_000_000, window: '1m' };
/** The daemon's default threshold (5) with a short window, so the digest goes out during the run. */
const DIGEST = { threshold: 5, window: '2s' };
const DOWN_MS = 3000;
/** Per scenario: how long to wait for the outbox to empty before calling the rest lost. */
const DEADLINE_MS = 60_000;

/** What one receiver accepted. Times are performance.now(). */
interface Tally {
  accepted: Map<string, number>; // message id -> times accepted (2xx / 250)
  events: Map<number, number>; // incident id -> first receipt
  omitted: number; // events a digest counted without listing them
  dupEvents: number; // events that arrived again in another message
  digests: number;
  rejected: number; // bad signature (401)
  refused: number; // answered 503 while "down"
  lastAt: number;
}
const tally = (): Tally => ({ accepted: new Map(), events: new Map(), omitted: 0, dupEvents: 0, digests: 0, rejected: 0, refused: 0, lastAt: 0 });

/** Records one accepted message; a repeated message id is a duplicate and its events are not counted again. */
function record(x: Tally, messageId: string, ids: number[], omitted: number, digest: boolean): void {
  const now = t();
  x.lastAt = now;
  const seen = x.accepted.get(messageId) ?? 0;
  x.accepted.set(messageId, seen + 1);
  if (seen > 0) return;
  if (digest) x.digests++;
  x.omitted += omitted;
  for (const id of ids) {
    if (x.events.has(id)) x.dupEvents++;
    else x.events.set(id, now);
  }
}

/** Webhook receiver: 401 on a bad signature, 503 while `down()`, else parses the generic JSON body and 200. */
async function startWebhook(x: Tally, down: () => boolean) {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const v = verifyWebhook(SECRET, req.headers, raw);
      if (!v.ok) {
        x.rejected++;
        res.writeHead(401).end(v.reason);
        return;
      }
      if (down()) {
        x.refused++;
        res.writeHead(503).end('down');
        return;
      }
      const body = JSON.parse(raw.toString('utf8')) as { kind: string; events: { incident?: { id: number } }[]; omitted: number };
      const ids = body.events.flatMap((e) => (e.incident ? [e.incident.id] : []));
      record(x, String(req.headers[MESSAGE_ID_HEADER] ?? ''), ids, body.omitted, body.kind === 'digest');
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return { url: `http://127.0.0.1:${port}/hook`, close };
}

/** SMTP receiver: no TLS, no AUTH, no reverse DNS; reads the message id header and the incident ids of the text. */
async function startSmtp(x: Tally) {
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        // Undo quoted-printable soft breaks; "incident #<id> (" is plain ASCII either way.
        const raw = Buffer.concat(chunks).toString('utf8').replace(/=\r?\n/g, '');
        const id = /^x-haproxy-manager-message-id:\s*(\S+)/im.exec(raw)?.[1] ?? '';
        const ids = [...raw.matchAll(/incident #(\d+) \(/g)].map((m) => Number(m[1]));
        const omitted = Number(/and (\d+) more updates not listed/.exec(raw)?.[1] ?? 0);
        record(x, id, ids, omitted, /incident updates were merged/.test(raw));
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** An incident as the pipeline would store it; the id makes its dedupe key distinct. */
function incident(id: number): Incident {
  const at = Date.now();
  return {
    id, rule: 'http-scan', category: 'attack', severity: 'high', subject: { type: 'ip', value: `203.0.${(id >> 8) & 255}.${id & 255}` },
    status: 'open', firstSeen: at, lastSeen: at, count: 1, escalate: false, actions: [], samples: ['GET /.env HTTP/1.1'], resolvedAt: null,
  };
}

interface Scenario {
  label: string;
  channel: 'webhook' | 'email';
  n: number;
  digest: { threshold: number; window: string };
  /** The webhook answers 503 until this long after the last enqueue. */
  downMs?: number;
  /**
   * false: enqueue through a bare createNotifier() on the same database, without the
   * unit's onEnqueued wake-up (one outbox.drain() per event); the worker's poll loop
   * and its wake on each finished send deliver. A diagnostic, not a daemon path.
   */
  wake?: boolean;
}

interface Result {
  s: Scenario;
  x: Tally;
  enqueueMs: number;
  spanMs: number; // first enqueue -> last accepted message
  latencies: number[];
  lost: number;
  dup: number;
  drainMs?: number; // recovery -> last accepted message
  failedAttempts: number;
  dead: number;
  pending: number;
}

async function runScenario(dir: string, s: Scenario): Promise<Result> {
  const x = tally();
  // The webhook is down (503) until recoverAt: set after the burst when the scenario has downMs, never otherwise.
  let recoverAt = s.downMs !== undefined ? Infinity : -Infinity;
  const hook = s.channel === 'webhook' ? await startWebhook(x, () => t() < recoverAt) : null;
  const smtp = s.channel === 'email' ? await startSmtp(x) : null;
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const channel = hook
    ? { type: 'webhook', url: hook.url, secret_file: secretFile, timeout: '5s' }
    : { type: 'email', host: '127.0.0.1', port: smtp!.port, tls: 'none', from: 'hm@example.test', to: ['ops@example.test'], timeout: '5s' };
  const config = notificationsSchema.parse({ channels: { out: channel }, routes: [{ channels: ['out'] }], digest: s.digest, outbox: OUTBOX });
  const { writer: db, reader } = openDatabase(join(dir, `${s.label.replace(/\W+/g, '-')}.db`));
  const unit = createNotifications({ db, config, log: silentLogger, source: 'bench' });
  const notifier = s.wake === false ? createNotifier({ db, config }) : unit.notifier;
  unit.start();
  const sentAt = new Map<number, number>();
  try {
    const t0 = t();
    for (let i = 1; i <= s.n; i++) {
      sentAt.set(i, t());
      if (notifier.incident('opened', incident(i), { db }).length !== 1) throw new Error(`event ${i} was not queued`);
    }
    const enqueueMs = t() - t0;
    if (s.downMs !== undefined) recoverAt = t() + s.downMs;
    // Done when nothing is pending or in flight; a send resolves only after the receiver recorded it.
    for (const end = t() + DEADLINE_MS + (s.downMs ?? 0); t() < end; await new Promise((r) => setTimeout(r, 20))) {
      const st = unit.stats();
      if (st.pending === 0 && st.inFlight === 0) break;
    }
    const st = unit.stats();
    const latencies = [...x.events].map(([id, at]) => at - sentAt.get(id)!);
    const dup = [...x.accepted.values()].reduce((a, c) => a + c - 1, 0) + x.dupEvents;
    return {
      s, x, enqueueMs, spanMs: x.lastAt - t0, latencies, dup,
      lost: s.n - x.events.size - x.omitted,
      drainMs: s.downMs !== undefined ? x.lastAt - recoverAt : undefined,
      failedAttempts: st.failedAttempts, dead: st.dead, pending: st.pending,
    };
  } finally {
    await unit.stop(); // also closes the channels (the SMTP transport)
    await hook?.close();
    await smtp?.close();
    reader.close();
    db.close();
  }
}

const SCENARIOS: Scenario[] = [
  { label: 'webhook, 2,000 events', channel: 'webhook', n: 2000, digest: NO_DIGEST },
  { label: 'email, 500 events', channel: 'email', n: 500, digest: NO_DIGEST },
  { label: `webhook 503 for ${secs(DOWN_MS)} s, 2,000 events`, channel: 'webhook', n: 2000, digest: NO_DIGEST, downMs: DOWN_MS },
  { label: 'webhook, 2,000 events, digests on', channel: 'webhook', n: 2000, digest: DIGEST },
  { label: 'webhook, 2,000 events, no wake-ups', channel: 'webhook', n: 2000, digest: NO_DIGEST, wake: false },
];

const started = t();
const dir = mkdtempSync(join(tmpdir(), 'hm-bench-notify-'));
console.log(`notifications: notifier -> SQLite outbox -> real channels -> loopback receivers; load average ${loadAvg()}`);
console.log(`outbox: ${Object.entries(OUTBOX).map(([k, v]) => `${k}=${v}`).join(' ')}; channel timeout 5s`);
console.log(`digest: rows 1-3 and 5 threshold=${int(NO_DIGEST.threshold)} (off), row 4 threshold=${DIGEST.threshold} window=${DIGEST.window}; the daemon's default is threshold=5 window=1m\n`);
const results: Result[] = [];
try {
  for (const s of SCENARIOS) results.push(await runScenario(dir, s));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  table(
    ['scenario', 'events', 'msgs', 'digests', 'enqueue/s', 'deliver msgs/s', 'events/s', 'p50 ms', 'p95 ms', 'max ms', 'dup', 'lost', '503s', 'drain ms'],
    results.map((r) => {
      const msgs = r.x.accepted.size;
      const received = r.x.events.size + r.x.omitted;
      return [
        r.s.label, int(r.s.n), int(msgs), int(r.x.digests), int(Math.round(r.s.n / (r.enqueueMs / 1000))),
        int(Math.round(msgs / (r.spanMs / 1000))), int(Math.round(received / (r.spanMs / 1000))),
        ms(median(r.latencies)), ms(p95(r.latencies)), ms(max(r.latencies)), int(r.dup), int(r.lost), int(r.x.refused), ms(r.drainMs),
      ];
    }),
  ),
);
console.log('\n  enqueue/s: the synchronous burst of notifier.incident() calls; deliver/events per s: first enqueue -> last accepted message;');
console.log('  latency: enqueue -> first receipt of each listed event; drain: receiver back up -> last accepted message.');

const findings: string[] = [];
for (const r of results) {
  const name = `"${r.s.label}"`;
  if (r.lost > 0) findings.push(`${name}: ${r.lost} events lost (${r.pending} rows still pending, ${r.dead} dead after the deadline).`);
  if (r.dup > 0) findings.push(`${name}: ${r.dup} duplicates received.`);
  if (r.x.rejected > 0) findings.push(`${name}: ${r.x.rejected} webhook requests failed signature verification.`);
  if (r.x.digests > 0) {
    findings.push(
      `${name}: digests merged ${int(r.s.n)} events into ${int(r.x.accepted.size)} messages (${r.x.digests} digest); ` +
        `${int(r.x.events.size)} events listed, ${int(r.x.omitted)} only counted as "omitted" (a digest lists at most 100).`,
    );
  }
  if (r.s.downMs !== undefined) {
    findings.push(`${name}: ${int(r.x.refused)} attempts answered 503 (outbox counted ${int(r.failedAttempts)} failed attempts); backlog drained ${ms(r.drainMs)} ms after recovery.`);
  }
}
const rate = (r: Result) => r.x.accepted.size / (r.spanMs / 1000);
const hook = results[0]!;
const bare = results.find((r) => r.s.wake === false);
if (bare && rate(bare) > 2 * rate(hook)) {
  findings.push(
    `the same burst delivers ${rate(bare).toFixed(0)} msgs/s without the unit's wake-ups against ${rate(hook).toFixed(0)} with them: ` +
      `service.ts starts one outbox.drain() per enqueued event, and every running drain loop wakes on every finished send.`,
  );
}
const mail = results.find((r) => r.s.channel === 'email');
if (mail) {
  // Each message is a new SMTP connection (email.ts: pool false); smtp-server waits 100 ms before its greeting.
  findings.push(
    `email: ${rate(mail).toFixed(0)} msgs/s, ${ms((OUTBOX.concurrency * 1000) / rate(mail))} ms per message per send slot: one SMTP connection per ` +
      `message (pool: false) and smtp-server's fixed 100 ms greeting delay (early-talker check) bound it to about concurrency x 10 msgs/s.`,
  );
}
printFindings(findings, `${secs(t() - started)} s`);
