/** Time stamps: HAProxy's accept date, ISO 8601, syslog, epoch numbers, and the text-line shapes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { epochToMs, haproxyDateAt, inferYear, isoAt, isoString, syslogDateAt } from '../../src/pipeline/parse/time.js';
import { leadingTimeAt, timeFromValue } from '../../src/pipeline/parse/text-time.js';

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

describe('HAProxy accept date', () => {
  it('reads %tr with milliseconds as UTC by default', () => {
    const t = haproxyDateAt('25/Nov/2026:14:00:00.123', 0, 0);
    assert.equal(iso(t?.ms), '2026-11-25T14:00:00.123Z');
    assert.equal(t?.end, 24);
    assert.equal(t?.offsetMin, null);
  });
  it('applies the offset the caller knows (local time of the HAProxy host)', () => {
    assert.equal(iso(haproxyDateAt('25/Nov/2026:14:00:00.000', 0, 60)?.ms), '2026-11-25T13:00:00.000Z');
    assert.equal(iso(haproxyDateAt('25/Nov/2026:14:00:00.000', 0, -300)?.ms), '2026-11-25T19:00:00.000Z');
  });
  it('reads CLF dates, which carry their own offset', () => {
    const t = haproxyDateAt('25/Nov/2026:14:00:00 +0200', 0, 0);
    assert.equal(iso(t?.ms), '2026-11-25T12:00:00.000Z');
    assert.equal(t?.offsetMin, 120);
  });
  it('rejects impossible dates and other text', () => {
    for (const s of ['31/Feb/2026:14:00:00.000', '25/Nox/2026:14:00:00.000', '25/Nov/2026:25:00:00.000', '25/Nov/2026:14:00', '2026-11-25', '', '25/Nov/20']) {
      assert.equal(haproxyDateAt(s, 0, 0), null, s);
    }
  });
  it('accepts a leap day only in a leap year', () => {
    assert.notEqual(haproxyDateAt('29/Feb/2028:00:00:00.000', 0, 0), null);
    assert.equal(haproxyDateAt('29/Feb/2027:00:00:00.000', 0, 0), null);
  });
});

describe('ISO 8601', () => {
  const cases: [string, string][] = [
    ['2026-11-25T14:00:00Z', '2026-11-25T14:00:00.000Z'],
    ['2026-11-25T14:00:00.123456+00:00', '2026-11-25T14:00:00.123Z'],
    ['2026-11-25T14:00:00.123456789Z', '2026-11-25T14:00:00.123Z'],
    ['2026-11-25T14:00:00+01:00', '2026-11-25T13:00:00.000Z'],
    ['2026-11-25T14:00:00+0530', '2026-11-25T08:30:00.000Z'],
    ['2026-11-25T14:00:00-05', '2026-11-25T19:00:00.000Z'],
    ['2026-11-25 14:00:00,123', '2026-11-25T14:00:00.123Z'],
    ['2026-11-25 14:00:00 +0100', '2026-11-25T13:00:00.000Z'],
    ['2026-11-25 14:00:00 UTC', '2026-11-25T14:00:00.000Z'],
    ['2026-11-25T14:00', '2026-11-25T14:00:00.000Z'],
    ['2026/11/25 14:00:00', '2026-11-25T14:00:00.000Z'],
  ];
  for (const [text, want] of cases) it(text, () => assert.equal(iso(isoAt(text, 0)?.ms), want));
  it('rejects near misses', () => {
    for (const s of ['2026-13-01T00:00:00Z', '2026-11-25T14:', '2026-11-25 14:0', '20261125T140000Z', '2026-02-30T00:00:00Z']) assert.equal(isoAt(s, 0), null, s);
  });
});

describe('syslog stamps', () => {
  const now = Date.UTC(2026, 10, 25, 15, 0, 0);
  it('reads `Nov 25 14:00:00` in the year of now', () => {
    assert.equal(iso(syslogDateAt('Nov 25 14:00:00', 0, 0, now)?.ms), '2026-11-25T14:00:00.000Z');
    assert.equal(iso(syslogDateAt('Nov  5 14:00:00', 0, 0, now)?.ms), '2026-11-05T14:00:00.000Z');
    assert.equal(iso(syslogDateAt('Nov 5 14:00:00.250', 0, 0, now)?.ms), '2026-11-05T14:00:00.250Z');
  });
  it('takes a year written after the time or before it', () => {
    assert.equal(iso(syslogDateAt('Nov 25 14:00:00 2019', 0, 0, now)?.ms), '2019-11-25T14:00:00.000Z');
    assert.equal(iso(syslogDateAt('Nov 25 2019 14:00:00', 0, 0, now)?.ms), '2019-11-25T14:00:00.000Z');
  });
  it('puts a stamp in the year closest to now', () => {
    assert.equal(inferYear(11, 31, Date.UTC(2027, 0, 1, 0, 5)), 2026);
    assert.equal(inferYear(0, 1, Date.UTC(2026, 11, 31, 23, 59)), 2027);
    assert.equal(inferYear(5, 1, Date.UTC(2026, 10, 25)), 2026);
    assert.equal(inferYear(11, 26, Date.UTC(2026, 10, 25)), 2025);
  });
});

describe('epoch numbers and text-line stamps', () => {
  it('guesses the unit from the size', () => {
    const want = Date.UTC(2026, 10, 25, 14);
    assert.equal(epochToMs(want / 1000), want);
    assert.equal(epochToMs(want), want);
    assert.equal(epochToMs(want * 1000), want);
    assert.equal(epochToMs(want * 1e6), want);
    assert.equal(epochToMs(12345), null);
    assert.equal(epochToMs(-1), null);
    assert.equal(epochToMs(Number.NaN), null);
  });
  it('reads the shapes application lines start with', () => {
    const now = Date.UTC(2026, 10, 25, 15);
    const cases: [string, string | null][] = [
      ['[25/Nov/2026:14:00:00 +0000] x', '2026-11-25T14:00:00.000Z'],
      ['[2026-11-25 14:00:00] x', '2026-11-25T14:00:00.000Z'],
      ['[2026-11-25 14:00:00 UTC] x', '2026-11-25T14:00:00.000Z'],
      ['Wed Nov 25 14:00:00 2026 x', '2026-11-25T14:00:00.000Z'],
      ['[Wed Nov 25 14:00:00.123456 2026] x', '2026-11-25T14:00:00.123Z'],
      ['25-Nov-2026 14:00:00.123 x', '2026-11-25T14:00:00.123Z'],
      ['Nov 25 14:00:00 x', '2026-11-25T14:00:00.000Z'],
      ['1795615200 x', '2026-11-25T14:00:00.000Z'],
      ['1795615200.5 x', '2026-11-25T14:00:00.500Z'],
      ['1795615200000 x', '2026-11-25T14:00:00.000Z'],
      ['14:00:00.123 x', null],
    ];
    for (const [text, want] of cases) {
      const t = leadingTimeAt(text, 0, now);
      assert.notEqual(t, null, text);
      assert.equal(iso(t?.ms), want, text);
    }
    assert.equal(leadingTimeAt('hello 2026-11-25', 0, now), null);
  });
  it('reads JSON time values', () => {
    const now = Date.UTC(2026, 10, 25, 15);
    assert.equal(iso(timeFromValue('2026-11-25T14:00:00Z', now)), '2026-11-25T14:00:00.000Z');
    assert.equal(iso(timeFromValue('1795615200', now)), '2026-11-25T14:00:00.000Z');
    assert.equal(iso(timeFromValue(1795615200123, now)), '2026-11-25T14:00:00.123Z');
    assert.equal(timeFromValue('yesterday', now), null);
    assert.equal(timeFromValue(true, now), null);
  });
});

describe('isoString', () => {
  it('matches Date#toISOString across days and years', () => {
    for (let ms = Date.UTC(2026, 11, 31, 23, 59, 58); ms < Date.UTC(2027, 0, 1, 0, 0, 3); ms += 137) assert.equal(isoString(ms), new Date(ms).toISOString());
    for (const ms of [0, 1, 86_399_999, 86_400_000, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2026, 1, 28, 12)]) assert.equal(isoString(ms), new Date(ms).toISOString());
  });
  it('gives null for what is not a time', () => {
    assert.equal(isoString(null), null);
    assert.equal(isoString(Number.NaN), null);
    assert.equal(isoString(9e15), null);
  });
});
