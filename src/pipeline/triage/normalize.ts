/**
 * Request normalization for matching: what a web server would make of a
 * logged request target, so that a rule written against `/phpmyadmin/` or
 * `' or 1=1` also sees `//PMA/`, `/a/../phpmyadmin/`, `%2527%20or%201=1`
 * and HAProxy's `#27`-style log escapes.
 *
 * Every function here is pure and lenient: a malformed escape (`%zz`, `#g1`,
 * a trailing `%4`) stays as it is, nothing throws, and the output is never
 * longer than the input (so a huge path cannot grow while decoding). Bytes
 * become Latin-1 code units: the attack strings rules look for are ASCII,
 * and a `%00` becomes a real NUL that a pattern can name (`\x00`).
 *
 * The rules engine calls these lazily (LineView in match.ts), once per line
 * and only when a rule reads a normalized field; each returns its input
 * unchanged (the same string) when there is nothing to do, which is the
 * common case and costs one scan.
 */

/** Percent-decoding rounds at most: `%25252e` (three layers) becomes `.`; a fourth layer stays encoded. */
export const MAX_DECODE_ROUNDS = 3;

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Decodes `<mark>XX` (two hex digits) escapes once; `plus` also turns `+`
 * into a space. A mark not followed by two hex digits stays.
 */
function unescapeOnce(s: string, mark: number, plus: boolean): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (plus && c === 43 /* + */) {
      out += s.slice(from, i) + ' ';
      from = i + 1;
    } else if (c === mark && i + 2 < s.length) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        out += s.slice(from, i) + String.fromCharCode(h * 16 + l);
        i += 2;
        from = i + 1;
      }
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

/**
 * HAProxy's log escapes: in the logged request line and captured headers it
 * writes `"` as `#22`, `#` as `#23` and control characters (and bytes above
 * 0x7e) as `#XX`. A raw `#` cannot appear otherwise (HAProxy escapes it), so
 * every `#XX` is one of these.
 */
export function haproxyUnescape(s: string): string {
  return s.indexOf('#') === -1 ? s : unescapeOnce(s, 35, false);
}

/**
 * Percent-decodes repeatedly until the text no longer changes, at most
 * MAX_DECODE_ROUNDS times (double and triple encoding are evasions; a bound
 * keeps a `%252525...` bomb cheap). `plus`: `+` is a space (query strings),
 * in the first round only (a `%2B` decoded from the text is a real plus).
 */
export function percentDecode(s: string, plus = false): string {
  let cur = s;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round++) {
    const p = plus && round === 0;
    if (cur.indexOf('%') === -1 && !(p && cur.indexOf('+') !== -1)) break;
    const next = unescapeOnce(cur, 37, p);
    if (next === cur) break;
    cur = next;
  }
  return cur;
}

/**
 * The whole request target decoded: HAProxy's `#XX`, then percent-decoding
 * (repeated, bounded), `+` as a space in the query only. What the older
 * `decode: true` of a rule now tests. Slashes and dot segments are kept
 * (traversal rules need to see `../`).
 */
export function decodeTarget(target: string): string {
  const t = haproxyUnescape(target);
  if (t.indexOf('%') === -1 && t.indexOf('+') === -1) return t;
  const q = t.indexOf('?');
  if (q === -1) return percentDecode(t, false);
  return percentDecode(t.slice(0, q), false) + '?' + percentDecode(t.slice(q + 1), true);
}

/**
 * Collapses runs of slashes (`//pma///x` -> `/pma/x`) and resolves dot
 * segments (`/a/./b/../c` -> `/a/c`, never above the root) as RFC 3986
 * section 5.2.4 describes; a backslash counts as a slash (IIS and some
 * frameworks accept it). Input is a path without its query. A trailing `/.`
 * or `/..` leaves a trailing slash, as a server would see the directory.
 */
export function normalizeSlashes(path: string): string {
  // The common case: nothing to do, no allocation.
  if (path.indexOf('//') === -1 && path.indexOf('/.') === -1 && path.indexOf('\\') === -1 && (path.length === 0 || path.charCodeAt(0) === 47)) return path;
  const p = path.indexOf('\\') === -1 ? path : path.replace(/\\/g, '/');
  const segs = p.split('/');
  const out: string[] = [];
  const last = segs.length - 1;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as string;
    if (s === '' || s === '.') {
      if (i === last) out.push('');
      continue;
    }
    if (s === '..') {
      out.pop();
      if (i === last) out.push('');
      continue;
    }
    out.push(s);
  }
  return '/' + out.join('/');
}

/**
 * True when `path` (without its query) is already what normalizePath would
 * give: no `%`, `#` or `\`, no `//` and no `/.`, and it starts with `/`.
 * One scan, no allocation: the answer for almost every ordinary request.
 */
export function isNormalPath(path: string): boolean {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) !== 47) return n === 0;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */ || c === 35 /* # */ || c === 92 /* \ */) return false;
    if (c === 47 /* / */ && i + 1 < n) {
      const d = path.charCodeAt(i + 1);
      if (d === 47 || d === 46 /* . */) return false;
    }
  }
  return true;
}

/**
 * The path without its query, as a server resolves it: HAProxy escapes and
 * percent-decoding (repeated, bounded), then collapsed slashes and dot
 * segments. `/pma/`, `//pma/`, `/x/../pma/`, `/%70ma/` and `/%2e%2e/pma/` all
 * give `/pma/`. Case is kept (a rule's `ignore_case` folds it).
 */
export function normalizePath(pathWithQuery: string): string {
  const q = pathWithQuery.indexOf('?');
  const p = q === -1 ? pathWithQuery : pathWithQuery.slice(0, q);
  return normalizeSlashes(percentDecode(haproxyUnescape(p), false));
}

/** A query string split into its parameters, names and values decoded. */
export interface QueryParams {
  names: string[];
  values: string[];
}

/** Parameters read from one query at most: a query of 100,000 `&` cannot make 100,000 strings. */
export const MAX_PARAMS = 64;

/**
 * Splits a query (the part after `?`, as logged) on `&` into
 * names and values, each HAProxy-unescaped and percent-decoded with `+` as a
 * space. A parameter without `=` has that text as its name and an empty
 * value. Only the first MAX_PARAMS parameters are read.
 */
export function splitQuery(query: string): QueryParams {
  const names: string[] = [];
  const values: string[] = [];
  const q = haproxyUnescape(query);
  let start = 0;
  while (start <= q.length && names.length < MAX_PARAMS) {
    let end = start;
    while (end < q.length) {
      const c = q.charCodeAt(end);
      // Not on `;`: it is data to most frameworks, and shell payloads (`;wget`) must stay in their value.
      if (c === 38 /* & */) break;
      end++;
    }
    if (end > start) {
      const part = q.slice(start, end);
      const eq = part.indexOf('=');
      names.push(percentDecode(eq === -1 ? part : part.slice(0, eq), true));
      values.push(eq === -1 ? '' : percentDecode(part.slice(eq + 1), true));
    }
    start = end + 1;
  }
  return { names, values };
}
