/**
 * Action records: what was decided, by whom or what, on which incident, in
 * which mode, and what came of it; the SQL of the `actions` table; and the
 * pure transitions an API or executor applies to a record.
 *
 * States:
 *   proposed -> approved (a person) -> done | failed (the executor)
 *   proposed -> rejected (a person)
 *   approved -> done | failed        (enforce starts here, approved by the policy)
 *   done -> reverted (a person), which yields the inverse action as a new record
 *   done -> expired (a block whose TTL ran out and was lifted; final)
 *   dry-run records are `recorded`, refused ones `refused`: both final.
 * A transition from any other state is an error (PolicyTransitionError),
 * never a silent no-op.
 */
import type { ActionType, Decision, DecisionMode, PolicyContext } from './types.js';
import { applyGuardrails, guardrailState } from './guardrails.js';
import { requireUnit, unitOf } from '../actions/registry.js';

export const ACTION_STATUSES = ['proposed', 'approved', 'rejected', 'done', 'failed', 'reverted', 'recorded', 'refused', 'expired'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/** Who or what decided: a triage rule through the policy, the LLM through the policy, or a person. */
export type DecidedBy = 'rule' | 'llm' | 'person';

export interface ActionRecord {
  /** Database id; 0 before it is stored. */
  id: number;
  /** ms since epoch. */
  createdAt: number;
  updatedAt: number;
  /** null for a person's own action not tied to an incident. */
  incidentId: number | null;
  action: ActionType;
  target: string | null;
  /** Block TTL in seconds; null: not a block, or a permanent block a person made. */
  ttlS: number | null;
  /** When a block lapses (createdAt of `done` + ttl); null otherwise. */
  expiresAt: number | null;
  decidedBy: DecidedBy;
  /** The policy rule's name, or the person's user name. */
  actor: string | null;
  mode: DecisionMode;
  status: ActionStatus;
  /** Why (policy rule and description, or the guardrail's reason, or a person's note). */
  reason: string;
  /** The analysis' summary when there was one (bounded). */
  analysisSummary: string | null;
  /** The executor's or reviewer's outcome text (error message, HAProxy reply). */
  result: string | null;
  /** A person who approved, rejected or reverted it. */
  reviewedBy: string | null;
  /** For an inverse action: the record it reverts. */
  revertsId: number | null;
  /** In a fleet: the action's fleet-wide id (a uuid); null or absent on a single node. */
  fleetId?: string | null;
  /** In a fleet: the node that took it when that is another node; null or absent for this node's own. */
  node?: string | null;
}

export class PolicyTransitionError extends Error {
  readonly code = 'policy_denied';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyTransitionError';
  }
}

const initialStatus: Record<DecisionMode, ActionStatus> = { enforce: 'approved', propose: 'proposed', 'dry-run': 'recorded', refused: 'refused' };

/** The record for a decision, before it is stored (id 0). */
export function recordFromDecision(d: Decision, opts: { now: number; analysisSummary?: string | null }): ActionRecord {
  // The table no longer checks names (migration 7): the registry does, here.
  requireUnit(d.action);
  return {
    id: 0,
    createdAt: opts.now,
    updatedAt: opts.now,
    incidentId: d.incidentId || null,
    action: d.action,
    target: d.target,
    ttlS: d.ttl_s,
    expiresAt: null,
    decidedBy: d.origin === 'llm' ? 'llm' : 'rule',
    actor: d.policyRule,
    mode: d.mode,
    status: initialStatus[d.mode],
    reason: d.reason,
    analysisSummary: opts.analysisSummary ? opts.analysisSummary.slice(0, 1000) : null,
    result: null,
    reviewedBy: null,
    revertsId: null,
  };
}

function need(r: ActionRecord, from: ActionStatus[], what: string): void {
  if (!from.includes(r.status)) throw new PolicyTransitionError(`cannot ${what} action ${r.id}: it is ${r.status} (only ${from.join(' or ')})`);
}

/** A person approves a proposal; the executor then runs it. */
export function approve(r: ActionRecord, by: string, now: number): ActionRecord {
  need(r, ['proposed'], 'approve');
  return { ...r, status: 'approved', reviewedBy: by, updatedAt: now };
}

/** A person rejects a proposal. */
export function reject(r: ActionRecord, by: string, now: number, note?: string): ActionRecord {
  need(r, ['proposed'], 'reject');
  return { ...r, status: 'rejected', reviewedBy: by, updatedAt: now, result: note ?? r.result };
}

/** The executor ran an approved action. A block's expiry starts now. */
export function markDone(r: ActionRecord, now: number, result?: string): ActionRecord {
  need(r, ['approved'], 'complete');
  return { ...r, status: 'done', updatedAt: now, result: result ?? r.result, expiresAt: unitOf(r.action).timed && r.ttlS !== null ? now + r.ttlS * 1000 : null };
}

/** The executor failed to run an approved action. */
export function markFailed(r: ActionRecord, now: number, error: string): ActionRecord {
  need(r, ['approved'], 'fail');
  return { ...r, status: 'failed', updatedAt: now, result: error.slice(0, 1000) };
}

/** The action that undoes `action` (its unit's inverse), or null when it cannot be undone (reload, restart, notify, enable). */
export function inverseOf(action: ActionType): ActionType | null {
  return (unitOf(action).inverse as ActionType | undefined) ?? null;
}

/**
 * A person reverts a done action: the record becomes `reverted`, and the
 * inverse comes back as a new approved record (decided by that person) for
 * the executor. Reverting an unblock re-blocks for `ttlS` (default 1 h;
 * null: permanent, which only a person may do, and this is a person).
 */
export function revert(r: ActionRecord, by: string, now: number, opts: { ttlS?: number | null } = {}): { reverted: ActionRecord; inverse: ActionRecord } {
  need(r, ['done'], 'revert');
  const inv = inverseOf(r.action);
  if (inv === null) throw new PolicyTransitionError(`cannot revert action ${r.id}: ${r.action} has no inverse`);
  const ttlS = unitOf(inv).timed ? (opts.ttlS === undefined ? 3600 : opts.ttlS) : null;
  return {
    reverted: { ...r, status: 'reverted', reviewedBy: by, updatedAt: now },
    inverse: {
      id: 0,
      createdAt: now,
      updatedAt: now,
      incidentId: r.incidentId,
      action: inv,
      target: r.target,
      ttlS,
      expiresAt: null,
      decidedBy: 'person',
      actor: by,
      mode: 'enforce',
      status: 'approved',
      reason: `revert of action ${r.id} (${r.action}${r.target ? ` ${r.target}` : ''})`,
      analysisSummary: null,
      result: null,
      reviewedBy: by,
      revertsId: r.id,
    },
  };
}

/**
 * Before the executor runs an approved record (a person's approval, or a
 * revert's inverse), the guardrails run again as for a person: everything
 * still applies (protected addresses, width, caps, cooldown) except that a
 * person may widen access on an LLM's proposal and make a block permanent.
 * `ctx.recentActions` must not include `r` itself (its own proposal would
 * trip the cooldown). Returns null when it may run, else the refusal reason.
 */
export function recheck(r: ActionRecord, ctx: PolicyContext): string | null {
  const d: Decision = {
    action: r.action,
    target: r.target,
    ttl_s: r.ttlS,
    mode: 'enforce',
    origin: r.decidedBy === 'llm' ? 'llm' : r.decidedBy === 'rule' ? 'rules' : 'policy',
    policyRule: r.actor,
    reason: r.reason,
    incidentId: r.incidentId ?? 0,
  };
  const out = applyGuardrails(d, ctx, guardrailState(ctx), 'person');
  return out.mode === 'refused' ? out.reason : null;
}
