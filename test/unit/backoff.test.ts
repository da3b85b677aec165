import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, exponentialDelay, parseRetryAfter, retryAfterFromHeaders } from '../../src/util/backoff.js';

test('exponentialDelay doubles from the base and stops at the cap', () => {
  const o = { baseMs: 1000, maxMs: 60_000 };
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => exponentialDelay(n, o)), [1000, 1000, 2000, 4000, 8000]);
  assert.equal(exponentialDelay(7, o), 60_000);
  assert.equal(exponentialDelay(10_000, o), 60_000, 'a huge attempt count neither overflows nor passes the cap');
});

test('backoffDelay stays within [d/2, d] of the exponential delay', () => {
  const o = { baseMs: 1000, maxMs: 60_000 };
  assert.equal(backoffDelay(3, { ...o, random: () => 0 }), 2000);
  assert.equal(backoffDelay(3, { ...o, random: () => 0.5 }), 3000);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(4, o);
    assert.ok(d >= 4000 && d <= 8000, String(d));
  }
});

test('parseRetryAfter: delta-seconds and the three HTTP-date forms', () => {
  const now = Date.parse('Sun, 06 Nov 1994 08:49:00 GMT');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now), 37_000);
  assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now), 37_000);
  assert.equal(parseRetryAfter('Sun Nov  6 08:49:37 1994', now), 37_000);
  assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:48:00 GMT', now), 0, 'a date in the past: now');
});

test('parseRetryAfter: absent or unreadable is undefined, never a guess', () => {
  for (const v of [undefined, null, '', '  ', 'soon', '-5', '1.5', '1e3', '0x10', '2024-01-01', 'Mon, not a date']) {
    assert.equal(parseRetryAfter(v), undefined, String(v));
  }
});

test('retryAfterFromHeaders: retry-after-ms first, then Retry-After', () => {
  assert.equal(retryAfterFromHeaders(new Headers({ 'retry-after-ms': '1500', 'retry-after': '2' })), 1500);
  assert.equal(retryAfterFromHeaders(new Headers({ 'retry-after-ms': '0', 'retry-after': '2' })), 2000);
  assert.equal(retryAfterFromHeaders(new Headers({ 'retry-after-ms': 'x', 'retry-after': '3' })), 3000);
  assert.equal(retryAfterFromHeaders(new Headers({})), undefined);
  assert.equal(retryAfterFromHeaders(undefined), undefined);
  assert.equal(retryAfterFromHeaders({ 'retry-after': '5' }), undefined, 'a plain object is not headers');
});
