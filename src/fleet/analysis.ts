/**
 * One LLM analysis per fleet incident (issue 17). Without this, every node
 * that sees a condition pays for its own model call; with it, one node (the
 * first to claim the fleet incident's analysis in PostgreSQL) calls the model
 * and stores its verdict, and every attached node takes that verdict for its
 * own incident: stored and shown with it (marked `analysed_by`) and handed to
 * its own policy, whose guardrails judge every recommended action as they
 * judge a local model's.
 *
 * Contract of `share(inc, local)` (the analysis stage's ShareAnalysis):
 * - The incident's fleet link is awaited (fleet/incidents.ts decides it);
 *   an incident the fleet could not be asked about is analysed locally.
 * - This node holds the claim: `local()` runs (the claim renewed meanwhile);
 *   an analysed outcome is stored as the fleet's verdict; any other outcome
 *   releases the claim (another node, or this one on its retry, claims it).
 * - Another node holds it: the verdict is polled for while the claim is
 *   renewed. A claim not renewed for `staleMs` (its node died, or lost the
 *   database) is taken over; a released one is claimed again.
 * - A stored verdict is data from another host: it is checked with the
 *   schema a model's reply is checked with (reply.ts replySchema) and its
 *   targets with this node's limits (checkTargets); a malformed one is
 *   refused, logged and audited (`fleet.analysis_refused`), and this node
 *   analyses locally.
 * - PostgreSQL unreachable, or no verdict within `waitMs` (bounded whatever
 *   the other node does): `local()` (a duplicate call is better than none);
 *   its verdict is offered to the fleet in case none is stored yet.
 * - Never throws (a failure is a local analysis).
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FleetSettings } from '../config/fleet.js';
import type { AnalysisConfig } from '../config/analysis.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { Unit } from '../units.js';
import type { Incident } from '../pipeline/incidents/group.js';
import type { AnalysisOutcome } from '../pipeline/analysis/analyser.js';
import type { AnalysisResult, RawReply } from '../pipeline/analysis/reply.js';
import { checkTargets, replySchema } from '../pipeline/analysis/reply.js';
import { describe } from '../errors.js';
import { recordAudit } from '../storage/audit.js';
import { claimAnalysis, releaseClaim, renewClaims, saveVerdict, type FleetAnalysisRow } from '../storage/pg/analyses.js';
import { pgConfig } from './connection.js';

export interface FleetAnalysisDeps {
  settings: FleetSettings;
  /** This node's database (the audit of refused verdicts). */
  db: Db;
  log: Logger;
  analysis: AnalysisConfig;
  /** The fleet incident a local incident is part of, once the fleet was asked (fleet/incidents.ts linked). */
  linked(incidentId: number): Promise<{ fleetId: number } | null>;
  /** Longest wait for another node's verdict before analysing here. */
  waitMs: number;
  /** A claim not renewed for this long is taken over. Default 15 s. */
  staleMs?: number;
  /** How often the verdict is looked for, and the claim renewed (staleMs / 3 at most). Default 500 ms. */
  pollMs?: number;
  /** A pool to use instead of one made from the settings at start (tests). */
  pool?: pg.Pool;
}

export interface FleetAnalysis extends Unit {
  share(inc: Incident, local: () => Promise<AnalysisOutcome>): Promise<AnalysisOutcome>;
  /** Calls this node made for the fleet and verdicts it took from others, since start. */
  stats(): { analysedHere: number; fromFleet: number; refused: number; local: number };
}

/** An analysis result as the fleet stores it: the reply tool's shape, so readers check it with the reply's own schema. */
export function toVerdict(r: AnalysisResult): RawReply {
  return {
    summary: r.summary,
    likely_cause: r.likelyCause,
    severity: r.severity,
    confidence: r.confidence,
    recommended_actions: r.recommendations.map((x) => ({ type: x.type, target: x.target, ...(x.ttl_s !== undefined ? { ttl_s: x.ttl_s } : {}), reason: x.reason })),
    needs_stronger_model: r.needsStrongerModel,
  };
}

/**
 * The longest a node waits for another's verdict: what that node's analysis
 * may take at most (the longest batch window, then the fast and the strong
 * model, each with one retry of an invalid reply and its retries of a
 * timeout). A dead analyser is noticed sooner: its claim goes stale.
 */
export function fleetAnalysisWaitMs(a: AnalysisConfig): number {
  const level = (l: { timeout_ms: number; max_retries: number } | undefined) => (l ? l.timeout_ms * 2 * (l.max_retries + 1) : 0);
  return Math.max(a.batch.max_wait_s, a.batch.max_wait_below_high_s) * 1000 + level(a.fast) + level(a.strong) + 10_000;
}

const MODEL = /^[A-Za-z0-9._:@/-]{1,200}$/;
const NODE = /^[A-Za-z0-9._-]{1,64}$/;

export function createFleetAnalysis(d: FleetAnalysisDeps): FleetAnalysis {
  const { log, analysis: cfg } = d;
  const node = d.settings.nodeName;
  const staleMs = d.staleMs ?? 15_000;
  const pollMs = Math.max(50, Math.min(d.pollMs ?? 500, Math.floor(staleMs / 3)));
  let pool: pg.Pool | null = d.pool ?? null;
  let timer: NodeJS.Timeout | null = null;
  /** Fleet incidents whose claim this node holds while its analysis runs. */
  const holding = new Set<number>();
  const counts = { analysedHere: 0, fromFleet: 0, refused: 0, local: 0 };

  /** The verdict checked as a model's reply; null (refused, audited) when it does not pass. */
  function fromVerdict(row: FleetAnalysisRow, inc: Incident): AnalysisOutcome | null {
    const reply = replySchema.safeParse(row.verdict);
    const by = row.analysedBy ?? row.analyser;
    const why = !reply.success
      ? `verdict: ${reply.error.issues[0] ? `${reply.error.issues[0].path.join('.')}: ${reply.error.issues[0].message}` : 'invalid'}`
      : typeof row.model !== 'string' || !MODEL.test(row.model)
        ? 'model: not a model name'
        : !NODE.test(by)
          ? 'analysed_by: not a node name'
          : null;
    if (why || !reply.success) {
      counts.refused++;
      log.warn('fleet analysis refused: the stored verdict is malformed; this node analyses the incident itself', { incident_id: inc.id, fleet_incident: row.fleetIncidentId, reason: why });
      recordAudit(d.db, { actor: `fleet:${NODE.test(by) ? by : 'unknown'}`, action: 'fleet.analysis_refused', target: `fleet_incident:${row.fleetIncidentId}`, detail: { incident_id: inc.id }, result: 'failed', error: why ?? 'invalid' });
      return null;
    }
    const model = row.model!;
    // Targets were mapped back by the analysing node: no pseudonyms here; this node's limits apply.
    const { kept, dropped } = checkTargets(reply.data, { pseudonyms: new Map(), minPrefixV4: cfg.min_prefix_v4, minPrefixV6: cfg.min_prefix_v6, max: cfg.max_recommendations, model });
    const result: AnalysisResult = {
      summary: reply.data.summary,
      likelyCause: reply.data.likely_cause,
      severity: reply.data.severity,
      confidence: reply.data.confidence,
      recommendations: kept,
      dropped,
      needsStrongerModel: reply.data.needs_stronger_model ?? false,
      model,
    };
    counts.fromFleet++;
    // This node's own verdict (asked again, say after an escalation): no `by`.
    return { status: 'analysed', result, fingerprint: `fleet:${row.fleetIncidentId}`, cached: true, strongModel: row.strongModel, ...(by !== node ? { by } : {}) };
  }

  /** This node holds the claim: analyse, then store the verdict or release the claim. */
  async function analyseHere(p: pg.Pool, fleetId: number, inc: Incident, local: () => Promise<AnalysisOutcome>): Promise<AnalysisOutcome> {
    holding.add(fleetId);
    let o: AnalysisOutcome;
    try {
      o = await local();
    } finally {
      holding.delete(fleetId);
    }
    try {
      if (o.status === 'analysed' && !o.by) {
        await saveVerdict(p, fleetId, node, { verdict: toVerdict(o.result), model: o.result.model, strongModel: o.strongModel });
        counts.analysedHere++;
        log.debug('fleet analysis stored for the other nodes', { incident_id: inc.id, fleet_incident: fleetId });
      } else {
        await releaseClaim(p, fleetId, node);
      }
    } catch (e) {
      log.warn('could not share the analysis with the fleet (the other nodes will analyse it themselves)', { incident_id: inc.id, fleet_incident: fleetId, error: describe(e) });
    }
    return o;
  }

  /** No verdict to take: analyse here, and offer the verdict in case none is stored yet. */
  async function alone(p: pg.Pool | null, fleetId: number | null, local: () => Promise<AnalysisOutcome>): Promise<AnalysisOutcome> {
    counts.local++;
    const o = await local();
    if (p && fleetId !== null && o.status === 'analysed' && !o.by) {
      await saveVerdict(p, fleetId, node, { verdict: toVerdict(o.result), model: o.result.model, strongModel: o.strongModel }).catch(() => undefined);
    }
    return o;
  }

  async function share(inc: Incident, local: () => Promise<AnalysisOutcome>): Promise<AnalysisOutcome> {
    const p = pool;
    const link = p ? await d.linked(inc.id).catch(() => null) : null;
    if (!p || !link) return alone(null, null, local);
    const deadline = Date.now() + d.waitMs;
    let waitingFor = '';
    try {
      for (;;) {
        const c = await claimAnalysis(p, link.fleetId, node, staleMs);
        if (c.claimed) return await analyseHere(p, link.fleetId, inc, local);
        const row = c.row;
        if (row?.status === 'analysed') {
          const o = fromVerdict(row, inc);
          return o ?? (await alone(null, null, local));
        }
        if (row && row.analyser !== waitingFor) {
          waitingFor = row.analyser;
          log.debug('waiting for the fleet analysis of another node', { incident_id: inc.id, fleet_incident: link.fleetId, analyser: row.analyser });
        }
        if (Date.now() >= deadline) {
          log.warn('no fleet analysis in time: this node analyses the incident itself', { incident_id: inc.id, fleet_incident: link.fleetId, analyser: waitingFor, wait_ms: d.waitMs });
          break;
        }
        // A row released between the claim and the read: claim again at once.
        if (row) await sleep(pollMs);
      }
    } catch (e) {
      log.warn('fleet database unreachable: this node analyses the incident itself (other nodes may too)', { incident_id: inc.id, error: describe(e) });
      return alone(null, null, local);
    }
    return alone(p, link.fleetId, local);
  }

  return {
    name: 'fleet-analysis',
    start() {
      if (!pool) {
        pool = new pg.Pool({ ...pgConfig(d.settings), max: 2, idleTimeoutMillis: 30_000 });
        pool.on('error', (e) => log.debug('fleet analysis pool connection lost', { error: describe(e) }));
      }
      const p = pool;
      timer = setInterval(() => {
        if (holding.size) renewClaims(p, [...holding], node).catch((e) => log.debug('could not renew the fleet analysis claims', { error: describe(e) }));
      }, pollMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      if (!d.pool) await pool?.end().catch(() => undefined);
      pool = null;
    },
    share,
    stats: () => ({ ...counts }),
  };
}
