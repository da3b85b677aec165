/**
 * The LLM analysis tier (tier 2): asks Claude, through @anthropic-ai/sdk, to
 * explain an incident and recommend actions from a closed set.
 *
 * Contract:
 * - `analyse()` never throws and never blocks the caller for longer than the
 *   configured timeouts (one HTTP request per attempt: the SDK never
 *   retries; at most one retry of an invalid reply and one escalation). It
 *   returns a typed outcome:
 *     analysed  the reply validated; `result` holds checked recommendations,
 *               each marked as coming from the model (policy decides);
 *     skipped   nothing was asked, or the API pushed back or failed in a way
 *               that passes (disabled, no key, budget spent, back-off, 429,
 *               529, unreachable; a timeout or 5xx while the incident has
 *               retries left, see `max_retries`): the caller may queue the
 *               incident and retry after `retryAfterMs`;
 *     failed    asked and gave up (a timeout or 5xx with no retry left, auth,
 *               an invalid reply twice, a reply over max_reply_bytes, another
 *               API error): the incident keeps its tier-1 verdict.
 * - The daemon owns retries: a 429, 529, 5xx, timeout or unreachable API
 *   records a back-off in the budget (the server's Retry-After when given,
 *   else exponential) and returns at once, so the caller's slot is free;
 *   `notBefore()` says when calls may start again.
 * - Every HTTP request is booked in the budget before it is sent (http.ts);
 *   the reply's reported usage is booked only up to what the request could
 *   have cost (budget.ts, plausibleUsage), an implausible one is logged and
 *   counted.
 * - Before anything leaves the host, samples, the subject and the context are
 *   redacted (and addresses optionally pseudonymised); everything that came
 *   from a request sits JSON-quoted inside the delimited block the system
 *   prompt calls untrusted (prompt.ts).
 * - The fast model is asked first; the strong one (when configured) instead
 *   for severe incidents, or after the fast one sets needs_stronger_model.
 *   When the strong model fails, the fast model's analysis stands.
 * - Identical incidents (same fingerprint) are answered from the cache, and
 *   concurrent requests for one fingerprint share one call.
 * - The API key is held only by the SDK client; it is never logged. Prompts
 *   and replies are logged at debug only.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { Incident } from '../incidents/group.js';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { AnalysisConfig, ModelLevelConfig } from '../../config/analysis.js';
import { buildPrompt, loadPromptTemplates, type AnalysisContext, type BuiltPrompt } from './prompt.js';
import { createPseudonymiser } from './pseudonym.js';
import { createRedactor, type Redactor } from '../redact/text.js';
import { checkTargets, parseReply, TOOL, TOOL_NAME, type AnalysisResult, type RawReply } from './reply.js';
import { createBudget, plausibleUsage, type AnalysisUsage, type BackoffReason, type BudgetRefusal } from './budget.js';
import { createAnalysisCache, fingerprint } from './cache.js';
import { BudgetRefusedError, createApiFetch, ownError, ReplyTooLargeError, type CallScope } from './http.js';
import { parseIp } from '../../validate/ip.js';
import { retryAfterFromHeaders } from '../../util/backoff.js';

/** Skips that pass with time: the caller may queue the incident again (analysis/queue.ts). */
export const TRANSIENT_SKIPS = ['budget_calls', 'budget_tokens', 'backoff', 'rate_limited', 'overloaded', 'unreachable', 'timeout', 'server_error'] as const;
/** Of those, the ones that may be the incident's own doing: counted against `max_retries`. */
export const COUNTED_SKIPS = ['timeout', 'server_error'] as const;

const isCounted = (r: string): r is (typeof COUNTED_SKIPS)[number] => (COUNTED_SKIPS as readonly string[]).includes(r);

export type SkipReason = 'disabled' | 'no_api_key' | 'stopped' | BudgetRefusal | (typeof TRANSIENT_SKIPS)[number];
export type FailReason = 'timeout' | 'server_error' | 'unreachable' | 'auth' | 'invalid_reply' | 'reply_too_large' | 'api_error' | 'internal';

export type AnalysisOutcome =
  | {
      status: 'analysed';
      result: AnalysisResult;
      fingerprint: string;
      /** Answered from the cache: no call was made. */
      cached: boolean;
      /** The strong model was asked (directly or after the fast one). */
      /** The stronger model was asked. */
      strongModel: boolean;
    }
  | { status: 'skipped'; reason: SkipReason; retryAfterMs?: number }
  | { status: 'failed'; reason: FailReason; detail?: string };

export interface AnalyserDeps {
  /** The API key (resolved by the caller from api_key_env / api_key_file); absent: every analysis is skipped. */
  apiKey?: string | null;
  log?: Logger;
  now?: () => number;
  promptsDir?: string;
  /** HMAC key of the pseudonymiser; random per run by default. */
  pseudonymKey?: Buffer;
  /** The one redactor (with the operator's `redaction.extra_secret_keys`); the built-in keys by default. */
  redact?: Redactor;
}

export interface AnalyseOptions {
  /** Earlier tries of this incident that ended in a timeout or a 5xx (the queue counts them). */
  retries?: number;
}

export interface Analyser {
  analyse(incident: Incident, context?: AnalysisContext, opts?: AnalyseOptions): Promise<AnalysisOutcome>;
  /** Usage and spend counters for the status API (the back-off in force among them). */
  usage(): AnalysisUsage & { cacheEntries: number; inFlight: number };
  /** When calls may start again after a back-off (ms since epoch; in the past when they may now). */
  notBefore(): number;
  /** Aborts calls in flight (they end as skipped: stopped); later calls are skipped. */
  stop(): void;
}

type Attempt =
  | { ok: true; reply: RawReply; model: string }
  | { ok: false; outcome: Extract<AnalysisOutcome, { status: 'skipped' | 'failed' }> };

/** Reads the API key as the config says (file first, then the named environment variable). */
export function resolveApiKey(cfg: AnalysisConfig, env: NodeJS.ProcessEnv, readFile: (p: string) => string): string | null {
  if (cfg.api_key_file) {
    const k = readFile(cfg.api_key_file).trim();
    return k || null;
  }
  const k = env[cfg.api_key_env]?.trim();
  return k ? k : null;
}

export function createAnalyser(cfg: AnalysisConfig, deps: AnalyserDeps = {}): Analyser {
  const log = (deps.log ?? silentLogger).child({ unit: 'analysis' });
  const now = deps.now ?? Date.now;
  const templates = loadPromptTemplates(deps.promptsDir);
  const redact = deps.redact ?? createRedactor();
  const pseudonymiser = cfg.redaction.pseudonymise_ips ? createPseudonymiser(deps.pseudonymKey) : null;
  const budget = createBudget({
    callsPerHour: cfg.budget.calls_per_hour,
    tokensPerDay: cfg.budget.tokens_per_day,
    backoffBaseMs: cfg.backoff_s * 1000,
    backoffMaxMs: cfg.backoff_max_s * 1000,
  }, now);
  const api = createApiFetch({ budget, maxReplyBytes: cfg.max_reply_bytes });
  const cache = createAnalysisCache(cfg.cache.max_entries, cfg.cache.ttl_s * 1000, now);
  const inFlight = new Map<string, Promise<AnalysisOutcome>>();
  const controllers = new Set<AbortController>();
  let stopped = false;

  const apiKey = deps.apiKey ?? null;
  // Everything explicit: the environment's ANTHROPIC_* variables must not
  // change where the key goes or how long a call may take. No SDK retries:
  // it would sleep inside the call (a retry-after of an hour holding an
  // analysis slot) and send requests the budget never saw.
  const client = apiKey
    ? new Anthropic({
        apiKey,
        baseURL: cfg.base_url,
        timeout: cfg.fast.timeout_ms,
        maxRetries: 0,
        logLevel: 'off',
        fetch: api.fetch,
      })
    : null;

  const skip = (reason: SkipReason, retryAfter?: number): Extract<AnalysisOutcome, { status: 'skipped' }> => {
    budget.outcome('skipped', reason);
    return retryAfter === undefined ? { status: 'skipped', reason } : { status: 'skipped', reason, retryAfterMs: retryAfter };
  };
  const fail = (reason: FailReason, detail?: string): Extract<AnalysisOutcome, { status: 'failed' }> => {
    budget.outcome('failed', reason);
    return detail === undefined ? { status: 'failed', reason } : { status: 'failed', reason, detail };
  };

  /**
   * A 429, 529, 5xx, timeout or unreachable API: a back-off is recorded and
   * the call ends at once. Counted failures (timeout, 5xx) may be the
   * incident's own: once it has no retry left, it is given up.
   */
  function pushedBack(level: ModelLevelConfig, incidentId: number, retries: number, reason: Exclude<BackoffReason, 'auth'>, serverMs: number | undefined, detail?: string): Attempt {
    const wait = budget.pushedBack(reason, serverMs);
    const giveUp = isCounted(reason) && retries >= level.max_retries;
    log.warn('llm API pushed back', { incident_id: incidentId, model: level.model, reason, backoff_ms: wait, retry_after_ms: serverMs, ...(giveUp ? { given_up: true } : {}) });
    return { ok: false, outcome: giveUp && isCounted(reason) ? fail(reason, detail) : skip(reason, wait) };
  }

  /** One HTTP request (booked before it is sent, http.ts); maps every error to an outcome. */
  async function call(level: ModelLevelConfig, prompt: BuiltPrompt, incidentId: number, retries: number): Promise<Attempt | { ok: 'invalid'; why: string }> {
    // A request's tokens, guessed from its size before it is sent (replaced by the reply's usage).
    const estimate = (bytes: number) => Math.ceil(bytes / 3) + level.max_tokens;
    const pre = budget.check(estimate(Buffer.byteLength(prompt.system) + Buffer.byteLength(prompt.user)));
    if (pre) return { ok: false, outcome: skip(pre.refusal, pre.retryAfterMs) };
    const scope: CallScope = { estimate };
    const ac = new AbortController();
    controllers.add(ac);
    const started = now();
    log.debug('llm prompt', { incident_id: incidentId, model: level.model, system: prompt.system, user: prompt.user });
    try {
      const msg = await api.run(scope, () => client!.messages.create(
        {
          model: level.model,
          max_tokens: level.max_tokens,
          system: prompt.system,
          messages: [{ role: 'user', content: prompt.user }],
          tools: [TOOL as unknown as Anthropic.Tool],
          tool_choice: { type: 'tool', name: TOOL_NAME },
        },
        { timeout: level.timeout_ms, maxRetries: 0, signal: ac.signal },
      ));
      budget.recovered();
      // The SDK does not validate the body: read usage defensively, and book no more than the request could cost.
      const body = msg as unknown as { content?: unknown; usage?: unknown };
      const sent = scope.booked?.bodyBytes ?? Buffer.byteLength(prompt.system) + Buffer.byteLength(prompt.user);
      const u = plausibleUsage(body.usage, sent, level.max_tokens);
      if (u.implausible) {
        budget.count('implausibleUsage');
        const r = (body.usage ?? {}) as { input_tokens?: unknown; output_tokens?: unknown };
        log.warn('llm reply reported implausible usage: booked at the bound', {
          incident_id: incidentId, model: level.model, reported_in: String(r.input_tokens).slice(0, 40), reported_out: String(r.output_tokens).slice(0, 40),
          booked_in: u.input, booked_out: u.output, request_bytes: sent,
        });
      }
      scope.booked?.reservation.settle(level.model, u.input, u.output, { input: level.input_usd_per_mtok, output: level.output_usd_per_mtok });
      // (`tok`, not `tokens`: the logger hides values of keys that look like secrets.)
      log.info('llm call', { incident_id: incidentId, model: level.model, in_tok: u.input, out_tok: u.output, ms: now() - started });
      log.debug('llm reply', { incident_id: incidentId, model: level.model, content: body.content });
      const parsed = parseReply(body.content);
      if (!parsed.ok) return { ok: 'invalid', why: parsed.reason };
      return { ok: true, reply: parsed.reply, model: level.model };
    } catch (err) {
      // Sent and failed: the request counts (it may have cost), its tokens do not.
      scope.booked?.reservation.settle(level.model, 0, 0, { input: 0, output: 0 });
      const e = err as { status?: unknown; headers?: unknown; name?: string; message?: string };
      const own = ownError(err);
      if (stopped || err instanceof Anthropic.APIUserAbortError) return { ok: false, outcome: skip('stopped') };
      if (own instanceof BudgetRefusedError) return { ok: false, outcome: skip(own.refusal, own.retryAfterMs) };
      if (own instanceof ReplyTooLargeError) {
        log.warn('llm reply too large: not read, not acted on', { incident_id: incidentId, model: level.model, limit: own.limit, declared: own.declared });
        return { ok: false, outcome: fail('reply_too_large', own.message) };
      }
      if (own) {
        log.error('llm request refused unsent', { incident_id: incidentId, model: level.model, error: own.message });
        return { ok: false, outcome: fail('internal', own.message) };
      }
      if (err instanceof Anthropic.APIConnectionTimeoutError) return pushedBack(level, incidentId, retries, 'timeout', undefined);
      if (err instanceof Anthropic.APIConnectionError) return pushedBack(level, incidentId, retries, 'unreachable', undefined, e.message);
      if (err instanceof Anthropic.APIError) {
        const status = typeof e.status === 'number' ? e.status : 0;
        const after = retryAfterFromHeaders(e.headers, now());
        if (status === 429) return pushedBack(level, incidentId, retries, 'rate_limited', after);
        if (status === 529) return pushedBack(level, incidentId, retries, 'overloaded', after);
        if (status >= 500) return pushedBack(level, incidentId, retries, 'server_error', after, `HTTP ${status}`);
        if (status === 401 || status === 403) {
          budget.pushedBack('auth');
          log.error('llm API refused the key', { status });
          return { ok: false, outcome: fail('auth', `HTTP ${status}`) };
        }
        log.warn('llm API error', { incident_id: incidentId, model: level.model, status });
        return { ok: false, outcome: fail('api_error', `HTTP ${status}`) };
      }
      // A 200 whose body is not JSON, or any other surprise from the SDK:
      // treated as an invalid reply (retried once).
      return { ok: 'invalid', why: `${e.name ?? 'Error'}: ${String(e.message ?? '').slice(0, 200)}` };
    } finally {
      controllers.delete(ac);
    }
  }

  /** A level with one retry of an invalid reply. */
  async function ask(level: ModelLevelConfig, prompt: BuiltPrompt, incidentId: number, retries: number): Promise<Attempt> {
    let why = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await call(level, prompt, incidentId, retries);
      if (r.ok !== 'invalid') return r;
      why = r.why;
      budget.count('invalidReplies');
      log.warn('llm reply invalid', { incident_id: incidentId, model: level.model, attempt, reason: why });
    }
    return { ok: false, outcome: fail('invalid_reply', why) };
  }

  function finish(a: Extract<Attempt, { ok: true }>, prompt: BuiltPrompt): AnalysisResult {
    const { kept, dropped } = checkTargets(a.reply, {
      pseudonyms: prompt.pseudonyms,
      minPrefixV4: cfg.min_prefix_v4,
      minPrefixV6: cfg.min_prefix_v6,
      max: cfg.max_recommendations,
      model: a.model,
    });
    return {
      summary: a.reply.summary,
      likelyCause: a.reply.likely_cause,
      severity: a.reply.severity,
      confidence: a.reply.confidence,
      recommendations: kept,
      dropped,
      needsStrongerModel: a.reply.needs_stronger_model ?? false,
      model: a.model,
    };
  }

  /** A cached analysis re-aimed at this incident's subject. */
  function fromCache(hit: { result: AnalysisResult; subject: string }, inc: Incident): AnalysisResult {
    const r = structuredClone(hit.result);
    if (inc.subject.type !== 'ip') return r;
    const subject = parseIp(inc.subject.value)?.text;
    const recs = [];
    for (const rec of r.recommendations) {
      if (!rec.type.endsWith('_ip')) recs.push(rec);
      else if (rec.target === hit.subject && subject) recs.push({ ...rec, target: subject });
      else r.dropped.push({ type: rec.type, target: rec.target, why: 'cached analysis: target of another incident' });
    }
    r.recommendations = recs;
    return r;
  }

  async function run(inc: Incident, ctx: AnalysisContext, fp: string, retries: number): Promise<AnalysisOutcome> {
    const prompt = buildPrompt(templates, inc, ctx, {
      redact,
      pseudonymiser,
      maxSamples: cfg.max_samples,
      maxSampleChars: cfg.max_sample_chars,
    });
    const severe = cfg.strong !== undefined && cfg.strong_for_severities.includes(inc.severity);
    let strongModel = false;
    let a: Attempt;
    if (severe && cfg.strong) {
      strongModel = true;
      a = await ask(cfg.strong, prompt, inc.id, retries);
    } else {
      a = await ask(cfg.fast, prompt, inc.id, retries);
      if (a.ok && a.reply.needs_stronger_model && cfg.strong && !stopped) {
        strongModel = true;
        // Its first try: the incident's retries were the fast model's.
        const b = await ask(cfg.strong, prompt, inc.id, 0);
        if (b.ok) a = b;
        else log.warn('stronger model unavailable, keeping the fast analysis', { incident_id: inc.id, reason: b.outcome.reason });
      }
    }
    if (!a.ok) return a.outcome;
    const result = finish(a, prompt);
    const subject = inc.subject.type === 'ip' ? (parseIp(inc.subject.value)?.text ?? inc.subject.value) : inc.subject.value;
    cache.set(fp, { result, subject });
    budget.count('analysed');
    log.info('incident analysed', {
      incident_id: inc.id, model: result.model, severity: result.severity, confidence: result.confidence,
      recommendations: result.recommendations.length, dropped: result.dropped.length,
    });
    return { status: 'analysed', result, fingerprint: fp, cached: false, strongModel };
  }

  return {
    async analyse(inc, ctx = {}, opts = {}) {
      try {
        if (stopped) return skip('stopped');
        if (!cfg.enabled) return skip('disabled');
        if (!client) return skip('no_api_key');
        const fp = fingerprint(inc, cfg.max_samples);
        const hit = cache.get(fp);
        if (hit) {
          budget.count('cacheHits');
          return { status: 'analysed', result: fromCache(hit, inc), fingerprint: fp, cached: true, strongModel: false };
        }
        const running = inFlight.get(fp);
        if (running) {
          const o = await running;
          if (o.status !== 'analysed') return o;
          budget.count('cacheHits');
          return { ...o, result: fromCache({ result: o.result, subject: cache.get(fp)?.subject ?? '' }, inc), cached: true };
        }
        const p = run(inc, ctx, fp, opts.retries ?? 0).finally(() => inFlight.delete(fp));
        inFlight.set(fp, p);
        return await p;
      } catch (err) {
        log.error('analysis failed unexpectedly', { incident_id: inc.id, error: err as Error });
        return fail('internal', (err as Error)?.message);
      }
    },
    usage() {
      return { ...budget.usage(), cacheEntries: cache.size(), inFlight: inFlight.size };
    },
    notBefore: () => budget.notBefore(),
    stop() {
      stopped = true;
      for (const ac of controllers) ac.abort();
    },
  };
}
