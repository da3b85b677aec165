/**
 * Pseudonyms for client addresses in prompts (`analysis.redaction.pseudonymise_ips`).
 *
 * Contract: a `Pseudonymiser` replaces IPv4/IPv6 addresses by
 * `client-<10 hex>`: HMAC-SHA256 with a key made once per run, so the same
 * address gives the same pseudonym for the whole run (the cache keeps
 * working) and nothing outside the process can reverse it. Each call records
 * what it replaced so the model's targets can be mapped back; a pseudonym not
 * seen in this prompt maps to nothing. Secrets are not its business: the one
 * redactor (src/pipeline/redact/) runs before it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import ipaddr from 'ipaddr.js';

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
