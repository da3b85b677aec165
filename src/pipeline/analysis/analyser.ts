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
import { buildBatchPrompt, buildPrompt, loadPromptTemplates, type AnalysisContext, type BuiltPrompt } from './prompt.js';
import { createPseudonymiser } from './pseudonym.js';
import { createRedactor, type Redactor } from '../redact/text.js';
import { checkTargets, parseReply, TOOL, TOOL_NAME, type AnalysisResult, type RawReply } from './reply.js';
import { createBudget, plausibleUsage, type AnalysisUsage, type BackoffReason, type BudgetRefusal } from './budget.js';
import { createAnalysisCache, fingerprint } from './cache.js';
import { foldKey } from './fold.js';
import { BATCH_TOOL, parseBatchReply, type BatchParse } from './batch-reply.js';
import { createBatcher, type Schedule } from './batch.js';
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
      strongModel: boolean;
      /** The fleet node that made the call, when another node did (fleet/analysis.ts). */
      by?: string;
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
  /** The batch window's timer (default: setTimeout); a benchmark runs it on log time. */
  schedule?: Schedule;
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
  /** Resolves once no call is being made (incidents waiting for their batch window stay waiting). */
  idle(): Promise<void>;
}

type Attempt<T = RawReply> =
  | { ok: true; reply: T; model: string }
  | { ok: false; outcome: Extract<AnalysisOutcome, { status: 'skipped' | 'failed' }> };

type Parsed<T> = { ok: true; reply: T } | { ok: false; reason: string };

/** What a call asks for: the tool the model must call and how its reply is read. */
interface ToolSpec<T> {
  tool: unknown;
  name: string;
  parse(content: unknown): Parsed<T>;
}

const SINGLE: ToolSpec<RawReply> = { tool: TOOL, name: TOOL_NAME, parse: parseReply };

/** Correlation fields of a call's log lines: one incident, or a batch's. */
type LogIds = { incident_id: number } | { incident_ids: number[] };

/** One incident waiting for, or in, a batch call. */
interface Item {
  inc: Incident;
  ctx: AnalysisContext;
  retries: number;
  key: string;
  /** Incidents folded into this one since it was queued (they take its analysis). */
  joined: number;
  resolve(o: AnalysisOutcome): void;
}

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
  const cache = createAnalysisCache(cfg.cache.max_entries, cfg.cache.ttl_s * 1000, now, cfg.cache.max_age_s * 1000);
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
  function pushedBack(level: ModelLevelConfig, ids: LogIds, retries: number, reason: Exclude<BackoffReason, 'auth'>, serverMs: number | undefined, detail?: string): Attempt<never> {
    const wait = budget.pushedBack(reason, serverMs);
    const giveUp = isCounted(reason) && retries >= level.max_retries;
    log.warn('llm API pushed back', { ...ids, model: level.model, reason, backoff_ms: wait, retry_after_ms: serverMs, ...(giveUp ? { given_up: true } : {}) });
    return { ok: false, outcome: giveUp && isCounted(reason) ? fail(reason, detail) : skip(reason, wait) };
  }

  /** One HTTP request (booked before it is sent, http.ts); maps every error to an outcome. */
  async function call<T>(level: ModelLevelConfig, prompt: BuiltPrompt, ids: LogIds, retries: number, spec: ToolSpec<T>): Promise<Attempt<T> | { ok: 'invalid'; why: string }> {
    // A request's tokens, guessed from its size before it is sent (replaced by the reply's usage).
    const estimate = (bytes: number) => Math.ceil(bytes / 3) + level.max_tokens;
    const pre = budget.check(estimate(Buffer.byteLength(prompt.system) + Buffer.byteLength(prompt.user)));
    if (pre) return { ok: false, outcome: skip(pre.refusal, pre.retryAfterMs) };
    const scope: CallScope = { estimate };
    const ac = new AbortController();
    controllers.add(ac);
    const started = now();
    log.debug('llm prompt', { ...ids, model: level.model, system: prompt.system, user: prompt.user });
    try {
      const msg = await api.run(scope, () => client!.messages.create(
        {
          model: level.model,
          max_tokens: level.max_tokens,
          system: prompt.system,
          messages: [{ role: 'user', content: prompt.user }],
          tools: [spec.tool as Anthropic.Tool],
          tool_choice: { type: 'tool', name: spec.name },
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
          ...ids, model: level.model, reported_in: String(r.input_tokens).slice(0, 40), reported_out: String(r.output_tokens).slice(0, 40),
          booked_in: u.input, booked_out: u.output, request_bytes: sent,
        });
      }
      scope.booked?.reservation.settle(level.model, u.input, u.output, { input: level.input_usd_per_mtok, output: level.output_usd_per_mtok });
      // (`tok`, not `tokens`: the logger hides values of keys that look like secrets.)
      log.info('llm call', { ...ids, model: level.model, in_tok: u.input, out_tok: u.output, ms: now() - started });
      log.debug('llm reply', { ...ids, model: level.model, content: body.content });
      const parsed = spec.parse(body.content);
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
        log.warn('llm reply too large: not read, not acted on', { ...ids, model: level.model, limit: own.limit, declared: own.declared });
        return { ok: false, outcome: fail('reply_too_large', own.message) };
      }
      if (own) {
        log.error('llm request refused unsent', { ...ids, model: level.model, error: own.message });
        return { ok: false, outcome: fail('internal', own.message) };
      }
      if (err instanceof Anthropic.APIConnectionTimeoutError) return pushedBack(level, ids, retries, 'timeout', undefined);
      if (err instanceof Anthropic.APIConnectionError) return pushedBack(level, ids, retries, 'unreachable', undefined, e.message);
      if (err instanceof Anthropic.APIError) {
        const status = typeof e.status === 'number' ? e.status : 0;
        const after = retryAfterFromHeaders(e.headers, now());
        if (status === 429) return pushedBack(level, ids, retries, 'rate_limited', after);
        if (status === 529) return pushedBack(level, ids, retries, 'overloaded', after);
        if (status >= 500) return pushedBack(level, ids, retries, 'server_error', after, `HTTP ${status}`);
        if (status === 401 || status === 403) {
          budget.pushedBack('auth');
          log.error('llm API refused the key', { status });
          return { ok: false, outcome: fail('auth', `HTTP ${status}`) };
        }
        log.warn('llm API error', { ...ids, model: level.model, status });
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
  async function ask<T = RawReply>(level: ModelLevelConfig, prompt: BuiltPrompt, ids: LogIds, retries: number, spec: ToolSpec<T> = SINGLE as unknown as ToolSpec<T>): Promise<Attempt<T>> {
    let why = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await call(level, prompt, ids, retries, spec);
      if (r.ok !== 'invalid') return r;
      why = r.why;
      budget.count('invalidReplies');
      log.warn('llm reply invalid', { ...ids, model: level.model, attempt, reason: why });
    }
    return { ok: false, outcome: fail('invalid_reply', why) };
  }

  function finish(a: { reply: RawReply; model: string }, prompt: BuiltPrompt): AnalysisResult {
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

  /**
   * A cached or folded analysis re-aimed at this incident's subject: an
   * address (or server) action on the subject it was made for becomes one on
   * this incident's own subject, which the policy's guardrails then judge;
   * one on anything else is dropped (it named another incident).
   */
  function fromCache(hit: { result: AnalysisResult; subject: string }, inc: Incident): AnalysisResult {
    const r = structuredClone(hit.result);
    if (inc.subject.type !== 'ip' && inc.subject.type !== 'server') return r;
    const kind = inc.subject.type === 'ip' ? '_ip' : '_server';
    const subject = inc.subject.type === 'ip' ? parseIp(inc.subject.value)?.text : inc.subject.value;
    const recs = [];
    for (const rec of r.recommendations) {
      if (!rec.type.endsWith(kind)) recs.push(rec);
      else if (rec.target === hit.subject && subject) recs.push({ ...rec, target: subject });
      else r.dropped.push({ type: rec.type, target: rec.target, why: 'cached analysis: target of another incident' });
    }
    r.recommendations = recs;
    return r;
  }

  const subjectOf = (inc: Incident) => (inc.subject.type === 'ip' ? (parseIp(inc.subject.value)?.text ?? inc.subject.value) : inc.subject.value);
  const promptOptions = () => ({ redact, pseudonymiser, maxSamples: cfg.max_samples, maxSampleChars: cfg.max_sample_chars });

  /** Asks one incident alone (the single path); never throws. */
  async function alone(it: Item): Promise<AnalysisOutcome> {
    try {
      return await run(it.inc, it.ctx, it.key, it.retries);
    } catch (err) {
      log.error('analysis failed unexpectedly', { incident_id: it.inc.id, error: err as Error });
      return fail('internal', (err as Error)?.message);
    }
  }

  /** A validated analysis of one incident: cached under its key, counted, logged. */
  function analysed(it: Item, result: AnalysisResult, strongModel: boolean): AnalysisOutcome {
    cache.set(it.key, { result, subject: subjectOf(it.inc) });
    budget.count('analysed');
    log.info('incident analysed', {
      incident_id: it.inc.id, model: result.model, severity: result.severity, confidence: result.confidence,
      recommendations: result.recommendations.length, dropped: result.dropped.length, batched: true,
    });
    return { status: 'analysed', result, fingerprint: it.key, cached: false, strongModel };
  }

  /**
   * Several incidents of one model level in one call. Each reply item is
   * checked on its own (batch-reply.ts); an incident without a valid item is
   * asked again alone (the single path: its own retry, then its tier-1
   * verdict), and so is every incident of a reply invalid as a whole. A call
   * the API refuses or fails refuses or fails each incident as it would alone.
   */
  async function batchCall(level: ModelLevelConfig, items: Item[], strong: boolean): Promise<void> {
    if (items.length === 1) return items[0]!.resolve(await alone(items[0]!));
    const ids = items.map((i) => i.inc.id);
    const prompt = buildBatchPrompt(templates, items.map((i) => ({ inc: i.inc, ctx: i.ctx, folded: i.joined })), promptOptions());
    const spec: ToolSpec<BatchParse> = {
      tool: BATCH_TOOL,
      name: BATCH_TOOL.name,
      parse: (content) => {
        const r = parseBatchReply(content, ids);
        return r.ok ? { ok: true, reply: r } : r;
      },
    };
    // No second try of a batch: a reply that is invalid as a whole sends each incident alone (each with its own retry).
    const a = await call(level, prompt, { incident_ids: ids }, Math.min(...items.map((i) => i.retries)), spec);
    if (a.ok === 'invalid') {
      budget.count('invalidReplies');
      log.warn('llm batch reply invalid: each incident is asked alone', { incident_ids: ids, model: level.model, reason: a.why });
      for (const it of items) it.resolve(stopped ? skip('stopped') : await alone(it));
      return;
    }
    if (!a.ok) {
      for (const it of items) {
        const o = a.outcome;
        // A timeout or 5xx counts against each incident's own retries.
        it.resolve(o.status === 'skipped' && isCounted(o.reason) && it.retries >= level.max_retries ? { status: 'failed', reason: o.reason } : o);
      }
      return;
    }
    const { replies, refused, missing } = a.reply;
    if (refused.length || missing.length) {
      budget.count('invalidReplies');
      log.warn('llm batch reply: items refused or missing, those incidents are asked alone', { incident_ids: ids, model: level.model, missing, refused });
    }
    // One after another: a batch holds one of the two call slots, whatever it asks again.
    for (const it of items) {
      const reply = replies.get(it.inc.id);
      if (!reply) {
        it.resolve(stopped ? skip('stopped') : await alone(it));
        continue;
      }
      let result = finish({ reply, model: a.model }, prompt);
      let usedStrong = strong;
      if (reply.needs_stronger_model && cfg.strong && !strong && !stopped) {
        const b = await ask(cfg.strong, buildPrompt(templates, it.inc, it.ctx, promptOptions()), { incident_id: it.inc.id }, 0);
        usedStrong = true;
        if (b.ok) result = finish(b, buildPrompt(templates, it.inc, it.ctx, promptOptions()));
        else log.warn('stronger model unavailable, keeping the fast analysis', { incident_id: it.inc.id, reason: b.outcome.reason });
      }
      it.resolve(analysed(it, result, usedStrong));
    }
  }

  /** A batch: severe incidents to the strong model (when there is one), the rest to the fast one. */
  async function sendBatch(items: Item[]): Promise<void> {
    if (stopped) {
      for (const it of items) it.resolve(skip('stopped'));
      return;
    }
    const strong = cfg.strong ? items.filter((i) => cfg.strong_for_severities.includes(i.inc.severity)) : [];
    const fast = items.filter((i) => !strong.includes(i));
    if (strong.length && cfg.strong) await batchCall(cfg.strong, strong, true);
    if (fast.length) await batchCall(cfg.fast, fast, false);
  }

  /** How long an incident may wait for others (batch.ts): a critical one not at all. */
  const waitMs = (inc: Incident) =>
    inc.severity === 'critical' ? 0 : (inc.severity === 'high' ? cfg.batch.max_wait_s : cfg.batch.max_wait_below_high_s) * 1000;
  const batcher = createBatcher<Item>({
    maxItems: cfg.batch.max_items,
    now,
    // Batching off: the queue's concurrency is the limit, as it always was; on: two calls at once.
    maxCalls: cfg.batch.max_items === 1 ? Infinity : 2,
    ...(deps.schedule ? { schedule: deps.schedule } : {}),
    send: async (items) => {
      try {
        await sendBatch(items);
      } catch (err) {
        log.error('analysis batch failed unexpectedly', { incident_ids: items.map((i) => i.inc.id), error: err as Error });
        for (const it of items) it.resolve(fail('internal', (err as Error)?.message));
      }
    },
  });
  /** Key -> the item queued for it and not sent yet (a folded incident joins it). */
  const waiting = new Map<string, Item>();

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
      a = await ask(cfg.strong, prompt, { incident_id: inc.id }, retries);
    } else {
      a = await ask(cfg.fast, prompt, { incident_id: inc.id }, retries);
      if (a.ok && a.reply.needs_stronger_model && cfg.strong && !stopped) {
        strongModel = true;
        // Its first try: the incident's retries were the fast model's.
        const b = await ask(cfg.strong, prompt, { incident_id: inc.id }, 0);
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
        const fp = cfg.batch.fold ? foldKey(inc) : fingerprint(inc, cfg.max_samples);
        const hit = cache.get(fp);
        if (hit) {
          budget.count('cacheHits');
          return { status: 'analysed', result: fromCache(hit, inc), fingerprint: fp, cached: true, strongModel: false };
        }
        const running = inFlight.get(fp);
        if (running) {
          const queued = waiting.get(fp);
          if (queued) queued.joined++;
          const o = await running;
          if (o.status !== 'analysed') return o;
          budget.count('cacheHits');
          return { ...o, result: fromCache({ result: o.result, subject: cache.get(fp)?.subject ?? '' }, inc), cached: true };
        }
        let resolve!: (o: AnalysisOutcome) => void;
        const p = new Promise<AnalysisOutcome>((r) => { resolve = r; }).finally(() => inFlight.delete(fp));
        const item: Item = { inc, ctx, retries: opts.retries ?? 0, key: fp, joined: 0, resolve: (o) => { waiting.delete(fp); resolve(o); } };
        inFlight.set(fp, p);
        waiting.set(fp, item);
        // A critical incident waits for no one (it takes along what is waiting).
        batcher.add(item, waitMs(inc));
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
      for (const it of batcher.clear()) it.resolve(skip('stopped'));
    },
    idle: () => batcher.idle(),
  };
}
