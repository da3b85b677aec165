/**
 * What the miner asks about single tokens (after masking, ./mask.ts): which
 * ones route down the tree's `<*>` branch, which differences between two
 * tokens may tell two events apart, and the key under which templates of
 * different lengths are one group. Generic shapes of words, paths and values
 * only; nothing here knows a particular log format.
 */
import { WILDCARD as MASK } from './mask.js';

/** A local copy: a module binding read on every token costs a getter call under some loaders. */
const WILDCARD: string = MASK;

/**
 * Whether a token is routed down the tree's `<*>` branch: it holds a mask or
 * a digit, or it looks like a path, a file or a host name (a slash, or a dot
 * between word characters), which are values far more often than the words of
 * a message are.
 */
export function routesAsWildcard(t: string): boolean {
  if (t.includes(WILDCARD)) return true;
  if (t.includes('/') || t.includes('\\')) return true;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  const d = t.indexOf('.');
  return d > 0 && d < t.length - 1 && /\w\.\w/.test(t);
}

/** Words after which the next word is a value even when it looks like a word (`for user root`, `from host`). */
const INTRODUCERS = new Set(['user', 'users', 'for', 'from', 'by', 'host', 'node', 'client', 'server', 'account', 'named']);
/** Words that are values however few of them there are. */
const VALUE_WORDS = new Set(['true', 'false', 'null', 'nil', 'undefined', 'nan', 'yes', 'no', 'on', 'off']);
/**
 * A plain word: letters (with an inner `-` or `'`), wrapped in a little
 * punctuation at most. Identifiers (`quota_exceeded`, `refreshTokens`) are
 * values, not words.
 */
const PLAIN_WORD = /^[^A-Za-z0-9<>*_]{0,3}[A-Za-z][a-z'-]*(?:[A-Z]+[a-z'-]*)*[^A-Za-z0-9<>*_]{0,3}$/;
const LOWER_CAMEL = /^[^A-Za-z]*[a-z]+[A-Z]/;
/** A short acronym, perhaps with a version digit: a protocol or unit name (`HTTPS`, `SOCKS5`, `IPV6`, `GET`). */
const ACRONYM = /^[^A-Za-z0-9<>*]{0,3}[A-Z]{2,5}\d?[^A-Za-z0-9<>*]{0,3}$/;
/** Longer ALL-CAPS words are mostly enum values a program prints (`PENDING`, `SUCCEEDED`, `QUEUE_FULL_RETRY`). */
const ENUM_VALUE = /^[^A-Za-z]*[A-Z][A-Z_]{5,}[^A-Za-z]*$/;
const HTTP_METHOD = /^[^A-Za-z]*(?:DELETE|OPTIONS|CONNECT|PROPFIND)[^A-Za-z]*$/;
/** A path's last segment that names a resource: a whole word, perhaps with a query (`detail`, `detail?changes-since=<*>`). */
const RESOURCE = /^[A-Za-z][A-Za-z_-]{2,}(?:\?\S*)?$/;

function isValueWord(t: string): boolean {
  if (LOWER_CAMEL.test(t)) return true;
  if (ENUM_VALUE.test(t) && !HTTP_METHOD.test(t)) return true;
  return VALUE_WORDS.has(t.replace(/[^A-Za-z]/g, '').toLowerCase());
}

/**
 * Whether two different tokens at one position may be words that tell events
 * apart (`bytes`/`values`, `Started`/`Paused`, `"GET`/`"POST`) rather than two
 * values of one variable: both plain words (no digit, not a path, file or host
 * name, not a boolean, not a long ALL-CAPS enum value) or short acronyms, or two paths that differ
 * only in their last segment, one of which names a resource
 * (`/v3/<*>/machines/list` and `/v3/<*>/machines/<*>`).
 */
export function wordsApart(a: string, b: string): boolean {
  if (a.length > 64 || b.length > 64) return false;
  if ((PLAIN_WORD.test(a) || ACRONYM.test(a)) && (PLAIN_WORD.test(b) || ACRONYM.test(b))) return !isValueWord(a) && !isValueWord(b);
  const i = a.lastIndexOf('/');
  if (i <= 0 || i !== b.lastIndexOf('/') || a.slice(0, i) !== b.slice(0, i)) return false;
  return RESOURCE.test(a.slice(i + 1)) || RESOURCE.test(b.slice(i + 1));
}

/** A label: a word with a lower-case letter, perhaps after an opening bracket (`(reason:`) (ALL-CAPS ones such as `RPC:` or `DNS:` name a part of a program, not a field). */
const LABEL = /^[(\[{]?[A-Za-z]*[a-z][A-Za-z_-]*[:=]$/;

/**
 * Whether `prev`, the token before a position, introduces a value: a word
 * such as `user`, `for`, `from`, or a label (`reason:`, `state=`) that is not
 * the message's first token (a first `word:` is a component or a prefix:
 * `kernel:`, `RPC:`).
 */
export function introducesValue(prev: string | undefined, prevIndex: number): boolean {
  if (prev === undefined) return false;
  if (prevIndex > 0 && LABEL.test(prev)) return true;
  let end = prev.length;
  while (end > 0 && ':,;=('.includes(prev[end - 1]!)) end--;
  return end > 1 && end < 10 && INTRODUCERS.has(prev.slice(0, end).toLowerCase());
}

/**
 * The group key of a template: its constant tokens, without the `<*>` ones
 * and without the masked `key=<*>` fields that end it.
 * Templates with one key describe one event whose variable parts span a
 * different number of tokens, or are sometimes absent (`browser.exe - host`
 * and `browser.exe *64 - host` both end up `<*> - <*> close, ...`).
 */
export function groupKey(tokens: readonly string[]): string {
  // Optional fields at the end (`... database=<*>` with or without ` application_name=<*>`) are one event.
  let end = tokens.length;
  while (end > 1 && (tokens[end - 1] === WILDCARD || TRAILING_FIELD.test(tokens[end - 1]!))) end--;
  let out = '';
  for (let i = 0; i < end; i++) {
    const t = tokens[i]!;
    if (t !== WILDCARD) out = out.length === 0 ? t : `${out} ${t}`;
  }
  // A template of parameters only keys on its length, not on nothing.
  return out.length === 0 ? `<${tokens.length}>` : out;
}

/** A masked `key=value` field: `user=<*>`, `application_name=<*>,`. */
const TRAILING_FIELD = /^[A-Za-z_][\w.-]*=<\*>[,;]?$/;

/** A template's text for display: each run of `<*>` written once. */
export function collapseRuns(tokens: readonly string[]): string {
  let out = '';
  let prevWild = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const wild = t === WILDCARD;
    if (wild && prevWild) continue;
    out = i === 0 ? t : `${out} ${t}`;
    prevWild = wild;
  }
  return out;
}
