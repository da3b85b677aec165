/**
 * One action as a unit: what its target is, how a raw target is checked,
 * how it is carried out, what undoes it, and the properties the policy's
 * guardrails read (instead of lists of action names). Adding an action is
 * one file implementing ActionUnit plus one line in registry.ts.
 */

/** What a unit's target names: an address or CIDR, `backend/server`, or nothing. */
export type TargetKind = 'ip' | 'server' | 'none';

/**
 * What carrying out an action may touch, built once by the composition root
 * (haproxy/adapters/action-deps.ts): the HAProxy side stays out of the units and the policy.
 * `actor` is who the change is logged for (`rule:name`, `person:alice`).
 */
export interface ActionDeps {
  ipLists: {
    /** A (temporary when expiresAt is set) block, extending one already there; returns a short result text. */
    block(actor: string, ip: string, reason: string, expiresAt: string | null): Promise<string>;
    unblock(actor: string, ip: string): Promise<void>;
    trust(actor: string, ip: string, note: string): Promise<void>;
    untrust(actor: string, ip: string): Promise<void>;
  };
  serverState(actor: string, backend: string, server: string, state: 'maint' | 'drain' | 'ready'): Promise<void>;
  reload(actor: string): Promise<void>;
  restart(): Promise<void>;
}

/**
 * What a unit reads of the record it carries out or describes: a stored
 * ActionRecord (pipeline/policy/actions.ts) is one. Units see nothing else of
 * the policy, so the policy may read the units without a cycle.
 */
export interface ActionRequest {
  target: string | null;
  /** Block TTL in seconds; null: permanent (a person's) or not timed. */
  ttlS: number | null;
  reason: string;
  decidedBy: string;
  /** The policy rule's name, or the person's user name. */
  actor: string | null;
}

export interface ActionUnit<Target = unknown> {
  readonly name: string;
  readonly targetKind: TargetKind;
  /**
   * What it does to access: `narrows` (a block: never on a protected
   * address), `widens` (unblock, trust, untrust, enable: never enforced on an
   * LLM's word), `none`.
   */
  readonly access: 'narrows' | 'widens' | 'none';
  /**
   * Its target becomes an entry HAProxy matches clients against (block,
   * trust): the guardrails judge every client the entry covers, in both
   * families, against loopback, the daemon's own path and the protected set.
   */
  readonly addsEntry?: boolean;
  /** It carries a TTL and lapses (a block): a daemon-made one must have a TTL; it counts against the concurrent-blocks cap. */
  readonly timed: boolean;
  /** False for a mere message (notify): no cooldown, not counted in the hourly cap. */
  readonly change: boolean;
  /** The action that undoes a done one, if any (block_ip -> unblock_ip). Checked to exist at load (registry.ts). */
  readonly inverse?: string;
  /** One line for the model's prompt: what it does and what its target is (the analysis tier's action list). */
  readonly help: string;
  /** The name the model sees when it differs (notify is `notify_only` there: tell a person, change nothing). */
  readonly modelName?: string;
  /** Parses a raw target; throws AppError('validation') when it does not fit. `none` units ignore it. */
  validate(raw: string | null): Target;
  /** The canonical text stored for a valid target (null for `none`). */
  text(t: Target): string | null;
  /** Carries it out; returns a short result text. Throws on failure (the executor records it). */
  execute(deps: ActionDeps, target: Target, request: ActionRequest): Promise<string>;
  /** One line for people: what this record does. */
  describe(request: ActionRequest): string;
}

/** The actor text a change is logged under. */
export const actorOf = (r: ActionRequest) => `${r.decidedBy}:${r.actor ?? 'unknown'}`;
