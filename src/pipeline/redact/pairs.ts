/**
 * Values under secret keys: `?token=…`, `&password=…`, `;jsessionid=…`,
 * `"api_key": "…"`, `secret=…` in logfmt, `Authorization: Bearer …`,
 * `Cookie: a=1; b=2`.
 *
 * Contract: `findPairs(text, isSecret, push)` calls `push(start, end)` for
 * the value of every `key=value` or `key: value` whose key `isSecret` says is
 * one. The value:
 * - may be a JSON array of strings, and then runs from its first quote to
 *   its last;
 * - may open with a quote (`"`, `'`, `` ` ``, or `\"` inside a JSON string)
 *   and then runs to the matching close (a backslash escapes in `"…"`), not
 *   past a line end, at most MAX_VALUE characters; or with a bracket
 *   (`(`, `{`, `<`) and then stops at its close too;
 * - otherwise runs to the first of whitespace `& ; # | } " ' \` , < > \`;
 *   for header-like keys (Cookie, Authorization: `wideKey`) only `| } "`, a
 *   line end (and `&` after `=`) end it, so every cookie goes; a `#` followed
 *   by two hex digits does not end it: that is HAProxy's log escape of a
 *   character inside the value (`#7C` for `|` in a capture), and stopping
 *   there would leave the rest of the secret in the line;
 * - is left alone when it is already a redaction marker, so that redacting
 *   twice gives what redacting once gave.
 * Only the value is pushed (not the quotes around it). Keys are runs of
 * `[A-Za-z0-9_.[\]-]` that start a run, and the search for the next key
 * resumes after a found value, so the scan is linear.
 */
import { wideKey, type KeyMatcher } from './keys.js';
import { MARKER_AT } from './marker.js';

export const MAX_VALUE = 4096;

const KEY = /(?<![A-Za-z0-9_.[\]-])([A-Za-z0-9_.[\]-]{1,100})(?:\\?["'`])?[ \t]*([=:])/g;

const STOP = new Set([' ', '\t', '\r', '\n', '\v', '\f', '&', ';', '#', '|', '}', '"', "'", '`', ',', '<', '>', '\\']);
const WIDE_STOP = new Set(['|', '}', '"', '\r', '\n']);
const CLOSE: Record<string, string> = { '(': ')', '{': '}', '<': '>' };

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

export function findPairs(text: string, isSecret: KeyMatcher, push: (start: number, end: number) => void): void {
  const n = text.length;
  // A sticky-free exec loop rather than matchAll, so that the search resumes
  // after a secret value: keys inside it are covered by its span anyway, and
  // re-scanning each one (`token=token=…`) made a 64 KiB line cost
  // line length × MAX_VALUE.
  const re = new RegExp(KEY.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const key = m[1]!;
    if (!isSecret(key)) continue;
    let i = m.index + m[0].length;
    if (m[2] === ':') while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    let quote: string | null = null;
    let bracket: string | null = null;
    let array = false;
    const c = text[i];
    if (c === '[' && text[i + 1] === '"') {
      // A JSON array of strings ("Set-Cookie": ["a=1", "b=2"]): everything between the first and the last quote.
      array = true;
      i += 2;
    } else if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === "'")) {
      quote = `\\${text[i + 1]}`;
      i += 2;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
      i++;
    } else if (c !== undefined && CLOSE[c] !== undefined) {
      bracket = CLOSE[c]!;
      i++;
    }
    const start = i;
    const limit = Math.min(n, start + MAX_VALUE);
    let j = start;
    if (array) {
      while (j < limit && !(text[j] === '"' && text[j + 1] === ']') && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
    } else if (quote !== null && quote.length === 1) {
      while (j < limit && text[j] !== quote && text[j] !== '\n' && text[j] !== '\r') j += text[j] === '\\' && quote === '"' ? 2 : 1;
    } else if (quote !== null) {
      while (j < limit && !(text[j] === '\\' && text[j + 1] === quote[1]) && text[j] !== '"' && text[j] !== '\n') j++;
    } else {
      const wide = wideKey(key);
      const stops = wide ? WIDE_STOP : STOP;
      while (j < limit) {
        const ch = text[j]!;
        if (ch === '#' && isHex(text.charCodeAt(j + 1)) && isHex(text.charCodeAt(j + 2))) {
          j += 3;
          continue;
        }
        if (stops.has(ch) || ch === bracket || (wide && ch === '&' && m[2] === '=')) break;
        j++;
      }
    }
    j = Math.min(j, n);
    if (j <= start) continue;
    re.lastIndex = Math.max(re.lastIndex, j);
    const mk = MARKER_AT(text, start);
    if (mk === j) continue;
    push(start, j);
  }
}
