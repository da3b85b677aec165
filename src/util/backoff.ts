/**
 * Retrying politely: exponential backoff (with or without jitter) and the
 * server's own word on when to come back (Retry-After, retry-after-ms). The
 * one copy of both; callers decide how a server's word and their own backoff
 * combine, since that is a policy of each (see their comments).
 */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Returns [0, 1); Math.random by default (tests pass a fixed one). */
  random?: () => number;
}

/** `base * 2^(n-1)` for the n-th failed attempt (n >= 1; n <= 0 counts as 1), capped at `maxMs`. */
export function exponentialDelay(failedAttempts: number, opts: { baseMs: number; maxMs: number }): number {
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(failedAttempts - 1, 30)));
}

/**
 * Exponential backoff with jitter: the delay before attempt n+1 is uniform in
 * [d / 2, d] for d = exponentialDelay(n). The lower half is kept so a retry
 * storm never collapses onto "now".
 */
export function backoffDelay(failedAttempts: number, opts: BackoffOptions): number {
  const exp = exponentialDelay(failedAttempts, opts);
  const r = (opts.random ?? Math.random)();
  return Math.round(exp / 2 + (exp / 2) * r);
}

/** Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name; Date.parse alone would read "1.5" as a date. */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/**
 * A Retry-After value (RFC 9110 10.2.3: delta-seconds or an HTTP-date) as ms
 * from `now`; a date in the past is 0. Undefined when absent or unreadable
 * (the caller's own backoff applies then).
 */
export function parseRetryAfter(v: string | null | undefined, now = Date.now()): number | undefined {
  const s = v?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (!HTTP_DATE.test(s)) return undefined;
  // asctime carries no zone; HTTP dates are all GMT, and Date.parse would read it as local time.
  const t = Date.parse(/GMT$/.test(s) ? s : `${s} GMT`);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * When a server asked to come back, from its response headers: a positive
 * `retry-after-ms` (sent by the Anthropic and OpenAI APIs, finer than
 * Retry-After) first, then Retry-After. `headers` is anything with a
 * Headers-like `get()` (an SDK error's headers may be missing or foreign).
 */
export function retryAfterFromHeaders(headers: unknown, now = Date.now()): number | undefined {
  const get = (headers as { get?: unknown } | null | undefined)?.get;
  if (typeof get !== 'function') return undefined;
  const header = (name: string) => get.call(headers, name) as string | null | undefined;
  const ms = header('retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms) && Number(ms) > 0) return Number(ms);
  return parseRetryAfter(header('retry-after'), now);
}
