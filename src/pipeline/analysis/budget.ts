/**
 * Cost control: a budget of calls per rolling hour and tokens per rolling
 * day, a back-off after the API pushed back, and the usage and spend
 * counters the status API shows.
 *
 * Contract: pure bookkeeping over an injected clock; `check()` says whether a
 * call may start (and why not), `record()` books a finished call. Memory is
 * bounded: calls are kept per minute bucket for one day at most.
 */

export type BudgetRefusal = 'budget_calls' | 'budget_tokens' | 'backoff';

export interface ModelUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  usd: number;
}

/** Counters for the status API (since the daemon started, plus the rolling windows). */
export interface AnalysisUsage {
  callsLastHour: number;
  tokensLastDay: number;
  limits: { callsPerHour: number; tokensPerDay: number };
  backoffUntil: number | null;
  byModel: Record<string, ModelUsage>;
  totalUsd: number;
  cacheHits: number;
  analysed: number;
  skipped: Record<string, number>;
  failed: Record<string, number>;
  invalidReplies: number;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export function createBudget(limits: { callsPerHour: number; tokensPerDay: number }, now: () => number) {
  // minute bucket -> [calls, tokens]
  const buckets = new Map<number, [number, number]>();
  let backoffUntil = 0;
  const usage: AnalysisUsage = {
    callsLastHour: 0, tokensLastDay: 0, limits: { ...limits }, backoffUntil: null, byModel: {}, totalUsd: 0,
    cacheHits: 0, analysed: 0, skipped: {}, failed: {}, invalidReplies: 0,
  };

  const sums = () => {
    const t = now();
    let calls = 0;
    let tokens = 0;
    for (const [m, [c, tk]] of buckets) {
      const age = t - m * MIN;
      if (age >= DAY) { buckets.delete(m); continue; }
      tokens += tk;
      if (age < HOUR) calls += c;
    }
    return { calls, tokens };
  };

  return {
    /** Whether a call estimated at `estTokens` may start now. */
    check(estTokens: number): BudgetRefusal | null {
      if (now() < backoffUntil) return 'backoff';
      const s = sums();
      if (s.calls >= limits.callsPerHour) return 'budget_calls';
      if (s.tokens + estTokens > limits.tokensPerDay) return 'budget_tokens';
      return null;
    },
    /** Books one API attempt (counted even when it failed: it may have cost). */
    record(model: string, inputTokens: number, outputTokens: number, usdPerMtok: { input: number; output: number }) {
      const m = Math.floor(now() / MIN);
      const b = buckets.get(m) ?? [0, 0];
      b[0] += 1;
      b[1] += inputTokens + outputTokens;
      buckets.set(m, b);
      const u = (usage.byModel[model] ??= { calls: 0, inputTokens: 0, outputTokens: 0, usd: 0 });
      const usd = (inputTokens * usdPerMtok.input + outputTokens * usdPerMtok.output) / 1e6;
      u.calls += 1;
      u.inputTokens += inputTokens;
      u.outputTokens += outputTokens;
      u.usd += usd;
      usage.totalUsd += usd;
    },
    backoff(ms: number) {
      backoffUntil = Math.max(backoffUntil, now() + ms);
    },
    count(kind: 'analysed' | 'cacheHits' | 'invalidReplies') {
      usage[kind] += 1;
    },
    outcome(kind: 'skipped' | 'failed', reason: string) {
      usage[kind][reason] = (usage[kind][reason] ?? 0) + 1;
    },
    usage(): AnalysisUsage {
      const s = sums();
      return structuredClone({
        ...usage,
        callsLastHour: s.calls,
        tokensLastDay: s.tokens,
        backoffUntil: now() < backoffUntil ? backoffUntil : null,
      });
    },
  };
}

export type Budget = ReturnType<typeof createBudget>;
