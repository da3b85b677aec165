/**
 * The remediation policy's vocabulary: the closed set of actions, the modes a
 * policy can give them, the analysis a policy may read, and what `decide()`
 * returns. Plain data; no I/O.
 */
import type { Severity, Subject, SubjectType } from '../types.js';

/**
 * The closed set of actions is the registry (pipeline/actions/registry.ts):
 * nothing else can be decided. What an action targets, whether it widens
 * access, lapses or is a mere message are properties of its unit.
 */
export { ACTION_TYPES, type ActionType } from '../actions/registry.js';
import type { ActionType } from '../actions/registry.js';

/** enforce: done now; propose: queued for a person; dry-run: recorded, not done (CrowdSec's simulation). */
export const MODES = ['enforce', 'propose', 'dry-run'] as const;
export type Mode = (typeof MODES)[number];
/** A decision's mode: a policy mode, or `refused` (by a guardrail, or because no policy rule allows it). */
export type DecisionMode = Mode | 'refused';

/** Where a candidate action came from. */
export type Origin = 'rules' | 'llm' | 'policy';
export const ORIGINS = ['rules', 'llm', 'policy'] as const;

/** One recommended action of an analysis. */
export interface RecommendedAction {
  type: string;
  target?: string | null;
  ttl_s?: number | null;
  reason?: string;
}

/**
 * An incident's analysis (tier 2). `source: 'llm'` for a model's reply,
 * `'rules'` for a tier-1 verdict stored in the same shape. Its recommended
 * actions are attacker-influenced data: the policy and the guardrails decide.
 */
export interface Analysis {
  source: 'rules' | 'llm';
  summary: string;
  likely_cause?: string;
  severity?: Severity;
  /** 0..1 */
  confidence: number;
  recommended_actions: RecommendedAction[];
}

/** A past or pending action, as the caller knows it (for caps, cooldowns and repeat offenders). */
export interface RecentAction {
  /** The stored record's id, when it is one (so a record can be left out of its own re-check). */
  id?: number;
  action: ActionType;
  /** Canonical target (IP text, backend/server), null when the action has none. */
  target: string | null;
  mode: DecisionMode;
  /** When it was decided (ms since epoch). */
  at: number;
  /** rule, llm or person (a stored record's decided_by): whether it counts against the hourly cap. */
  decidedBy?: string;
}

/** Guardrail limits (daemon settings, not policy: a policy file cannot loosen them). */
export interface GuardrailLimits {
  /** Enforced actions that can hurt the host (guardrails.ts hourlyCapped) per rolling hour. */
  maxActionsPerHour: number;
  /** Blocks live at once (the current ones plus those decided now): capacity, not a rate. */
  maxConcurrentBlocks: number;
  /** Per (action, target): no second enforce/propose within this long. */
  cooldownMs: number;
  /** The longest TTL a daemon-made block may have. */
  maxBlockTtlS: number;
  /** The widest CIDR that may be blocked, trusted, unblocked or untrusted. */
  minPrefixV4: number;
  minPrefixV6: number;
}

export const DEFAULT_LIMITS: GuardrailLimits = {
  maxActionsPerHour: 100,
  maxConcurrentBlocks: 100_000,
  cooldownMs: 10 * 60_000,
  maxBlockTtlS: 30 * 86_400,
  minPrefixV4: 16,
  minPrefixV6: 32,
};

/** What `decide()` needs besides the incident and its analysis. */
export interface PolicyContext {
  /** ms since epoch. */
  now: number;
  /** Actions decided recently (at least the cooldown and the hour; longer for repeat offenders). */
  recentActions: readonly RecentAction[];
  /** Blocks live now. */
  currentBlocks: number;
  /**
   * Enforced hourly-capped actions in the last hour, when the caller keeps
   * the count (the executor does; `recentActions` may then hold only the
   * records of this round's targets). Absent: counted from recentActions.
   */
  cappedLastHour?: number;
  /** Trusted, trusted-proxy and configured protected addresses (loopback and local ones are built in). */
  isProtected(ip: string): boolean;
  /** The ranges behind `isProtected`, so a CIDR covering one of them is refused too. */
  protectedRanges?: readonly string[];
  /** The daemon's own path (besides loopback, built in): never blocked or trusted, not even forced. */
  selfRanges?: readonly string[];
  /** Defaults to DEFAULT_LIMITS. */
  limits?: Partial<GuardrailLimits>;
}

/** One candidate action with its verdict. Refused ones are returned too, for the audit. */
export interface Decision {
  action: ActionType;
  /** Canonical target; null for actions without one. For refused candidates, the raw text (bounded). */
  target: string | null;
  /** Block TTL in seconds; null: none (non-block actions). */
  ttl_s: number | null;
  mode: DecisionMode;
  origin: Origin;
  /** The policy rule that gave the mode; null when none matched. */
  policyRule: string | null;
  /** Why: the policy rule's name and description, or the guardrail's reason. */
  reason: string;
  /** Set when a guardrail refused it (a stable code). */
  guardrail?: GuardrailCode;
  incidentId: number;
}

export type GuardrailCode =
  | 'no_policy'
  | 'unknown_action'
  | 'bad_target'
  | 'protected'
  | 'too_wide'
  | 'permanent_block'
  | 'widening_from_llm'
  | 'cap_per_hour'
  | 'cap_blocks'
  | 'cooldown'
  | 'duplicate'
  | 'target_not_subject';

export type { Severity, Subject, SubjectType };

/**
 * The addresses no block may cover (local ranges, configured ones, trusted
 * addresses and proxies, backend servers): a membership test plus the ranges
 * behind it, so a CIDR covering one of them is refused too. monitor/monitor.ts
 * builds it from the config and the database.
 */
export interface ProtectedAddresses {
  (ip: string): boolean;
  /** The ranges behind the answers, read afresh. */
  ranges(): readonly string[];
  /** The daemon's own path: the addresses it reaches HAProxy and the API on, besides loopback. */
  self(): readonly string[];
}
