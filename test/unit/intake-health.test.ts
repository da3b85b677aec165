/** The silence check behind /health's "no log line from HAProxy" reason (src/monitor/intake-health.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIntakeHealth } from '../../src/monitor/intake-health.js';

test('requests served with no line for the silence period: degraded; a line or a reload restarts the baseline', () => {
  const h = createIntakeHealth(60_000);
  assert.equal(h.check(null, 100, 0), null, 'the first check sets the baseline');
  assert.equal(h.check(null, 150, 30_000), null, 'not silent long enough');
  assert.match(h.check(null, 150, 61_000) ?? '', /no log line from HAProxy for 61 s while it served 50 requests/);
  // A line arrives: healthy again, baseline restarts.
  assert.equal(h.check(61_500, 160, 62_000), null);
  assert.equal(h.check(61_500, 160, 200_000), null, 'no requests served: silence is fine');
  assert.match(h.check(61_500, 170, 200_001) ?? '', /served 10 requests/);
  // A reload: the counter goes down; the baseline restarts instead of reporting.
  assert.equal(h.check(61_500, 3, 200_002), null);
  assert.equal(h.check(61_500, 9, 230_000), null);
  // An unknown counter never reports.
  assert.equal(h.check(61_500, null, 900_000), null);
});
