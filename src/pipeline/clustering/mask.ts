/**
 * Generic masking and tokenising of one log message, before clustering.
 *
 * Contract: `maskMessage(line, maxTokens)` returns the message's tokens
 * (split on whitespace) with the variable parts replaced by `<*>`. It knows
 * the shapes of values (numbers, hex ids, UUIDs, IPv4/IPv6 addresses, MAC
 * addresses, e-mail and `user@host` forms, URLs, digits inside paths and
 * names, quoted strings, timestamps, durations and sizes with their unit,
 * key=value values), never the format of one particular log. It is a pure
 * function: the same message always gives the same tokens, whatever came
 * before it. The result holds at most `maxTokens` tokens (the rest is cut)
 * and the input is cut at `MAX_CHARS` characters first, so a hostile line
 * costs bounded work.
 *
 * Masks replace the variable part inside a token and keep its constant
 * frame: `rep_73311904_18` -> `rep_<*>`, `/10.31.4.7:9866` -> `/<*>`,
 * `(uid=0)` -> `(uid=<*>)`, `/v3/9f0c.../machines/list` ->
 * `/v3/<*>/machines/list`. Keeping the frame keeps distinct events apart
 * (two REST endpoints, two id namespaces) while the values line up.
 * A run of identical masked tokens (`<*> <*>`, `blk_<*> blk_<*>`) is collapsed
 * into one, so a variable-length list of values, or a value the masks split
 * over several tokens, gives one token count.
 *
 * Quoted text is one value (an HTTP request line too: one statement prints
 * every request), except where it is the message rather than a value: a
 * quoted text that opens the line (`"Probe failed" pod=...`), a JSON key, the
 * message field of a structured line (`msg=`, `"message":`).
 * A restated amount in parentheses folds into the value before it
 * (`1420 bytes (1.38 KB)` -> `<*>`).
 */

export const WILDCARD = '<*>';
/** Input characters looked at; the rest of a longer line is ignored. */
export const MAX_CHARS = 4096;

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]{0,6}\\.?';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]{0,6}\\.?';
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2})?(?:[.,]\\d{1,9})?';
const ZONE = '(?:\\s?(?:Z|UTC|GMT|[ECMP][DS]T|CES?T|[+-]\\d{2}:?\\d{2}))?';

/**
 * Timestamps spread over several tokens, or that the digit masks would cut
 * into pieces with a word between them (a month name): each becomes one `<*>`.
 */
const TIMESTAMP = new RegExp(
  [
    // 2017-05-16T00:00:04.123+02:00, 2017-05-16 00:00:04,123, 2016-09-28 04:30:31
    `\\d{4}-\\d{2}-\\d{2}(?:[T ]${TIME}${ZONE})?`,
    // Sun Jul 10 03:55:15 2005, Jul 10 03:55:15, Dec 4, 2005 4:47:44 PM
    `(?:${WEEKDAY},?\\s+)?${MONTH}\\s+\\d{1,2}(?:,?\\s+\\d{4})?,?\\s+${TIME}(?:\\s?[AP]M)?${ZONE}(?:\\s+\\d{4}(?!\\d))?`,
    // 10/Oct/2000:13:55:36 -0700, 10-Oct-2000 13:55:36
    `\\d{1,2}[/ -]${MONTH}[/ -]\\d{2,4}(?:[: ]${TIME}${ZONE})?`,
    // Mon, 10 Jul 2005 03:55:15 GMT
    `(?:${WEEKDAY},?\\s+)?\\d{1,2}\\s+${MONTH}\\s+\\d{4}(?:\\s+${TIME}${ZONE})?`,
    // 17/06/09 20:10:40, 2005.11.09 12:01:01, 06/03/2017 15:42:50.123
    `\\d{1,4}[/.]\\d{1,2}[/.]\\d{1,4}[ T]${TIME}`,
  ]
    .map((s) => `(?:${s})`)
    .join('|'),
  'g',
);

/** A quoted string: double quotes anywhere; single quotes only where they open and close a word (not an apostrophe). */
const QUOTED = /"(?:[^"\\\n]|\\.){0,512}"|(?<=^|[\s(\[{=:,])'(?:[^'\\\n]|\\.){0,512}'(?=$|[\s)\]},.;:!?])/g;
const URL_RE = /\b[A-Za-z][A-Za-z0-9+.-]{1,15}:\/\/[^\s"'<>]*[^\s"'<>.,;:)\]]/g;
/**
 * e-mail addresses and other `name@host` forms (user@host, Object@1a2b3c).
 * The name is matched at a word boundary and atomically (a lookahead
 * capture), so a long word without a host costs one pass, not a backtrack.
 */
const AT_RE = /(?<![\w.+-])(?=([\w.+-]+))\1@\w[\w-]*(?:\.[\w-]+)*(?::\d+)?/g;
/** key=value: the value is masked up to a delimiter (or a whole quoted value). */
const KV_RE = /(?<=^|[\s,;(\[{|&?])([A-Za-z_][\w.\-[\]]*)=(?:"[^"]*"|'[^']*'|[^\s,;)\]}&|]*)/g;
const UUID_RE = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
/** IPv6 and MAC addresses: hex groups with colons (times and plain ratios are left to the number mask). */
const COLON_HEX_RE = /(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])/g;
/**
 * A number, with what is glued to it: a sign after a non-word character, a
 * fraction or a list of groups (1.2.3.4:80, 12:30:45, 10,000), letters (12ms,
 * 3.5s, 9f0c3e71..., 0x1f, 2nd), a percent sign. Covers IPv4 addresses with
 * their port and hex ids that start with a digit.
 */
const NUMBER_RE = /(?<![A-Za-z0-9])-?\d[A-Za-z0-9]*(?:[.,:]\d[A-Za-z0-9]*)*%?/g;
/**
 * host:port where the host is a name (`proxy.example.net:5070`, `db-1.lan:5432`):
 * one value. Addresses with a port are left to the number mask, which takes
 * them whole.
 */
const HOST_PORT_RE = /(?<![\w.:/-])[A-Za-z][\w-]*(?:\.[\w-]+)+:\d{1,5}(?![\w.:])/g;
/** `file.go:123`, `Foo.java:88`: a place in source code (it names the statement), not a host and port. */
const SOURCE_FILE = /\.(?:go|java|py|c|cc|cpp|cxx|h|hpp|rs|js|mjs|ts|rb|scala|kt|cs|php|pl|swift|m|erl|ex|exs|lua|sh):\d+$/;
/** A word that starts with a letter and holds a digit (tn417, wl0, c41d07f5, u0a123). */
const LETTER_DIGIT_RE = /(?<![A-Za-z0-9])[A-Za-z][A-Za-z]*\d[A-Za-z0-9]*/g;
const SIGILS = /^[*#+~<>=]+<\*>$/;
/** A masked amount in parentheses, perhaps followed by punctuation: `(<*>)`, `(<*>),`. */
const EQUIVALENT = /^\(<\*>\)[,;:.]?$/;

const ACRONYM_VERSION = /^[A-Z]{2,5}\d$/;
const HEX_ONLY = /^[0-9a-fA-F]+$/;
const LETTERS_THEN_DIGITS = /^([A-Za-z]+)\d+$/;
const DIGIT_RUNS = /\d+/g;

/** Units that follow a number as a separate word: `12 ms`, `5.3 KB`, `19.84 seconds`. */
const UNITS = new Set([
  'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'kib', 'mib', 'gib', 'tib', 'byte', 'bytes',
  'ms', 'us', 'µs', 'ns', 's', 'sec', 'secs', 'second', 'seconds', 'min', 'mins', 'minute', 'minutes',
  'hr', 'hrs', 'hour', 'hours', 'day', 'days', '%',
]);

/**
 * Fields that hold the message itself in structured lines (JSON, logfmt):
 * their text is the event, so it is masked word by word, not as one value.
 * An error or a reason given as a field (`err="context deadline exceeded"`)
 * is a value of the event the message names.
 */
const MESSAGE_FIELD = /(?:^|[\s,{;])"?(?:msg|message|event)"?\s*[:=]\s*$/i;

function maskQuoted(q: string, offset: number, line: string): string {
  // A message that starts with a quoted text (klog's `"Probe failed" pod=...`) is that text, not a value.
  const before = line.slice(Math.max(0, offset - 24), offset);
  if (offset === 0 || (offset < 24 && /^\s*$/.test(before))) return q;
  // ...and so is one right after a bracketed prefix (klog's `I0301 12:00:00.1 7 file.go:12] "Probe failed"`).
  if (before.endsWith('] ')) return q;
  // A JSON key names a field: structure, not a value.
  if (/^\s*:/.test(line.slice(offset + q.length, offset + q.length + 4))) return q;
  if (MESSAGE_FIELD.test(before)) return q;
  // Anything else quoted is one value, an HTTP request line included: one statement prints every request.
  const quote = q[0] === "'" ? "'" : '"';
  return `${quote}${WILDCARD}${quote}`;
}

function maskKeyValue(kv: string, key: string): string {
  return MESSAGE_KEYS.has(key.toLowerCase()) ? kv : `${key}=${WILDCARD}`;
}
const MESSAGE_KEYS = new Set(['msg', 'message', 'event']);

function maskColonHex(m: string): string {
  // Two-colon forms like 12:30:45 are times or ratios: the number mask handles them.
  let colons = 0;
  for (let i = 0; i < m.length; i++) if (m.charCodeAt(i) === 58) colons++;
  if (m.includes('::') ? /[0-9A-Fa-f]/.test(m) : colons >= 5) return WILDCARD;
  return m;
}

function maskLetterDigit(w: string): string {
  // A short acronym with a version digit names a protocol or a standard (SOCKS5, IPV6, HTTP2, MD5): a word.
  if (ACRONYM_VERSION.test(w)) return w;
  if (w.length >= 6 && HEX_ONLY.test(w)) return WILDCARD;
  const m = LETTERS_THEN_DIGITS.exec(w);
  if (m) return m[1] + WILDCARD;
  let runs = 0;
  w.replace(DIGIT_RUNS, (d) => {
    runs++;
    return d;
  });
  // Several digit runs, or a long mixed word, is an id (u0a123, aB3dE5fG7h); a short one is a name (x86, log4j).
  if (runs >= 2 || w.length >= 10) return WILDCARD;
  return w.replace(DIGIT_RUNS, WILDCARD);
}

function hasDigit(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** Length of the trailing punctuation of a token (kept when a unit word is folded into the number before it). */
function trailingPunct(t: string): number {
  let n = 0;
  for (let i = t.length - 1; i >= 0; i--) {
    const c = t[i]!;
    if (c === ')' || c === ']' || c === '}' || c === ',' || c === ';' || c === '.' || c === ':' || c === '!' || c === '?' || c === '"' || c === "'") n++;
    else break;
  }
  return n;
}

/** Masks `line` (see the module comment); returns the masked text before tokenising. */
export function maskText(line: string): string {
  let s = line.length > MAX_CHARS ? line.slice(0, MAX_CHARS) : line;
  // Quotes first, so what they hold is not masked twice.
  if (s.includes('"') || s.includes("'")) s = s.replace(QUOTED, maskQuoted);
  const digits = hasDigit(s);
  if (digits) s = s.replace(TIMESTAMP, WILDCARD);
  if (s.includes('://')) s = s.replace(URL_RE, WILDCARD);
  if (s.includes('@')) s = s.replace(AT_RE, WILDCARD);
  if (s.includes('=')) s = s.replace(KV_RE, maskKeyValue);
  if (digits) {
    if (s.includes('-')) s = s.replace(UUID_RE, WILDCARD);
    if (s.includes(':')) {
      s = s.replace(HOST_PORT_RE, (m) => (SOURCE_FILE.test(m) ? m : WILDCARD));
      s = s.replace(COLON_HEX_RE, maskColonHex);
    }
    s = s.replace(NUMBER_RE, WILDCARD);
    s = s.replace(LETTER_DIGIT_RE, maskLetterDigit);
  } else if (s.includes('::')) {
    s = s.replace(COLON_HEX_RE, maskColonHex);
  }
  return s;
}

/**
 * The tokens of one message after masking: whitespace-separated, a unit word
 * folded into the masked number before it, runs of `<*>` collapsed, at most
 * `maxTokens` of them.
 */
export function maskMessage(line: string, maxTokens: number): string[] {
  const s = maskText(line);
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  while (i < n && out.length < maxTokens) {
    let c = s.charCodeAt(i);
    // Whitespace: space, tab, and the other ASCII controls that separate words.
    if (c <= 32) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && (c = s.charCodeAt(j)) > 32) j++;
    let tok = s.slice(i, j);
    i = j;
    // A number behind a sigil (`*64`, `#12`, `+3`) is a value like any other.
    if (tok.length > 3 && tok.endsWith(WILDCARD) && SIGILS.test(tok)) tok = WILDCARD;
    const prev = out.length > 0 ? out[out.length - 1]! : undefined;
    if (prev !== undefined && prev.includes(WILDCARD)) {
      // A list of values of one shape (`<*>`, `blk_<*>`) is one variable, whatever its length.
      if (tok === prev) continue;
      const p = trailingPunct(tok);
      const core = p > 0 ? tok.slice(0, tok.length - p) : tok;
      if (prev.endsWith(WILDCARD) && core.length <= 7 && UNITS.has(core.toLowerCase())) {
        if (p > 0) out[out.length - 1] = prev + tok.slice(tok.length - p);
        foldEquivalent(out);
        continue;
      }
    }
    out.push(tok);
    if (tok.charCodeAt(0) === 40) foldEquivalent(out);
  }
  return out;
}

/**
 * The same amount restated in parentheses right after a value (`1420 bytes
 * (1.38 KB)`, `90 s (1.5 min)`) is part of that value: `<*> (<*>)` becomes `<*>`,
 * so a count printed with and without its restatement gives one token count.
 */
function foldEquivalent(out: string[]): void {
  const n = out.length;
  if (n < 2 || out[n - 2] !== WILDCARD || !EQUIVALENT.test(out[n - 1]!)) return;
  out[n - 2] = WILDCARD + out[n - 1]!.slice(5);
  out.pop();
}
