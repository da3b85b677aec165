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

export interface ParseContext {
  /** ms since epoch used to give a year to year-less syslog stamps (RawLine.receivedAt is a good value). */
  now?: number;
}

export function parseLine(line: string, format: SourceFormat, ctx?: ParseContext): ParsedLine {
  try {
    if (typeof line !== 'string') return unknownLine('not a string');
    let s = line;
    if (s.charCodeAt(s.length - 1) === 13) s = s.slice(0, -1); // CRLF files
    // NaN: "the clock", read only by the rare stamp that needs it (time.ts inferYear).
    const now = ctx?.now ?? Number.NaN;
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
  } catch {
    // A bug here must cost one line, never the pipeline.
    return unknownLine('parser error');
  }
}

export { compileTextPattern } from './text-pattern.js';
export { levelFromValue, levelFromWord } from './level.js';
export type { Level } from './level.js';
