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
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../storage/db.js';
import type { Incident } from '../incidents/group.js';
import { decide } from '../policy/decide.js';
import type { Policy } from '../policy/schema.js';
import { approve, markDone, markFailed, recheck, recordFromDecision, reject, revert, type ActionRecord } from '../policy/actions.js';
import type { Analysis, Decision, GuardrailLimits, PolicyContext, ProtectedAddresses } from '../policy/types.js';
import { durationMs } from '../../util/duration.js';
import { actions as store } from '../../storage/actions.js';
import { blocked } from '../../storage/ip-lists.js';
import { AppError, describe } from '../../errors.js';
import type { ActionDeps } from '../actions/types.js';
import { allUnits, requireUnit } from '../actions/registry.js';
import { applyGuardrails, guardrailState, hourlyCapped, isSingleAddress, originOf } from '../policy/guardrails.js';
import { parseIp } from '../../validate/ip.js';
import { createFloodWatch } from './flood.js';

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
  /** Told once (then not for block_spike.quiet) when more blocks than block_spike.per_minute were enforced in a minute. */
  onBlockSpike?: (spike: BlockSpike) => void;
  /**
   * In a fleet (fleet/actions-sync.ts): this node's name, and what to wake
   * after a shared record is saved. Every new record gets a fleet id (it is
   * shared); another node's record is listed with its node, and a person
   * here may approve or revert it only when its effect is shared (an address
   * block or trust): it is then carried out here, judged by this node's own
   * guardrails like a local one. Absent on a single node.
   */
  fleet?: { node: string; changed(): void };
}

export interface BlockSpike {
  /** Blocks enforced in the last minute. */
  lastMinute: number;
  threshold: number;
  /** Blocks live now. */
  live: number;
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
const HOUR = 3_600_000;

/**
 * The targets a round may decide on, canonical where they parse: the
 * subject, the rules' suggestions, the analysis' recommendations (bounded,
 * as decide() bounds them).
 */
function roundTargets(inc: Incident, analysis: Analysis | null): string[] {
  const raw = [inc.subject.value, ...inc.actions.map((a) => a.target), ...(analysis?.recommended_actions.slice(0, 20).map((a) => a.target) ?? [])];
  const out = new Set<string>();
  for (const t of raw) if (typeof t === 'string' && t.length <= 200) out.add(parseIp(t)?.text ?? t);
  return [...out];
}

export function createRemediation(d: RemediationDeps) {
  const r = d.cfg.remediation;
  const limits: Partial<GuardrailLimits> = {
    maxActionsPerHour: r.max_actions_per_hour,
    maxConcurrentBlocks: r.max_concurrent_blocks,
    cooldownMs: durationMs(r.cooldown),
    maxBlockTtlS: Math.floor(durationMs(r.max_block_ttl) / 1000),
  };
  // Enforced hourly-capped records of the last hour (their times, oldest
  // first): kept here so a round reads only its own targets' records, not
  // the whole week's (a flood of 2,000 attackers would be 2,000 scans).
  const capped: number[] = store
    .recent(d.db, Date.now() - HOUR)
    .filter((a) => a.mode === 'enforce' && hourlyCapped({ action: a.action, origin: originOf(a.decidedBy), target: a.target }))
    .map((a) => a.at);
  const cappedSince = (now: number) => {
    while (capped.length && (capped[0] as number) <= now - HOUR) capped.shift();
    return capped.length;
  };
  const countCapped = (recs: readonly ActionRecord[]) => {
    for (const r of recs) if (r.mode === 'enforce' && hourlyCapped({ action: r.action, origin: originOf(r.decidedBy), target: r.target })) capped.push(r.createdAt);
  };
  /** Messages (notify) have no cooldown and no cap: a round never needs their records. */
  const recentOpts = {
    without: allUnits().filter((u) => !u.change).map((u) => u.name),
    targetless: allUnits().filter((u) => u.change && u.targetKind === 'none').map((u) => u.name),
  };

  /** The policy's context for a round about `targets` (canonical where they parse). */
  const context = (now: number, targets: readonly string[] | 'all'): PolicyContext => ({
    now,
    recentActions: targets === 'all' ? store.recent(d.db, now - WEEK) : store.recentFor(d.db, now - WEEK, targets, recentOpts),
    cappedLastHour: cappedSince(now),
    currentBlocks: blocked.count(d.db),
    isProtected: d.isProtected,
    protectedRanges: d.isProtected.ranges(),
    selfRanges: d.isProtected.self(),
    limits,
  });

  /** Saves a record; in a fleet a new one gets its fleet id, and the sync is woken (after the caller's transaction). */
  const save = (rec: ActionRecord): ActionRecord => {
    const out = store.save(d.db, d.fleet && rec.id === 0 && !rec.fleetId ? { ...rec, fleetId: randomUUID() } : rec);
    d.fleet?.changed();
    return out;
  };

  /** A record as the API shows it: the node that took it (this one's name for its own; null on a single node). */
  const shown = (rec: ActionRecord): ActionRecord & { fleetId: string | null; node: string | null } => ({ ...rec, fleetId: rec.fleetId ?? null, node: rec.node ?? d.fleet?.node ?? null });

  /** Another node's action may be acted on here only when its effect is shared by the fleet (an address). */
  const mayActOn = (rec: ActionRecord, what: string): void => {
    if (!rec.node || requireUnit(rec.action).targetKind === 'ip') return;
    throw new AppError('conflict', `cannot ${what} action ${rec.id}: node ${rec.node} took it and ${rec.action} acts on that node's own HAProxy; ${what} it on ${rec.node}`);
  };

  const ra = r.range_aggregation;
  const flood = createFloodWatch({
    threshold: ra.threshold,
    windowMs: durationMs(ra.window),
    prefixV4: ra.prefix_v4,
    prefixV6: ra.prefix_v6,
    spikePerMinute: r.block_spike.per_minute,
    spikeQuietMs: durationMs(r.block_spike.quiet),
  });

  /** Carries out one approved record through its unit and records done or failed. Never throws. */
  const run = async (r: ActionRecord): Promise<ActionRecord> => {
    try {
      const unit = requireUnit(r.action);
      const result = await unit.execute(d.actions, unit.validate(r.target), r);
      const done = save(markDone(r, Date.now(), result));
      d.log[r.action === 'notify' ? 'info' : 'notice'](`action done: ${r.action}`, { action_id: r.id, target: r.target ?? undefined, incident_id: r.incidentId ?? undefined, result });
      return done;
    } catch (e) {
      d.log.error(`action failed: ${r.action}`, { action_id: r.id, target: r.target ?? undefined, error: describe(e) });
      return save(markFailed(r, Date.now(), describe(e)));
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
      const ctx = context(now, roundTargets(inc, analysis));
      const decisions = analysis ? decide(d.policy, { ...inc, actions: [] }, analysis, ctx).filter((x) => x.origin !== 'policy') : decide(d.policy, inc, null, ctx);
      const recs = decisions.map((dec) => save(recordFromDecision(dec, { now, analysisSummary: analysis?.summary ?? null })));
      countCapped(recs);
      return recs;
    })();

  /**
   * After a rule's block of one address: when its range has filled up with
   * blocked attackers, a range block (guardrails, cooldown and the hourly cap
   * apply as to any block) is decided and recorded, in the mode the config
   * gives it. Null when none is due.
   */
  const aggregate = (blockedRec: ActionRecord): ActionRecord | null => {
    if (ra.mode === 'off' || blockedRec.decidedBy === 'llm' || !isSingleAddress(blockedRec.target)) return null;
    const full = flood.noteBlock(blockedRec.target as string, blockedRec.updatedAt);
    if (!full) return null;
    return d.db.transaction(() => {
      const now = Date.now();
      const ctx = context(now, [full.range]);
      const dec: Decision = {
        action: 'block_ip',
        target: full.range,
        ttl_s: blockedRec.ttlS,
        mode: ra.mode === 'enforce' ? 'enforce' : 'propose',
        origin: 'policy',
        policyRule: 'range_aggregation',
        reason: `range aggregation: ${full.addresses} addresses of ${full.range} blocked within ${ra.window}`,
        incidentId: blockedRec.incidentId ?? 0,
      };
      const rec = save(recordFromDecision(applyGuardrails(dec, ctx, guardrailState(ctx)), { now }));
      countCapped([rec]);
      return rec;
    })();
  };

  /** Counts an enforced block for the spike notice. */
  const noteRate = (rec: ActionRecord) => {
    const n = flood.noteRate(rec.updatedAt);
    if (n === null) return;
    const spike: BlockSpike = { lastMinute: n, threshold: r.block_spike.per_minute, live: blocked.count(d.db) };
    d.log.warn('block rate spike', { blocks_last_minute: n, threshold: spike.threshold, live: spike.live });
    try {
      d.onBlockSpike?.(spike);
    } catch (e) {
      d.log.error('block spike handler failed', { error: describe(e) });
    }
  };

  /** One decision round: decide and record every decision, then carry out the enforced ones, then tell. */
  const round = async (inc: Incident, analysis: Analysis | null): Promise<ActionRecord[]> => {
    const out: ActionRecord[] = [];
    try {
      const recs = decideAndRecord(inc, analysis);
      for (const rec of recs) {
        d.log.info(`action ${rec.status}: ${rec.action}`, { action_id: rec.id, mode: rec.mode, target: rec.target ?? undefined, incident_id: inc.id, rule: rec.actor ?? undefined, reason: rec.reason.slice(0, 200) });
      }
      for (const rec of recs) out.push(rec.mode === 'enforce' ? await run(rec) : rec);
      for (const rec of [...out]) {
        if (rec.status !== 'done' || !requireUnit(rec.action).timed) continue;
        noteRate(rec);
        const range = aggregate(rec);
        if (!range) continue;
        d.log.info(`action ${range.status}: ${range.action}`, { action_id: range.id, mode: range.mode, target: range.target ?? undefined, incident_id: inc.id, rule: 'range_aggregation', reason: range.reason.slice(0, 200) });
        out.push(range.mode === 'enforce' ? await run(range) : range);
      }
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
      mayActOn(cur, 'approve');
      const r = transition(() => approve(cur, by, Date.now()));
      // Its own proposal is not a prior action (recheck's contract).
      const ctx = context(Date.now(), r.target === null ? [] : [r.target]);
      const why = recheck(r, { ...ctx, recentActions: ctx.recentActions.filter((a) => a.id !== r.id) });
      const out = why ? save(markFailed(r, Date.now(), `refused at approval: ${why}`)) : await run(save(r));
      tell({ incidentId: out.incidentId, records: [out] });
      return shown(out);
    },

    reject(id: number, by: string, note?: string): ActionRecord {
      const cur = need(id);
      return shown(save(transition(() => reject(cur, by, Date.now(), note))));
    },

    /**
     * Undoes a done action by carrying out its inverse (recorded as the
     * person's). The inverse is held to the guardrails like an approval (a
     * revert of an unblock is a block): a refused one is policy_denied and
     * changes nothing.
     */
    async revert(id: number, by: string): Promise<{ reverted: ActionRecord; inverse: ActionRecord }> {
      const cur = need(id);
      mayActOn(cur, 'revert');
      const { reverted, inverse } = transition(() => revert(cur, by, Date.now()));
      const why = recheck(inverse, context(Date.now(), inverse.target === null ? [] : [inverse.target]));
      if (why) throw new AppError('policy_denied', `cannot revert action ${cur.id}: ${why}`, { field: 'id' });
      const inv = save(inverse);
      const done = await run(inv);
      tell({ incidentId: done.incidentId, records: [done] });
      if (done.status !== 'done') throw new AppError('runtime', `the inverse action failed: ${done.result ?? ''}`);
      return { reverted: shown(save(reverted)), inverse: shown(done) };
    },

    list: (opts: { limit: number; status?: string; incidentId?: number }) => store.list(d.db, opts).map(shown),
    get: (id: number) => shown(need(id)),
  };
}

export type Remediation = ReturnType<typeof createRemediation>;
