/**
 * The time stamp an application line starts with, in the common shapes:
 *   ISO 8601 / RFC 3339   `2026-11-25T14:00:00.123Z`, `2026-11-25 14:00:00,123`, `2026/11/25 14:00:00`
 *   syslog                `Nov 25 14:00:00` (year from `now`)
 *   Apache / HAProxy      `25/Nov/2026:14:00:00 +0000`, `25/Nov/2026:14:00:00.123`
 *   Tomcat / Java         `25-Nov-2026 14:00:00.123`
 *   ctime / Apache error  `Wed Nov 25 14:00:00.123456 2026`, `Wed Nov 25 14:00:00 2026`
 *   epoch                 `1764079200`, `1764079200.123`, `1764079200123` (10 or 13 digits)
 *   time of day only      `14:00:00.123` (consumed, but gives no time: there is no date)
 * each optionally in `[...]`. Without an offset in the text, a time is read as UTC.
 * Contract: never throws; null when there is no time stamp at `i`.
 */
import { digitsAt, epochToMs, haproxyDateAt, isDigitCode, isoAt, monthAt, offsetAt, syslogDateAt, utcMs } from './time.js';

export interface LeadingTime {
  /** ms since epoch, or null for a time of day without a date. */
  ms: number | null;
  /** Index just after the stamp (and its closing `]`). */
  end: number;
}

const WEEKDAYS = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);

function ctimeAt(s: string, i: number): LeadingTime | null {
  // Wed Nov 25 14:00:00[.ffffff] 2026
  if (!WEEKDAYS.has(s.slice(i, i + 3)) || s.charCodeAt(i + 3) !== 32) return null;
  const mo = monthAt(s, i + 4);
  if (mo < 0) return null;
  let j = i + 8;
  if (s.charCodeAt(j) === 32) j++;
  let d = digitsAt(s, j, 2);
  if (d >= 0) j += 2;
  else if ((d = digitsAt(s, j, 1)) >= 0) j += 1;
  else return null;
  if (s.charCodeAt(j) !== 32) return null;
  const h = digitsAt(s, j + 1, 2);
  const mi = digitsAt(s, j + 4, 2);
  const sec = digitsAt(s, j + 7, 2);
  if (h < 0 || mi < 0 || sec < 0) return null;
  j += 9;
  let ms = 0;
  if (s.charCodeAt(j) === 46) {
    let k = j + 1;
    let scale = 100;
    while (isDigitCode(s.charCodeAt(k))) {
      if (scale >= 1) ms += (s.charCodeAt(k) - 48) * scale;
      scale /= 10;
      k++;
    }
    j = k;
  }
  if (s.charCodeAt(j) !== 32) return null;
  const y = digitsAt(s, j + 1, 4);
  if (y < 0) return null;
  const t = utcMs(y, mo, d, h, mi, sec, Math.floor(ms));
  return t === null ? null : { ms: t, end: j + 5 };
}

function tomcatAt(s: string, i: number): LeadingTime | null {
  // 25-Nov-2026 14:00:00.123
  const d = digitsAt(s, i, 2);
  if (d < 0 || s.charCodeAt(i + 2) !== 45 || s.charCodeAt(i + 6) !== 45) return null;
  const mo = monthAt(s, i + 3);
  const y = digitsAt(s, i + 7, 4);
  if (mo < 0 || y < 0 || s.charCodeAt(i + 11) !== 32) return null;
  const t = isoAt(`${y}-${String(mo + 1).padStart(2, '0')}-${String(d).padStart(2, '0')}T${s.slice(i + 12, i + 40)}`, 0);
  return t === null ? null : { ms: t.ms, end: i + 12 + (t.end - 11) };
}

function timeOfDayAt(s: string, i: number): LeadingTime | null {
  if (digitsAt(s, i, 2) < 0 || s.charCodeAt(i + 2) !== 58 || digitsAt(s, i + 3, 2) < 0 || s.charCodeAt(i + 5) !== 58 || digitsAt(s, i + 6, 2) < 0) return null;
  let j = i + 8;
  const c = s.charCodeAt(j);
  if (c === 46 || c === 44) {
    j++;
    while (isDigitCode(s.charCodeAt(j))) j++;
  }
  return { ms: null, end: j };
}

function epochAt(s: string, i: number): LeadingTime | null {
  let j = i;
  while (isDigitCode(s.charCodeAt(j))) j++;
  const len = j - i;
  if (len !== 10 && len !== 13) return null;
  if (s.charCodeAt(j) === 46 && len === 10) {
    j++;
    while (isDigitCode(s.charCodeAt(j))) j++;
  }
  const ms = epochToMs(Number(s.slice(i, j)));
  return ms === null ? null : { ms, end: j };
}

function bareAt(s: string, i: number, now: number): LeadingTime | null {
  const c = s.charCodeAt(i);
  if (isDigitCode(c)) {
    const iso = isoAt(s, i);
    if (iso) return { ms: iso.ms, end: iso.end };
    const hd = haproxyDateAt(s, i, 0);
    if (hd) return { ms: hd.ms, end: hd.end };
    return tomcatAt(s, i) ?? timeOfDayAt(s, i) ?? epochAt(s, i);
  }
  if (c >= 65 && c <= 90) {
    const sd = syslogDateAt(s, i, 0, now);
    if (sd) {
      // `Nov 25 14:00:00 UTC` / `+0100`
      let end = sd.end;
      let ms = sd.ms;
      if (s.charCodeAt(end) === 32) {
        const [off, k] = offsetAt(s, end + 1);
        if (off !== null && k - end > 5) {
          ms -= off * 60_000;
          end = k;
        }
      }
      return { ms, end };
    }
    return ctimeAt(s, i);
  }
  return null;
}

/** The time stamp starting at `i` (after spaces the caller skipped), or null. */
export function leadingTimeAt(s: string, i: number, now: number): LeadingTime | null {
  if (s.charCodeAt(i) === 91) {
    const t = bareAt(s, i + 1, now);
    if (t === null) return null;
    let end = t.end;
    while (s.charCodeAt(end) === 32) end++;
    if (s.charCodeAt(end) !== 93) {
      // `[2026-11-25 14:00:00 UTC]`, `[... +0000]`: a zone word before the bracket
      const close = s.indexOf(']', end);
      if (close < 0 || close - end > 8) return null;
      end = close;
    }
    return { ms: t.ms, end: end + 1 };
  }
  return bareAt(s, i, now);
}

/** A time given as a JSON value or a text alone: epoch numbers (any unit), digit strings, or any shape above. */
export function timeFromValue(v: unknown, now: number): number | null {
  if (typeof v === 'number') return epochToMs(v);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return epochToMs(Number(s));
  const t = leadingTimeAt(s, 0, now);
  return t === null ? null : t.ms;
}
