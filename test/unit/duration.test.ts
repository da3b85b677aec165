import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durationMs, durationSchema, isDuration } from '../../src/util/duration.js';

test('durationMs: each unit', () => {
  assert.equal(durationMs('500ms'), 500);
  assert.equal(durationMs('30s'), 30_000);
  assert.equal(durationMs('10m'), 600_000);
  assert.equal(durationMs('1h'), 3_600_000);
  assert.equal(durationMs('7d'), 7 * 86_400_000);
  assert.equal(durationMs('0s'), 0);
});

test('durationMs: bad input throws a clear error, never a guess', () => {
  for (const bad of ['', '10', 'm', '1.5h', '-1s', '10 m', ' 10m', '10m ', '1w', '10M', '5mins', '1h30m', '0x10s', '1e3ms']) {
    assert.throws(() => durationMs(bad), (e: Error) => e.message === `not a duration: ${JSON.stringify(bad)} (expected a duration such as 500ms, 30s, 5m, 6h or 1d)`, bad);
    assert.equal(isDuration(bad), false, bad);
  }
  assert.throws(() => durationMs('99999999999999999999d'), /duration too long: "99999999999999999999d"/);
});

test('durationSchema: refuses what durationMs refuses, with one message', () => {
  assert.equal(durationSchema.parse('5m'), '5m');
  const bad = durationSchema.safeParse('5 minutes');
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues.map((i) => i.message), ['a duration such as 500ms, 30s, 5m, 6h or 1d']);
  const long = durationSchema.safeParse('99999999999999999999d');
  assert.deepEqual(long.error?.issues.map((i) => i.message), ['the duration is too long']);
});
