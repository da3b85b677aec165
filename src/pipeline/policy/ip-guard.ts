/**
 * The judgement of an address entry a block or a trust would add to a map
 * HAProxy matches clients against, shared by the guardrails (rules, the
 * model, a person's approval) and the API's manual blocks. Every range is
 * judged by the clients it stands for in both families as HAProxy matches
 * them (validate/ip.ts, haproxyCoverage): `::8000:0:0/81` holds every IPv4
 * client, `2002:7f00::/24` is loopback to an IPv4 list.
 *
 * Refusals, in this order:
 *  - `too_wide` (never): wider than /minPrefixV4 in IPv4 terms or
 *    /minPrefixV6 in IPv6 (so every range covering all of a family);
 *  - `self` (never, not even forced): it covers loopback or the daemon's own
 *    path (the addresses it reaches HAProxy and the API from);
 *  - `protected` (a person may force it, for a block): it covers a built-in
 *    local range or a configured, trusted, trusted-proxy or backend-server
 *    address.
 */
import { parseIp, rangesOverlap, widestPrefix } from '../../validate/ip.js';
import type { GuardrailLimits, PolicyContext } from './types.js';

/** Never blocked or trusted by anyone: loopback (its mapped, compatible and 6to4 forms follow from the coverage). */
export const LOOPBACK = ['127.0.0.0/8', '::1'] as const;

/** Always protected, whatever the configuration. */
export const BUILTIN_PROTECTED = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '255.255.255.255',
  '::',
  '::1',
  'fc00::/7',
  'fe80::/10',
] as const;

export interface IpRefusal {
  code: 'self' | 'too_wide' | 'protected';
  reason: string;
  /** The protected or own ranges it covers (at most 10), for the reason and the audit. */
  covers: string[];
  /** Only `protected` may be overridden, by a person's explicit force. */
  forceable: boolean;
}

export type IpGuardContext = Pick<PolicyContext, 'isProtected' | 'protectedRanges' | 'selfRanges'>;

const hits = (target: string, ranges: readonly string[]): string[] => [...new Set(ranges.filter((r) => rangesOverlap(target, r)))].slice(0, 10);

/** The own and loopback ranges `target` covers (empty: none). */
export function selfHits(target: string, ctx: IpGuardContext): string[] {
  return hits(target, [...LOOPBACK, ...(ctx.selfRanges ?? [])]);
}

/** The protected ranges `target` is or covers (empty: none). `target` is canonical. */
export function protectedHits(target: string, ctx: IpGuardContext): string[] {
  const out = hits(target, [...BUILTIN_PROTECTED, ...(ctx.protectedRanges ?? [])]);
  const addr = target.split('/')[0] as string;
  if (out.length === 0 && ctx.isProtected(addr)) out.push(addr);
  return out;
}

/**
 * Judges `target` (canonical) as an entry to add; null when it may be added.
 * `force` lets a `protected` hit through (a person's, audited by the caller).
 */
export function judgeIpEntry(
  target: string,
  ctx: IpGuardContext,
  limits: Pick<GuardrailLimits, 'minPrefixV4' | 'minPrefixV6'>,
  opts: { force?: boolean } = {},
): IpRefusal | null {
  const tooWide = wideness(target, limits);
  if (tooWide) return { code: 'too_wide', forceable: false, covers: [], reason: tooWide };
  const own = selfHits(target, ctx);
  if (own.length) return { code: 'self', forceable: false, covers: own, reason: `${target} is or covers loopback or the daemon's own address (${own.join(', ')}); never, not even forced` };
  if (!opts.force) {
    const prot = protectedHits(target, ctx);
    if (prot.length) return { code: 'protected', forceable: true, covers: prot, reason: `${target} is or covers a protected address (${prot.join(', ')})` };
  }
  return null;
}

/** Why `target` is wider than the limits allow (in either family, as HAProxy matches it), or null. */
export function wideness(target: string, limits: Pick<GuardrailLimits, 'minPrefixV4' | 'minPrefixV6'>): string | null {
  const w = widestPrefix(target);
  if (!w) return null;
  if (w.v4 !== null && w.v4 < limits.minPrefixV4) {
    const as = parseIp(target)?.family === 6 ? ` (it holds ${w.v4 === 0 ? 'every IPv4 client' : `an IPv4 /${w.v4}`} through ::ffff:0:0/96)` : '';
    return `${target} is wider than /${limits.minPrefixV4}${as}`;
  }
  if (w.v6 !== null && w.v6 < limits.minPrefixV6) return `${target} is wider than /${limits.minPrefixV6}`;
  return null;
}
