/**
 * Remediation: incidents -> the policy (pipeline/policy) -> recorded actions,
 * enforced ones carried out through the same operations the API uses (a block
 * is a temporary block with its TTL, live through the runtime API).
 *
 * Contract: every decision is recorded (enforce, propose, dry-run and
 * refused alike) with who or what decided, the incident and the reason;
 * enforced actions are carried out at once and marked done or failed; a
 * person approves, rejects or reverts through the API, and an approved
 * action is re-checked against the guardrails just before it runs. Nothing
 * here throws into the log pipeline: failures are recorded and logged.
 */
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { HaproxyControl } from '../haproxy/process.js';
import type { Incident } from '../pipeline/incidents.js';
import type { ProtectedAddresses } from '../pipeline/monitor.js';
import { decide } from '../pipeline/policy/decide.js';
import type { Policy } from '../pipeline/policy/schema.js';
import { approve, markDone, markFailed, recheck, recordFromDecision, reject, revert, type ActionRecord } from '../pipeline/policy/actions.js';
import type { Analysis, GuardrailLimits, PolicyContext } from '../pipeline/policy/types.js';
import { durationMs } from '../util/duration.js';
import { actions as store } from '../storage/actions.js';
import { blocked } from '../storage/ip-lists.js';
import { AppError, describe } from '../errors.js';
import { blockIp, trustIp, unblockIp, untrustIp, type Ops } from './ip-lists.js';
import { changeServerState } from './domains.js';

export interface RemediationDeps {
  cfg: Config;
  log: Logger;
  writer: Db;
  reader: Db;
  ops: Ops;
  control: HaproxyControl;
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
  r.status === 'proposed' || r.status === 'failed' || (r.status === 'done' && !(r.action === 'notify' && r.decidedBy === 'rule'));

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
    recentActions: store.recent(d.reader, now - WEEK),
    currentBlocks: blocked.list(d.reader).length,
    isProtected: d.isProtected,
    protectedRanges: d.isProtected.ranges(),
    limits,
  });

  /** Carries out one action; returns a short result text. */
  const execute = async (r: ActionRecord): Promise<string> => {
    const actor = `${r.decidedBy}:${r.actor ?? 'unknown'}`;
    const target = r.target ?? '';
    switch (r.action) {
      case 'block_ip': {
        const expiresAt = r.ttlS ? new Date(Date.now() + r.ttlS * 1000).toISOString() : null;
        const res = await blockIp(d.ops, actor, { ip: target, reason: r.reason.slice(0, 500), blockedBy: actor, expiresAt }, { extendIfPresent: true });
        return `blocked${expiresAt ? ` until ${res.result.row.expires_at ?? 'permanently'}` : ' permanently'} (runtime: ${res.runtimeApplied})`;
      }
      case 'unblock_ip':
        await unblockIp(d.ops, actor, target);
        return 'unblocked';
      case 'trust_ip':
        await trustIp(d.ops, actor, target, 'real_ip', r.reason.slice(0, 500));
        return 'trusted';
      case 'untrust_ip':
        await untrustIp(d.ops, actor, target, 'real_ip');
        return 'no longer trusted';
      case 'disable_server':
      case 'enable_server':
      case 'drain_server': {
        const [backend, server] = target.split('/');
        if (!backend || !server) throw new AppError('validation', `not a backend/server: ${target}`);
        const state = r.action === 'disable_server' ? 'maint' : r.action === 'drain_server' ? 'drain' : 'ready';
        await changeServerState(d.ops, actor, backend, server, state);
        return `server ${target} ${state}`;
      }
      case 'reload_haproxy':
        await d.ops.applier.reloadLive(actor);
        return 'reloaded';
      case 'restart_haproxy':
        await d.control.restart();
        return 'restarted';
      default:
        return 'recorded';
    }
  };

  const run = async (r: ActionRecord): Promise<ActionRecord> => {
    try {
      const result = await execute(r);
      let done = markDone(r, Date.now(), result);
      if (r.action === 'block_ip' && r.ttlS) done = { ...done, expiresAt: Date.now() + r.ttlS * 1000 };
      done = store.save(d.writer, done);
      d.log.info(`action done: ${r.action}`, { action_id: r.id, target: r.target ?? undefined, incident_id: r.incidentId ?? undefined, result });
      return done;
    } catch (e) {
      d.log.error(`action failed: ${r.action}`, { action_id: r.id, target: r.target ?? undefined, error: describe(e) });
      return store.save(d.writer, markFailed(r, Date.now(), describe(e)));
    }
  };

  const need = (id: number): ActionRecord => {
    const r = store.get(d.reader, id);
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

  /** One decision round: decide, record every decision, carry out the enforced ones, tell. */
  const round = async (inc: Incident, analysis: Analysis | null): Promise<ActionRecord[]> => {
    const out: ActionRecord[] = [];
    try {
      const now = Date.now();
      const decisions = analysis
        ? decide(d.policy, { ...inc, actions: [] }, analysis, context(now)).filter((x) => x.origin !== 'policy')
        : decide(d.policy, inc, null, context(now));
      for (const dec of decisions) {
        const rec = store.save(d.writer, recordFromDecision(dec, { now, analysisSummary: analysis?.summary ?? null }));
        d.log.info(`action ${rec.status}: ${rec.action}`, { action_id: rec.id, mode: rec.mode, target: rec.target ?? undefined, incident_id: inc.id, rule: rec.actor ?? undefined, reason: rec.reason.slice(0, 200) });
        out.push(rec.mode === 'enforce' ? await run(rec) : rec);
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
      const r = transition(() => approve(cur, by, Date.now()));
      const why = recheck(r, context(Date.now()));
      const out = why ? store.save(d.writer, markFailed(r, Date.now(), `refused at approval: ${why}`)) : await run(store.save(d.writer, r));
      tell({ incidentId: out.incidentId, records: [out] });
      return out;
    },

    reject(id: number, by: string, note?: string): ActionRecord {
      const cur = need(id);
      return store.save(d.writer, transition(() => reject(cur, by, Date.now(), note)));
    },

    /** Undoes a done action by carrying out its inverse (recorded as the person's). */
    async revert(id: number, by: string): Promise<{ reverted: ActionRecord; inverse: ActionRecord }> {
      const cur = need(id);
      const { reverted, inverse } = transition(() => revert(cur, by, Date.now()));
      const inv = store.save(d.writer, inverse);
      const done = await run(inv);
      tell({ incidentId: done.incidentId, records: [done] });
      if (done.status !== 'done') throw new AppError('runtime', `the inverse action failed: ${done.result ?? ''}`);
      return { reverted: store.save(d.writer, reverted), inverse: done };
    },

    list: (opts: { limit: number; status?: string }) => store.list(d.reader, opts),
    get: (id: number) => need(id),
  };
}

export type Remediation = ReturnType<typeof createRemediation>;
