/**
 * Client addresses as one subject: an IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.7`, as a dual-stack listener logs an IPv4 client) is
 * written as its IPv4 form, so windows, incidents, blocks and guardrails see
 * `192.0.2.7` whichever form the line used. Anything else is returned as it
 * came (a value that is not an address is data for the rules, not repaired).
 * parseLine (index.ts) applies it to client_ip and real_ip of every parser's
 * result, once per line.
 */
import ipaddr from 'ipaddr.js';

/** The IPv4 form of an IPv4-mapped IPv6 address; any other value unchanged. */
export function canonicalClientIp(v: string): string {
  // Cheap test first: only a value with `ffff:` and a dot can be a mapped address in either notation ipaddr.js reads.
  if (v.length < 9 || v.indexOf(':') < 0 || !/ffff:/i.test(v)) return v;
  if (!ipaddr.IPv6.isValid(v)) return v;
  const a = ipaddr.IPv6.parse(v);
  return a.isIPv4MappedAddress() ? a.toIPv4Address().toString() : v;
}

/** Canonicalises the address fields of a parsed line in place (client_ip, real_ip). */
export function canonicalAddresses(f: Record<string, unknown>): void {
  const c = f.client_ip;
  if (typeof c === 'string') f.client_ip = canonicalClientIp(c);
  const r = f.real_ip;
  if (typeof r === 'string') f.real_ip = canonicalClientIp(r);
}
