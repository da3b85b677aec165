/**
 * The executor: incidents -> the policy (pipeline/policy) -> recorded
 * actions, enforced ones carried out by their units (registry.ts) through
 * ActionDeps, the same operations the API uses (a block is a temporary block
 * with its TTL, live through the runtime API).
 *
 * Contract: every decision is recorded (enforce, propose, dry-run and
 * refused alike) with who or what decided, the incident and the reason;
 * enforced actions are carried out at once and marked done or failed; a
 * person approves, rejects or reverts through the API, and an approved
 * action is re-checked against the guardrails just before it runs. Nothing
 * here throws into the log pipeline: failures are recorded and logged.
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../storage/db.js';
import type { Incident } from '../incidents/group.js';
import { decide } from '../policy/decide.js';
import type { Policy } from '../policy/schema.js';
import { approve, markDone, markFailed, recheck, recordFromDecision, reject, revert, type ActionRecord } from '../policy/actions.js';
import type { Analysis, GuardrailLimits, PolicyContext, ProtectedAddresses } from '../policy/types.js';
import { durationMs } from '../../util/duration.js';
import { actions as store } from '../../storage/actions.js';
import { blocked } from '../../storage/ip-lists.js';
import { AppError, describe } from '../../errors.js';
import type { ActionDeps } from '../actions/types.js';
import { requireUnit } from '../actions/registry.js';

export interface RemediationDeps {
  cfg: Config;
  log: Logger;
  /**
   * The one connection records are written to and the policy's context is
   * read from: a decision must see every record made before it.
   */
  db: Db;
  /** What the units carry themselves out with (haproxy/adapters/action-deps.ts). */
  actions: ActionDeps;
  policy: Policy;
  /** Protected addresses (monitor.ts): the answer per address, and the ranges behind it. */
  isProtected: ProtectedAddresses;
  /**
   * Told once per decision round (an incident opening or escalating, an
   * analysis, a person's approval or revert) of the actions worth telling
   * people about: done (a rule's own `notify` excepted: the incident's
   * state-change message is that notification), proposed, failed. Not called
   * when the round produced none.
   */
  onActed?: (round: ActedRound) => void;
}

export interface ActedRound {
  incidentId: number | null;
  records: ActionRecord[];
  analysis?: Analysis;
}

/** Worth a message: something happened, waits for a person, or went wrong. */
const worthTelling = (r: ActionRecord) =>
  r.status === 'proposed' || r.status === 'failed' || (r.status === 'done' && !(!requireUnit(r.action).change && r.decidedBy === 'rule'));

const WEEK = 7 * 86_400_000;

export function createRemediation(d: RemediationDeps) {
  const r = d.cfg.remediation;
  const limits: Partial<GuardrailLimits> = {
    maxActionsPerHour: r.max_actions_per_hour,
    maxConcurrentBlocks: r.max_concurrent_blocks,
    cooldownMs: durationMs(r.cooldown),
    maxBlockTtlS: Math.floor(durationMs(r.max_block_ttl) / 1000),
  };
  const context = (now: number): PolicyContext => ({
    now,
    recentActions: store.recent(d.db, now - WEEK),
    currentBlocks: blocked.list(d.db).length,
    isProtected: d.isProtected,
    protectedRanges: d.isProtected.ranges(),
    selfRanges: d.isProtected.self(),
    limits,
  });

  /** Carries out one approved record through its unit and records done or failed. Never throws. */
  const run = async (r: ActionRecord): Promise<ActionRecord> => {
    try {
      const unit = requireUnit(r.action);
      const result = await unit.execute(d.actions, unit.validate(r.target), r);
      const done = store.save(d.db, markDone(r, Date.now(), result));
      d.log.info(`action done: ${r.action}`, { action_id: r.id, target: r.target ?? undefined, incident_id: r.incidentId ?? undefined, result });
      return done;
    } catch (e) {
      d.log.error(`action failed: ${r.action}`, { action_id: r.id, target: r.target ?? undefined, error: describe(e) });
      return store.save(d.db, markFailed(r, Date.now(), describe(e)));
    }
  };

  const need = (id: number): ActionRecord => {
    const r = store.get(d.db, id);
    if (!r) throw new AppError('not_found', `no action ${id}`, { field: 'id' });
    return r;
  };

  const transition = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new AppError('conflict', describe(e));
    }
  };

  const tell = (r: ActedRound) => {
    const records = r.records.filter(worthTelling);
    if (!records.length || !d.onActed) return;
    try {
      d.onActed({ ...r, records });
    } catch (e) {
      d.log.error('acted handler failed', { error: describe(e) });
    }
  };

  /**
   * Decides and records a round's every decision in one synchronous step
   * (one transaction: context read, decide, save, no await in between), so
   * a round started at the same moment for the same subject sees these
   * records in its cooldown and caps.
   */
  const decideAndRecord = (inc: Incident, analysis: Analysis | null): ActionRecord[] =>
    d.db.transaction(() => {
      const now = Date.now();
      const ctx = context(now);
      const decisions = analysis ? decide(d.policy, { ...inc, actions: [] }, analysis, ctx).filter((x) => x.origin !== 'policy') : decide(d.policy, inc, null, ctx);
      return decisions.map((dec) => store.save(d.db, recordFromDecision(dec, { now, analysisSummary: analysis?.summary ?? null })));
    })();

  /** One decision round: decide and record every decision, then carry out the enforced ones, then tell. */
  const round = async (inc: Incident, analysis: Analysis | null): Promise<ActionRecord[]> => {
    const out: ActionRecord[] = [];
    try {
      const recs = decideAndRecord(inc, analysis);
      for (const rec of recs) {
        d.log.info(`action ${rec.status}: ${rec.action}`, { action_id: rec.id, mode: rec.mode, target: rec.target ?? undefined, incident_id: inc.id, rule: rec.actor ?? undefined, reason: rec.reason.slice(0, 200) });
      }
      for (const rec of recs) out.push(rec.mode === 'enforce' ? await run(rec) : rec);
    } catch (e) {
      d.log.error('remediation failed for an incident', { incident_id: inc.id, error: describe(e) });
    }
    tell({ incidentId: inc.id, records: out, ...(analysis ? { analysis } : {}) });
    return out;
  };

  return {
    /** Decides and records what an incident that opened or escalated calls for; carries out what is enforced. */
    onIncident: (inc: Incident): Promise<ActionRecord[]> => round(inc, null),

    /**
     * Decides on an incident's analysis: only the analysis' recommendations
     * are candidates here (the rules' own suggestions and the policy's own
     * actions were decided when the incident opened or escalated).
     */
    onAnalysis: (inc: Incident, analysis: Analysis): Promise<ActionRecord[]> => round(inc, analysis),

    async approve(id: number, by: string): Promise<ActionRecord> {
      const cur = need(id);
      const r = transition(() => approve(cur, by, Date.now()));
      // Its own proposal is not a prior action (recheck's contract).
      const ctx = context(Date.now());
      const why = recheck(r, { ...ctx, recentActions: ctx.recentActions.filter((a) => a.id !== r.id) });
      const out = why ? store.save(d.db, markFailed(r, Date.now(), `refused at approval: ${why}`)) : await run(store.save(d.db, r));
      tell({ incidentId: out.incidentId, records: [out] });
      return out;
    },

    reject(id: number, by: string, note?: string): ActionRecord {
      const cur = need(id);
      return store.save(d.db, transition(() => reject(cur, by, Date.now(), note)));
    },

    /**
     * Undoes a done action by carrying out its inverse (recorded as the
     * person's). The inverse is held to the guardrails like an approval (a
     * revert of an unblock is a block): a refused one is policy_denied and
     * changes nothing.
     */
    async revert(id: number, by: string): Promise<{ reverted: ActionRecord; inverse: ActionRecord }> {
      const cur = need(id);
      const { reverted, inverse } = transition(() => revert(cur, by, Date.now()));
      const why = recheck(inverse, context(Date.now()));
      if (why) throw new AppError('policy_denied', `cannot revert action ${cur.id}: ${why}`, { field: 'id' });
      const inv = store.save(d.db, inverse);
      const done = await run(inv);
      tell({ incidentId: done.incidentId, records: [done] });
      if (done.status !== 'done') throw new AppError('runtime', `the inverse action failed: ${done.result ?? ''}`);
      return { reverted: store.save(d.db, reverted), inverse: done };
    },

    list: (opts: { limit: number; status?: string }) => store.list(d.db, opts),
    get: (id: number) => need(id),
  };
}

export type Remediation = ReturnType<typeof createRemediation>;
