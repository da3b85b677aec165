/**
 * The shape every JSON answer and webhook body takes on the wire: snake_case
 * keys and ISO 8601 UTC times. Inside the daemon, records keep their
 * TypeScript names (camelCase, epoch milliseconds); this is the one place they
 * are turned into the public shape, so no endpoint can drift from it.
 *
 * - A key that is an identifier written in camelCase (`failedAttempts`,
 *   `checkDurationMs`) becomes snake_case (`failed_attempts`,
 *   `check_duration_ms`). Keys that are data (a domain, a file path, a model
 *   name: anything with a character other than letters and digits) are left
 *   as they are.
 * - A number under a time key (`at`, `*_at`, `first_seen`, `last_seen`) is
 *   epoch milliseconds by the daemon's convention and becomes an ISO string.
 *   Strings (already ISO) and nulls pass unchanged.
 */

const CAMEL = /^[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*$/;

export function snakeKey(k: string): string {
  return CAMEL.test(k) ? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : k;
}

export const isTimeKey = (k: string): boolean => k === 'at' || k.endsWith('_at') || k === 'first_seen' || k === 'last_seen';

export function toWire(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toWire);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return v.toISOString();
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const key = snakeKey(k);
    out[key] = isTimeKey(key) && typeof val === 'number' && Number.isFinite(val) ? new Date(val).toISOString() : toWire(val);
  }
  return out;
}
