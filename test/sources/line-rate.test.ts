// Line rates a source reports: the minute's average beside the last 10 seconds,
// so a burst shows at the rate it arrives (issue 11: 1,100-5,900 lines/s were
// reported while 33,000-85,000 arrived).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceCounters } from '../../src/pipeline/sources/source-base.js';

const near = (got: number, want: number, rel: number, what: string) =>
  assert.ok(Math.abs(got - want) <= want * rel, `${what}: ${got}, want ${want} ±${rel * 100}%`);

test('a 12 s burst at 50,000 lines/s after 48 idle seconds: 10 s rate ~50,000, minute ~10,000', () => {
  const t0 = 1_800_000_000_000;
  const c = new SourceCounters(t0);
  for (let t = t0 + 48_000; t < t0 + 60_000; t += 100) c.delivered(5_000, t);
  const now = t0 + 60_000;
  near(c.linesPerSecond(now, 10), 50_000, 0.02, '10 s');
  near(c.linesPerSecond(now), 10_000, 0.02, '60 s');
  const snap = c.snapshot(null, now);
  assert.equal(snap.lines_per_second_10s, c.linesPerSecond(now, 10));
  assert.equal(snap.lines, 600_000);
});

test('young counters divide by the time since start, not a whole window', () => {
  const t0 = 1_800_000_000_500;
  const c = new SourceCounters(t0);
  for (let t = t0; t < t0 + 2_000; t += 100) c.delivered(100, t);
  near(c.linesPerSecond(t0 + 2_000, 10), 1_000, 0.05, '10 s after 2 s');
  near(c.linesPerSecond(t0 + 2_000), 1_000, 0.05, '60 s after 2 s');
});

test('after the burst stops the 10 s rate falls to zero while the minute still remembers it', () => {
  const t0 = 1_800_000_000_000;
  const c = new SourceCounters(t0);
  for (let t = t0; t < t0 + 5_000; t += 100) c.delivered(1_000, t);
  const now = t0 + 20_000;
  assert.equal(c.linesPerSecond(now, 10), 0);
  near(c.linesPerSecond(now), 50_000 / 20, 0.05, '60 s');
});
