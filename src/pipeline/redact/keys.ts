/**
 * Which key names hold secrets: query and form parameters, `key=value` and
 * `key: value` pairs, JSON fields and header names.
 *
 * Contract: `secretKeyMatcher(extra)` returns a predicate over one key name
 * (case-insensitive). A key is first split into words at separators
 * (`_ - . [ ]` and anything else not a letter or digit), at lower-to-upper
 * case changes and at letter/digit changes: `X-Amz-Signature` is
 * [x, amz, signature], `apiKey` is [api, key], `s3Signature` is [s, 3,
 * signature]. It is secret when
 * - the key with separators removed contains a STRONG word (long enough not
 *   to occur by chance in ordinary names: `accesstoken`, `jsessionid`,
 *   `PHPSESSID`, `passwd`), or
 * - one of its words is a WORD (short names that are secrets only on their
 *   own: `key` but not `monkey` or `keyword`, `auth` but not `author`, `sid`
 *   but not `inside`), or
 * - its words end in `code` and no word before it says what kind of
 *   ordinary code it is (`status_code`, `country_code` stay; `code`,
 *   `auth_code`, `otpCode` are secret), or
 * - it contains one of the operator's `extra` names (substring,
 *   case-insensitive, as `analysis.redaction.extra_secret_keys` always
 *   matched).
 * `wideKey` tells header-like keys whose value runs to the end of the header
 * (Cookie, Set-Cookie, Authorization, Proxy-Authorization): `a=1; b=2` is one
 * value there.
 */

const STRONG = [
  'token', 'secret', 'passw', 'passphrase', 'signature', 'session', 'sessid', 'credential', 'apikey', 'privatekey',
  'jwt', 'bearer', 'csrf', 'xsrf', 'cookie', 'authoriz', 'saml',
];

const WORDS = new Set([
  'key', 'keys', 'auth', 'sig', 'sign', 'sid', 'pass', 'pwd', 'pw', 'pin', 'otp', 'totp', 'mfa', 'nonce', 'hash', 'ticket',
  'salt', 'hmac', 'private', 'creds', 'cred', 'secret', 'secrets', 'oauth', 'ssn', 'cvv', 'cvc',
]);

/** Words before `code` that make it an ordinary code, not a one-time secret. */
const ORDINARY_CODE = new Set([
  'status', 'error', 'err', 'country', 'zip', 'postal', 'post', 'currency', 'lang', 'language', 'locale', 'exit',
  'response', 'http', 'region', 'iso', 'product', 'item', 'color', 'colour', 'area', 'type', 'reason', 'return',
  'result', 'source', 'bar', 'qr', 'short', 'airport', 'city', 'state', 'province', 'dial', 'phone', 'sku', 'tax',
]);

const WIDE = ['cookie', 'authorization'];

/** Splits a key into lower-case words (see the contract above). */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Za-z])([0-9])|([0-9])([A-Za-z])/g, (_m, a, b, c, d) => (a !== undefined ? `${a} ${b}` : `${c} ${d}`))
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

export type KeyMatcher = (key: string) => boolean;

/** Answers a matcher keeps (key names repeat: the same few parameters on every line); emptied when full, so attacker-chosen names cannot grow it. */
const ANSWERS_MAX = 2048;
const ANSWER_KEY_MAX = 128;

export function secretKeyMatcher(extra: readonly string[] = []): KeyMatcher {
  const extraLower = extra.map((e) => e.toLowerCase()).filter((e) => e.length > 0);
  const answers = new Map<string, boolean>();
  return (key: string) => {
    if (key.length > ANSWER_KEY_MAX) return isSecretKey(key, extraLower);
    let a = answers.get(key);
    if (a === undefined) {
      if (answers.size >= ANSWERS_MAX) answers.clear();
      // A copy: the key may be a slice of a whole line, which a kept slice would keep alive.
      answers.set((' ' + key).slice(1), (a = isSecretKey(key, extraLower)));
    }
    return a;
  };
}

function isSecretKey(key: string, extraLower: readonly string[]): boolean {
  const lower = key.toLowerCase();
  if (extraLower.some((e) => lower.includes(e))) return true;
  const words = keyWords(key);
  const joined = words.join('');
  if (STRONG.some((w) => joined.includes(w))) return true;
  if (words.some((w) => WORDS.has(w))) return true;
  const last = words.length - 1;
  if (last >= 0 && (words[last] === 'code' || words[last] === 'codes')) {
    return !words.slice(0, last).some((w) => ORDINARY_CODE.has(w));
  }
  return false;
}

export function wideKey(key: string): boolean {
  const joined = keyWords(key).join('');
  return WIDE.some((w) => joined.includes(w));
}
