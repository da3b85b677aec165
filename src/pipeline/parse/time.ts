/**
 * Time stamps as log lines write them, turned into ms since the epoch.
 *
 * Contract, for every function here: index-based, no regex, never throws,
 * returns null (or -1 for an end index) when the text is not a valid time.
 * A time written without a UTC offset is read as UTC: HAProxy's `[%tr]`
 * dates and traditional syslog stamps are in the local time of the host that
 * wrote them, which a log line does not say, so the caller passes the offset
 * it knows (from an RFC 3339 / RFC 5424 syslog prefix) or 0.
 */

/** Month index (0-11) of the three letters at `i` (any case), or -1. */
export function monthAt(s: string, i: number): number {
  const a = s.charCodeAt(i) | 32;
  const b = s.charCodeAt(i + 1) | 32;
  const c = s.charCodeAt(i + 2) | 32;
  switch (a) {
    case 106: // j
      return b === 97 && c === 110 ? 0 : b === 117 ? (c === 110 ? 5 : c === 108 ? 6 : -1) : -1;
    case 102: // f
      return b === 101 && c === 98 ? 1 : -1;
    case 109: // m
      return b === 97 ? (c === 114 ? 2 : c === 121 ? 4 : -1) : -1;
    case 97: // a
      return b === 112 && c === 114 ? 3 : b === 117 && c === 103 ? 7 : -1;
    case 115: // s
      return b === 101 && c === 112 ? 8 : -1;
    case 111: // o
      return b === 99 && c === 116 ? 9 : -1;
    case 110: // n
      return b === 111 && c === 118 ? 10 : -1;
    case 100: // d
      return b === 101 && c === 99 ? 11 : -1;
    default:
      return -1;
  }
}

/** The value of `n` decimal digits at `i`, or -1 when any of them is not a digit. */
export function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48; // NaN past the end: the test below is written to reject it
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

// Date.UTC is the slow part of a date; lines come in time order, so the start
// of the last day seen is kept.
let lastDayKey = -1;
let lastDayMs = 0;

/** ms since the epoch of a UTC calendar time; null when a part is out of range. */
export function utcMs(y: number, mo: number, d: number, h: number, mi: number, sec: number, ms: number): number | null {
  if (mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970 || y > 9999) return null;
  const key = y * 512 + mo * 32 + d;
  let day: number;
  if (key === lastDayKey) day = lastDayMs;
  else {
    day = Date.UTC(y, mo, d);
    if (new Date(day).getUTCDate() !== d) return null; // 31 Feb and the like
    lastDayKey = key;
    lastDayMs = day;
  }
  return day + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/** Result of reading a time stamp: its instant, where it ends, and the offset it carried (minutes east of UTC) if any. */
export interface TimeAt {
  ms: number;
  end: number;
  offsetMin: number | null;
}

/** End index of the last fractionAt/offsetAt read (a module-level out-parameter: no tuple per call on the hot path). */
let scanEnd = 0;

/** Reads `.123`, `,123456` etc. at `i`: returns milliseconds and sets scanEnd (to `i` when there is none). */
function fractionAt(s: string, i: number): number {
  scanEnd = i;
  const c = s.charCodeAt(i);
  if (c !== 46 && c !== 44) return 0;
  let j = i + 1;
  let ms = 0;
  let scale = 100;
  while (j < s.length) {
    const d = s.charCodeAt(j) - 48;
    if (d < 0 || d > 9) break;
    if (scale >= 1) ms += d * scale;
    scale /= 10;
    j++;
  }
  if (j === i + 1) return 0;
  scanEnd = j;
  return Math.floor(ms);
}

/** Reads `Z`, `+01:00`, `+0100`, `-05` at `i`: returns the offset in minutes or null, and sets scanEnd. */
function offsetAtRaw(s: string, i: number): number | null {
  scanEnd = i;
  const c = s.charCodeAt(i);
  if (c === 90 || c === 122) {
    scanEnd = i + 1;
    return 0;
  }
  if (c !== 43 && c !== 45) return null;
  const hh = digitsAt(s, i + 1, 2);
  if (hh < 0 || hh > 23) return null;
  let j = i + 3;
  let mm = 0;
  if (s.charCodeAt(j) === 58) {
    mm = digitsAt(s, j + 1, 2);
    if (mm < 0) return null;
    j += 3;
  } else {
    const m2 = digitsAt(s, j, 2);
    if (m2 >= 0) {
      mm = m2;
      j += 2;
    }
  }
  scanEnd = j;
  const off = hh * 60 + mm;
  return c === 45 ? -off : off;
}

/** Reads `Z`, `+01:00`, `+0100`, `-05` at `i`: returns [offset minutes or null, end index]. */
export function offsetAt(s: string, i: number): [number | null, number] {
  const off = offsetAtRaw(s, i);
  return [off, scanEnd];
}

/**
 * HAProxy's accept date at `i`: `25/Nov/2026:14:00:00.123` (%tr, %t), or with
 * seconds only and an offset, `25/Nov/2026:14:00:00 +0000` (CLF's %trg, %Tl).
 * Without an offset in the text, `defaultOffsetMin` is used.
 */
export function haproxyDateAt(s: string, i: number, defaultOffsetMin: number): TimeAt | null {
  const d = digitsAt(s, i, 2);
  if (d < 0 || s.charCodeAt(i + 2) !== 47) return null;
  const mo = monthAt(s, i + 3);
  if (mo < 0 || s.charCodeAt(i + 6) !== 47) return null;
  const y = digitsAt(s, i + 7, 4);
  if (y < 0 || s.charCodeAt(i + 11) !== 58) return null;
  const h = digitsAt(s, i + 12, 2);
  const mi = digitsAt(s, i + 15, 2);
  const sec = digitsAt(s, i + 18, 2);
  if (h < 0 || mi < 0 || sec < 0 || s.charCodeAt(i + 14) !== 58 || s.charCodeAt(i + 17) !== 58) return null;
  const frac = fractionAt(s, i + 20);
  const j = scanEnd;
  let end = j;
  let offsetMin: number | null = null;
  if (s.charCodeAt(j) === 32 && s.charCodeAt(j + 1) !== 34) {
    const off = offsetAtRaw(s, j + 1);
    if (off !== null) {
      offsetMin = off;
      end = scanEnd;
    }
  }
  const base = utcMs(y, mo, d, h, mi, sec, frac);
  if (base === null) return null;
  return { ms: base - (offsetMin ?? defaultOffsetMin) * 60_000, end, offsetMin };
}

/**
 * ISO 8601 / RFC 3339 at `i`: `2026-11-25T14:00:00.123456+00:00`, also with a
 * space for `T`, a comma before the fraction, `+0000` offsets, no seconds, or
 * no offset (read as UTC, or `defaultOffsetMin`). `2026/11/25 14:00:00` (Go,
 * nginx) is accepted too.
 */
export function isoAt(s: string, i: number, defaultOffsetMin = 0): TimeAt | null {
  const y = digitsAt(s, i, 4);
  const sep = s.charCodeAt(i + 4);
  if (y < 0 || (sep !== 45 && sep !== 47) || s.charCodeAt(i + 7) !== sep) return null;
  const mo = digitsAt(s, i + 5, 2);
  const d = digitsAt(s, i + 8, 2);
  if (mo < 1 || d < 1) return null;
  const t = s.charCodeAt(i + 10);
  if (t !== 84 && t !== 32 && t !== 116) {
    // A date alone.
    const base = utcMs(y, mo - 1, d, 0, 0, 0, 0);
    return base === null ? null : { ms: base - defaultOffsetMin * 60_000, end: i + 10, offsetMin: null };
  }
  const h = digitsAt(s, i + 11, 2);
  const mi = digitsAt(s, i + 14, 2);
  if (h < 0 || mi < 0 || s.charCodeAt(i + 13) !== 58) return null;
  let j = i + 16;
  let sec = 0;
  let frac = 0;
  if (s.charCodeAt(j) === 58) {
    sec = digitsAt(s, j + 1, 2);
    if (sec < 0) return null;
    frac = fractionAt(s, j + 3);
    j = scanEnd;
  }
  let off = offsetAtRaw(s, j);
  let k = scanEnd;
  if (off === null && s.charCodeAt(j) === 32) {
    // `2026-11-25 14:00:00 +0000` (a space before the offset) and ` UTC`.
    const o2 = offsetAtRaw(s, j + 1);
    if (o2 !== null && scanEnd - (j + 1) >= 5) {
      off = o2;
      k = scanEnd;
    } else if (s.startsWith('UTC', j + 1) || s.startsWith('GMT', j + 1)) {
      off = 0;
      k = j + 4;
    }
  }
  const base = utcMs(y, mo - 1, d, h, mi, sec, frac);
  if (base === null) return null;
  return { ms: base - (off ?? defaultOffsetMin) * 60_000, end: k, offsetMin: off };
}

// The year of `now` changes once a year: keep the bounds of the last one seen.
let yearOfNow = 0;
let yearStart = 0;
let yearEnd = -1;

/**
 * Year to give a year-less syslog stamp: the year that puts it closest to
 * `now` without being more than two days ahead of it (so `Dec 31` read on
 * Jan 1 is last year's, and `Jan 1` read on Dec 31 is next year's).
 */
export function inferYear(mo: number, d: number, now: number): number {
  if (Number.isNaN(now)) now = Date.now(); // NaN: the caller left it to the clock
  if (now < yearStart || now >= yearEnd) {
    yearOfNow = new Date(now).getUTCFullYear();
    yearStart = Date.UTC(yearOfNow, 0, 1);
    yearEnd = Date.UTC(yearOfNow + 1, 0, 1);
  }
  const y = yearOfNow;
  if (y !== iyYear || mo !== iyMonth || d !== iyDay) {
    iyYear = y;
    iyMonth = mo;
    iyDay = d;
    iyThis = Date.UTC(y, mo, d);
    iyNext = Date.UTC(y + 1, mo, d);
  }
  const limit = now + 2 * 86_400_000;
  if (iyThis > limit) return y - 1;
  return iyNext <= limit ? y + 1 : y;
}

// The last stamp's day in the year of now and the next (syslog lines come in order).
let iyYear = -1;
let iyMonth = -1;
let iyDay = -1;
let iyThis = 0;
let iyNext = 0;

/**
 * Traditional syslog stamp at `i`: `Nov 25 14:00:00`, `Nov  5 14:00:00`,
 * optionally `.123` and optionally a year (`Nov 25 2026 14:00:00` or
 * `Nov 25 14:00:00 2026`). The year, when absent, comes from `now`.
 */
export function syslogDateAt(s: string, i: number, defaultOffsetMin: number, now: number): TimeAt | null {
  const mo = monthAt(s, i);
  if (mo < 0 || s.charCodeAt(i + 3) !== 32) return null;
  let j = i + 4;
  if (s.charCodeAt(j) === 32) j++;
  let d = digitsAt(s, j, 2);
  if (d >= 0) j += 2;
  else {
    d = digitsAt(s, j, 1);
    if (d < 0) return null;
    j += 1;
  }
  if (s.charCodeAt(j) !== 32) return null;
  j++;
  let y = -1;
  if (s.charCodeAt(j + 4) === 32) {
    y = digitsAt(s, j, 4);
    if (y < 0) return null;
    j += 5;
  }
  const h = digitsAt(s, j, 2);
  const mi = digitsAt(s, j + 3, 2);
  const sec = digitsAt(s, j + 6, 2);
  if (h < 0 || mi < 0 || sec < 0 || s.charCodeAt(j + 2) !== 58 || s.charCodeAt(j + 5) !== 58) return null;
  const frac = fractionAt(s, j + 8);
  let end = scanEnd;
  if (y < 0 && s.charCodeAt(end) === 32 && (end + 5 >= s.length || s.charCodeAt(end + 5) === 32)) {
    const y2 = digitsAt(s, end + 1, 4);
    if (y2 >= 1970) {
      y = y2;
      end += 5;
    }
  }
  if (y < 0) y = inferYear(mo, d, now);
  const base = utcMs(y, mo, d, h, mi, sec, frac);
  if (base === null) return null;
  return { ms: base - defaultOffsetMin * 60_000, end, offsetMin: null };
}

/**
 * A number that is an epoch time, in whatever unit its size says: seconds
 * (possibly fractional), milliseconds, microseconds or nanoseconds. Null for
 * values that are not plausibly a time after 1990.
 */
export function epochToMs(n: number): number | null {
  if (!Number.isFinite(n) || n <= 0) return null;
  let ms: number;
  if (n < 1e11) ms = n * 1000;
  else if (n < 1e14) ms = n;
  else if (n < 1e17) ms = n / 1000;
  else ms = n / 1e6;
  if (ms < 631_152_000_000) return null; // before 1990: a counter, not a time
  return Math.floor(ms);
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

// Lines come in time order: the `YYYY-MM-DDT` of the last day formatted is kept.
let isoDayStart = 0;
let isoDayEnd = -1;
let isoDayText = '';

/** ISO 8601 text of an instant (UTC, ms precision, `Z`), or null for an invalid one. */
export function isoString(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  if (ms < isoDayStart || ms >= isoDayEnd) {
    const text = new Date(ms).toISOString();
    const y = Number(text.slice(0, text.indexOf('-', 1)));
    if (y < 0 || y > 9999) return text;
    isoDayStart = ms - (ms % 86_400_000 + 86_400_000) % 86_400_000;
    isoDayEnd = isoDayStart + 86_400_000;
    isoDayText = text.slice(0, 11);
    return text;
  }
  let r = ms - isoDayStart;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const mi = Math.floor(r / 60_000);
  r -= mi * 60_000;
  const sec = Math.floor(r / 1000);
  const milli = Math.floor(r - sec * 1000);
  return `${isoDayText}${pad2(h)}:${pad2(mi)}:${pad2(sec)}.${milli < 10 ? '00' + milli : milli < 100 ? '0' + milli : milli}Z`;
}
