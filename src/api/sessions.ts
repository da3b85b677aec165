/**
 * Console logins: a random session id (the cookie) mapped to a role and a
 * CSRF token, in memory only. A restart logs everybody out, which is the
 * safe direction; nothing about a session is ever written to disk.
 *
 * Contract: `create` is called only after a key was checked; a session ends
 * at its absolute lifetime (api.session_ttl), after `idle` without a request
 * (api.session_idle), or at logout. `get` refreshes the idle clock.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';

export type Role = 'admin' | 'viewer';

export interface Session {
  id: string;
  role: Role;
  /** Sent back in X-CSRF-Token (fetch) or the _csrf field (the login and logout forms). */
  csrf: string;
  createdAt: number;
  expiresAt: number;
  lastSeen: number;
}

export interface Sessions {
  create(role: Role): Session;
  get(id: string | undefined): Session | null;
  destroy(id: string | undefined): void;
  /** Live sessions (for tests and the status). */
  size(): number;
}

/** Compares two secrets in constant time (by their digests, so lengths may differ). */
export function sameSecret(a: string, b: string): boolean {
  const d = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(d(a), d(b));
}

export function createSessions(opts: { ttlMs: number; idleMs: number; max?: number; now?: () => number }): Sessions {
  const now = opts.now ?? Date.now;
  const max = opts.max ?? 1000;
  const all = new Map<string, Session>();
  const live = (s: Session, t: number) => t < s.expiresAt && t - s.lastSeen < opts.idleMs;
  const sweep = (t: number) => {
    for (const [id, s] of all) if (!live(s, t)) all.delete(id);
  };
  return {
    create(role) {
      const t = now();
      sweep(t);
      // A bound on memory: the oldest login goes first (a flood of logins needs valid keys anyway).
      while (all.size >= max) all.delete(all.keys().next().value!);
      const s: Session = { id: randomBytes(32).toString('base64url'), role, csrf: randomBytes(32).toString('base64url'), createdAt: t, expiresAt: t + opts.ttlMs, lastSeen: t };
      all.set(s.id, s);
      return s;
    },
    get(id) {
      if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
      const s = all.get(id);
      if (!s) return null;
      const t = now();
      if (!live(s, t)) {
        all.delete(id);
        return null;
      }
      s.lastSeen = t;
      return s;
    },
    destroy(id) {
      if (id) all.delete(id);
    },
    size: () => all.size,
  };
}
