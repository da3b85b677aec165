/**
 * The parse stage: one raw line in, one ParsedLine out (types.ts).
 *
 * Contract: parseLine is synchronous, allocation-light and never throws,
 * whatever the input (binary, a 1 MB line, a truncated line, U+FFFD
 * replacement characters): a line it does not understand is
 * `{ ok: false, kind: 'unknown', time: null, fields: { reason } }`.
 * It depends on nothing but its arguments, except that a syslog stamp
 * without a year (`Nov 25 14:00:00`) takes its year from `ctx.now`
 * (default: the clock), as syslog readers do. Each call returns new objects
 * the caller may keep or change.
 *
 * Time: ParsedLine.time is the line's own time in ms. A time written without
 * a UTC offset is read as UTC; in particular HAProxy's `[%tr]` accept date,
 * which is in the local time of the HAProxy host, is read with the offset of
 * an RFC 3339 / RFC 5424 syslog header in front of it when there is one, and
 * as UTC otherwise (run HAProxy hosts in UTC, or log with `format rfc5424`).
 * With `ctx.maxAheadMs`, a time further than that ahead of `ctx.now` (the
 * clock when the line was received; the clock itself when not given) is
 * clamped to it, and the line says by how much (clock-skew.ts): the event
 * clock never runs ahead of the wall clock by more than the allowance.
 *
 * Addresses: client_ip and real_ip in IPv4-mapped IPv6 notation
 * (`::ffff:192.0.2.7`) come out in their IPv4 form, whatever the parser
 * (address.ts), so one client is one subject downstream.
 *
 * Formats (field names: types.ts, and each file's header):
 *   haproxy  haproxy-line.ts: http, tcp, conn_error, event
 *   json     app-json.ts: app
 *   text     app-text.ts: app (text-pattern.ts for a source with its own regex)
 */
import type { ParsedLine, SourceFormat } from '../types.js';
import { parseJsonApp } from './app-json.js';
import { parseTextApp } from './app-text.js';
import { parseHaproxyLine } from './haproxy-line.js';
import { unknownLine } from './result.js';
import { clampFutureTime } from './clock-skew.js';
import { canonicalAddresses } from './address.js';
import type { LineParser } from './text-pattern.js';

export interface ParseContext {
  /** ms since epoch the line was received: gives a year to year-less syslog stamps, and is the clock `maxAheadMs` is judged against. */
  now?: number;
  /** How far (ms) a line's own time may be ahead of `now`; further is clamped to `now`. Absent: no limit. */
  maxAheadMs?: number;
  /** A text source's own expression (compileTextPattern), used instead of the generic text parser; it gets the line as received. */
  pattern?: LineParser;
}

function parseAs(line: string, format: SourceFormat, now: number, pattern: LineParser | undefined): ParsedLine {
  if (format === 'text' && pattern) return pattern(line, now);
  let s = line;
  if (s.charCodeAt(s.length - 1) === 13) s = s.slice(0, -1); // CRLF files
  switch (format) {
    case 'haproxy':
      return parseHaproxyLine(s, now);
    case 'json':
      return parseJsonApp(s, now);
    case 'text':
      return parseTextApp(s, now);
    default:
      return unknownLine('unknown format');
  }
}

export function parseLine(line: string, format: SourceFormat, ctx?: ParseContext): ParsedLine {
  try {
    if (typeof line !== 'string') return unknownLine('not a string');
    // NaN: "the clock", read only by the rare stamp that needs it (time.ts inferYear).
    const now = ctx?.now ?? Number.NaN;
    const p = parseAs(line, format, now, ctx?.pattern);
    // One subject per client whichever notation the line used (address.ts).
    if (p.ok) canonicalAddresses(p.fields);
    if (ctx?.maxAheadMs === undefined) return p;
    return clampFutureTime(p, Number.isNaN(now) ? Date.now() : now, ctx.maxAheadMs);
  } catch {
    // A bug here must cost one line, never the pipeline.
    return unknownLine('parser error');
  }
}

export { compileTextPattern } from './text-pattern.js';
export { levelFromValue, levelFromWord } from './level.js';
export type { Level } from './level.js';
