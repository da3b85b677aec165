/**
 * Conditions over event time: the sliding count (exact and bucketed), the
 * leaky bucket and the distinct count, through the engine with hand-built lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { CountWindow, BucketedCountWindow, LeakyBucket, DistinctWindow, SubjectState } from '../../src/pipeline/triage/windows.js';
import { http, rule, T0 } from './helpers.js';

const S = 1000;

test('count: the threshold-th match within the window fires, not the one before', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 5, window: '1m' } })]);
  for (let i = 0; i < 4; i++) assert.equal(t.process(http(T0 + i * S, {}), 'haproxy').length, 0, `match ${i + 1}`);
  const f = t.process(http(T0 + 4 * S, {}), 'haproxy');
  assert.equal(f.length, 1);
  assert.equal(f[0]?.count, 5);
  assert.equal(f[0]?.time, T0 + 4 * S);
  assert.deepEqual(f[0]?.subject, { type: 'ip', value: '203.0.113.9' });
});

test('count: after firing, the subject starts again (threshold N needs N new matches; the N+1th alone does not fire)', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 3, window: '1m' } })]);
  const fired: number[] = [];
  for (let i = 1; i <= 7; i++) if (t.process(http(T0 + i * S, {}), 'haproxy').length) fired.push(i);
  assert.deepEqual(fired, [3, 6]);
});

test('count: the window is (t - window, t]: a match exactly one window old has left it', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 3, window: '10s' } })]);
  t.process(http(T0, {}), 'haproxy');
  t.process(http(T0 + 5 * S, {}), 'haproxy');
  // T0 is exactly 10 s old here: out. Two in the window.
  assert.equal(t.process(http(T0 + 10 * S, {}), 'haproxy').length, 0);
  // T0 + 5 s is 9.999 s old: in. Three in the window.
  assert.equal(t.process(http(T0 + 14_999, {}), 'haproxy').length, 1);
});

test('count: spread-out matches never fire; the same matches bunched up do', () => {
  const spread = createTriage([rule({ condition: { type: 'count', threshold: 10, window: '1m' } })]);
  let n = 0;
  for (let i = 0; i < 200; i++) n += spread.process(http(T0 + i * 7 * S, {}), 'haproxy').length; // 8-9 a minute
  assert.equal(n, 0);
  const bunched = createTriage([rule({ condition: { type: 'count', threshold: 10, window: '1m' } })]);
  n = 0;
  for (let i = 0; i < 200; i++) n += bunched.process(http(T0 + i * 5 * S, {}), 'haproxy').length; // 12 a minute
  assert.ok(n > 0);
});

test('count: the ring grows to the threshold and stays exact past wrap-around', () => {
  const c = new CountWindow(100, 60 * S);
  const s = new SubjectState('k');
  // 99 a minute apart by 0.7 s, forever: never 100 within 60 s.
  for (let i = 0; i < 5000; i++) assert.equal(c.hit(s, T0 + i * 700), 0);
  assert.ok((s.times?.length ?? 0) <= 100);
  // Then a burst: the 100th within the window fires.
  let fired = 0;
  for (let i = 0; i < 100 && !fired; i++) fired = c.hit(s, T0 + 5000 * 700 + i);
  assert.equal(fired, 100);
});

test('bucketed count (large thresholds): fires at the threshold, forgets after a window, 16 numbers per subject', () => {
  const c = new BucketedCountWindow(1000, 16 * S);
  const s = new SubjectState('k');
  for (let i = 0; i < 999; i++) assert.equal(c.hit(s, T0 + i), 0);
  assert.equal(c.hit(s, T0 + 999), 1000);
  c.reset(s);
  for (let i = 0; i < 999; i++) c.hit(s, T0 + 5000 + i);
  // A whole window later the 999 are gone.
  assert.equal(c.hit(s, T0 + 5000 + 17 * S), 0);
  assert.equal(s.n, 1);
  assert.equal(s.times?.length, 16);
});

test('leaky bucket: a burst overflows at capacity + 1; a trickle at the leak rate never does', () => {
  const b = new LeakyBucket(10, 1000);
  const s = new SubjectState('k');
  for (let i = 0; i < 10; i++) assert.equal(b.hit(s, T0), 0, `burst ${i + 1}`);
  assert.equal(b.hit(s, T0), 11);
  const trickle = new SubjectState('t');
  for (let i = 0; i < 10_000; i++) assert.equal(b.hit(trickle, T0 + i * 1000), 0);
  // Slightly faster than the leak: the level creeps up and overflows eventually.
  const creep = new SubjectState('c');
  let at = -1;
  for (let i = 0; i < 1000 && at < 0; i++) if (b.hit(creep, T0 + i * 900)) at = i;
  assert.ok(at > 50 && at < 150, `overflowed at ${at}`);
});

test('leaky bucket through the engine: drains between bursts', () => {
  const t = createTriage([rule({ condition: { type: 'leaky_bucket', capacity: 5, leak_every: '1s' } })]);
  for (let i = 0; i < 5; i++) assert.equal(t.process(http(T0, {}), 'haproxy').length, 0);
  // 10 s later the bucket is empty again: another 5 fit.
  for (let i = 0; i < 5; i++) assert.equal(t.process(http(T0 + 10 * S, {}), 'haproxy').length, 0);
  assert.equal(t.process(http(T0 + 10 * S, {}), 'haproxy').length, 1);
});

test('distinct: counts different values only, within the window', () => {
  const t = createTriage([rule({ filter: { kind: 'http', status: [404] }, condition: { type: 'distinct', field: 'path', threshold: 4, window: '1m' } })]);
  // The same three missing paths again and again (a page with broken images): never 4 distinct.
  for (let i = 0; i < 300; i++) assert.equal(t.process(http(T0 + i * S, { status: 404, path: `/img/broken${i % 3}.png?v=${i}` }), 'haproxy').length, 0);
  // A fourth different one fires.
  const f = t.process(http(T0 + 300 * S, { status: 404, path: '/img/other.png' }), 'haproxy');
  assert.equal(f.length, 1);
  assert.equal(f[0]?.count, 4);
});

test('distinct: values older than the window are forgotten; large thresholds use a map', () => {
  const small = new DistinctWindow(3, 10 * S);
  const s = new SubjectState('k');
  assert.equal(small.hit(s, T0, '/a'), 0);
  assert.equal(small.hit(s, T0 + 1, '/b'), 0);
  assert.equal(small.hit(s, T0 + 10 * S, '/c'), 0); // /a left
  assert.equal(small.hit(s, T0 + 10 * S, '/d'), 3); // /b (10 s - 1 ms old) still in

  const big = new DistinctWindow(300, 10 * S);
  const b = new SubjectState('b');
  for (let i = 0; i < 299; i++) assert.equal(big.hit(b, T0 + i, `/p${i}`), 0);
  assert.equal(big.hit(b, T0 + 299, '/p0'), 0); // a repeat
  assert.equal(big.hit(b, T0 + 300, '/p299'), 300);
  big.reset(b);
  for (let i = 0; i < 150; i++) big.hit(b, T0 + i, `/q${i}`);
  // 20 s later all 150 have expired.
  assert.equal(big.hit(b, T0 + 20 * S, '/r'), 0);
  assert.equal(b.map?.size, 1);
});

test('time never goes back per subject: a late line counts at the latest time seen', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 3, window: '10s' } })]);
  t.process(http(T0 + 20 * S, {}), 'haproxy');
  t.process(http(T0, {}), 'haproxy'); // an older line from another process: counted at T0 + 20 s
  const f = t.process(http(T0 + 21 * S, {}), 'haproxy');
  assert.equal(f.length, 1);
});
