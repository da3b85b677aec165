/**
 * HAProxy's per-connection lines: `option httplog`, `option tcplog`, the
 * default `%ci:%cp [%t] %ft %b/%s` format, `option httplog clf`, this
 * project's own format (httplog followed by ` rip=<real ip> rid=<request id>`),
 * and connection errors (`... [date] fe/bind: SSL handshake failure (...)`,
 * handed to conn-error.ts).
 *
 * Everything after `%ci:%cp [date]` is read by the shape of each word rather
 * than its position, so the usual variations parse without a configuration:
 * captures present or not, `%Tq/%Tw/%Tc/%Tr/%Tt` (1.x) or
 * `%TR/%Tw/%Tc/%Tr/%Ta` (1.7+; both give timers {TR,Tw,Tc,Tr,Ta}), logasap's
 * `+` marks, cookies captured or not, extra words after the request
 * (`key=value` pairs, httpslog's TLS details), and custom formats that keep
 * HAProxy's word shapes in another order.
 *
 * Shapes, in the order HAProxy writes them:
 *   first word                -> frontend (`~` at its end: tls = true); in a custom
 *                                order, the name word before backend/server
 *   word with `/`, not numbers -> backend/server (`<NOSRV>` kept as the server)
 *   N numbers joined by `/`   -> timers (5: http, 3: tcp), then conns
 *                                (actconn/feconn/beconn/srv_conn/retries), then
 *                                queues (srv_queue/backend_queue)
 *   plain integers            -> http: status, bytes_read; tcp: bytes_read
 *   termination state         -> termination_state (4 or 2 letters)
 *   words between the integers and the state -> captured cookies (`-` = none)
 *   `{...}` blocks            -> captured request, then response headers
 *   `"..."`                   -> the request (http-request.ts)
 *   `key=value` after it      -> rip -> real_ip, rid -> request_id, others kept under their key
 * kind is http when there are 5 timers or a request, else tcp. Numbers stay
 * numbers (-1 kept as -1); the line's client_ip is always the TCP peer.
 */
import type { Fields, ParsedLine } from '../types.js';
import { clfClient, parseClfRest } from './haproxy-clf.js';
import { parseConnError } from './conn-error.js';
import { setCaptures, setRequest } from './http-request.js';
import { isTerminationState, skipSpaces, splitHostPort, tokenEnd } from './scan.js';
import { type TimeAt, haproxyDateAt } from './time.js';

/** Closing `c` for an opening one at `i`: the first one followed by a space or the end (so a stray one inside does not cut the field). */
function closingAt(s: string, i: number, c: string): number {
  let j = s.indexOf(c, i + 1);
  while (j >= 0) {
    const nx = s.charCodeAt(j + 1);
    if (j + 1 >= s.length || nx === 32 || nx === 9) return j;
    j = s.indexOf(c, j + 1);
  }
  return -1;
}

const MAX_EXTRA = 16;

// scanWord's results (module-level out-parameters: parseRest is synchronous and not re-entered).
let wordEnd = 0;
let wordSlash = -1;

/**
 * Reads the word at `i` in one pass: sets wordEnd and wordSlash (its first
 * `/`, or -1), writes its integers into NUMS when the word is integers joined
 * by `/` (each with an optional sign), and returns how many there are (1 for
 * a plain integer); 0 when the word is not made of integers.
 */
function scanWord(s: string, i: number): number {
  const n = s.length;
  let j = i;
  let slash = -1;
  let numeric = true;
  let count = 0;
  let cur = 0;
  let digits = 0;
  let neg = false;
  let signed = false;
  for (; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 32 || c === 9) break;
    if (!numeric) {
      if (c === 47 && slash < 0) slash = j;
      continue;
    }
    const d = c - 48;
    if (d >= 0 && d <= 9) {
      if (++digits > 15) numeric = false;
      cur = cur * 10 + d;
    } else if (c === 47) {
      if (slash < 0) slash = j;
      if (digits === 0) numeric = false;
      else {
        if (count < 5) NUMS[count] = neg ? 0 - cur : cur;
        count++;
        cur = 0;
        digits = 0;
        neg = false;
        signed = false;
      }
    } else if ((c === 45 || c === 43) && digits === 0 && !signed) {
      signed = true;
      neg = c === 45;
    } else numeric = false;
  }
  wordEnd = j;
  wordSlash = slash;
  if (!numeric || digits === 0) return 0;
  if (count < 5) NUMS[count] = neg ? 0 - cur : cur;
  return count + 1;
}

// Scratch arrays for the slash-joined numbers of the line being parsed
// (parseRest is synchronous and not re-entered).
const NUMS = [0, 0, 0, 0, 0];
const T = [0, 0, 0, 0, 0];
const C = [0, 0, 0, 0, 0];
const Q = [0, 0];

function copy(from: number[], to: number[], k: number): void {
  for (let x = 0; x < k; x++) to[x] = from[x] as number;
}

/**
 * Parses the part of `s` from `p`, when it starts `%ci:%cp [date]` (or CLF's
 * `%ci - - [date offset]`). Returns null when it does not, so the caller can
 * try other shapes. `offsetMin` is the UTC offset of the accept date (from the
 * syslog header, else 0). `mode`: this project's own format first
 * (parseOwn), then word by word (the default); 'words' and 'own-only' take
 * one of the two, for the tests that hold the fast path to the slow one.
 */
export function parseTraffic(s: string, p: number, offsetMin: number, mode: 'own-first' | 'words' | 'own-only' = 'own-first'): ParsedLine | null {
  const n = s.length;
  const e = tokenEnd(s, p);
  if (e >= n || e === p) return null;
  let i = skipSpaces(s, e);
  let clf = false;
  if (s.charCodeAt(i) !== 91) {
    // CLF: `ip ident user [date]`
    const e2 = tokenEnd(s, i);
    const i3 = skipSpaces(s, e2);
    const e3 = tokenEnd(s, i3);
    const i4 = skipSpaces(s, e3);
    if (s.charCodeAt(i4) !== 91 || e2 - i > 64 || e3 - i3 > 64) return null;
    clf = true;
    i = i4;
  }
  const t = haproxyDateAt(s, i + 1, offsetMin);
  if (t === null || s.charCodeAt(t.end) !== 93) return null;
  // httplog's `%ci:%cp` always has a port (after the last colon, even for a
  // bare IPv6); CLF's first word is `%ci` alone (clfClient).
  const [ip, port] = clf ? clfClient(s.slice(p, e)) : splitHostPort(s.slice(p, e));
  const acceptDate = s.slice(i + 1, t.end);
  i = skipSpaces(s, t.end + 1);
  if (clf) return parseClfRest(s, i, head(ip, port, acceptDate), t.ms);
  if (mode !== 'words' && port !== null) {
    const r = parseOwn(s, i, ip, port, acceptDate, t);
    if (r !== null || mode === 'own-only') return r;
  }
  if (mode === 'own-only') return null;
  return parseRest(s, i, ip, port, acceptDate, t);
}

/**
 * The rest of this project's own line (`option httplog`, one `{...}` request
 * capture, ` rip=X rid=Y` at the end), single spaces between words, read by
 * one sticky pattern instead of word by word. A fast path only: it answers
 * for exactly the lines whose every word parseRest would read the same way
 * (plain unsigned or `-` signed integers of at most 15 digits, a backend that
 * does not start like a number, `- -` for the cookies, a termination state,
 * no `}` inside the capture, no `"` inside the request), and gives the same
 * fields in the same order; any other line returns null and goes word by
 * word. The test that holds it to that: test/parse/own-format.test.ts.
 */
const OWN =
  /([^\s/]+) ([^\s/\d+-][^\s/]*)\/(\S+) (-?\d{1,15}\/-?\d{1,15}\/-?\d{1,15}\/-?\d{1,15}\/-?\d{1,15} -?\d{1,15} -?\d{1,15}) - - (\S{4}) (\d{1,15}\/\d{1,15}\/\d{1,15}\/\d{1,15}\/\d{1,15} \d{1,15}\/\d{1,15}) \{([^}]*)\} "([^"]*)" rip=(\S+) rid=(\S+)$/y;

/** Status and bytes of the line parseOwn reads (scratch, like T, C and Q). */
const SB = [0, 0];

/** The 7 integers of a run OWN matched (`-?\d{1,15}` joined by `/` or a space), as scanWord reads them (`-0` is 0): the first 5 into `a`, the other 2 into `b`. */
function ints(w: string, a: number[], b: number[]): void {
  let k = 0;
  let v = 0;
  let neg = false;
  for (let j = 0; j <= w.length; j++) {
    const c = j < w.length ? w.charCodeAt(j) : 32;
    if (c === 47 || c === 32) {
      if (k < 5) a[k] = neg ? 0 - v : v;
      else b[k - 5] = neg ? 0 - v : v;
      k++;
      v = 0;
      neg = false;
    } else if (c === 45) neg = true;
    else v = v * 10 + (c - 48);
  }
}

/** The value of a `key=value` word after the request (rip, rid and the others): quotes taken off; empty or `-` is none. */
function wordValue(v: string): string | undefined {
  if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) v = v.slice(1, -1);
  return v !== '' && v !== '-' ? v : undefined;
}

function parseOwn(s: string, i: number, ip: string, port: number, acceptDate: string, t: TimeAt): ParsedLine | null {
  OWN.lastIndex = i;
  const m = OWN.exec(s);
  if (m === null) return null;
  const state = m[5] as string;
  if (!isTerminationState(state, 0, 4)) return null;
  const fe = m[1] as string;
  const tls = fe.charCodeAt(fe.length - 1) === 126; // ~
  ints(m[4] as string, T, SB);
  ints(m[6] as string, C, Q);
  const f = httplogFields(ip, port, acceptDate, tls ? fe.slice(0, -1) : fe, m[2] as string, m[3] as string, SB[0] as number, SB[1] as number, state);
  if (tls) f.tls = true;
  setCaptures(f, m[7], undefined);
  const authority = setRequest(f, m[8] as string, false);
  if (authority !== null && f.host === undefined) f.host = authority;
  const rip = wordValue(m[9] as string);
  const rid = wordValue(m[10] as string);
  if (rip !== undefined) f.real_ip = rip;
  if (rid !== undefined) f.request_id = rid;
  return { ok: true, kind: 'http', time: t.ms, fields: f };
}

/** The usual httplog line's fields from its words and the scratch T, C and Q: one object literal, in HAProxy's order (parseOwn and parseRest build it alike). */
function httplogFields(ip: string, port: number, acceptDate: string, frontend: string, backend: string, server: string, status: number, bytes: number, state: string): Fields {
  return {
    client_ip: ip, client_port: port, accept_date: acceptDate, frontend, backend, server,
    timers: { TR: T[0], Tw: T[1], Tc: T[2], Tr: T[3], Ta: T[4] },
    status, bytes_read: bytes, termination_state: state,
    actconn: C[0], feconn: C[1], beconn: C[2], srv_conn: C[3], retries: C[4], srv_queue: Q[0], backend_queue: Q[1],
  };
}

function head(ip: string, port: number | null, acceptDate: string): Fields {
  const f: Fields = { client_ip: ip };
  if (port !== null) f.client_port = port;
  f.accept_date = acceptDate;
  return f;
}

function parseRest(s: string, i: number, ip: string, port: number | null, acceptDate: string, t: TimeAt): ParsedLine | null {
  const n = s.length;
  let frontend: string | undefined;
  let tls = false;
  let backend: string | undefined;
  let server: string | undefined;
  let state: string | undefined;
  let cc: string | undefined;
  let cs: string | undefined;
  let nTimers = 0;
  let haveConns = false;
  let haveQueues = false;
  let int0: number | null = null;
  let int1: number | null = null;
  let nInts = 0;
  let cookies = 0;
  let reqBlock: string | undefined;
  let resBlock: string | undefined;
  let request: string | undefined;
  let truncated = false;
  let haveBackend = false;
  let haveState = false;
  let first = true;
  let extra: string[] | null = null;
  let realIp: string | undefined;
  let requestId: string | undefined;

  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 123 /* { */ && request === undefined) {
      let end = closingAt(s, i, '}');
      if (end < 0) end = n;
      const block = s.slice(i + 1, end);
      if (reqBlock === undefined) reqBlock = block;
      else if (resBlock === undefined) resBlock = block;
      i = skipSpaces(s, end + 1);
      first = false;
      continue;
    }
    if (c === 34 /* " */) {
      let end = closingAt(s, i, '"');
      const tr = end < 0;
      if (tr) end = n;
      const text = s.slice(i + 1, end);
      if (request === undefined) {
        request = text;
        truncated = tr;
      } else (extra ??= []).push(text);
      i = skipSpaces(s, end + 1);
      first = false;
      continue;
    }
    // One pass over the word: where it ends, its first `/`, and its numbers.
    const k = scanWord(s, i);
    const end = wordEnd;
    const slash = wordSlash;
    if (first) {
      first = false;
      if (s.charCodeAt(end - 1) === 58 && slash > i) {
        return parseConnError(s, i, end, head(ip, port, acceptDate), t.ms);
      }
      if (slash < 0) {
        tls = s.charCodeAt(end - 1) === 126; // ~
        frontend = s.slice(i, tls ? end - 1 : end);
        i = skipSpaces(s, end);
        continue;
      }
    }
    if (k > 1) {
      if (nTimers === 0 && !haveConns && k >= 3 && k <= 5) {
        copy(NUMS, T, k);
        nTimers = k;
      } else if (!haveConns && k === 5) {
        copy(NUMS, C, 5);
        haveConns = true;
      } else if (!haveQueues && k === 2) {
        copy(NUMS, Q, 2);
        haveQueues = true;
      } else if (extra === null || extra.length < MAX_EXTRA) (extra ??= []).push(s.slice(i, end));
    } else {
      if (k === 1 && !haveState) {
        const v = NUMS[0] as number;
        if (nInts === 0) int0 = v;
        else if (nInts === 1) int1 = v;
        nInts++;
      } else if (!haveBackend && slash > i) {
        backend = s.slice(i, slash);
        server = s.slice(slash + 1, end);
        haveBackend = true;
      } else if (!haveState && isTerminationState(s, i, end)) {
        state = s.slice(i, end);
        haveState = true;
      } else if (!haveState && nInts > 0 && request === undefined && cookies < 2) {
        const v2 = s.slice(i, end);
        if (v2 !== '-') {
          if (cookies === 0) cc = v2;
          else cs = v2;
        }
        cookies++;
      } else if (request === undefined && (nTimers > 0 || haveBackend) && isUpperWord(s, i, end) && end < n) {
        // An unquoted %r: METHOD URI [HTTP/x]
        const uEnd = tokenEnd(s, skipSpaces(s, end));
        let rEnd = uEnd;
        const vStart = skipSpaces(s, uEnd);
        if (s.startsWith('HTTP/', vStart)) rEnd = tokenEnd(s, vStart);
        request = s.slice(i, rEnd);
        i = skipSpaces(s, rEnd);
        continue;
      } else if (frontend === undefined && !haveBackend && isName(s, i, end)) {
        // A custom format that does not start with %ft: the name before %b/%s.
        tls = s.charCodeAt(end - 1) === 126;
        frontend = s.slice(i, tls ? end - 1 : end);
      } else if (s.charCodeAt(i) === 114 && s.charCodeAt(i + 1) === 105 && s.charCodeAt(i + 3) === 61 && (s.charCodeAt(i + 2) === 112 || s.charCodeAt(i + 2) === 100)) {
        // This project's ` rip=<real ip> rid=<request id>`, the common case, without the generic path.
        const v = wordValue(s.slice(i + 4, end));
        if (v !== undefined) {
          if (s.charCodeAt(i + 2) === 112) realIp = v;
          else requestId = v;
        }
      } else if (extra === null || extra.length < MAX_EXTRA) (extra ??= []).push(s.slice(i, end));
    }
    i = skipSpaces(s, end);
  }

  const http = nTimers >= 4 || request !== undefined;
  if (!http && nTimers === 0 && !haveBackend) return null;
  let f: Fields;
  if (port !== null && frontend !== undefined && haveBackend && haveState && haveConns && haveQueues && int0 !== null && (http ? nTimers === 5 && int1 !== null : nTimers === 3)) {
    // The usual httplog/tcplog line: one object literal, in HAProxy's order,
    // rather than growing the object field by field.
    f = http
      ? httplogFields(ip, port, acceptDate, frontend, backend as string, server as string, int0, int1 as number, state as string)
      : {
          client_ip: ip, client_port: port, accept_date: acceptDate, frontend, backend, server,
          timers: { Tw: T[0], Tc: T[1], Tt: T[2] },
          bytes_read: int0, termination_state: state,
          actconn: C[0], feconn: C[1], beconn: C[2], srv_conn: C[3], retries: C[4], srv_queue: Q[0], backend_queue: Q[1],
        };
  } else {
    f = head(ip, port, acceptDate);
    if (frontend !== undefined) f.frontend = frontend;
    if (backend !== undefined) {
      f.backend = backend;
      f.server = server;
    }
    if (http) {
      if (nTimers === 5) f.timers = { TR: T[0], Tw: T[1], Tc: T[2], Tr: T[3], Ta: T[4] };
      else if (nTimers === 4) f.timers = { TR: T[0], Tc: T[1], Tr: T[2], Ta: T[3] };
      else if (nTimers === 3) f.timers = { Tw: T[0], Tc: T[1], Tt: T[2] };
      if (int0 !== null) f.status = int0;
      if (int1 !== null) f.bytes_read = int1;
    } else {
      if (nTimers === 3) f.timers = { Tw: T[0], Tc: T[1], Tt: T[2] };
      if (int0 !== null) f.bytes_read = int0;
    }
    if (state !== undefined) f.termination_state = state;
    if (haveConns) {
      f.actconn = C[0];
      f.feconn = C[1];
      f.beconn = C[2];
      f.srv_conn = C[3];
      f.retries = C[4];
    }
    if (haveQueues) {
      f.srv_queue = Q[0];
      f.backend_queue = Q[1];
    }
  }
  if (tls) f.tls = true;
  if (cc !== undefined) f.captured_request_cookie = cc;
  if (cs !== undefined) f.captured_response_cookie = cs;
  if (reqBlock !== undefined || resBlock !== undefined) setCaptures(f, reqBlock, resBlock);
  if (request !== undefined) {
    const authority = setRequest(f, request, truncated);
    if (authority !== null && f.host === undefined) f.host = authority;
  }
  if (realIp !== undefined) f.real_ip = realIp;
  if (requestId !== undefined) f.request_id = requestId;
  if (extra !== null) setExtra(f, extra);
  return { ok: true, kind: http ? 'http' : 'tcp', time: t.ms, fields: f };
}

/** A proxy name as HAProxy allows them (letters, digits, `-_.:`), with an optional `~`. */
function isName(s: string, i: number, end: number): boolean {
  if (end - i > 64) return false;
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46 || c === 58 || (c === 126 && j === end - 1))) return false;
  }
  return true;
}

function isUpperWord(s: string, i: number, end: number): boolean {
  if (end - i < 3 || end - i > 12) return false;
  for (let j = i; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c < 65 || c > 90) return false;
  }
  return true;
}

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/** Words after the request: `key=value` pairs, and httpslog's `fc_err/ssl_fc_err/ssl_c_err/ssl_c_ca_err/fp sni/sslv/sslc`. */
function setExtra(f: Fields, extra: string[]): void {
  for (let k = 0; k < extra.length; k++) {
    const w = extra[k] as string;
    const eq = w.indexOf('=');
    if (eq > 0) {
      const key = w.slice(0, eq);
      const v = wordValue(w.slice(eq + 1));
      if (v === undefined) continue;
      if (key === 'rip') f.real_ip = v;
      else if (key === 'rid') f.request_id = v;
      else if (/^[A-Za-z_][\w.-]{0,40}$/.test(key) && !RESERVED.has(key) && f[key] === undefined) f[key] = v;
      continue;
    }
    const parts = w.split('/');
    if (parts.length === 5 && k + 1 < extra.length) {
      const tlsParts = (extra[k + 1] as string).split('/');
      if (tlsParts.length === 3) {
        // option httpslog
        const fcErr = Number(parts[0]);
        if (Number.isInteger(fcErr)) f.fc_err = fcErr;
        if (parts[1] !== undefined && /^0*$/.test(parts[1]) === false) f.ssl_fc_err = parts[1];
        const sni = tlsParts[0] as string;
        if (sni !== '-' && sni !== '') f.sni = sni;
        if (tlsParts[1] !== '-' && tlsParts[1] !== '') f.ssl_version = tlsParts[1];
        if (tlsParts[2] !== '-' && tlsParts[2] !== '') f.ssl_cipher = tlsParts[2];
        k++;
      }
    }
  }
}
