/**
 * The outbox against a real loopback webhook receiver that checks HMAC
 * signatures: receiver down then up (nothing lost, no duplicates), a restart
 * on the same database file, lost replies, bounded concurrency, timeouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { createOutbox, enqueueMessage } from '../../src/pipeline/notify/outbox.js';
import type { OutboxOptions } from '../../src/pipeline/notify/outbox.js';
import { createWebhookChannel } from '../../src/pipeline/notify/webhook.js';
import { webhookChannelSchema } from '../../src/config/notifications.js';
import { backoffDelay } from '../../src/util/backoff.js';
import { signWebhook, verifyWebhook } from '../../src/pipeline/notify/signature.js';
import type { Channel, MessagePayload } from '../../src/pipeline/notify/types.js';
import type { Db } from '../../src/storage/db.js';
import { clock, freePort, openTestDb, startReceiver } from './helpers.js';

const SECRET = 'test-secret-0123456789';

function hook(url: string, timeout = '2s'): Map<string, Channel> {
  const config = webhookChannelSchema.parse({ type: 'webhook', url, secret_file: '/unused', timeout });
  return new Map([['ops', createWebhookChannel({ name: 'ops', config, source: 'test-host', secret: SECRET })]]);
}

function outbox(db: Db, channels: Map<string, Channel>, c: { now: () => number }, over: Partial<OutboxOptions> = {}) {
  return createOutbox({
    db,
    channels,
    log: silentLogger,
    concurrency: 4,
    pollIntervalMs: 50,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    giveUpAfterMs: 3 * 86_400_000,
    timeoutMs: 5000,
    now: c.now,
    random: () => 0.5,
    ...over,
  });
}

const payload = (n: number): MessagePayload => ({ kind: 'test', events: [{ kind: 'test', at: n, detail: `message ${n}` }] });

test('signature: HMAC over "<timestamp>.<raw body>", tampering and stale timestamps rejected', () => {
  const body = '{"a":1}';
  const sig = signWebhook(SECRET, 1000, body);
  assert.match(sig, /^sha256=[0-9a-f]{64}$/);
  const h = { 'x-haproxy-manager-signature': sig, 'x-haproxy-manager-timestamp': '1000' };
  assert.deepEqual(verifyWebhook(SECRET, h, body, { nowSec: 1010 }), { ok: true });
  assert.equal(verifyWebhook(SECRET, h, '{"a":2}', { nowSec: 1010 }).ok, false);
  assert.equal(verifyWebhook('other', h, body, { nowSec: 1010 }).ok, false);
  assert.equal(verifyWebhook(SECRET, { ...h, 'x-haproxy-manager-timestamp': '1001' }, body, { nowSec: 1010 }).ok, false);
  assert.deepEqual(verifyWebhook(SECRET, h, body, { nowSec: 2000 }), { ok: false, reason: 'timestamp outside tolerance' });
});

test('backoff: exponential, jittered, capped', () => {
  const o = { baseMs: 1000, maxMs: 10_000 };
  assert.equal(backoffDelay(1, { ...o, random: () => 0 }), 500);
  assert.equal(backoffDelay(1, { ...o, random: () => 0.999999 }), 1000);
  assert.equal(backoffDelay(3, { ...o, random: () => 0.5 }), 3000);
  assert.equal(backoffDelay(20, { ...o, random: () => 1 - 1e-9 }), 10_000);
  assert.ok(backoffDelay(20, { ...o, random: () => 0 }) >= 5000);
});

test('enqueue runs in the caller transaction: a rollback leaves no message', () => {
  const { writer: db, close } = openTestDb();
  const c = clock();
  const ob = outbox(db, new Map(), c);
  assert.throws(() =>
    db.transaction(() => {
      db.prepare(`INSERT INTO audit_log (actor, action, result) VALUES ('t', 'x', 'ok')`).run();
      ob.enqueue('ops', { kind: 'test', payload: payload(1) }, db);
      throw new Error('caller failed');
    })(),
  );
  assert.equal(ob.stats().pending, 0);
  db.transaction(() => {
    db.prepare(`INSERT INTO audit_log (actor, action, result) VALUES ('t', 'x', 'ok')`).run();
    ob.enqueue('ops', { kind: 'test', payload: payload(2) }, db);
  })();
  assert.equal(ob.stats().pending, 1);
  // A drain from inside an open transaction sends nothing: the row may still roll back.
  let started = -1;
  db.transaction(() => {
    void ob.drain();
    started = ob.stats().inFlight;
  })();
  assert.equal(started, 0);
  // A dedupe key makes a second enqueue a no-op.
  assert.ok(enqueueMessage(db, 'ops', { kind: 'test', payload: payload(3), dedupeKey: 'k' }));
  assert.equal(enqueueMessage(db, 'ops', { kind: 'test', payload: payload(3), dedupeKey: 'k' }), null);
  close();
});

test('receiver down then up: every message arrives once, signed, with its id', async () => {
  const { writer: db, close } = openTestDb();
  const c = clock();
  const port = await freePort();
  const ob = outbox(db, hook(`http://127.0.0.1:${port}/hook`), c);
  const ids = Array.from({ length: 6 }, (_, i) => ob.enqueue('ops', { kind: 'test', payload: payload(i) })!);
  await ob.drain();
  let s = ob.stats();
  assert.equal(s.pending, 6);
  assert.equal(s.failedAttempts, 6);
  assert.equal(s.delivered, 0);
  c.advance(250);
  assert.equal(ob.stats().oldestPendingAgeMs, 250);
  // Not due yet: nothing is tried before the backoff.
  await ob.drain();
  assert.equal(ob.stats().failedAttempts, 6);
  c.advance(60 * 60_000); // down for an hour
  await ob.drain(); // still down
  assert.equal(ob.stats().failedAttempts, 12);

  const rx = await startReceiver({ secret: SECRET, port });
  try {
    c.advance(60 * 60_000);
    await ob.drain();
    s = ob.stats();
    assert.equal(s.delivered, 6);
    assert.equal(s.pending, 0);
    assert.equal(s.oldestPendingAgeMs, 0);
    assert.equal(rx.rejected.length, 0, 'all signatures verify');
    assert.equal(rx.all.length, 6, 'no duplicates');
    assert.deepEqual([...rx.unique.keys()].sort(), [...ids].sort());
    const first = rx.all[0]!;
    assert.equal(first.headers['content-type'], 'application/json');
    assert.match(String(first.headers['x-haproxy-manager-timestamp']), /^\d+$/);
    const body = first.body as { message_id: string; kind: string; events: unknown[] };
    assert.equal(body.message_id, first.messageId);
    assert.equal(body.kind, 'test');
    // Delivered messages are never sent again.
    c.advance(86_400_000);
    await ob.drain();
    assert.equal(rx.all.length, 6);
  } finally {
    await rx.close();
    await ob.stop();
    close();
  }
});

test('a lost reply (receiver processed it, answered 500) is retried with the same id and dropped by the receiver', async () => {
  const { writer: db, close } = openTestDb();
  const c = clock();
  const rx = await startReceiver({ secret: SECRET, respond: (_r, n) => (n === 1 ? 500 : 200) });
  const ob = outbox(db, hook(rx.url), c);
  try {
    const id = ob.enqueue('ops', { kind: 'test', payload: payload(1) });
    await ob.drain();
    assert.equal(ob.stats().delivered, 0);
    c.advance(5000);
    await ob.drain();
    assert.equal(ob.stats().delivered, 1);
    assert.equal(rx.all.length, 2);
    assert.equal(rx.all[0]!.messageId, id);
    assert.equal(rx.all[1]!.messageId, id);
    assert.equal(rx.unique.size, 1);
    const row = db.prepare(`SELECT attempts, last_error FROM outbox`).get() as { attempts: number; last_error: string | null };
    assert.equal(row.attempts, 2);
    assert.equal(row.last_error, null);
  } finally {
    await ob.stop();
    await rx.close();
    close();
  }
});

test('restart: a new outbox on the same database file delivers what was pending, and only that', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-outbox-'));
  const file = join(dir, 'state.db');
  const c = clock();
  const port = await freePort();
  try {
    let h = openTestDb(file);
    let ob = outbox(h.writer, hook(`http://127.0.0.1:${port}/hook`), c);
    const rx0 = await startReceiver({ secret: SECRET, port });
    const delivered = ob.enqueue('ops', { kind: 'test', payload: payload(0) })!;
    await ob.drain();
    await rx0.close();
    const pending = [1, 2, 3].map((i) => ob.enqueue('ops', { kind: 'test', payload: payload(i) })!);
    await ob.drain(); // receiver down
    assert.equal(ob.stats().pending, 3);
    await ob.stop();
    h.close();

    const rx = await startReceiver({ secret: SECRET, port });
    h = openTestDb(file);
    ob = outbox(h.writer, hook(`http://127.0.0.1:${port}/hook`), c);
    c.advance(10 * 60_000);
    ob.start();
    const t0 = Date.now();
    while (ob.stats().delivered < 4 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    await ob.stop();
    assert.equal(ob.stats().delivered, 4);
    assert.deepEqual([...rx.unique.keys()].sort(), [...pending].sort());
    assert.equal(rx.all.length, 3);
    assert.ok(!rx.unique.has(delivered));
    await rx.close();
    h.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bounded concurrency and a timeout on every delivery', async () => {
  const { writer: db, close } = openTestDb();
  const c = clock();
  const slow = await startReceiver({ secret: SECRET, delayMs: 60 });
  const ob = outbox(db, hook(slow.url), c, { concurrency: 3 });
  try {
    for (let i = 0; i < 10; i++) ob.enqueue('ops', { kind: 'test', payload: payload(i) });
    await ob.drain();
    assert.equal(slow.unique.size, 10);
    assert.ok(slow.maxActive() <= 3, `max in flight ${slow.maxActive()}`);
    assert.ok(slow.maxActive() >= 2);
  } finally {
    await ob.stop();
    await slow.close();
  }

  const hang = await startReceiver({ secret: SECRET, respond: () => 'hang' });
  const ob2 = outbox(db, hook(hang.url, '200ms'), c);
  try {
    ob2.enqueue('ops', { kind: 'test', payload: payload(99) });
    const t0 = Date.now();
    await ob2.drain();
    assert.ok(Date.now() - t0 < 2000);
    const row = db.prepare(`SELECT last_error FROM outbox WHERE delivered_at IS NULL`).get() as { last_error: string };
    assert.match(row.last_error, /POST http:\/\/127\.0\.0\.1:\d+ failed/);
    assert.doesNotMatch(row.last_error, new RegExp(SECRET));
  } finally {
    await ob2.stop();
    await hang.close();
    close();
  }
});

test('gives up after give_up_after and keeps the row as dead', async () => {
  const { writer: db, close } = openTestDb();
  const c = clock();
  const port = await freePort();
  const ob = outbox(db, hook(`http://127.0.0.1:${port}/`), c, { giveUpAfterMs: 60_000 });
  ob.enqueue('ops', { kind: 'test', payload: payload(1) });
  await ob.drain();
  c.advance(120_000);
  await ob.drain();
  const s = ob.stats();
  assert.equal(s.dead, 1);
  assert.equal(s.pending, 0);
  await ob.stop();
  close();
});

test('429 with Retry-After: the next try waits at least that long; prune keeps pending rows', async () => {
  const { writer: db, close } = openTestDb();
  const c = clock();
  let calls = 0;
  const rx = await startReceiver({ secret: SECRET, respond: () => (++calls === 1 ? { status: 429, headers: { 'retry-after': '30' } } : 200) });
  const ob = outbox(db, hook(rx.url), c);
  try {
    const { parseRetryAfter: retryAfterMs } = await import('../../src/util/backoff.js');
    assert.equal(retryAfterMs('120'), 120_000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(retryAfterMs('soon'), undefined);
    ob.enqueue('ops', { kind: 'test', payload: payload(1) });
    ob.enqueue('ops', { kind: 'test', payload: payload(2) });
    await ob.drain();
    assert.equal(ob.stats().delivered, 1);
    c.advance(10_000); // past the backoff (1 s), not past Retry-After (30 s)
    await ob.drain();
    assert.equal(ob.stats().delivered, 1);
    c.advance(20_000);
    await ob.drain();
    assert.equal(ob.stats().delivered, 2);
    c.advance(86_400_000);
    ob.enqueue('ops', { kind: 'test', payload: payload(3) });
    c.advance(10);
    assert.equal(ob.prune(1), 2);
    assert.equal(ob.stats().pending, 1);
  } finally {
    await ob.stop();
    await rx.close();
    close();
  }
});

test('two outboxes on one database file (an overlapping restart) never send the same message twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-outbox2-'));
  const file = join(dir, 'state.db');
  const c = clock();
  const rx = await startReceiver({ secret: SECRET, delayMs: 5 });
  const a = openTestDb(file);
  const b = openTestDb(file);
  const oa = outbox(a.writer, hook(rx.url), c, { concurrency: 3 });
  const obx = outbox(b.writer, hook(rx.url), c, { concurrency: 3 });
  try {
    for (let i = 0; i < 30; i++) oa.enqueue('ops', { kind: 'test', payload: payload(i) });
    await Promise.all([oa.drain(), obx.drain(), oa.drain(), obx.drain()]);
    await Promise.all([oa.drain(), obx.drain()]);
    assert.equal(rx.unique.size, 30);
    assert.equal(rx.all.length, 30, 'no message sent by both');
    assert.equal(oa.stats().delivered, 30);
    assert.equal((a.writer.prepare('SELECT MAX(attempts) AS m FROM outbox').get() as { m: number }).m, 1);
  } finally {
    await oa.stop();
    await obx.stop();
    await rx.close();
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
