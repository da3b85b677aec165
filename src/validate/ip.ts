/**
 * IP and CIDR parsing for everything that reaches a HAProxy map, list or
 * runtime command. Output is canonical (IPv4 dotted quad; IPv6 compressed,
 * lower case; an IPv4-mapped IPv6 address becomes IPv4; a CIDR is reduced to
 * its network address; a full-length prefix becomes a plain address), so the
 * same address is always stored and looked up the same way. Nothing but
 * [0-9a-f.:/] can come out of `canonicalIp`.
 */
import ipaddr from 'ipaddr.js';

export interface ParsedIp {
  /** Canonical text: "1.2.3.4", "2001:db8::1", "10.0.0.0/8". */
  text: string;
  family: 4 | 6;
  prefix: number;
  isCidr: boolean;
}

function normalize(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr;
}

/** Parses an address or CIDR; returns null when it is not one (strictly: no zones, no octal, no short forms). */
export function parseIp(input: string): ParsedIp | null {
  if (typeof input !== 'string' || input.length === 0 || input.length > 64) return null;
  if (!/^[0-9a-fA-F.:/]+$/.test(input)) return null;
  const slash = input.indexOf('/');
  const addrText = slash === -1 ? input : input.slice(0, slash);
  // Only the four-part decimal IPv4 form: ipaddr.js would also take "1" or "0x7f.1".
  const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(addrText);
  if (!v4 && !addrText.includes(':')) return null;
  if (v4 && !ipaddr.IPv4.isValidFourPartDecimal(addrText)) return null;
  if (!ipaddr.isValid(addrText)) return null;
  let addr = ipaddr.parse(addrText);
  let prefix: number;
  const wasMapped = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress();
  addr = normalize(addr);
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  if (slash === -1) {
    prefix = max;
  } else {
    const p = input.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    prefix = Number(p);
    if (wasMapped) prefix -= 96;
    if (prefix < 0 || prefix > max) return null;
  }
  if (prefix === max) {
    return { text: addr.toString(), family: addr.kind() === 'ipv4' ? 4 : 6, prefix, isCidr: false };
  }
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${prefix}`);
  return { text: `${network.toString()}/${prefix}`, family: addr.kind() === 'ipv4' ? 4 : 6, prefix, isCidr: true };
}

export function isValidCidrOrIp(input: string): boolean {
  return parseIp(input) !== null;
}

/** True when `ip` (a plain address) lies inside `range` (an address or CIDR). */
export function ipInRange(ip: string, range: string): boolean {
  const a = parseIp(ip);
  const r = parseIp(range);
  if (!a || !r || a.family !== r.family) return false;
  const addr = ipaddr.parse(a.text.split('/')[0]!);
  const net = ipaddr.parse(r.text.split('/')[0]!);
  return addr.match([net, r.prefix] as [ipaddr.IPv4 | ipaddr.IPv6, number]);
}

/** True when two ranges share at least one address. */
export function rangesOverlap(x: string, y: string): boolean {
  const a = parseIp(x);
  const b = parseIp(y);
  if (!a || !b || a.family !== b.family) return false;
  const [wide, narrow] = a.prefix <= b.prefix ? [a, b] : [b, a];
  return ipInRange(narrow.text.split('/')[0]!, wide.text);
}
