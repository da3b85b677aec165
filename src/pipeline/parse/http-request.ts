/**
 * The request of an HAProxy http line (`%r`, usually quoted: `%{+Q}r`) and
 * the captured header blocks (`%hr`, `%hs`: `{a|b}`).
 *
 * Fields written (see types.ts for the shared names):
 *   method, path (origin form, with the query string), http_version (absent when
 *   the client sent none), uri (only for absolute-form requests, as HTTP/2
 *   requests are logged by HAProxy 2.x: `GET https://host/p HTTP/2.0`; path is
 *   then `/p`; a `host/p` request, HAProxy's `base` as the Kubernetes ingress
 *   logs it, gives path `/p` and host too), bad_request (true for `<BADREQ>`, an empty request, or a
 *   request line that does not start with a method), request (the raw text,
 *   only when bad_request), request_truncated (no closing quote: HAProxy cut
 *   the line at its length limit).
 *   captured_request_headers, captured_response_headers (string[], `#XX`
 *   escapes decoded); host, user_agent and referer from them: this project
 *   captures Host, User-Agent then Referer (`{host|ua|referer}`; logs written
 *   before the Referer capture have `{host|ua}`), so with exactly two or three
 *   request captures they are host, user_agent and referer in that order
 *   (an empty or `-` capture sets nothing); with one, it is host when it looks
 *   like a host name; with more, the first is host when it looks like one and
 *   the second user_agent when it looks like one. An absolute-form request's
 *   authority gives host when no capture did.
 */
import type { Fields } from '../types.js';
import { decodeHash } from './scan.js';

function isMethod(m: string): boolean {
  if (m.length === 0 || m.length > 24) return false;
  for (let k = 0; k < m.length; k++) {
    const c = m.charCodeAt(k);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95)) return false;
  }
  return true;
}

/** Fills method/path/http_version (or bad_request) from the request text; returns an absolute-form request's authority, else null. */
export function setRequest(f: Fields, req: string, truncated: boolean): string | null {
  if (truncated) f.request_truncated = true;
  const sp = req.indexOf(' ');
  if (req === '' || req === '<BADREQ>' || sp <= 0) {
    f.bad_request = true;
    f.request = req;
    return null;
  }
  const method = req.slice(0, sp);
  if (!isMethod(method)) {
    f.bad_request = true;
    f.request = req;
    return null;
  }
  f.method = method;
  let uriStart = sp + 1;
  while (req.charCodeAt(uriStart) === 32) uriStart++;
  let uriEnd = req.length;
  // The version is the last word when it is `HTTP/x`: a URI with spaces (old
  // versions logged what the client sent) keeps its middle part.
  const lastSp = req.lastIndexOf(' ');
  if (lastSp >= uriStart && req.startsWith('HTTP/', lastSp + 1)) {
    f.http_version = req.slice(lastSp + 1);
    uriEnd = lastSp;
    while (uriEnd > uriStart && req.charCodeAt(uriEnd - 1) === 32) uriEnd--;
  }
  return setPath(f, req.slice(uriStart, uriEnd), method);
}

function setPath(f: Fields, uri: string, method: string): string | null {
  const c = uri.charCodeAt(0);
  if (c === 47 || c === 42 || uri === '') {
    f.path = uri;
    return null;
  }
  const scheme = uri.indexOf('://');
  if (scheme > 0 && scheme < 12) {
    const authStart = scheme + 3;
    let pathStart = authStart;
    while (pathStart < uri.length) {
      const d = uri.charCodeAt(pathStart);
      if (d === 47 || d === 63 || d === 35) break;
      pathStart++;
    }
    f.uri = uri;
    const rest = uri.slice(pathStart);
    f.path = rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : '/' + rest;
    let authority = uri.slice(authStart, pathStart);
    const at = authority.lastIndexOf('@');
    if (at >= 0) authority = authority.slice(at + 1);
    return authority === '' ? null : authority;
  }
  // `host/path`: HAProxy's `base` fetch, as the Kubernetes ingress logs it
  // ("%HM %[var(txn.base)] %HV").
  const slash = uri.indexOf('/');
  if (slash > 0 && method !== 'CONNECT') {
    const host = uri.slice(0, slash);
    const c0 = host.charCodeAt(0);
    const alnum = (c0 >= 48 && c0 <= 57) || (c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122) || c0 === 91;
    if (alnum && looksLikeHost(host) && (host.indexOf('.') > 0 || host.indexOf(':') > 0 || host === 'localhost')) {
      f.path = uri.slice(slash);
      return host;
    }
  }
  // CONNECT's authority form, or whatever else the client sent.
  f.path = uri;
  return null;
}

function looksLikeHost(v: string): boolean {
  if (v.length === 0 || v.length > 255) return false;
  for (let k = 0; k < v.length; k++) {
    const c = v.charCodeAt(k);
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 95 || c === 58 || c === 91 || c === 93)) return false;
  }
  return true;
}

function looksLikeUserAgent(v: string): boolean {
  return v.length > 0 && (v.indexOf('/') >= 0 || v.indexOf(' ') >= 0) && !looksLikeHost(v);
}

/** Splits a `{a|b}` block's content into decoded values. */
export function splitCaptures(block: string): string[] {
  // The usual two or three values as an array literal of exactly that size
  // (measured faster than split here; a pushed-to empty array starts with room for 17).
  let parts: string[];
  const a = block.indexOf('|');
  const b = a < 0 ? -1 : block.indexOf('|', a + 1);
  if (a < 0) parts = [block];
  else if (b < 0) parts = [block.slice(0, a), block.slice(a + 1)];
  else if (block.indexOf('|', b + 1) < 0) parts = [block.slice(0, a), block.slice(a + 1, b), block.slice(b + 1)];
  else parts = block.split('|');
  if (block.indexOf('#') >= 0) for (let i = 0; i < parts.length; i++) parts[i] = decodeHash(parts[i] as string);
  return parts;
}

/**
 * Sets the captured header lists, then host, user_agent and referer as the
 * module comment says. `merged`: request and response captures came as one
 * run (CLF), so a third value may be a response header and is never referer.
 */
export function setCaptures(f: Fields, reqBlock: string | undefined, resBlock: string | undefined, merged = false): void {
  if (resBlock !== undefined) f.captured_response_headers = splitCaptures(resBlock);
  if (reqBlock === undefined) return;
  const h = splitCaptures(reqBlock);
  f.captured_request_headers = h;
  const a = h[0] ?? '';
  const b = h[1] ?? '';
  if (h.length === 2 || (h.length === 3 && !merged)) {
    if (a !== '' && a !== '-') f.host = a;
    if (b !== '' && b !== '-') f.user_agent = b;
    const c = h[2];
    if (c !== undefined && c !== '' && c !== '-') f.referer = c;
  } else if (h.length === 1) {
    if (looksLikeHost(a)) f.host = a;
  } else {
    if (looksLikeHost(a)) f.host = a;
    if (looksLikeUserAgent(b)) f.user_agent = b;
  }
}
