/**
 * HAProxy lines written as JSON by a `log-format` (`%{+json}o %(client_ip)ci ...`
 * in 2.7+, or a hand-written `{"client_ip":"%ci",...}`). The keys people
 * choose vary, so each field of types.ts is taken from the first key present
 * among its usual spellings (HAProxy's own names, its %-variables, common
 * choices); timers go into `timers` as {TR,Tw,Tc,Tr,Ta} (or {Tw,Tc,Tt}).
 * A request line (`%r`) gives method, path (with the query) and http_version.
 * Other scalar values are kept under their own key. kind is http when there
 * is a request (a request line, or a method and a path), tcp when there is
 * none but a frontend or backend; JSON with none of these is not an HAProxy
 * line (null: an application's JSON line, for a `json` source).
 */
import type { Fields, ParsedLine } from '../types.js';
import { setRequest } from './http-request.js';
import { splitHostPort } from './scan.js';
import { haproxyDateAt } from './time.js';
import { timeFromValue } from './text-time.js';

const ALIASES: [string, string[]][] = [
  ['client_ip', ['client_ip', 'ci', 'src', 'src_ip', 'client_addr', 'clientip', 'remote_addr', 'source_ip', 'client']],
  ['client_port', ['client_port', 'cp', 'src_port', 'source_port']],
  ['accept_date', ['accept_date', 'request_date', 'tr', 'date', 'time', 'timestamp', '@timestamp', 't']],
  ['frontend', ['frontend_name', 'frontend', 'ft', 'f', 'fe']],
  ['backend', ['backend_name', 'backend', 'b', 'be']],
  ['server', ['server_name', 'server', 's', 'srv']],
  ['status', ['status_code', 'status', 'ST', 'http_status', 'response_status']],
  ['bytes_read', ['bytes_read', 'bytes', 'B', 'bytes_sent', 'response_bytes']],
  ['termination_state', ['termination_state', 'tsc', 'session_state']],
  ['actconn', ['actconn', 'ac']],
  ['feconn', ['feconn', 'fc']],
  ['beconn', ['beconn', 'bc']],
  ['srv_conn', ['srv_conn', 'srvconn', 'sc']],
  ['retries', ['retries', 'rc']],
  ['srv_queue', ['srv_queue', 'sq']],
  ['backend_queue', ['backend_queue', 'bq']],
  ['host', ['host', 'http_host', 'req_host', 'hostname_requested']],
  ['user_agent', ['user_agent', 'ua', 'http_user_agent', 'useragent']],
  ['real_ip', ['real_ip', 'rip', 'x_forwarded_for', 'xff']],
  ['request_id', ['request_id', 'rid', 'unique_id', 'ID', 'uuid']],
  ['ssl_version', ['ssl_version', 'sslv']],
  ['ssl_cipher', ['ssl_cipher', 'sslc']],
];
const NUMERIC = new Set(['client_port', 'status', 'bytes_read', 'actconn', 'feconn', 'beconn', 'srv_conn', 'retries', 'srv_queue', 'backend_queue']);
const TIMERS: [string, string[]][] = [
  ['TR', ['TR', 'time_request', 'Tq', 'tq']],
  ['Tw', ['Tw', 'time_wait', 'time_queue', 'tw']],
  ['Tc', ['Tc', 'time_connect', 'tc']],
  ['Tr', ['Tr', 'time_response', 'tr_ms']],
  ['Ta', ['Ta', 'time_active', 'time_total', 'ta']],
  ['Tt', ['Tt', 'time_session', 'tt']],
];
const REQUEST = ['request', 'r', 'http_request', 'request_line'];
const METHOD = ['http_method', 'method', 'HM', 'verb'];
const PATH = ['http_uri', 'uri', 'HU', 'http_path_query', 'path', 'http_path', 'HP', 'HPO'];
const VERSION = ['http_version', 'HV', 'protocol'];
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

type Obj = Record<string, unknown>;

function first(o: Obj, keys: string[], used: Set<string>): unknown {
  for (const k of keys) {
    if (Object.hasOwn(o, k) && o[k] !== null && o[k] !== '' && o[k] !== '-') {
      used.add(k);
      return o[k];
    }
  }
  return undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : undefined; // + 0: never -0
  if (typeof v === 'string' && /^[+-]?\d{1,15}$/.test(v)) return Number(v) + 0;
  return undefined;
}

export function parseHaproxyJson(s: string, p: number, offsetMin: number, now: number): ParsedLine | null {
  let o: unknown;
  try {
    o = JSON.parse(p === 0 ? s : s.slice(p));
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
  const obj = o as Obj;
  const used = new Set<string>();
  const f: Fields = {};
  let time: number | null = null;

  for (const [name, keys] of ALIASES) {
    const v = first(obj, keys, used);
    if (v === undefined || (typeof v === 'object' && v !== null)) continue;
    if (NUMERIC.has(name)) {
      const n = toNumber(v);
      if (n !== undefined) f[name] = n;
    } else f[name] = String(v);
  }
  if (typeof f.client_ip === 'string' && f.client_port === undefined && f.client_ip.indexOf(':') > 0) {
    const [ip, port] = splitHostPort(f.client_ip);
    if (port !== null && ip.indexOf('.') > 0) {
      f.client_ip = ip;
      f.client_port = port;
    }
  }
  if (typeof f.frontend === 'string' && f.frontend.endsWith('~')) {
    f.frontend = f.frontend.slice(0, -1);
    f.tls = true;
  }
  if (typeof f.accept_date === 'string') {
    const t = haproxyDateAt(f.accept_date, 0, offsetMin);
    time = t !== null ? t.ms : timeFromValue(f.accept_date, now);
  } else if (typeof obj.time === 'number') time = timeFromValue(obj.time, now);

  const timers: Record<string, number> = {};
  let nTimers = 0;
  for (const [name, keys] of TIMERS) {
    const n = toNumber(first(obj, keys, used));
    if (n !== undefined) {
      timers[name] = n;
      nTimers++;
    }
  }
  if (nTimers > 0) f.timers = timers;

  const req = first(obj, REQUEST, used);
  const m = first(obj, METHOD, used);
  const path = first(obj, PATH, used);
  const ver = first(obj, VERSION, used);
  if (typeof req === 'string') {
    const authority = setRequest(f, req, false);
    if (authority !== null && f.host === undefined) f.host = authority;
  } else {
    if (typeof m === 'string') f.method = m;
    if (typeof path === 'string') f.path = path;
    if (typeof ver === 'string') f.http_version = ver;
  }
  for (const k of ['captured_request_headers', 'hr', 'captured_response_headers', 'hs']) {
    const v = obj[k];
    if (Object.hasOwn(obj, k) && (typeof v === 'string' || Array.isArray(v))) {
      used.add(k);
      const list = Array.isArray(v) ? v.map(String) : v.replace(/^\{|\}$/g, '').split('|');
      f[k === 'hr' || k === 'captured_request_headers' ? 'captured_request_headers' : 'captured_response_headers'] = list;
    }
  }

  // An HTTP record carries a request: its line, or a method and a path. A
  // status alone is not one (`{"status":"ok"}`, `{"status":200,"msg":...}`
  // are an application's lines, not an empty request).
  const http = typeof req === 'string' || (f.method !== undefined && f.path !== undefined);
  if (!http && f.frontend === undefined && f.backend === undefined) return null;
  for (const k in obj) {
    if (used.has(k) || RESERVED.has(k) || f[k] !== undefined) continue;
    const v = obj[k];
    if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) f[k] = v;
  }
  return { ok: true, kind: http ? 'http' : 'tcp', time, fields: f };
}
