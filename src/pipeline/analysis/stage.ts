/**
 * The analysis stage: incidents the policy sends to the LLM tier (policy.yaml
 * `analyse`) -> the analysis queue -> the analyser -> the analysis stored
 * and handed to remediation, whose policy decides what, if anything, is done.
 *
 * Contract:
 * - Nothing is queued when `analysis.enabled` is false: every incident is
 *   then settled by the rules alone (the default).
 * - An incident is queued when it opens or escalates and an `analyse` entry
 *   matches, unless a `settled` entry does (its rule settles it alone); its
 *   final outcome (analysed, skipped, failed) is stored once in
 *   `analyses` (retries are not rows) and logged.
 * - The model's recommendations are data for the policy and the guardrails;
 *   nothing here carries one out.
 * - Never throws into the log pipeline; `stop()` aborts calls in flight.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../storage/db.js';
import type { Incident } from '../incidents/group.js';
import { createAnalyser, resolveApiKey, type Analyser, type AnalysisOutcome } from './analyser.js';
import { createRedactor } from '../redact/text.js';
import { createAnalysisQueue, type QueueOutcome } from './queue.js';
import type { AnalysisContext } from './prompt.js';
import { analyseEntry, settledEntry } from '../policy/decide.js';
import { fromAnalysisResult } from '../policy/analysis.js';
import type { Policy } from '../policy/schema.js';
import { analyses } from '../../storage/analyses.js';
import { actions as actionStore } from '../../storage/actions.js';
import { blocked, trusted } from '../../storage/ip-lists.js';
import { parseIp } from '../../validate/ip.js';
import { describe } from '../../errors.js';
import type { Remediation } from '../remediation/executor.js';

/** Health of a backend's servers, as the analysis prompt shows it. Bounded by the implementation. */
export type BackendHealth = (backend: string, server?: string) => Promise<NonNullable<AnalysisContext['backendHealth']>>;

export interface AnalysisStageDeps {
  cfg: Config;
  log: Logger;
  writer: Db;
  reader: Db;
  policy: Policy;
  remediation: Remediation;
  /** The health rows of `backend` (or only `server` in it) for the analysis context; a port (haproxy/adapters/backend-health.ts). */
  backendHealth: BackendHealth;
  env?: NodeJS.ProcessEnv;
  /** Replaces the analyser built from the config (tests). */
  analyser?: Analyser;
  /** In a fleet: one analysis per fleet incident (fleet/analysis.ts). Absent: every analysis is this node's own. */
  share?: ShareAnalysis;
}

/**
 * Shares analyses among a fleet's nodes: `local()` asks this node's analyser;
 * the outcome may be another node's verdict (marked `by`), already checked as
 * a model's reply is. Never throws.
 */
export type ShareAnalysis = (inc: Incident, local: () => Promise<AnalysisOutcome>) => Promise<AnalysisOutcome>;

/** The API key: a systemd credential `anthropic-api-key`, else `analysis.api_key_file`, else the named environment variable. */
export function analysisApiKey(cfg: Config, env: NodeJS.ProcessEnv): string | null {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      throw new Error(`analysis.api_key_file: cannot read ${p}: ${(e as Error).message}`);
    }
  };
  if (env.CREDENTIALS_DIRECTORY) {
    try {
      const k = readFileSync(join(env.CREDENTIALS_DIRECTORY, 'anthropic-api-key'), 'utf8').trim();
      if (k) return k;
    } catch {
      // No such credential: fall through to the file and the environment.
    }
  }
  return resolveApiKey(cfg.analysis, env, read);
}

export function createAnalysisStage(d: AnalysisStageDeps) {
  const { cfg, log } = d;
  const enabled = cfg.analysis.enabled;
  const apiKey = enabled && !d.analyser ? analysisApiKey(cfg, d.env ?? process.env) : null;
  if (enabled && !d.analyser && !apiKey) log.warn('analysis is enabled but no API key was found: incidents are settled by the rules alone', { api_key_env: cfg.analysis.api_key_env });
  const analyser = d.analyser ?? createAnalyser(cfg.analysis, { apiKey, log, redact: createRedactor({ extraKeys: cfg.redaction.extra_secret_keys }) });

  const context = async (inc: Incident): Promise<AnalysisContext> => {
    // findings: how often the rule fired; lines_matched: the most log lines one firing counted in the rule's window.
    const ctx: AnalysisContext = { counts: { findings: inc.count, lines_matched: inc.matched ?? inc.count, samples_kept: inc.samples.length } };
    const subject = inc.subject.type === 'ip' ? (parseIp(inc.subject.value)?.text ?? null) : inc.subject.value;
    if (inc.subject.type === 'ip' && subject) {
      ctx.subjectBlocked = blocked.get(d.reader, subject) !== null;
      ctx.subjectTrusted = trusted.get(d.reader, subject, 'real_ip') !== null;
    }
    ctx.recentActions = actionStore
      .about(d.reader, { incidentId: inc.id, target: subject, since: Date.now() - 7 * 86_400_000, limit: 10 })
      .map((a) => ({ type: a.action, target: a.target ?? '', at: new Date(a.createdAt).toISOString(), mode: a.mode, result: a.status }));
    if (inc.subject.type === 'backend' || inc.subject.type === 'server') {
      const [backend, server] = inc.subject.value.split('/');
      try {
        if (backend) ctx.backendHealth = await d.backendHealth(backend, server);
      } catch (e) {
        log.debug('backend health unavailable for the analysis', { error: describe(e) });
      }
    }
    return ctx;
  };

  const onOutcome = async (inc: Incident, trigger: string, o: QueueOutcome) => {
    if (o.status === 'skipped' && o.reason === 'stopped') return;
    const base = { incident_id: inc.id, created_at: Date.now(), trigger, cached: false, strong_model: false, model: null, summary: null, likely_cause: null, severity: null, confidence: null, recommendations: [], dropped: [] };
    try {
      if (o.status === 'analysed') {
        const r = o.result;
        analyses.save(d.writer, {
          ...base, status: 'analysed', reason: null, model: r.model, cached: o.cached, strong_model: o.strongModel,
          summary: r.summary, likely_cause: r.likelyCause, severity: r.severity, confidence: r.confidence,
          recommendations: r.recommendations, dropped: r.dropped, analysed_by: o.by ?? null,
        });
        if (o.by) log.info('incident analysed by another fleet node: its verdict goes to this node\'s policy', { incident_id: inc.id, analysed_by: o.by, model: r.model });
      } else {
        analyses.save(d.writer, { ...base, status: o.status, reason: o.status === 'failed' && o.detail ? `${o.reason}: ${o.detail}`.slice(0, 500) : o.reason });
        log.info(`incident not analysed: ${o.reason}`, { incident_id: inc.id, status: o.status });
      }
    } catch (e) {
      // The incident row may be gone (retention): the analysis is still acted on.
      log.warn('could not store the analysis', { incident_id: inc.id, error: describe(e) });
    }
    if (o.status === 'analysed') await d.remediation.onAnalysis(inc, fromAnalysisResult(o.result));
  };

  const queue = createAnalysisQueue({
    analyse: (inc, ctx, opts) => (d.share ? d.share(inc, () => analyser.analyse(inc, ctx, opts)) : analyser.analyse(inc, ctx, opts)),
    readyAt: () => analyser.notBefore(),
    context,
    onOutcome,
    log,
    // Incidents in the analyser at once: enough to fill two batches (the analyser makes at most two calls at once).
    concurrency: Math.max(2, cfg.analysis.batch.max_items * 2),
  });

  return {
    /** Told of every incident state change once it is stored. */
    onIncident(kind: 'opened' | 'escalated' | 'resolved', inc: Incident): void {
      if (!enabled || kind === 'resolved' || inc.id === 0) return;
      const trigger = analyseEntry(d.policy, inc);
      if (trigger && queue.enqueue(inc, trigger)) log.debug('incident queued for analysis', { incident_id: inc.id, trigger });
      else if (!trigger) {
        const settled = settledEntry(d.policy, inc);
        if (settled) log.debug('incident settled by the rules: not analysed', { incident_id: inc.id, settled });
      }
    },
    status() {
      return { enabled, api_key: enabled ? (apiKey || d.analyser ? 'set' : 'missing') : null, usage: analyser.usage(), queue: queue.stats(), stored: analyses.counts(d.reader) };
    },
    async stop(): Promise<void> {
      analyser.stop();
      await queue.stop();
    },
  };
}

export type AnalysisStage = ReturnType<typeof createAnalysisStage>;
