/**
 * One line of an HAProxy log (format 'haproxy'): the syslog header if any
 * (syslog-prefix.ts), then a traffic line (haproxy-traffic.ts: http, tcp,
 * conn_error), a JSON log-format line (haproxy-json.ts), the old default
 * `Connect from` line (tcp), or an event line (haproxy-event.ts). Prose
 * from a program named haproxy that no rule knows is an event `message`.
 * Anything else is `unknown` with reason 'not an haproxy line' (or 'empty',
 * 'binary').
 *
 * Time: traffic lines take theirs from HAProxy's accept date, which is in
 * the local time of the HAProxy host; it is read with the UTC offset of the
 * syslog header when the header has one (RFC 3339, RFC 5424), else as UTC.
 * Event lines take the header's time, or none. Header fields are added as
 * syslog_host, program and pid.
 */
import type { Fields, ParsedLine } from '../types.js';
import { looksBinary } from './app-text.js';
import { parseEvent } from './haproxy-event.js';
import { parseHaproxyJson } from './haproxy-json.js';
import { parseTraffic } from './haproxy-traffic.js';
import { unknownLine } from './result.js';
import { skipSpaces, splitHostPort, tokenEnd } from './scan.js';
import { type SyslogPrefix, parseSyslogPrefix } from './syslog-prefix.js';

const SEVERITY_LEVEL = ['error', 'error', 'error', 'error', 'warn', 'info', 'info', 'debug'];

const RE_CONNECT = /^Connect from (\S+) to (\S+) \(([^/\s]+)\/(\w+)\)/;

function connectFrom(s: string, p: number, time: number | null): ParsedLine | null {
  const m = RE_CONNECT.exec(s.slice(p, p + 300));
  if (!m) return null;
  const [ip, port] = splitHostPort(m[1] as string);
  const [dip, dport] = splitHostPort(m[2] as string);
  const f: Fields = { client_ip: ip };
  if (port !== null) f.client_port = port;
  f.frontend_ip = dip;
  if (dport !== null) f.frontend_port = dport;
  f.frontend = m[3];
  f.mode = (m[4] as string).toLowerCase();
  return { ok: true, kind: 'tcp', time, fields: f };
}

const TAG_START = /^\[(?:NOTICE|WARNING|ALERT|ERROR|EMERG|INFO|DEBUG)\]/;

function parseBody(s: string, p: number, pre: SyslogPrefix, now: number): ParsedLine | null {
  if (p >= s.length) return null;
  const c = s.charCodeAt(p);
  if (c === 123) return journalRecord(s, p, now) ?? parseHaproxyJson(s, p, pre.offsetMin ?? 0, now);
  if (c === 91 && TAG_START.test(s.slice(p, p + 10))) return parseEvent(s, p, pre.time, pre.pri);
  const t = parseTraffic(s, p, pre.offsetMin ?? 0);
  if (t !== null) return t;
  if (c === 67 && s.startsWith('Connect from ', p)) return connectFrom(s, p, pre.time);
  return parseEvent(s, p, pre.time, pre.pri);
}

/**
 * A journald record (`journalctl -o json`) whose MESSAGE is an HAProxy line:
 * the line is parsed, and _HOSTNAME, SYSLOG_IDENTIFIER, _PID and the
 * record's time fill what the line itself does not have.
 */
function journalRecord(s: string, p: number, now: number): ParsedLine | null {
  if (s.indexOf('"MESSAGE"', p) < 0) return null;
  let o: unknown;
  try {
    o = JSON.parse(s.slice(p));
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object') return null;
  const rec = o as Record<string, unknown>;
  if (typeof rec.MESSAGE !== 'string') return null;
  const r = parseHaproxyLine(rec.MESSAGE, now, 1);
  if (!r.ok) return r;
  const f = r.fields;
  if (typeof rec._HOSTNAME === 'string' && f.syslog_host === undefined) f.syslog_host = rec._HOSTNAME;
  if (typeof rec.SYSLOG_IDENTIFIER === 'string' && f.program === undefined) f.program = rec.SYSLOG_IDENTIFIER;
  const pid = Number(rec._PID ?? rec.SYSLOG_PID);
  if (Number.isInteger(pid) && pid > 0 && f.pid === undefined) f.pid = pid;
  const us = Number(rec._SOURCE_REALTIME_TIMESTAMP ?? rec.__REALTIME_TIMESTAMP);
  if (r.time === null && Number.isFinite(us) && us > 0) r.time = Math.floor(us / 1000);
  return r;
}

function withHeader(r: ParsedLine, pre: SyslogPrefix): ParsedLine {
  const f = r.fields;
  if (pre.host !== null) f.syslog_host = pre.host;
  if (pre.program !== null) f.program = pre.program;
  if (pre.pid !== null && f.pid === undefined) f.pid = pre.pid;
  if (r.time === null && pre.time !== null) r.time = pre.time;
  return r;
}

export function parseHaproxyLine(s: string, now: number, depth = 0): ParsedLine {
  const pre = parseSyslogPrefix(s, now);
  const p = skipSpaces(s, pre.start);
  if (p >= s.length) return unknownLine(s.trim() === '' ? 'empty' : 'no message');
  let r = parseBody(s, p, pre, now);
  if (r === null && pre.time !== null && pre.program === null) {
    // A traditional header with a host and no tag: `Nov 25 14:00:00 lb1 1.2.3.4:5 [...] ...`
    r = parseBody(s, skipSpaces(s, tokenEnd(s, p)), pre, now);
  }
  if (r === null && depth === 0) {
    // docker compose's `haproxy-1  | ...`, kubectl's `[pod/haproxy-x/haproxy] ...`
    const bar = s.indexOf('| ', p);
    if (bar > 0 && bar - p < 64) {
      const inner = parseHaproxyLine(s.slice(bar + 2), now, 1);
      if (inner.ok) return inner;
    }
  }
  if (r === null && pre.program !== null && /^haproxy/i.test(pre.program) && /^[A-Za-z]/.test(s.slice(p, p + 1)) && !looksBinary(s)) {
    // Prose from HAProxy itself that no rule knows: an event all the same.
    r = { ok: true, kind: 'event', time: null, fields: { event: 'message', message: s.slice(p, p + 2048).trimEnd() } };
    if (pre.pri !== null) r.fields.level = SEVERITY_LEVEL[pre.pri & 7];
  }
  if (r === null) return unknownLine(looksBinary(s) ? 'binary' : 'not an haproxy line');
  return withHeader(r, pre);
}
