/**
 * Retention: deleting history past its time, the only place that SQL lives.
 *
 * Contract: every function deletes at most `limit` rows of its table (the
 * oldest first) in one short synchronous transaction and returns what it
 * deleted; the caller (retention/unit.ts) calls it again, after yielding to
 * the event loop, until a batch comes back short. Each selection is a range
 * on an indexed time column (migration 12; `PRUNE_QUERIES` lists the
 * selections so a test can check their plans).
 *
 * What is history and what is not:
 * - audit_log: by `at`.
 * - incidents: resolved ones by `resolved_at`, with their actions (deleted
 *   here) and analyses (ON DELETE CASCADE); open incidents never, and neither
 *   an incident that has an action still in effect.
 * - actions with no incident: by `created_at`, unless in effect.
 * - analyses: by `created_at`.
 * - outbox: delivered and dead rows by `created_at`; pending rows never.
 * An action is **in effect** while it waits for a person or the executor
 * (`proposed`, `approved`), or when it is `done`, has an inverse (the caller
 * passes those action names: block_ip, trust_ip, drain_server...) and has not
 * lapsed (no `expires_at`, or one still ahead): a block not expired nor
 * reverted is the handle a person reverts it by.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

/** What in effect means, in SQL over an `actions` row aliased `a`; @lasting is a JSON array of names, @now ms. */
const IN_EFFECT = `(a.status IN ('proposed', 'approved')
  OR (a.status = 'done' AND a.action IN (SELECT value FROM json_each(@lasting)) AND (a.expires_at IS NULL OR a.expires_at > @now)))`;

/** The selections each prune starts from: range scans on the retention indexes. */
export const PRUNE_QUERIES = {
  audit: 'SELECT id FROM audit_log WHERE at < @before ORDER BY at LIMIT @limit',
  incidents: `SELECT i.id FROM incidents i WHERE i.status = 'resolved' AND i.resolved_at < @before
    AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.incident_id = i.id AND ${IN_EFFECT})
    ORDER BY i.resolved_at LIMIT @limit`,
  // Named: without statistics the planner would take actions_incident (incident_id IS NULL) and sort the lot.
  actions: `SELECT a.id FROM actions a INDEXED BY actions_unlinked WHERE a.incident_id IS NULL AND a.created_at < @before AND NOT ${IN_EFFECT}
    ORDER BY a.created_at LIMIT @limit`,
  analyses: 'SELECT id FROM analyses WHERE created_at < @before ORDER BY created_at LIMIT @limit',
  outbox: 'SELECT id FROM outbox WHERE created_at < @before AND (delivered_at IS NOT NULL OR next_attempt_at IS NULL) ORDER BY created_at LIMIT @limit',
} as const;

const ids = (db: Db, sql: string, params: Record<string, unknown>): string => JSON.stringify((stmt(db, sql).all(params) as { id: number }[]).map((r) => r.id));

/** Deletes by a selection of ids, in one transaction; returns how many rows went. */
function deleteSelected(db: Db, table: 'audit_log' | 'analyses' | 'outbox' | 'actions', sql: string, params: Record<string, unknown>): number {
  return db.transaction(() => stmt(db, `DELETE FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`).run(ids(db, sql, params)).changes)();
}

export interface IncidentPrune {
  incidents: number;
  actions: number;
  analyses: number;
}

export const retention = {
  /** Audit entries with `at` before `before` (an ISO time). */
  audit(db: Db, before: string, limit: number): number {
    return deleteSelected(db, 'audit_log', PRUNE_QUERIES.audit, { before, limit });
  },
  /** Resolved incidents resolved before `before` (ISO), with their actions and analyses, keeping any with an action in effect at `now` (ms). */
  incidents(db: Db, before: string, now: number, lasting: readonly string[], limit: number): IncidentPrune {
    return db.transaction((): IncidentPrune => {
      const list = ids(db, PRUNE_QUERIES.incidents, { before, now, lasting: JSON.stringify(lasting), limit });
      const analyses = (stmt(db, 'SELECT COUNT(*) AS n FROM analyses WHERE incident_id IN (SELECT value FROM json_each(?))').get(list) as { n: number }).n;
      const actions = stmt(db, 'DELETE FROM actions WHERE incident_id IN (SELECT value FROM json_each(?))').run(list).changes;
      const incidents = stmt(db, 'DELETE FROM incidents WHERE id IN (SELECT value FROM json_each(?))').run(list).changes;
      return { incidents, actions, analyses };
    })();
  },
  /** Actions with no incident created before `before` (ms), unless in effect at `now`. */
  actions(db: Db, before: number, now: number, lasting: readonly string[], limit: number): number {
    return deleteSelected(db, 'actions', PRUNE_QUERIES.actions, { before, now, lasting: JSON.stringify(lasting), limit });
  },
  /** Analyses created before `before` (ms). */
  analyses(db: Db, before: number, limit: number): number {
    return deleteSelected(db, 'analyses', PRUNE_QUERIES.analyses, { before, limit });
  },
  /** Delivered and dead outbox rows created before `before` (ms); pending rows are kept. */
  outbox(db: Db, before: number, limit: number): number {
    return deleteSelected(db, 'outbox', PRUNE_QUERIES.outbox, { before, limit });
  },
  /** SQLite's plan of a selection, one line per step (for tests: each must search an index, never scan). */
  plan(db: Db, sql: string, params: Record<string, unknown>): string[] {
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);
  },
};
