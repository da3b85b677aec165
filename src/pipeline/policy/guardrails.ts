/**
 * Guardrails: checks no policy can switch off, applied to every candidate
 * after the policy gave it a mode. A refused candidate keeps its place in the
 * result with mode `refused`, a code and a reason, for the audit.
 *
 * - Targets must parse: IP or CIDR (canonicalised) for block/unblock/trust/
 *   untrust; `backend/server` from a safe alphabet for server actions; none
 *   for reload, restart and notify.
 * - A block or a trust (a unit that `addsEntry`) is judged by every client
 *   it covers in both families as HAProxy matches them (ip-guard.ts): never
 *   loopback or the daemon's own path, never a loopback, local, link-local,
 *   CGNAT, unspecified, trusted, trusted-proxy, backend-server or configured
 *   protected address, nor a range that covers one (`::8000:0:0/81` covers
 *   every IPv4 client); no IP action on a range wider than /16 (IPv4, the
 *   IPv4 clients an IPv6 range holds included) or /32 (IPv6).
 * - A daemon-made block always has a TTL (at most maxBlockTtlS); only a
 *   person (`actor: 'person'`) may make one permanent.
 * - A model names no one but the incident's subject: an address action
 *   recommended by an LLM (origin `llm`) must target exactly the subject
 *   address (a /32 or /128 of it is the same; its IPv4-mapped form too, as
 *   parseIp canonicalises it). Any other address, any range (even one holding
 *   the subject: it covers other clients too) and any address on an incident
 *   whose subject is not an address are refused (`target_not_subject`).
 *   Judged after the coverage checks above, so a protected or too-wide
 *   target keeps its more telling code; only decide() knows the subject.
 * - Widening access or changing trust (a unit whose `access` is `widens`:
 *   unblock, trust, untrust, enable) on an LLM's word is never enforced by
 *   the daemon (a person approving the proposal may).
 * What each action targets, widens, lapses or changes is its unit's
 * property (pipeline/actions/), not a list of names here.
 * - Per (action, target), notify excepted: one enforce/propose per cooldown; the same
 *   candidate twice in one call is a duplicate.
 * - Caps: enforced actions per rolling hour for what can hurt the host
 *   (hourlyCapped: ranges, trust, server state, reloads, restarts, anything
 *   the model asked for), and live blocks (capacity). A rule's block of one
 *   address is bounded by capacity alone: an hourly count of those would be
 *   a kill switch (100 throwaway addresses and automatic blocking is off for
 *   everyone after them).
 */
import type { ActionType, Decision, GuardrailCode, GuardrailLimits, Origin, PolicyContext, RecentAction, Subject } from './types.js';
import { DEFAULT_LIMITS } from './types.js';
import { unitOf } from '../actions/registry.js';
import { describe } from '../../errors.js';
import { parseIp } from '../../validate/ip.js';

import { BUILTIN_PROTECTED, judgeIpEntry, protectedHits, selfHits, wideness, type IpGuardContext } from './ip-guard.js';

export { BUILTIN_PROTECTED };

export type TargetCheck = { ok: true; target: string | null } | { ok: false; reason: string };

/** Parses and canonicalises an action's target with its unit. */
export function checkTarget(action: ActionType, raw: string | null | undefined): TargetCheck {
  const u = unitOf(action);
  try {
    return { ok: true, target: u.text(u.validate(raw ?? null)) };
  } catch (e) {
    return { ok: false, reason: describe(e) };
  }
}

/** The own, loopback or protected range a target is or covers (in either family), or null. `target` is canonical. */
export function protectedHit(target: string, ctx: IpGuardContext): string | null {
  return selfHits(target, ctx)[0] ?? protectedHits(target, ctx)[0] ?? null;
}

/** One address, not a range (canonical targets have no /32 or /128). */
export const isSingleAddress = (target: string | null): boolean => target !== null && parseIp(target)?.isCidr === false;

/**
 * Whether an enforced action counts against (and is held to) the hourly cap.
 * Everything is, except a block of a single address the rules or the policy
 * decided: narrowing access for one client cannot hurt the host, and the
 * guardrails have judged that client already.
 */
export function hourlyCapped(a: { action: ActionType; origin: Origin | 'person'; target: string | null }): boolean {
  const u = unitOf(a.action);
  if (!u.change) return false;
  return !(u.timed && u.access === 'narrows' && a.origin !== 'llm' && isSingleAddress(a.target));
}

/** A stored record's origin, for hourlyCapped. */
export const originOf = (decidedBy: string | undefined): Origin | 'person' => (decidedBy === 'llm' ? 'llm' : decidedBy === 'person' ? 'person' : 'rules');

/** True when `target` is exactly the subject's one address (see the module contract); a range never is. */
export function isSubjectAddress(target: string, subject: Subject): boolean {
  if (subject.type !== 'ip') return false;
  const s = parseIp(subject.value);
  const t = parseIp(target);
  return s !== null && t !== null && !s.isCidr && !t.isCidr && s.text === t.text;
}

/** Why an LLM's address target is not the subject, or null when it is. The subject's own text is shown only when it is an address. */
function offSubject(target: string, subject: Subject): string | null {
  if (isSubjectAddress(target, subject)) return null;
  if (subject.type !== 'ip') return `the incident's subject is a ${subject.type}, not an address: a model may not name ${target}`;
  const s = parseIp(subject.value)?.text ?? 'unreadable';
  return parseIp(target)?.isCidr
    ? `${target} is a range, not the incident's subject ${s}: a model may name only the subject`
    : `${target} is not the incident's subject ${s}: a model may name only the subject`;
}

export interface GuardrailState {
  limits: GuardrailLimits;
  /** Enforced hourly-capped actions in the last hour, including those accepted in this call. */
  enforcedLastHour: number;
  /** Blocks live, including those accepted in this call. */
  blocks: number;
  /** `${action} ${target}` accepted in this call. */
  seen: Set<string>;
  recent: readonly RecentAction[];
  now: number;
}

export function guardrailState(ctx: PolicyContext): GuardrailState {
  const limits = { ...DEFAULT_LIMITS, ...(ctx.limits ?? {}) };
  const hourAgo = ctx.now - 3_600_000;
  return {
    limits,
    enforcedLastHour: ctx.cappedLastHour ?? ctx.recentActions.filter((a) => a.mode === 'enforce' && a.at > hourAgo && hourlyCapped({ action: a.action, origin: originOf(a.decidedBy), target: a.target })).length,
    blocks: ctx.currentBlocks,
    seen: new Set(),
    recent: ctx.recentActions,
    now: ctx.now,
  };
}

function refuse(d: Decision, code: GuardrailCode, reason: string): Decision {
  return { ...d, mode: 'refused', guardrail: code, reason: `guardrail ${code}: ${reason}` };
}

const boundedText = (s: unknown) => (typeof s === 'string' ? s.slice(0, 128) : null);

/**
 * Applies every guardrail to one candidate (whose target is still raw) and
 * updates `state` when it passes. `actor: 'person'` is for a person's own
 * action (the API): it alone may make a block permanent. `subject` is the
 * incident's (decide() gives it): an LLM's address actions are held to it.
 */
export function applyGuardrails(d: Decision, ctx: PolicyContext, state: GuardrailState, actor: 'daemon' | 'person' = 'daemon', subject?: Subject): Decision {
  if (d.mode === 'refused') return { ...d, target: boundedText(d.target) };
  const t = checkTarget(d.action, d.target);
  if (!t.ok) return refuse({ ...d, target: boundedText(d.target) }, 'bad_target', t.reason);
  let out: Decision = { ...d, target: t.target };
  const { limits } = state;
  const unit = unitOf(out.action);

  if (out.target !== null && unit.targetKind === 'ip') {
    // Force is a person's, through the API's manual block, never a decision's.
    const v = unit.addsEntry ? judgeIpEntry(out.target, ctx, limits) : null;
    // `self` is a `protected` refusal to the audit; its reason says it cannot be forced.
    if (v) return refuse(out, v.code === 'self' ? 'protected' : v.code, v.reason);
    const wide = wideness(out.target, limits);
    if (wide) return refuse(out, 'too_wide', wide);
    if (subject && out.origin === 'llm') {
      const why = offSubject(out.target, subject);
      if (why) return refuse(out, 'target_not_subject', why);
    }
  }

  if (unit.timed) {
    if (out.ttl_s === null || !(out.ttl_s > 0)) {
      if (actor !== 'person') return refuse(out, 'permanent_block', 'a block always expires unless a person made it permanent');
    } else if (out.ttl_s > limits.maxBlockTtlS) {
      out = { ...out, ttl_s: limits.maxBlockTtlS, reason: `${out.reason} (ttl cut to ${limits.maxBlockTtlS}s)` };
    }
  } else {
    out = { ...out, ttl_s: null };
  }

  if (actor !== 'person' && out.mode === 'enforce' && out.origin === 'llm' && unit.access === 'widens') {
    return refuse(out, 'widening_from_llm', `${out.action} on an LLM's recommendation is never enforced (propose it instead)`);
  }

  const key = `${out.action} ${out.target ?? ''}`;
  if (state.seen.has(key)) return refuse(out, 'duplicate', `${key.trim()} was already decided in this call`);

  // A notification is not a change: the notifier deduplicates, so no cooldown.
  if ((out.mode === 'enforce' || out.mode === 'propose') && unit.change) {
    const since = state.now - limits.cooldownMs;
    const prior = state.recent.find((a) => a.action === out.action && a.target === out.target && (a.mode === 'enforce' || a.mode === 'propose') && a.at > since);
    if (prior) return refuse(out, 'cooldown', `${key.trim()} was ${prior.mode === 'enforce' ? 'done' : 'proposed'} ${Math.round((state.now - prior.at) / 1000)}s ago (cooldown ${limits.cooldownMs / 1000}s)`);
  }

  if (out.mode === 'enforce' && unit.change) {
    const capped = hourlyCapped(out);
    if (capped && state.enforcedLastHour >= limits.maxActionsPerHour) return refuse(out, 'cap_per_hour', `${limits.maxActionsPerHour} actions that can hurt the host (ranges, trust, server state, reloads, restarts, the model's) already enforced in the last hour`);
    if (unit.timed && state.blocks >= limits.maxConcurrentBlocks) return refuse(out, 'cap_blocks', `${limits.maxConcurrentBlocks} blocks already live (capacity)`);
    if (capped) state.enforcedLastHour++;
    if (unit.timed) state.blocks++;
  }
  state.seen.add(key);
  return out;
}
