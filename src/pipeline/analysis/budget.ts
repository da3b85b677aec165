/**
 * Cost control: a budget of HTTP requests per rolling hour and tokens per
 * rolling day, the back-off after the API pushed back or failed, and the
 * usage and spend counters the status API shows.
 *
 * Contract: pure bookkeeping over an injected clock, synchronous throughout.
 * - `reserve()` books one HTTP request (and an estimate of its tokens) before
 *   it is sent, or says why not and until when; there is no await between
 *   its check and its booking, so any number of callers racing for the last
 *   request cannot together exceed the budget. `settle()` replaces the
 *   estimate by what the request cost (once; a reservation never settled
 *   stays booked at its estimate, erring on the side of the budget).
 * - `pushedBack()` records a back-off: the server's word when it gave one,
 *   else `backoffBaseMs` doubling with each failure in a row; either way at
 *   least a second and at most `backoffMaxMs`. `recovered()` ends the run.
 * - Memory is bounded: bookings are kept per minute bucket for one day.
 */
import { exponentialDelay } from '../../util/backoff.js';

export type BudgetRefusal = 'budget_calls' | 'budget_tokens' | 'backoff';

/** Why the daemon is backing off: the API's answer, or that it could not be had. */
export type BackoffReason = 'rate_limited' | 'overloaded' | 'server_error' | 'timeout' | 'unreachable' | 'auth';

export interface ModelUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  usd: number;
}

/** Counters for the status API (since the daemon started, plus the rolling windows). */
export interface AnalysisUsage {
  /** HTTP requests booked in the last hour (sent or about to be). */
  callsLastHour: number;
  tokensLastDay: number;
  limits: { callsPerHour: number; tokensPerDay: number };
  /** When calls may start again (ms since epoch), or null when not backing off. */
  backoffUntil: number | null;
  /** The back-off in force, or null. */
  backoff: { until: string; reason: BackoffReason; failuresInRow: number } | null;
  byModel: Record<string, ModelUsage>;
  totalUsd: number;
  cacheHits: number;
  analysed: number;
  skipped: Record<string, number>;
  failed: Record<string, number>;
  invalidReplies: number;
  /** Replies whose reported usage exceeded what the request could have cost (booked at the bound instead). */
  implausibleUsage: number;
}

export interface BudgetLimits {
  callsPerHour: number;
  tokensPerDay: number;
  /** First back-off without a server's word; doubles per failure in a row. */
  backoffBaseMs: number;
  /** The longest back-off, whatever a server asks. */
  backoffMaxMs: number;
}

/** One booked HTTP request. */
export interface Reservation {
  /** Books what the request cost in place of its estimate; later calls do nothing. */
  settle(model: string, inputTokens: number, outputTokens: number, usdPerMtok: { input: number; output: number }): void;
}

export type ReserveResult = { ok: true; reservation: Reservation } | { ok: false; refusal: BudgetRefusal; retryAfterMs: number };

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Tokens a request may cost beyond its body's bound: the API's own tool-use preamble and framing. */
export const USAGE_SLACK_TOKENS = 1024;

/**
 * The usage to book for a reply, given what was sent and asked for: input
 * at most half the request body's bytes (a token is rarely under two bytes)
 * plus `USAGE_SLACK_TOKENS`, output at most `max_tokens` (the API stops
 * there). A reported count over its bound, or one that is not a count at
 * all, is booked at the bound and marks the usage implausible: a lying or
 * broken reply can cost at most what the request could have cost.
 */
export function plausibleUsage(reported: unknown, bodyBytes: number, maxTokens: number): { input: number; output: number; implausible: boolean } {
  const u = (reported && typeof reported === 'object' ? reported : {}) as { input_tokens?: unknown; output_tokens?: unknown };
  let implausible = false;
  const bounded = (v: unknown, max: number) => {
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max) return Math.round(v);
    implausible = true;
    return max;
  };
  const input = bounded(u.input_tokens, Math.ceil(bodyBytes / 2) + USAGE_SLACK_TOKENS);
  const output = bounded(u.output_tokens, maxTokens);
  return { input, output, implausible };
}

export function createBudget(limits: BudgetLimits, now: () => number) {
  // minute bucket -> [requests, tokens]
  const buckets = new Map<number, [number, number]>();
  let backoffUntil = 0;
  let backoffReason: BackoffReason = 'rate_limited';
  let failuresInRow = 0;
  const usage: Omit<AnalysisUsage, 'callsLastHour' | 'tokensLastDay' | 'backoffUntil' | 'backoff'> = {
    limits: { callsPerHour: limits.callsPerHour, tokensPerDay: limits.tokensPerDay }, byModel: {}, totalUsd: 0,
    cacheHits: 0, analysed: 0, skipped: {}, failed: {}, invalidReplies: 0, implausibleUsage: 0,
  };

  /** Requests in the last hour, tokens in the last day, and when the oldest of each leaves its window. */
  const sums = () => {
    const t = now();
    let calls = 0;
    let tokens = 0;
    let callsFreeAt = Infinity;
    let tokensFreeAt = Infinity;
    for (const [m, [c, tk]] of buckets) {
      const age = t - m * MIN;
      if (age >= DAY) { buckets.delete(m); continue; }
      tokens += tk;
      if (tk > 0) tokensFreeAt = Math.min(tokensFreeAt, m * MIN + DAY);
      if (age < HOUR) {
        calls += c;
        if (c > 0) callsFreeAt = Math.min(callsFreeAt, m * MIN + HOUR);
      }
    }
    return { calls, tokens, callsFreeAt, tokensFreeAt };
  };

  const refusal = (estTokens: number): { refusal: BudgetRefusal; retryAfterMs: number } | null => {
    const t = now();
    if (t < backoffUntil) return { refusal: 'backoff', retryAfterMs: backoffUntil - t };
    const s = sums();
    if (s.calls >= limits.callsPerHour) return { refusal: 'budget_calls', retryAfterMs: Math.max(SEC, s.callsFreeAt - t) };
    if (s.tokens + estTokens > limits.tokensPerDay) {
      return { refusal: 'budget_tokens', retryAfterMs: Number.isFinite(s.tokensFreeAt) ? Math.max(SEC, s.tokensFreeAt - t) : HOUR };
    }
    return null;
  };

  const addToBucket = (m: number, calls: number, tokens: number) => {
    const b = buckets.get(m) ?? [0, 0];
    b[0] += calls;
    b[1] += tokens;
    buckets.set(m, b);
  };

  return {
    /** Whether a request estimated at `estTokens` could be booked now (nothing is booked). */
    check(estTokens: number): { refusal: BudgetRefusal; retryAfterMs: number } | null {
      return refusal(estTokens);
    },

    /** Books one HTTP request estimated at `estTokens`, or refuses; see the module contract. */
    reserve(estTokens: number): ReserveResult {
      const no = refusal(estTokens);
      if (no) return { ok: false, ...no };
      const m = Math.floor(now() / MIN);
      addToBucket(m, 1, estTokens);
      let settled = false;
      return {
        ok: true,
        reservation: {
          settle(model, inputTokens, outputTokens, usdPerMtok) {
            if (settled) return;
            settled = true;
            // The bucket may have aged out of the day already: then there is nothing to correct.
            if (buckets.has(m)) addToBucket(m, 0, inputTokens + outputTokens - estTokens);
            const u = (usage.byModel[model] ??= { calls: 0, inputTokens: 0, outputTokens: 0, usd: 0 });
            const usd = (inputTokens * usdPerMtok.input + outputTokens * usdPerMtok.output) / 1e6;
            u.calls += 1;
            u.inputTokens += inputTokens;
            u.outputTokens += outputTokens;
            u.usd += usd;
            usage.totalUsd += usd;
          },
        },
      };
    },

    /**
     * Records that the API pushed back or failed; returns the back-off in ms.
     * `serverMs` is its Retry-After / retry-after-ms, when it sent one.
     */
    pushedBack(reason: BackoffReason, serverMs?: number): number {
      failuresInRow += 1;
      const asked = serverMs ?? exponentialDelay(failuresInRow, { baseMs: limits.backoffBaseMs, maxMs: limits.backoffMaxMs });
      // At least a second: a "retry-after: 0" storm must not spend the budget in a tight loop.
      const wait = Math.min(limits.backoffMaxMs, Math.max(SEC, asked));
      const until = now() + wait;
      if (until >= backoffUntil) {
        backoffUntil = until;
        backoffReason = reason;
      }
      return wait;
    },

    /** The API answered: the next failure starts the back-off from its base again. */
    recovered() {
      failuresInRow = 0;
    },

    /** When calls may start again (ms since epoch; in the past when they may now). */
    notBefore(): number {
      return backoffUntil;
    },

    count(kind: 'analysed' | 'cacheHits' | 'invalidReplies' | 'implausibleUsage') {
      usage[kind] += 1;
    },
    outcome(kind: 'skipped' | 'failed', reason: string) {
      usage[kind][reason] = (usage[kind][reason] ?? 0) + 1;
    },
    usage(): AnalysisUsage {
      const s = sums();
      const backingOff = now() < backoffUntil;
      return structuredClone({
        ...usage,
        callsLastHour: s.calls,
        tokensLastDay: s.tokens,
        backoffUntil: backingOff ? backoffUntil : null,
        backoff: backingOff ? { until: new Date(backoffUntil).toISOString(), reason: backoffReason, failuresInRow } : null,
      });
    },
  };
}

export type Budget = ReturnType<typeof createBudget>;
