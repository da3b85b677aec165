/**
 * A fleet node's side of shared remediation actions (migration 15): the
 * rows waiting for PostgreSQL, marking them written, and applying another
 * node's record. The only place this SQL lives; fleet/actions-sync.ts owns
 * the flow. Rows are the `actions` table's; a row's `fleet_dirty` is its
 * outbox mark (see the migration).
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';
import type { ActionRecord } from '../pipeline/policy/actions.js';
import { toRecord, type ActionSql } from './actions.js';

/** A row to write: its record, the mark seen (markWritten clears only that), the version last seen, and the fleet id of the action it reverts. */
export interface DirtyAction {
  record: ActionRecord & { fleetId: string };
  dirty: number;
  fleetVersion: number;
  revertsFleetId: string | null;
}

/** Another node's record as it is applied here (checked: fleet/action-schema.ts). */
export interface RemoteAction {
  fleetId: string;
  node: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  action: ActionRecord['action'];
  target: string | null;
  ttlS: number | null;
  expiresAt: number | null;
  decidedBy: ActionRecord['decidedBy'];
  actor: string | null;
  mode: ActionRecord['mode'];
  status: ActionRecord['status'];
  reason: string;
  analysisSummary: string | null;
  result: string | null;
  reviewedBy: string | null;
  revertsFleetId: string | null;
}

interface DirtySql extends ActionSql {
  fleet_id: string;
  fleet_dirty: number;
  fleet_version: number;
  reverts_fleet_id: string | null;
}

export const fleetActions = {
  /** The oldest `limit` rows with a change PostgreSQL does not hold yet. */
  dirty(db: Db, limit: number): DirtyAction[] {
    const rows = stmt(
      db,
      `SELECT a.*, r.fleet_id AS reverts_fleet_id FROM actions a LEFT JOIN actions r ON r.id = a.reverts_id
        WHERE a.fleet_dirty > 0 ORDER BY a.id LIMIT ?`,
    ).all(limit) as DirtySql[];
    return rows.map((r) => ({
      record: { ...toRecord(r), fleetId: r.fleet_id },
      dirty: r.fleet_dirty,
      fleetVersion: r.fleet_version,
      revertsFleetId: r.reverts_fleet_id,
    }));
  },
  count(db: Db): number {
    return stmt(db, 'SELECT count(*) FROM actions WHERE fleet_dirty > 0').pluck().get() as number;
  },
  /** PostgreSQL holds the row as read (`dirty` saves): clear the mark unless it was saved again since, and note the version. */
  markWritten(db: Db, id: number, dirty: number, version: number): void {
    stmt(db, 'UPDATE actions SET fleet_dirty = CASE WHEN fleet_dirty = @dirty THEN 0 ELSE fleet_dirty END, fleet_version = @version WHERE id = @id').run({ id, dirty, version });
  },
  /**
   * Applies another node's record: a new action is inserted (no incident
   * here: incidents are each node's own), a known one takes the new state
   * (status, result, reviewer, expiry, reason: what a save changes). A row
   * with a local change not yet written is left alone (its write comes later
   * and the last writer wins). `self`: this node's name (its own action comes
   * back as node NULL). Returns what was done.
   */
  applyRemote(db: Db, a: RemoteAction, self: string): 'inserted' | 'updated' | 'pending' {
    const cur = stmt(db, 'SELECT id, fleet_dirty FROM actions WHERE fleet_id = ?').get(a.fleetId) as { id: number; fleet_dirty: number } | undefined;
    if (cur && cur.fleet_dirty > 0) return 'pending';
    const revertsId = a.revertsFleetId === null ? null : ((stmt(db, 'SELECT id FROM actions WHERE fleet_id = ?').pluck().get(a.revertsFleetId) as number | undefined) ?? null);
    const row = {
      created_at: a.createdAt,
      updated_at: a.updatedAt,
      action: a.action,
      target: a.target,
      ttl_s: a.ttlS,
      expires_at: a.expiresAt,
      decided_by: a.decidedBy,
      actor: a.actor,
      mode: a.mode,
      status: a.status,
      reason: a.reason,
      analysis_summary: a.analysisSummary,
      result: a.result,
      reviewed_by: a.reviewedBy,
      reverts_id: revertsId,
      fleet_id: a.fleetId,
      node: a.node === self ? null : a.node,
      fleet_version: a.version,
    };
    if (cur) {
      stmt(
        db,
        `UPDATE actions SET updated_at = @updated_at, expires_at = @expires_at, status = @status, result = @result, reviewed_by = @reviewed_by, reason = @reason,
                fleet_version = @fleet_version WHERE id = @id`,
      ).run({ ...row, id: cur.id });
      return 'updated';
    }
    stmt(
      db,
      `INSERT INTO actions (created_at, updated_at, incident_id, action, target, ttl_s, expires_at, decided_by, actor, mode, status, reason, analysis_summary, result, reviewed_by, reverts_id, fleet_id, node, fleet_dirty, fleet_version)
       VALUES (@created_at, @updated_at, NULL, @action, @target, @ttl_s, @expires_at, @decided_by, @actor, @mode, @status, @reason, @analysis_summary, @result, @reviewed_by, @reverts_id, @fleet_id, @node, 0, @fleet_version)`,
    ).run(row);
    return 'inserted';
  },
};
