/** Remediation actions: the only place their SQL lives. Rows mirror policy/actions.ts ActionRecord. */
import type { Db } from './db.js';
import { stmt } from './statements.js';
import type { ActionRecord } from '../pipeline/policy/actions.js';
import type { RecentAction } from '../pipeline/policy/types.js';

/** A row of `actions` as SQLite returns it (storage/fleet-actions.ts reads the fleet's columns on top). */
export interface ActionSql {
  id: number;
  created_at: number;
  updated_at: number;
  incident_id: number | null;
  action: ActionRecord['action'];
  target: string | null;
  ttl_s: number | null;
  expires_at: number | null;
  decided_by: ActionRecord['decidedBy'];
  actor: string | null;
  mode: ActionRecord['mode'];
  status: ActionRecord['status'];
  reason: string;
  analysis_summary: string | null;
  result: string | null;
  reviewed_by: string | null;
  reverts_id: number | null;
  fleet_id: string | null;
  node: string | null;
}

/** A row as the record the policy and API use. */
export const toRecord = (r: ActionSql): ActionRecord => ({
  id: r.id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  incidentId: r.incident_id,
  action: r.action,
  target: r.target,
  ttlS: r.ttl_s,
  expiresAt: r.expires_at,
  decidedBy: r.decided_by,
  actor: r.actor,
  mode: r.mode,
  status: r.status,
  reason: r.reason,
  analysisSummary: r.analysis_summary,
  result: r.result,
  reviewedBy: r.reviewed_by,
  revertsId: r.reverts_id,
  // Only in a fleet: a single node's records are as they always were.
  ...(r.fleet_id !== null ? { fleetId: r.fleet_id } : {}),
  ...(r.node !== null ? { node: r.node } : {}),
});

export const actions = {
  /**
   * Inserts a new record (id 0; the id is set) or updates an existing one.
   * A record with a fleet id is shared: the save marks it for PostgreSQL
   * (fleet_dirty, in the same statement), whichever node took it. A record
   * is inserted with a node only with a fleet id (another node's arrives
   * through storage/fleet-actions.ts).
   */
  save(db: Db, r: ActionRecord): ActionRecord {
    // A single node's statements are as they always were (no fleet columns named).
    const shared = r.fleetId != null;
    const row = {
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      incident_id: r.incidentId,
      action: r.action,
      target: r.target,
      ttl_s: r.ttlS,
      expires_at: r.expiresAt,
      decided_by: r.decidedBy,
      actor: r.actor,
      mode: r.mode,
      status: r.status,
      reason: r.reason.slice(0, 2000),
      analysis_summary: r.analysisSummary,
      result: r.result ? r.result.slice(0, 2000) : null,
      reviewed_by: r.reviewedBy,
      reverts_id: r.revertsId,
      ...(shared ? { fleet_id: r.fleetId ?? null, node: r.node ?? null } : {}),
    };
    if (r.id === 0) {
      const id = Number(
        stmt(db, 
            shared
              ? `INSERT INTO actions (created_at, updated_at, incident_id, action, target, ttl_s, expires_at, decided_by, actor, mode, status, reason, analysis_summary, result, reviewed_by, reverts_id, fleet_id, node, fleet_dirty)
                 VALUES (@created_at, @updated_at, @incident_id, @action, @target, @ttl_s, @expires_at, @decided_by, @actor, @mode, @status, @reason, @analysis_summary, @result, @reviewed_by, @reverts_id, @fleet_id, @node, 1)`
              : `INSERT INTO actions (created_at, updated_at, incident_id, action, target, ttl_s, expires_at, decided_by, actor, mode, status, reason, analysis_summary, result, reviewed_by, reverts_id)
                 VALUES (@created_at, @updated_at, @incident_id, @action, @target, @ttl_s, @expires_at, @decided_by, @actor, @mode, @status, @reason, @analysis_summary, @result, @reviewed_by, @reverts_id)`,
          )
          .run(row).lastInsertRowid,
      );
      return { ...r, id };
    }
    stmt(db, 
      `UPDATE actions SET updated_at = @updated_at, expires_at = @expires_at, status = @status, result = @result, reviewed_by = @reviewed_by, reason = @reason${shared ? ', fleet_dirty = fleet_dirty + 1' : ''} WHERE id = @id`,
    ).run({ ...row, id: r.id });
    return r;
  },
  get(db: Db, id: number): ActionRecord | null {
    const r = stmt(db, 'SELECT * FROM actions WHERE id = ?').get(id) as ActionSql | undefined;
    return r ? toRecord(r) : null;
  },
  list(db: Db, opts: { limit: number; status?: string; incidentId?: number }): ActionRecord[] {
    return (
      stmt(db, 'SELECT * FROM actions WHERE (@status IS NULL OR status = @status) AND (@incident IS NULL OR incident_id = @incident) ORDER BY id DESC LIMIT @limit').all({
        status: opts.status ?? null,
        incident: opts.incidentId ?? null,
        limit: opts.limit,
      }) as ActionSql[]
    ).map(toRecord);
  },
  /**
   * The expiry job lifted these blocks: this node's done block actions on
   * them whose time is up become `expired` (another node's are its own to
   * mark: every node lifts the block at the same time). Returns the records changed.
   */
  markExpired(db: Db, ips: readonly string[], now: number): ActionRecord[] {
    if (ips.length === 0) return [];
    const sel = stmt(db, "SELECT * FROM actions WHERE action = 'block_ip' AND status = 'done' AND target = ? AND expires_at IS NOT NULL AND expires_at <= ? AND node IS NULL");
    const upd = stmt(db, "UPDATE actions SET status = 'expired', updated_at = ?, result = ?, fleet_dirty = fleet_dirty + (fleet_id IS NOT NULL) WHERE id = ?");
    return db.transaction(() => {
      const out: ActionRecord[] = [];
      for (const ip of ips) {
        for (const r of (sel.all(ip, now + 1000) as ActionSql[]).map(toRecord)) {
          const result = `${r.result ?? 'blocked'}; lifted at ${new Date(now).toISOString()} (expired)`.slice(0, 2000);
          upd.run(now, result, r.id);
          out.push({ ...r, status: 'expired', updatedAt: now, result });
        }
      }
      return out;
    })();
  },
  /** This node's actions since `since` (ms) on an incident or on a target, newest first (an analysis' context). */
  about(db: Db, q: { incidentId: number; target: string | null; since: number; limit: number }): ActionRecord[] {
    return (
      stmt(db, 'SELECT * FROM actions WHERE created_at >= @since AND (incident_id = @incidentId OR (@target IS NOT NULL AND target = @target)) AND node IS NULL ORDER BY id DESC LIMIT @limit')
        .all({ since: q.since, incidentId: q.incidentId, target: q.target, limit: q.limit }) as ActionSql[]
    ).map(toRecord);
  },
  /** This node's actions decided since `since` (ms), for caps, cooldowns and repeat offenders. */
  recent(db: Db, since: number): RecentAction[] {
    return stmt(db, 'SELECT id, action, target, mode, decided_by AS decidedBy, created_at AS at FROM actions WHERE created_at >= ? AND node IS NULL ORDER BY id').all(since) as RecentAction[];
  },
  /**
   * This node's records since `since` whose target is one of `targets` (leaving out
   * the actions named in `without`: messages), plus those of the targetless
   * actions named in `targetless` (reload, restart): what one decision round
   * needs for its cooldowns and repeat offenders. Two indexed searches, so a
   * week of notify records (target NULL) is never scanned.
   */
  recentFor(db: Db, since: number, targets: readonly string[], opts: { targetless: readonly string[]; without: readonly string[] }): RecentAction[] {
    return stmt(
      db,
      `SELECT id, action, target, mode, decided_by AS decidedBy, created_at AS at FROM actions
        WHERE target IN (SELECT value FROM json_each(@targets)) AND created_at >= @since AND action NOT IN (SELECT value FROM json_each(@without)) AND node IS NULL
       UNION ALL
       SELECT id, action, target, mode, decided_by AS decidedBy, created_at AS at FROM actions
        WHERE action IN (SELECT value FROM json_each(@targetless)) AND target IS NULL AND created_at >= @since AND node IS NULL
       ORDER BY id`,
    ).all({ since, targets: JSON.stringify(targets), targetless: JSON.stringify(opts.targetless), without: JSON.stringify(opts.without) }) as RecentAction[];
  },

};
