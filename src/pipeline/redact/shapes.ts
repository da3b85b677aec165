/**
 * Secrets recognised by their shape, wherever they are in a line: provider
 * token formats, JWTs, credentials after an HTTP auth scheme, URL userinfo,
 * e-mail addresses and long random-looking path segments.
 *
 * Contract: `findShapes(text, push)` calls `push(start, end, kind)` for every
 * span of `text` to redact. Every pattern starts with a look-behind that
 * admits only the first character of a run, so each pattern is tried once per
 * run and the scan is linear in the length of the line (no pattern has nested
 * or overlapping quantifiers). Canonical UUIDs are ids, not credentials, except
 * as path segments (a reset link): `rid=<uuid>` (this project's request id)
 * stays.
 */

export type Push = (start: number, end: number, kind: string) => void;

interface Shape {
  kind: string;
  re: RegExp;
  /** Which capture group is the secret (0: the whole match). */
  group?: number;
  /** Extra check on the captured text. */
  ok?: (s: string) => boolean;
}

const B = '(?<![A-Za-z0-9_-])';
const E = '(?![A-Za-z0-9_-])';

const SHAPES: Shape[] = [
  { kind: 'aws-key', re: new RegExp(`(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16,}(?![A-Za-z0-9])`, 'gd') },
  { kind: 'stripe-key', re: new RegExp(`${B}(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}`, 'gd') },
  { kind: 'stripe-key', re: new RegExp(`${B}whsec_[A-Za-z0-9]{16,}`, 'gd') },
  { kind: 'github-token', re: new RegExp(`${B}(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}`, 'gd') },
  { kind: 'github-token', re: new RegExp(`${B}github_pat_[A-Za-z0-9_]{20,}`, 'gd') },
  { kind: 'gitlab-token', re: new RegExp(`${B}glpat-[A-Za-z0-9_-]{20,}`, 'gd') },
  { kind: 'slack-token', re: new RegExp(`${B}xox[abprse]-[A-Za-z0-9-]{8,}`, 'gd') },
  { kind: 'slack-token', re: new RegExp(`${B}xapp-[A-Za-z0-9-]{8,}`, 'gd') },
  { kind: 'api-key', re: new RegExp(`${B}sk-[A-Za-z0-9_-]{20,}`, 'gd') },
  { kind: 'api-key', re: new RegExp(`${B}AIza[A-Za-z0-9_-]{30,}`, 'gd') },
  { kind: 'api-key', re: new RegExp(`${B}npm_[A-Za-z0-9]{30,}`, 'gd') },
  { kind: 'api-key', re: new RegExp(`${B}SG\\.[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}`, 'gd') },
  { kind: 'jwt', re: new RegExp(`${B}eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*`, 'gd') },
  { kind: 'private-key', re: /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[^-]{0,8192}(?:-----END [A-Z ]{0,40}PRIVATE KEY-----)?/gd },
  // A credential after an HTTP auth scheme (a captured Authorization header
  // has no name in HAProxy's {...|...} block). Plain words after "Basic" in
  // prose ("Basic authentication failed") are not credentials: see credential().
  { kind: 'credential', re: /(?<![A-Za-z0-9])(?:Bearer|bearer|BEARER|Basic|basic|BASIC|Digest|Negotiate|NTLM|Token|MAC|HOBA)[ \t]+([A-Za-z0-9._~+/=-]{6,})/gd, group: 1, ok: (s) => credential(s) },
  { kind: 'userinfo', re: /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/([^\s/@?#"'<>|{}\\]{1,256})@/gd, group: 1 },
  // `logo@2x.png` is a retina image, not an address: no top-level domain is a file extension.
  { kind: 'email', re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,10}/gd, ok: (s) => /\.[A-Za-z]{2,}$/.test(s) && !FILE_EXT.test(s) },
];

const FILE_EXT = /\.(?:png|jpe?g|gif|svg|webp|avif|ico|bmp|js|mjs|css|map|json|html?|php|txt|xml|woff2?|ttf|eot|pdf|zip|gz)$/i;

/** A word after an auth scheme is a credential unless it reads as prose (letters of one case, at most a capital first). */
function credential(s: string): boolean {
  if (/[0-9+/=._~-]/.test(s)) return true;
  return /[A-Z]/.test(s.slice(1)) && /[a-z]/.test(s);
}

/** Shannon entropy of `s` in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * A path segment that looks generated rather than written: a reset token, a
 * session id in the path, an unguessable share link. Hex of 32+ digits with
 * both digits and letters (hashes, hex keys, UUIDs); or 24+ characters of
 * base64url mixing classes the way random text does: lower-to-upper and
 * letter/digit changes at least every sixth character, and 3.5+ bits of
 * entropy per character. Words, slugs (`how-to-configure-haproxy`), dated
 * names (`report_2024_01_15_final`) and CamelCase names have few changes.
 */
export function randomSegment(s: string): boolean {
  if (s.length < 24 || s.length > 4096) return false;
  const alnum = s.replace(/[_-]/g, '');
  const digits = alnum.replace(/[^0-9]/g, '').length;
  const letters = alnum.length - digits;
  if (UUID.test(s) || (/^[0-9a-fA-F]+$/.test(alnum) && alnum.length >= 32)) return digits >= 4 && letters >= 4;
  let changes = 0;
  for (let i = 1; i < s.length; i++) {
    const a = s.charCodeAt(i - 1);
    const b = s.charCodeAt(i);
    const da = a >= 48 && a <= 57;
    const db = b >= 48 && b <= 57;
    const la = (a >= 65 && a <= 90) || (a >= 97 && a <= 122);
    const lb = (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
    if ((da && lb) || (la && db)) changes++;
    else if (a >= 97 && a <= 122 && b >= 65 && b <= 90) changes++;
  }
  return changes >= Math.ceil(s.length / 6) && entropy(s) >= 3.5;
}

const SEGMENT = new RegExp(`(?<=/)[A-Za-z0-9_-]{24,}${E}`, 'g');

export function findShapes(text: string, push: Push): void {
  for (const sh of SHAPES) {
    for (const m of text.matchAll(sh.re)) {
      const g = sh.group ?? 0;
      const v = m[g];
      if (v === undefined || (sh.ok && !sh.ok(v))) continue;
      const [start, end] = m.indices![g]!;
      push(start, end, sh.kind);
    }
  }
  for (const m of text.matchAll(SEGMENT)) {
    if (randomSegment(m[0])) push(m.index, m.index + m[0].length, 'path-token');
  }
}
