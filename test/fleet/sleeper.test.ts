/**
 * The cut-short sleep the fleet's reconnect and leadership loops wait in
 * (src/util/sleeper.ts): a sleep ends on its own after its time, or at once
 * when cut; cutting when nothing sleeps changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleeper } from '../../src/util/sleeper.js';

test('a sleep ends after its time, or at once when cut', async () => {
  const s = sleeper();
  s.cut(); // nothing sleeps: no effect
  let t0 = Date.now();
  await s.sleep(50);
  assert.ok(Date.now() - t0 >= 45, 'slept its time');
  t0 = Date.now();
  const long = s.sleep(60_000);
  setTimeout(() => s.cut(), 20);
  await long;
  assert.ok(Date.now() - t0 < 5_000, 'cut short');
});
