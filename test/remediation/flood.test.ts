/**
 * The flood watch (src/pipeline/remediation/flood.ts) and the block batcher
 * (src/haproxy/adapters/block-batcher.ts): ranges that fill up with blocked
 * attackers are handed out once per window; the spike notice is due once per
 * quiet period; concurrent blocks coalesce into batches with each caller
 * getting its own row or the batch's error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFloodWatch } from '../../src/pipeline/remediation/flood.js';
import { createBlockBatcher } from '../../src/haproxy/adapters/block-batcher.js';
import type { BatchBlock } from '../../src/haproxy/changes/ip-lists.js';
import type { BlockedIp } from '../../src/storage/ip-lists.js';

const opts = { threshold: 4, windowMs: 60_000, prefixV4: 24, prefixV6: 64, spikePerMinute: 5, spikeQuietMs: 3_600_000 };

test('a range is handed out when it holds threshold distinct addresses within the window, once per window', () => {
  const w = createFloodWatch(opts);
  assert.equal(w.noteBlock('198.51.100.1', 0), null);
  assert.equal(w.noteBlock('198.51.100.1', 1), null, 'the same address twice is one');
  assert.equal(w.noteBlock('198.51.100.2', 2), null);
  assert.equal(w.noteBlock('198.51.101.3', 3), null, 'another range');
  assert.equal(w.noteBlock('198.51.100.3', 4), null);
  assert.deepEqual(w.noteBlock('198.51.100.4', 5), { range: '198.51.100.0/24', addresses: 4 });
  assert.equal(w.noteBlock('198.51.100.5', 6), null, 'handed out once per window');
  // After the window, old addresses no longer count, and the range may be handed out again.
  assert.equal(w.noteBlock('198.51.100.6', 70_000), null);
  for (const [i, ip] of ['198.51.100.7', '198.51.100.8', '198.51.100.9'].entries()) {
    const r = w.noteBlock(ip, 70_001 + i);
    assert.deepEqual(r, i === 2 ? { range: '198.51.100.0/24', addresses: 4 } : null);
  }
});

test('IPv6 addresses group by /64; ranges and junk are never grouped', () => {
  const w = createFloodWatch({ ...opts, threshold: 2 });
  assert.equal(w.noteBlock('2001:db8:1:2::1', 0), null);
  assert.deepEqual(w.noteBlock('2001:db8:1:2:ffff::9', 1), { range: '2001:db8:1:2::/64', addresses: 2 });
  assert.equal(w.noteBlock('2001:db8:1:3::1', 2), null);
  assert.equal(w.noteBlock('203.0.113.0/28', 3), null);
  assert.equal(w.noteBlock('not an address', 4), null);
  assert.equal(w.rangeOf('::ffff:198.51.100.9'), '198.51.100.0/24', 'a mapped address is its IPv4 self');
});

test('the spike notice is due once the minute holds more than spikePerMinute blocks, then not within the quiet period', () => {
  const w = createFloodWatch(opts);
  const due = Array.from({ length: 20 }, (_, i) => w.noteRate(i * 100)).filter((x) => x !== null);
  assert.deepEqual(due, [6]);
  assert.equal(w.noteRate(30 * 60_000), null, 'quiet');
  const later = Array.from({ length: 10 }, (_, i) => w.noteRate(3_700_000 + i)).filter((x) => x !== null);
  assert.deepEqual(later, [6], 'due again after the quiet period');
});

const row = (b: BatchBlock, id: number): BlockedIp => ({ id, ip_address: b.ip, reason: b.reason, blocked_at: 'now', blocked_by: b.actor, expires_at: b.expiresAt });

test('the batcher: one alone goes at once; those asked meanwhile go together; each gets its own row', async () => {
  const batches: string[][] = [];
  const b = createBlockBatcher(async (items) => {
    batches.push(items.map((i) => i.ip));
    await new Promise((r) => setTimeout(r, 20));
    return { result: items.map((i, n) => row(i, n)), runtimeApplied: true, reloaded: false };
  });
  const item = (ip: string): BatchBlock => ({ actor: `rule:${ip}`, ip, reason: 'r', blockedBy: 'x', expiresAt: null });
  const first = b.block(item('192.0.2.1'));
  const rest = Array.from({ length: 50 }, (_, i) => b.block(item(`192.0.2.${i + 2}`)));
  const all = await Promise.all([first, ...rest]);
  assert.deepEqual(batches.map((x) => x.length), [1, 50]);
  assert.deepEqual(all.map((r) => r.row.ip_address), Array.from({ length: 51 }, (_, i) => `192.0.2.${i + 1}`));
  assert.equal(b.waiting(), 0);
});

test('the batcher: a failed batch fails each of its callers, and the next batch still runs; maxBatch bounds a batch', async () => {
  let n = 0;
  const sizes: number[] = [];
  const b = createBlockBatcher(
    async (items) => {
      sizes.push(items.length);
      await new Promise((r) => setImmediate(r));
      if (n++ === 1) throw new Error('HAProxy said no');
      return { result: items.map((i, k) => row(i, k)), runtimeApplied: true, reloaded: false };
    },
    { maxBatch: 3 },
  );
  const item = (ip: string): BatchBlock => ({ actor: 'rule:x', ip, reason: 'r', blockedBy: 'x', expiresAt: null });
  const out = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => b.block(item(`192.0.2.${i + 1}`))));
  assert.deepEqual(sizes, [1, 3, 3, 1]);
  assert.deepEqual(out.map((o) => o.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.match(String((out[1] as PromiseRejectedResult).reason), /HAProxy said no/);
});
