/**
 * The audit log: every change (who, what, when, result), written after the
 * change's transaction has committed or rolled back, so a failed change is
 * recorded as failed and never lost with the rollback.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
  result: 'ok' | 'failed';
  error: string | null;
}

export function recordAudit(
  db: Db,
  e: { actor: string; action: string; target?: string | null; detail?: unknown; result: 'ok' | 'failed'; error?: string | null },
): void {
  stmt(db, 'INSERT INTO audit_log (actor, action, target, detail, result, error) VALUES (?, ?, ?, ?, ?, ?)').run(
    e.actor,
    e.action,
    e.target ?? null,
    e.detail === undefined ? null : JSON.stringify(e.detail),
    e.result,
    e.error ? e.error.slice(0, 4000) : null,
  );
}

export function listAudit(db: Db, opts: { limit: number; before?: number; action?: string }): AuditEntry[] {
  const rows = stmt(db, 
      `SELECT * FROM audit_log WHERE (? IS NULL OR id < ?) AND (? IS NULL OR action = ?) ORDER BY id DESC LIMIT ?`,
    )
    .all(opts.before ?? null, opts.before ?? null, opts.action ?? null, opts.action ?? null, opts.limit) as (Omit<AuditEntry, 'detail'> & { detail: string | null })[];
  return rows.map((r) => ({ ...r, detail: r.detail ? JSON.parse(r.detail) : null }));
}
