/**
 * The parse boundary judges a line's own time against the clock it arrived
 * at (parse/clock-skew.ts, ParseContext.maxAheadMs): further ahead than the
 * allowance is clamped to the arrival time and marked with how far ahead it
 * claimed to be; within it, or in the past, the time is kept as written.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTextPattern, parseLine } from '../../src/pipeline/parse/index.js';
import { clampFutureTime } from '../../src/pipeline/parse/clock-skew.js';
import { configSchema } from '../../src/config/schema.js';
import { durationMs } from '../../src/util/duration.js';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const MIN = 60_000;
const SKEW = 5 * MIN;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** An HAProxy httplog line whose accept date is `ms` (UTC). */
function haproxyAt(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
  return `203.0.113.9:51000 [${stamp}] web app-backend/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 "GET /.env HTTP/1.1"`;
}
const jsonAt = (ms: number) => JSON.stringify({ time: new Date(ms).toISOString(), level: 'error', msg: 'boom' });

describe('parseLine with maxAheadMs: future times are clamped at the parse boundary', () => {
  it('an HAProxy line a year ahead gets the arrival time and says how far ahead it was', () => {
    const ahead = 365 * 24 * 60 * MIN;
    const p = parseLine(haproxyAt(NOW + ahead), 'haproxy', { now: NOW, maxAheadMs: SKEW });
    assert.equal(p.ok, true);
    assert.equal(p.kind, 'http');
    assert.equal(p.time, NOW);
    assert.equal(p.timeAheadMs, ahead);
    assert.equal(p.fields.path, '/.env', 'the rest of the line is parsed as usual');
  });

  it('a JSON application line and a text line with its own pattern are clamped alike', () => {
    const j = parseLine(jsonAt(NOW + 60 * MIN), 'json', { now: NOW, maxAheadMs: SKEW });
    assert.equal(j.time, NOW);
    assert.equal(j.timeAheadMs, 60 * MIN);
    assert.equal(j.fields.time, new Date(NOW + 60 * MIN).toISOString(), 'fields keep what the line said');
    const pattern = compileTextPattern('^(?<time>\\S+) (?<level>[A-Z]+) (?<message>.*)$');
    const t = parseLine(`${new Date(NOW + 10 * MIN).toISOString()} ERROR boom`, 'text', { now: NOW, maxAheadMs: SKEW, pattern });
    assert.equal(t.time, NOW);
    assert.equal(t.timeAheadMs, 10 * MIN);
    assert.equal(t.fields.message, 'boom', 'the pattern parsed the line');
  });

  it('within the allowance (up to and including it) and in the past, the time is kept as written', () => {
    for (const d of [-3600 * MIN, -1, 0, MIN, SKEW - 1, SKEW]) {
      const p = parseLine(haproxyAt(NOW + d), 'haproxy', { now: NOW, maxAheadMs: SKEW });
      assert.equal(p.time, NOW + d, `offset ${d} ms`);
      assert.equal(p.timeAheadMs, undefined, `offset ${d} ms`);
    }
    assert.equal(parseLine(haproxyAt(NOW + SKEW + 1), 'haproxy', { now: NOW, maxAheadMs: SKEW }).time, NOW);
  });

  it('without maxAheadMs nothing is clamped (fixtures and explain read lines as written)', () => {
    const p = parseLine(haproxyAt(NOW + 3600 * MIN), 'haproxy', { now: NOW });
    assert.equal(p.time, NOW + 3600 * MIN);
    assert.equal(p.timeAheadMs, undefined);
  });

  it('without a `now`, the clock itself is the reference', () => {
    const before = Date.now();
    const p = parseLine(jsonAt(before + 3600 * MIN), 'json', { maxAheadMs: SKEW });
    assert.ok(p.time !== null && p.time >= before && p.time <= Date.now(), String(p.time));
    assert.ok(p.timeAheadMs! > 3600 * MIN - 1000);
  });

  it('lines without a time, and lines that do not parse, are untouched', () => {
    assert.deepEqual(parseLine('garbage', 'haproxy', { now: NOW, maxAheadMs: SKEW }), parseLine('garbage', 'haproxy', { now: NOW }));
    const untimed = parseLine(JSON.stringify({ level: 'error', msg: 'x' }), 'json', { now: NOW, maxAheadMs: SKEW });
    assert.equal(untimed.time, null);
    assert.equal(untimed.timeAheadMs, undefined);
  });

  it('clampFutureTime returns a new line and leaves the one given alone', () => {
    const p = { ok: true, kind: 'app' as const, time: NOW + 3600 * MIN, fields: {} };
    const c = clampFutureTime(p, NOW, SKEW);
    assert.notEqual(c, p);
    assert.equal(p.time, NOW + 3600 * MIN);
    assert.equal(clampFutureTime(p, Number.NaN, SKEW), p, 'no clock, no judgement');
  });
});

describe('monitor.max_clock_skew', () => {
  it('defaults to 5m and takes a duration', () => {
    assert.equal(durationMs(configSchema.parse({}).monitor.max_clock_skew), SKEW);
    assert.equal(configSchema.parse({ monitor: { max_clock_skew: '30s' } }).monitor.max_clock_skew, '30s');
    for (const bad of ['5', '5 m', '-1m', 5, null]) assert.equal(configSchema.safeParse({ monitor: { max_clock_skew: bad } }).success, false, JSON.stringify(bad));
  });
});
