/**
 * Application JSON lines (format 'json'), kind 'app'. Fields:
 *   message  from message, msg, MESSAGE (journald), @m / @mt (Serilog), @message,
 *            short_message (GELF), log (Docker), event (structlog), text; else error/err
 *   level    error | warn | info | debug, from level, severity, lvl, levelname, loglevel,
 *            log.level (nested or dotted), @l, PRIORITY (syslog number); pino's numbers too
 *   time     ISO 8601 text of the line's time, from time, timestamp, ts, @timestamp, @t,
 *            datetime, date, timeMillis, __REALTIME_TIMESTAMP (µs), _SOURCE_REALTIME_TIMESTAMP;
 *            ISO text or epoch s/ms/µs/ns; an unreadable value is kept as it was
 *   others   every other scalar value under its key; nested objects flattened with dotted
 *            keys (`http.status`), at most 3 levels and 100 fields; arrays are dropped
 * A line that is not JSON: when it starts with `{` it is `unknown` (reason 'invalid json');
 * otherwise it is read as a text line (a banner or stack trace from the same app).
 */
import type { Fields, ParsedLine } from '../types.js';
import { parseTextApp } from './app-text.js';
import { levelFromValue } from './level.js';
import { unknownLine } from './result.js';
import { isoString } from './time.js';
import { timeFromValue } from './text-time.js';

const MESSAGE_KEYS = ['message', 'msg', 'MESSAGE', '@m', '@message', 'short_message', 'log', 'event', 'text', '@mt', 'error', 'err'];
const LEVEL_KEYS = ['level', 'severity', 'lvl', 'levelname', 'loglevel', 'log.level', '@l', 'PRIORITY', 'priority', 'Level', 'Severity', 'log_level', 'level_name'];
const TIME_KEYS = ['time', 'timestamp', 'ts', '@timestamp', '@t', 'datetime', 'date', 'timeMillis', 'Timestamp', 'Time', 'time_local', 'logged_at', '_SOURCE_REALTIME_TIMESTAMP', '__REALTIME_TIMESTAMP', 'instant'];
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_FIELDS = 100;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function flatten(src: Obj, prefix: string, depth: number, out: Obj, count: { n: number }): void {
  for (const k in src) {
    if (count.n >= MAX_FIELDS) return;
    if (RESERVED.has(k)) continue;
    const v = src[k];
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      if (typeof v === 'number' && !Number.isFinite(v)) continue;
      out[key] = typeof v === 'number' ? v + 0 : v; // + 0: never -0
      count.n++;
    } else if (isObj(v) && depth < 3) flatten(v, key, depth + 1, out, count);
  }
}

function journalMessage(v: unknown): string | null {
  // journald writes a MESSAGE that is not valid UTF-8 as an array of bytes.
  if (Array.isArray(v) && v.length <= 1_000_000 && v.every((b) => typeof b === 'number' && b >= 0 && b < 256)) {
    return Buffer.from(v as number[]).toString('utf8');
  }
  return null;
}

function instantMs(v: unknown): number | null {
  // log4j2 JsonLayout: "instant": {"epochSecond": 1, "nanoOfSecond": 2}
  if (isObj(v) && typeof v.epochSecond === 'number') {
    const nanos = typeof v.nanoOfSecond === 'number' ? v.nanoOfSecond : 0;
    return Math.floor(v.epochSecond * 1000 + nanos / 1e6);
  }
  return null;
}

export function parseJsonApp(s: string, now: number): ParsedLine {
  let i = 0;
  while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
  const c = s.charCodeAt(i);
  if (c === 91 && s.trimEnd().endsWith(']')) {
    // A JSON array is JSON, just not a record; `[2026-11-25 ...] text` is text.
    try {
      JSON.parse(s);
      return unknownLine('json is not an object');
    } catch {
      return parseTextApp(s, now);
    }
  }
  if (c !== 123) return parseTextApp(s, now);
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch {
    return unknownLine('invalid json');
  }
  if (!isObj(obj)) return unknownLine('json is not an object');

  const flat: Obj = {};
  flatten(obj, '', 0, flat, { n: 0 });
  const f: Fields = {};

  // Keys read into message, level and time are not repeated under their own name.
  const used: string[] = [];
  let message: string | null = null;
  for (const k of MESSAGE_KEYS) {
    const v = flat[k] ?? obj[k];
    if (typeof v === 'string') {
      message = v;
      used.push(k);
      break;
    }
    if (k === 'MESSAGE' && v !== undefined && (message = journalMessage(v)) !== null) break;
  }
  if (message !== null) f.message = message;

  for (const k of LEVEL_KEYS) {
    const v = flat[k];
    if (v === undefined) continue;
    const lv = levelFromValue(v);
    if (lv !== null) {
      f.level = lv;
      used.push(k);
      break;
    }
  }

  let time: number | null = null;
  let rawTime: unknown;
  for (const k of TIME_KEYS) {
    const v = k === 'instant' ? obj.instant : flat[k];
    if (v === undefined || v === null) continue;
    let t: number | null;
    if (k === 'instant') t = instantMs(v);
    else if (k.endsWith('REALTIME_TIMESTAMP')) t = timeFromValue(typeof v === 'string' ? Number(v) : v, now);
    else t = timeFromValue(v, now);
    if (t !== null) {
      time = t;
      used.push(k);
      break;
    }
    if (rawTime === undefined) rawTime = v;
  }
  if (time !== null) f.time = isoString(time);
  else if (rawTime !== undefined) f.time = rawTime;

  for (const k in flat) {
    if (k === 'message' || k === 'level' || k === 'time' || used.includes(k)) continue;
    f[k] = flat[k];
  }
  return { ok: true, kind: 'app', time, fields: f };
}
