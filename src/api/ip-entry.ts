/**
 * A person's request to add an address entry (a block, a trust, a trusted
 * proxy), judged by the guardrails' own check (pipeline/policy/ip-guard.ts)
 * before anything changes: the same coverage in both families that rules and
 * the model are held to. A refusal is `policy_denied` (403) naming the field,
 * the guardrail and what the range covers; a refused request changes nothing.
 */
import type { ApiDeps } from './context.js';
import { AppError, validationError } from '../errors.js';
import { judgeIpEntry, protectedHits, type IpRefusal } from '../pipeline/policy/ip-guard.js';
import { DEFAULT_LIMITS } from '../pipeline/policy/types.js';
import { widestPrefix } from '../validate/ip.js';

/** `force` as sent: absent (false) or a boolean; anything else, null included, is a 400 (never read as true). */
export function forceOf(v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw validationError('force', 'must be true or false');
  return v;
}

const deny = (field: string, v: IpRefusal, hint = '') =>
  new AppError('policy_denied', `refused by guardrail ${v.code}: ${v.reason}${hint}`, { field, detail: { guardrail: v.code, covers: v.covers, forceable: v.forceable } });

const guardCtx = (d: Pick<ApiDeps, 'isProtected'>) => ({ isProtected: d.isProtected, protectedRanges: d.isProtected.ranges(), selfRanges: d.isProtected.self() });

/**
 * Judges a manual block of `ip` (canonical). Loopback, the daemon's own path
 * and ranges wider than the guardrails' /16 (IPv4) or /32 (IPv6) are never
 * blocked; a protected address only with `force`. Returns the protected
 * ranges a forced block covers (for the audit), empty otherwise.
 */
export function judgeManualBlock(d: Pick<ApiDeps, 'isProtected'>, ip: string, force: boolean, field = 'ip_address'): string[] {
  const ctx = guardCtx(d);
  const v = judgeIpEntry(ip, ctx, DEFAULT_LIMITS, { force });
  if (v) throw deny(field, v, v.forceable ? ' (send "force": true to block it anyway; it is audited)' : '');
  return force ? protectedHits(ip, ctx) : [];
}

/** A manual trust: never wider than the guardrails allow (::8000:0:0/81 would exempt every IPv4 client). */
export function judgeManualTrust(ip: string, field = 'ip_address'): void {
  const v = judgeIpEntry(ip, { isProtected: () => false }, DEFAULT_LIMITS);
  if (v?.code === 'too_wide') throw deny(field, v);
}

/** A trusted proxy: never one covering all of a family (every peer could then choose its client address). */
export function judgeManualProxy(cidr: string, field = 'cidr'): void {
  const w = widestPrefix(cidr);
  if (w && (w.v4 === 0 || w.v6 === 0)) {
    throw deny(field, { code: 'too_wide', forceable: false, covers: [], reason: `${cidr} covers every ${w.v4 === 0 ? 'IPv4' : 'IPv6'} client as HAProxy matches it` });
  }
}
