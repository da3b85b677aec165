/**
 * The syslog (or syslog-like) header in front of a message, in the forms
 * HAProxy and syslog daemons write:
 *   `<134>Nov 25 14:00:00 host haproxy[123]: msg`  traditional (RFC 3164), PRI, host and tag optional
 *   `2026-11-25T14:00:00.123456+00:00 host haproxy[123]: msg`  RFC 3339 (rsyslog, journalctl -o short-iso)
 *   `<134>1 2026-11-25T14:00:00.123Z host haproxy 123 - [sd] msg`  RFC 5424, SD `-` or `[...]`
 *   `<134>msg`, `2026-11-25T14:00:00+00:00 msg`, `<6>2026-...+00:00 msg`  HAProxy's priority/short, iso and timed formats
 *   `msg`  HAProxy's raw format: no header at all
 * Contract: never throws; `start` is where the message begins (0 when there
 * is no header). Fields are set only when the header has them.
 */
import { type TimeAt, isoAt, isDigitCode, monthAt, syslogDateAt } from './time.js';

export interface SyslogPrefix {
  /** Index of the message's first character. */
  start: number;
  /** Time of the header, ms since epoch; null without one. */
  time: number | null;
  /** UTC offset the header's time carried (minutes east), null when it carried none (traditional stamps). */
  offsetMin: number | null;
  pri: number | null;
  host: string | null;
  program: string | null;
  pid: number | null;
}

function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32) i++;
  return i;
}

function tokenEnd(s: string, i: number): number {
  const j = s.indexOf(' ', i);
  return j < 0 ? s.length : j;
}

function isTagChar(c: number, slash: boolean): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
    c === 45 || c === 95 || c === 46 || c === 64 || (slash && c === 47)
  );
}

/**
 * A syslog tag `prog[pid]:` or `prog:` spanning [i, end): returns [program, pid]
 * or null. A `/` is accepted in the program only with a pid (`postfix/smtpd[1]:`),
 * so HAProxy's `frontend/bind:` of a connection error is not taken for a tag.
 */
function tagAt(s: string, i: number, end: number): [string, number | null] | null {
  if (end - i < 2 || s.charCodeAt(end - 1) !== 58) return null;
  let j = i;
  const c0 = s.charCodeAt(j);
  if (!((c0 >= 97 && c0 <= 122) || (c0 >= 65 && c0 <= 90) || c0 === 95)) return null;
  const bracket = s.lastIndexOf('[', end);
  const withPid = bracket > i && s.charCodeAt(end - 2) === 93;
  const progEnd = withPid ? bracket : end - 1;
  for (; j < progEnd; j++) if (!isTagChar(s.charCodeAt(j), withPid)) return null;
  let pid: number | null = null;
  if (withPid && end - 2 - (bracket + 1) <= 10) {
    let v = 0;
    let k = bracket + 1;
    for (; k < end - 2; k++) {
      const c = s.charCodeAt(k) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
    }
    if (k === end - 2 && k > bracket + 1) pid = v;
  }
  return [s.slice(i, progEnd), pid];
}

/** After a header time: optional `host tag:` or `tag:`; fills host/program/pid and returns the message start. */
function hostAndTag(s: string, i: number, out: SyslogPrefix): number {
  const e1 = tokenEnd(s, i);
  const t1 = tagAt(s, i, e1);
  if (t1) {
    out.program = t1[0];
    out.pid = t1[1];
    return skipSpaces(s, e1 + 1);
  }
  if (e1 >= s.length) return i;
  const i2 = skipSpaces(s, e1 + 1);
  const e2 = tokenEnd(s, i2);
  const t2 = tagAt(s, i2, e2);
  if (t2) {
    out.host = s.slice(i, e1);
    out.program = t2[0];
    out.pid = t2[1];
    return skipSpaces(s, e2 + 1);
  }
  return i; // iso/timed formats: the message follows the time directly
}

/** RFC 5424 after `<PRI>1 `: TIMESTAMP HOST APP PROCID MSGID SD [MSG]. */
function rfc5424(s: string, i: number, out: SyslogPrefix): number {
  // Token by token, without an array of them; the stamp is read as a string of its own (isoAt may look past its end).
  i = skipSpaces(s, i);
  let e = tokenEnd(s, i);
  if (!(e - i === 1 && s.charCodeAt(i) === 45)) {
    const t = isoAt(s.slice(i, e), 0);
    if (t) {
      out.time = t.ms;
      out.offsetMin = t.offsetMin;
    }
  }
  i = skipSpaces(s, e);
  e = tokenEnd(s, i);
  if (e > i && !(e - i === 1 && s.charCodeAt(i) === 45)) out.host = s.slice(i, e);
  i = skipSpaces(s, e);
  e = tokenEnd(s, i);
  if (e > i && !(e - i === 1 && s.charCodeAt(i) === 45)) out.program = s.slice(i, e);
  i = skipSpaces(s, e);
  e = tokenEnd(s, i);
  if (e > i && !(e - i === 1 && s.charCodeAt(i) === 45)) {
    // PROCID: a pid when it is a decimal integer, as Number() reads one (digits, at most 15 of them).
    let v = 0;
    let k = i;
    for (; k < e; k++) {
      const d = s.charCodeAt(k) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (k === e && e - i <= 15) out.pid = v;
    else {
      const n = Number(s.slice(i, e));
      if (Number.isInteger(n) && n >= 0) out.pid = n;
    }
  }
  i = skipSpaces(s, e);
  i = tokenEnd(s, i); // MSGID
  i = skipSpaces(s, i);
  // Structured data: `-` or one or more `[id k="v" ...]`, where `\]` and `\"` are escaped inside values.
  if (s.charCodeAt(i) === 45 && (i + 1 >= s.length || s.charCodeAt(i + 1) === 32)) i++;
  else {
    while (s.charCodeAt(i) === 91) {
      let j = i + 1;
      let quoted = false;
      for (; j < s.length; j++) {
        const c = s.charCodeAt(j);
        if (c === 92) j++;
        else if (c === 34) quoted = !quoted;
        else if (c === 93 && !quoted) break;
      }
      i = j + 1;
    }
  }
  if (s.charCodeAt(i) === 32) i++;
  if (s.charCodeAt(i) === 0xfeff) i++; // BOM before a UTF-8 MSG
  return Math.min(i, s.length);
}

/** Reads the header of `s`; `now` (ms) gives the year to traditional stamps, which have none. */
export function parseSyslogPrefix(s: string, now: number): SyslogPrefix {
  const out: SyslogPrefix = { start: 0, time: null, offsetMin: null, pri: null, host: null, program: null, pid: null };
  let i = 0;
  if (s.charCodeAt(0) === 60) {
    // <PRI>
    let j = 1;
    let v = 0;
    while (j < 5 && isDigitCode(s.charCodeAt(j))) v = v * 10 + s.charCodeAt(j++) - 48;
    if (j > 1 && s.charCodeAt(j) === 62 && v <= 191) {
      out.pri = v;
      i = j + 1;
      if (s.charCodeAt(i) === 49 && s.charCodeAt(i + 1) === 32) {
        out.start = rfc5424(s, i + 2, out);
        return out;
      }
    }
  }
  const c = s.charCodeAt(i);
  let t: TimeAt | null = null;
  if (isDigitCode(c)) t = isoAt(s, i);
  else if (c >= 65 && c <= 90 && monthAt(s, i) >= 0) t = syslogDateAt(s, i, 0, now);
  if (t && (t.end >= s.length || s.charCodeAt(t.end) === 32)) {
    out.time = t.ms;
    out.offsetMin = t.offsetMin;
    out.start = hostAndTag(s, skipSpaces(s, t.end), out);
    return out;
  }
  // No time: a bare `haproxy[123]: ` tag (some relays strip the stamp).
  const e = tokenEnd(s, i);
  if (s.charCodeAt(e - 2) === 93) {
    const tag = tagAt(s, i, e);
    if (tag) {
      out.program = tag[0];
      out.pid = tag[1];
      out.start = skipSpaces(s, e + 1);
      return out;
    }
  }
  out.start = i;
  return out;
}
