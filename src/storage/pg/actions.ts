/**
 * The fleet's remediation actions in PostgreSQL (migration 5) and the
 * conflicts the operator is shown: the only place their SQL lives. A write
 * is a batch of one node's changed records in one transaction under
 * WRITE_LOCK (schema.ts), each an upsert by fleet id drawing a new version;
 * the commit NOTIFYs ACTIONS_CHANNEL with the highest version.
 */
import type pg from 'pg';
import { WRITE_LOCK } from './schema.js';
import type { Conflict } from './changes.js';
import { inTransaction } from './transaction.js';

/** The NOTIFY channel of action writes; the payload is the highest version committed. */
export const ACTIONS_CHANNEL = 'hm_fleet_actions';

export interface ActionToWrite {
  fleetId: string;
  /** The node that took the action, and its id there (kept as first written). */
  node: string;
  localId: number;
  /** The record as the writer has it now (fleet/action-schema.ts is its shape). */
  body: unknown;
  /** The version of this row the writer last wrote or applied (0: none). */
  baseVersion: number;
}

export interface StoredAction {
  fleetId: string;
  node: string;
  localId: number;
  version: number;
  writtenBy: string;
  /** As stored: unchecked until fleet/action-schema.ts has passed it. */
  body: unknown;
}

export interface ActionWriteResult {
  /** The version each row got, in the order given. */
  versions: number[];
  /** Rows another node had written after this writer last saw them: this write won (last writer), theirs is the loser. */
  conflicts: Conflict[];
}

/** Writes one node's changed records, in order, in one transaction. */
export async function writeActions(pool: pg.Pool, writer: string, items: readonly ActionToWrite[]): Promise<ActionWriteResult> {
  return inTransaction(pool, async (c) => {
    const out: ActionWriteResult = { versions: [], conflicts: [] };
    await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
    for (const it of items) {
      const prev = (await c.query<{ version: string; written_by: string }>('SELECT version, written_by FROM fleet_actions WHERE fleet_id = $1', [it.fleetId])).rows[0];
      const r = await c.query<{ version: string }>(
        `INSERT INTO fleet_actions (fleet_id, node, local_id, version, written_by, body) VALUES ($1, $2, $3, nextval('fleet_actions_version'), $4, $5)
         ON CONFLICT (fleet_id) DO UPDATE SET version = excluded.version, written_by = excluded.written_by, body = excluded.body, written_at = now()
         RETURNING version`,
        [it.fleetId, it.node, it.localId, writer, JSON.stringify(it.body)],
      );
      const version = Number(r.rows[0]!.version);
      if (prev && prev.written_by !== writer && Number(prev.version) > it.baseVersion) {
        const conflict: Conflict = { key: `action:${it.fleetId}`, version, loserVersion: Number(prev.version), loserNode: prev.written_by };
        await c.query('INSERT INTO fleet_conflicts (version, winner_node, loser_version, loser_node, key) VALUES ($1, $2, $3, $4, $5)', [version, writer, conflict.loserVersion, conflict.loserNode, conflict.key]);
        out.conflicts.push(conflict);
      }
      out.versions.push(version);
    }
    if (out.versions.length) await c.query('SELECT pg_notify($1, $2)', [ACTIONS_CHANNEL, String(Math.max(...out.versions))]);
    return out;
  });
}

/** Rows written after `version`, oldest write first, at most `limit`. */
export async function actionsAfter(pool: pg.Pool, version: number, limit: number): Promise<StoredAction[]> {
  const r = await pool.query<{ fleet_id: string; node: string; local_id: string; version: string; written_by: string; body: unknown }>(
    'SELECT fleet_id, node, local_id, version, written_by, body FROM fleet_actions WHERE version > $1 ORDER BY version LIMIT $2',
    [version, limit],
  );
  return r.rows.map((x) => ({ fleetId: x.fleet_id, node: x.node, localId: Number(x.local_id), version: Number(x.version), writtenBy: x.written_by, body: x.body }));
}

/** A last-writer-wins loser, as the operator is shown it. */
export interface ConflictRow {
  id: number;
  key: string;
  winnerNode: string;
  winnerVersion: number;
  loserNode: string;
  loserVersion: number;
  at: Date;
}

/** The most recent conflicts (every kind of shared state), newest first. */
export async function recentConflicts(pool: pg.Pool, limit: number): Promise<ConflictRow[]> {
  const r = await pool.query<{ id: string; key: string; winner_node: string; version: string; loser_node: string; loser_version: string; at: Date }>(
    'SELECT id, key, winner_node, version, loser_node, loser_version, at FROM fleet_conflicts ORDER BY id DESC LIMIT $1',
    [limit],
  );
  return r.rows.map((x) => ({ id: Number(x.id), key: x.key, winnerNode: x.winner_node, winnerVersion: Number(x.version), loserNode: x.loser_node, loserVersion: Number(x.loser_version), at: x.at }));
}
