/**
 * Small index-based readers shared by the HAProxy line parsers. No regex, no
 * allocation beyond the strings they return; none of them throws.
 */

export function skipSpaces(s: string, i: number): number {
  let c = s.charCodeAt(i);
  while (c === 32 || c === 9) c = s.charCodeAt(++i);
  return i;
}

/** End (exclusive) of the space-delimited token starting at `i`. */
export function tokenEnd(s: string, i: number): number {
  const n = s.length;
  for (let j = i; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 32 || c === 9) return j;
  }
  return n;
}

/** The integer written in s[i, end) (an optional sign, `+` as HAProxy's logasap and redispatch marks), or null. */
export function intIn(s: string, i: number, end: number): number | null {
  if (i >= end) return null;
  let neg = false;
  const c0 = s.charCodeAt(i);
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    i++;
    if (i >= end) return null;
  }
  if (end - i > 15) return null;
  let v = 0;
  for (; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  return neg ? 0 - v : v; // never -0
}

function charTable(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let k = 0; k < chars.length; k++) t[chars.charCodeAt(k)] = 1;
  return t;
}
// HAProxy's first two termination-state letters: the session and stream states.
const TS_FIRST = charTable('CSPLRIDUKcs-');
const TS_SECOND = charTable('RQCHDLT-');

/**
 * True when s[i, end) is an HAProxy termination state: 4 characters (%tsc:
 * session state, stream state at end, persistence cookie, cookie operation)
 * or 2 (%ts, tcplog). The first two use HAProxy's own letters.
 */
export function isTerminationState(s: string, i: number, end: number): boolean {
  const len = end - i;
  if (len !== 4 && len !== 2) return false;
  if (TS_FIRST[s.charCodeAt(i)] !== 1 || TS_SECOND[s.charCodeAt(i + 1)] !== 1) return false;
  for (let j = i + 2; j < end; j++) {
    const c = s.charCodeAt(j);
    if (!((c >= 65 && c <= 90) || c === 45)) return false;
  }
  return true;
}

/**
 * `%ci:%cp` as HAProxy writes it: `1.2.3.4:5678`, `::1:5678` (bare IPv6, the
 * port after the last colon), `::ffff:1.2.3.4:5678`, and `[2001:db8::1]:5678`
 * for custom formats that bracket it. Returns [ip, port or null].
 */
export function splitHostPort(tok: string): [string, number | null] {
  if (tok.charCodeAt(0) === 91) {
    const close = tok.indexOf(']');
    if (close > 0) {
      const port = tok.charCodeAt(close + 1) === 58 ? intIn(tok, close + 2, tok.length) : null;
      return [tok.slice(1, close), port !== null && port >= 0 ? port : null];
    }
  }
  const colon = tok.lastIndexOf(':');
  if (colon <= 0) return [tok, null];
  const port = intIn(tok, colon + 1, tok.length);
  if (port === null || port < 0 || port > 65535 || tok.charCodeAt(colon + 1) === 45 || tok.charCodeAt(colon + 1) === 43) return [tok, null];
  const host = tok.slice(0, colon);
  // `2001:db8::1` has no port: what is left would end with a lone `:`.
  if (host.charCodeAt(host.length - 1) === 58 && host.charCodeAt(host.length - 2) !== 58) return [tok, null];
  return [host, port];
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Undoes HAProxy's header capture encoding: `{`, `|`, `}`, `"`, `#` and
 * non-printable bytes are written as `#XX`.
 */
export function decodeHash(v: string): string {
  let k = v.indexOf('#');
  if (k < 0) return v;
  let out = '';
  let from = 0;
  const bytes: number[] = [];
  while (k >= 0) {
    const h = hexVal(v.charCodeAt(k + 1));
    const l = hexVal(v.charCodeAt(k + 2));
    if (h < 0 || l < 0) {
      k = v.indexOf('#', k + 1);
      continue;
    }
    out += v.slice(from, k);
    // Consecutive escapes can be one UTF-8 character.
    bytes.length = 0;
    let m = k;
    while (v.charCodeAt(m) === 35) {
      const a = hexVal(v.charCodeAt(m + 1));
      const b = hexVal(v.charCodeAt(m + 2));
      if (a < 0 || b < 0) break;
      bytes.push(a * 16 + b);
      m += 3;
    }
    out += Buffer.from(bytes).toString('utf8');
    from = m;
    k = v.indexOf('#', m);
  }
  return out + v.slice(from);
}
