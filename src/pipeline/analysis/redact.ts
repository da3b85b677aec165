/**
 * Redaction of everything that leaves the host in a prompt.
 *
 * Contract:
 * - `redactText` removes secrets from one line: values of secret-looking
 *   query-string and key=value / JSON keys (token, key, password, secret,
 *   auth, session, sig, ... plus configured names), Cookie / Set-Cookie and
 *   Authorization header values, bearer/basic credentials, JWTs, URL
 *   userinfo, and e-mail addresses. Pure and bounded (linear regexes only).
 * - A `Pseudonymiser` (optional) replaces IPv4/IPv6 addresses by
 *   `client-<10 hex>`: HMAC-SHA256 with a key made once per run, so the same
 *   address gives the same pseudonym for the whole run (the cache keeps
 *   working) and nothing outside the process can reverse it. Each call
 *   records what it replaced so the model's targets can be mapped back;
 *   a pseudonym not seen in this prompt maps to nothing.
 */
import { createHmac, randomBytes } from 'node:crypto';
import ipaddr from 'ipaddr.js';

const BUILTIN_SECRET_KEYS = [
  'token', 'key', 'apikey', 'password', 'passwd', 'pwd', 'pass', 'secret', 'auth', 'session', 'sess', 'sid',
  'sig', 'signature', 'credential', 'jwt', 'code', 'otp', 'nonce', 'ticket', 'hash', 'private',
];

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface Redactor {
  (line: string): string;
}

/** Builds the line redactor; `extraKeys` are more key names (substring match, case-insensitive). */
export function createRedactor(extraKeys: readonly string[] = []): Redactor {
  const words = [...BUILTIN_SECRET_KEYS, ...extraKeys].map(escapeRe).join('|');
  // A key name containing a secret word: access_token, X-Api-Key, sessionid, s3Signature...
  const keyName = `[A-Za-z0-9_.\\-\\[\\]]*(?:${words})[A-Za-z0-9_.\\-\\[\\]]*`;
  const queryParam = new RegExp(`([?&;]${keyName}=)[^&;\\s"'#|}]*`, 'gi');
  const jsonKv = new RegExp(`("${keyName}"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*(")`, 'gi');
  const plainKv = new RegExp(`(\\b${keyName}\\s*[=:]\\s*)(?!\\[REDACTED\\])[^\\s&"',;|}]+`, 'gi');
  const header = /\b((?:set-)?cookie|(?:proxy-)?authorization|x-api-key|x-auth-token)(\s*[:=]\s*)[^|}\r\n"]*/gi;
  const scheme = /\b(Bearer|Basic|Digest|Negotiate|Token)(\s+)[A-Za-z0-9._~+/=-]{6,}/g;
  const jwt = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
  const userinfo = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;
  const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
  const encodedEmail = /[A-Za-z0-9._+-]+%40[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/gi;
  return (line: string) =>
    line
      .replace(header, '$1$2[REDACTED]')
      .replace(scheme, '$1$2[REDACTED]')
      .replace(jwt, '[REDACTED_JWT]')
      .replace(userinfo, '$1[REDACTED]@')
      .replace(queryParam, '$1[REDACTED]')
      .replace(jsonKv, '$1[REDACTED]$2')
      .replace(plainKv, '$1[REDACTED]')
      .replace(email, '[EMAIL]')
      .replace(encodedEmail, '[EMAIL]');
}

const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)/g;
// Candidates only; each is checked with ipaddr.js, so times like 12:30:01 stay.
const IPV6 = /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![0-9A-Fa-f:])/g;

export const PSEUDONYM_RE = /^client-[0-9a-f]{10}$/;

/** Stable per-run pseudonyms for addresses; one instance per daemon run. */
export interface Pseudonymiser {
  /** The pseudonym of one address (canonical text in, `client-xxxxxxxxxx` out). */
  of(ip: string): string;
  /** Replaces every address in `text`, recording pseudonym -> address in `seen`. */
  replace(text: string, seen: Map<string, string>): string;
}

export function createPseudonymiser(key: Buffer = randomBytes(32)): Pseudonymiser {
  const of = (ip: string) => `client-${createHmac('sha256', key).update(ip.toLowerCase()).digest('hex').slice(0, 10)}`;
  const sub = (seen: Map<string, string>) => (m: string) => {
    if (!ipaddr.isValid(m)) return m;
    if (m.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(m) && !m.includes(':')) return m;
    const p = of(m);
    seen.set(p, m);
    return p;
  };
  return {
    of,
    replace(text, seen) {
      return text.replace(IPV6, (m) => (m.split(':').length >= 3 ? sub(seen)(m) : m)).replace(IPV4, sub(seen));
    },
  };
}
