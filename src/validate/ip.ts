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

/**
 * Memoised pure functions of a string: a flood of 2,000 attackers judged
 * against every protected range parses the same few texts millions of
 * times. Results are frozen (shared between callers); the cache is bounded
 * (emptied when full: the working set is small, the cost of a refill low).
 */
function memo<T>(fn: (s: string) => T, max = 20_000): (s: string) => T {
  const cache = new Map<string, T>();
  return (s: string) => {
    if (cache.has(s)) return cache.get(s) as T;
    const v = fn(s);
    if (cache.size >= max) cache.clear();
    cache.set(s, v);
    return v;
  };
}

const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
};

/** Parses an address or CIDR; returns null when it is not one (strictly: no zones, no octal, no short forms). */
export const parseIp: (input: string) => ParsedIp | null = memo((input) => (typeof input === 'string' ? deepFreeze(parseIpOnce(input)) : null));

function parseIpOnce(input: string): ParsedIp | null {
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

/** One network of a Coverage: canonical text, its family and prefix. */
export interface Net {
  text: string;
  family: 4 | 6;
  prefix: number;
}

/**
 * The clients a range stands for as HAProxy matches ip patterns (maps with
 * map_ip, `src` and `-m ip` ACLs), in both families. HAProxy (src/pattern.c,
 * pat_match_ip; src/tools.c, v4tov6 / v6tov4) looks an IPv4 client up in
 * the IPv6 entries as `::ffff:a.b.c.d`, and an IPv6 client that is
 * IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or 6to4
 * (`2002:AABB:CCDD::/48`) in the IPv4 entries as a.b.c.d. So:
 *  - an IPv4 range also stands for its mapped, compatible and 6to4 IPv6 forms;
 *  - an IPv6 range also stands for the IPv4 addresses whose mapped form it
 *    holds (any prefix up to /96 that contains ::ffff:0:0/96 holds all of IPv4).
 * Two ranges share a client exactly when their coverages intersect in one
 * family; the embedded forms are one address to a guardrail, whichever
 * spelling a rule, a model or a person used. Null when `range` does not parse.
 */
export interface Coverage {
  v4: Net[];
  v6: Net[];
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function net(bytes: number[], prefix: number): Net {
  const addr = ipaddr.fromByteArray(bytes);
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  const text = prefix === max ? addr.toString() : `${(family === 4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(`${addr.toString()}/${prefix}`).toString()}/${prefix}`;
  return { text, family, prefix };
}

/** Bytes of `text`'s network address (canonical text from parseIp or net()). */
const bytesOf: (text: string) => readonly number[] = memo((text) => Object.freeze(ipaddr.parse(text.split('/')[0]!).toByteArray()));

/** True when the network `outer` (bytes, prefix) holds every address of `inner`. */
function holds(outer: readonly number[], outerPrefix: number, inner: readonly number[], innerPrefix: number): boolean {
  if (outerPrefix > innerPrefix || outer.length !== inner.length) return false;
  for (let bit = 0; bit < outerPrefix; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if (((outer[i] as number) & m) !== ((inner[i] as number) & m)) return false;
  }
  return true;
}

export const haproxyCoverage: (range: string) => Coverage | null = memo((range) => deepFreeze(coverageOnce(range)));

function coverageOnce(range: string): Coverage | null {
  const p = parseIp(range);
  if (!p) return null;
  const b = bytesOf(p.text);
  if (p.family === 4) {
    return {
      v4: [{ text: p.text, family: 4, prefix: p.prefix }],
      v6: [
        net([...MAPPED_PREFIX, ...b], 96 + p.prefix),
        net([...new Array<number>(12).fill(0), ...b], 96 + p.prefix),
        net([0x20, 0x02, ...b, ...new Array<number>(10).fill(0)], 16 + p.prefix),
      ],
    };
  }
  const own: Net = { text: p.text, family: 6, prefix: p.prefix };
  const mapped = [...MAPPED_PREFIX, 0, 0, 0, 0];
  // parseIp turns a mapped range narrower than /96 into IPv4, so only the
  // case "holds all of ::ffff:0:0/96" is left; the other is kept for safety.
  if (holds(b, p.prefix, mapped, 96)) return { v4: [net([0, 0, 0, 0], 0)], v6: [own] };
  if (p.prefix > 96 && holds(mapped, 96, b, p.prefix)) return { v4: [net(b.slice(12), p.prefix - 96)], v6: [own] };
  return { v4: [], v6: [own] };
}

function netsMeet(a: Net, b: Net): boolean {
  if (a.family !== b.family) return false;
  const [wide, narrow] = a.prefix <= b.prefix ? [a, b] : [b, a];
  return holds(bytesOf(wide.text), wide.prefix, bytesOf(narrow.text), narrow.prefix);
}

function coveragesMeet(a: Coverage, b: Coverage): boolean {
  return a.v4.some((x) => b.v4.some((y) => netsMeet(x, y))) || a.v6.some((x) => b.v6.some((y) => netsMeet(x, y)));
}

/**
 * True when `ip` (a plain address) is one of the clients `range` stands for
 * (haproxyCoverage), in either family: `1.2.3.4` is in `::/0` and in
 * `::ffff:0:0/96`, `2002:7f00:1::` is in `127.0.0.0/8`. A CIDR as `ip` is false.
 */
export function ipInRange(ip: string, range: string): boolean {
  const a = parseIp(ip);
  if (!a || a.isCidr) return false;
  const x = haproxyCoverage(a.text);
  const y = haproxyCoverage(range);
  return x !== null && y !== null && coveragesMeet(x, y);
}

/**
 * A test of whether an address is in any of `ranges` (ipInRange), with its
 * answers remembered per address (bounded): the same subjects come back in
 * finding after finding.
 */
export function inAnyRange(ranges: readonly string[]): (ip: string) => boolean {
  return memo((ip) => ranges.some((r) => ipInRange(ip, r)));
}

/** True when two ranges share at least one client as HAProxy matches them (haproxyCoverage), in either family. */
export function rangesOverlap(x: string, y: string): boolean {
  const a = haproxyCoverage(x);
  const b = haproxyCoverage(y);
  return a !== null && b !== null && coveragesMeet(a, b);
}

/**
 * The widest prefix `range` reaches in each family (null: none there), for
 * "no range wider than /N": IPv4 counts the IPv4 clients an IPv6 range holds
 * (`::8000:0:0/81` is 0.0.0.0/0 there); IPv6 is the range's own prefix (the
 * IPv6 forms of an IPv4 range are as wide as it is, judged in IPv4).
 */
export function widestPrefix(range: string): { v4: number | null; v6: number | null } | null {
  const p = parseIp(range);
  const c = p && haproxyCoverage(p.text);
  if (!p || !c) return null;
  return { v4: c.v4.length ? Math.min(...c.v4.map((n) => n.prefix)) : null, v6: p.family === 6 ? p.prefix : null };
}
