/**
 * Exponential backoff with full jitter: the delay before attempt n+1 is
 * uniform in [base * 2^(n-1) / 2, base * 2^(n-1)], capped at `maxMs`. The
 * lower half is kept so a retry storm never collapses onto "now".
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Returns [0, 1); Math.random by default (tests pass a fixed one). */
  random?: () => number;
}

export function backoffDelay(failedAttempts: number, opts: BackoffOptions): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(failedAttempts - 1, 30)));
  const r = (opts.random ?? Math.random)();
  return Math.round(exp / 2 + (exp / 2) * r);
}
