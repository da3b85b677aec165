/**
 * Application text lines (format 'text'), kind 'app':
 *   [syslog header] [time stamp] [context...] [LEVEL] message
 * Fields: message (the text after the level, or after the time when there
 * is no level, or the whole line), level (error/warn/info/debug, level.ts),
 * time (ISO 8601 of the leading stamp, text-time.ts; the line's time is null
 * without one), context (words between the stamp and the level, e.g. a
 * logger name or `[main]`), syslog_host, program, pid (when a syslog header
 * is in front). A whole-line logfmt record gives its pairs as fields, with
 * message from msg/message, level from level/lvl/severity, time from t/time/ts/timestamp.
 *
 * A level word is recognised in any case when it is decorated (`[error]`,
 * `<WARN>`, `ERROR:`, `level=error`, `[core:error]`, `production.ERROR:`), or
 * bare when it is upper case or the first word after the time: so
 * `Connection error on socket` keeps its `error` in the message.
 * Empty lines and binary garbage are `unknown` (reasons 'empty', 'binary').
 */
import type { Fields, ParsedLine } from '../types.js';
import { type Level, levelFromValue, levelFromWord } from './level.js';
import { parseLogfmt } from './logfmt.js';
import { unknownLine } from './result.js';
import { parseSyslogPrefix } from './syslog-prefix.js';
import { isoString, monthAt } from './time.js';
import { leadingTimeAt, timeFromValue } from './text-time.js';

/** More than 1 in 10 of the first 512 characters are control characters or U+FFFD. */
export function looksBinary(s: string): boolean {
  const n = Math.min(s.length, 512);
  let bad = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if ((c < 32 && c !== 9) || c === 0xfffd || c === 127) bad++;
  }
  return bad * 10 > n;
}

function isSeparator(s: string, i: number, e: number): boolean {
  for (let k = i; k < e; k++) {
    const c = s.charCodeAt(k);
    if (c !== 45 && c !== 124 && c !== 58 && c !== 0x2014 && c !== 62) return false;
  }
  return true;
}

function skipSeparators(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) i++;
    else if ((c === 45 || c === 124 || c === 58) && (s.charCodeAt(i + 1) === 32 || i + 1 >= s.length)) i++;
    else return i;
  }
}

function isUpper(w: string): boolean {
  for (let k = 0; k < w.length; k++) {
    const c = w.charCodeAt(k);
    if (c >= 97 && c <= 122) return false;
  }
  return true;
}

interface LevelHit {
  level: Level;
  /** Where the message starts. */
  next: number;
  /** Where the level word's token starts (context ends). */
  at: number;
}

const OPEN = new Set([91, 40, 60, 123]);
const CLOSE = new Set([93, 41, 62, 125, 58, 44]);

function findLevel(s: string, i: number): LevelHit | null {
  const limit = Math.min(s.length, i + 120);
  let words = 0;
  let j = i;
  while (j < limit && words < 6) {
    while (s.charCodeAt(j) === 32) j++;
    let e = s.indexOf(' ', j);
    if (e < 0) e = s.length;
    if (e === j) break;
    if (isSeparator(s, j, e)) {
      j = e;
      continue;
    }
    if (e - j > 48) return null;
    let a = j;
    let b = e;
    while (a < b && OPEN.has(s.charCodeAt(a))) a++;
    while (b > a && CLOSE.has(s.charCodeAt(b - 1))) b--;
    const decorated = a !== j || b !== e;
    const core = s.slice(a, b);
    let lv: Level | null = null;
    let next = e;
    const eq = core.indexOf('=');
    if (eq > 0) {
      const key = core.slice(0, eq).toLowerCase();
      if (key === 'level' || key === 'lvl' || key === 'severity' || key === 'loglevel') lv = levelFromValue(core.slice(eq + 1).replace(/^"|"$/g, ''));
    } else {
      const colon = core.indexOf(':');
      if (colon > 0) {
        // `ERROR:root:message` (Python's default), `[core:error]` (Apache)
        const head = core.slice(0, colon);
        const hl = levelFromWord(head);
        if (hl !== null && isUpper(head)) {
          lv = hl;
          next = a + colon + 1;
        } else lv = levelFromWord(core.slice(core.lastIndexOf(':') + 1));
      } else {
        const dot = core.lastIndexOf('.');
        const word = dot > 0 ? core.slice(dot + 1) : core;
        const wl = levelFromWord(word);
        if (wl !== null && (decorated || isUpper(word) || words === 0) && (dot < 0 || isUpper(word))) lv = wl;
      }
    }
    if (lv !== null) return { level: lv, next: skipSeparators(s, next), at: j };
    words++;
    j = e;
  }
  return null;
}

function setTime(f: Fields, ms: number | null): void {
  if (ms !== null) f.time = isoString(ms);
}

function fromLogfmt(kv: Record<string, string>, now: number): ParsedLine {
  const f: Fields = {};
  const msg = kv.msg ?? kv.message;
  if (msg !== undefined) f.message = msg;
  const lvRaw = kv.level ?? kv.lvl ?? kv.severity;
  const lv = lvRaw === undefined ? null : levelFromValue(lvRaw);
  if (lv !== null) f.level = lv;
  const tRaw = kv.t ?? kv.time ?? kv.ts ?? kv.timestamp;
  const time = tRaw === undefined ? null : timeFromValue(tRaw, now);
  setTime(f, time);
  for (const k in kv) {
    if (k === 'msg' || k === 'message' || k === 'level' || k === 'lvl' || k === 'severity' || k === 't' || k === 'time' || k === 'ts' || k === 'timestamp') continue;
    f[k] = kv[k];
  }
  return { ok: true, kind: 'app', time, fields: f };
}

function startsLikeLogfmt(s: string, i: number): boolean {
  const eq = s.indexOf('=', i);
  if (eq <= i || eq - i > 32) return false;
  for (let k = i; k < eq; k++) {
    const c = s.charCodeAt(k);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45)) return false;
  }
  return true;
}

export function parseTextApp(s: string, now: number): ParsedLine {
  let i = 0;
  while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
  if (i >= s.length) return unknownLine('empty');
  if (looksBinary(s)) return unknownLine('binary');

  if (startsLikeLogfmt(s, i)) {
    const kv = parseLogfmt(s, i);
    if (kv !== null && (kv.msg !== undefined || kv.message !== undefined || kv.level !== undefined || kv.lvl !== undefined)) return fromLogfmt(kv, now);
  }

  const f: Fields = {};
  let time: number | null = null;
  const c = s.charCodeAt(i);
  if (c === 60 || (c >= 65 && c <= 90 && monthAt(s, i) >= 0)) {
    // A syslog file: `<PRI>`, `Nov 25 14:00:00 host prog[pid]: msg`.
    const p = parseSyslogPrefix(s.slice(i), now);
    if (p.time !== null || p.program !== null) {
      time = p.time;
      if (p.host !== null) f.syslog_host = p.host;
      if (p.program !== null) f.program = p.program;
      if (p.pid !== null) f.pid = p.pid;
      i += p.start;
      if (p.pri !== null && p.program !== null) {
        const lv = levelFromValue(p.pri & 7);
        if (lv !== null) f.level = lv;
      }
    }
  }
  if (time === null) {
    const t = leadingTimeAt(s, i, now);
    if (t !== null) {
      time = t.ms;
      i = t.end;
    }
  }
  setTime(f, time);
  i = skipSeparators(s, i);
  const hit = findLevel(s, i);
  if (hit !== null) {
    f.level = hit.level;
    const ctx = s.slice(i, hit.at).replace(/[\s\-|:]+$/, '').trim();
    if (ctx !== '') f.context = ctx;
    i = hit.next;
  }
  f.message = s.slice(i).trimEnd();
  return { ok: true, kind: 'app', time, fields: f };
}
