/**
 * A fleet node's local tables (migration 13): the outbox of its own changes
 * to shared state and its small state values. The only place their SQL lives.
 * Bodies are JSON text here; fleet/changes.ts owns their shape.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface FleetOutboxRow {
  id: number;
  changeId: string;
  body: unknown;
  /** The last fleet version this node had applied when it made the change (conflict detection). */
  baseVersion: number;
  createdAt: string;
}

interface Sql {
  id: number;
  change_id: string;
  body: string;
  base_version: number;
  created_at: string;
}

export const fleetOutbox = {
  add(db: Db, changeId: string, body: unknown, baseVersion: number): void {
    stmt(db, 'INSERT INTO fleet_outbox (change_id, body, base_version) VALUES (?, ?, ?)').run(changeId, JSON.stringify(body), baseVersion);
  },
  /** The oldest `limit` rows, in the order they were made. */
  oldest(db: Db, limit: number): FleetOutboxRow[] {
    return (stmt(db, 'SELECT * FROM fleet_outbox ORDER BY id LIMIT ?').all(limit) as Sql[]).map((r) => ({
      id: r.id,
      changeId: r.change_id,
      body: JSON.parse(r.body) as unknown,
      baseVersion: r.base_version,
      createdAt: r.created_at,
    }));
  },
  /** Removes rows PostgreSQL holds (by id: a row added since is kept). */
  remove(db: Db, ids: readonly number[]): void {
    const del = stmt(db, 'DELETE FROM fleet_outbox WHERE id = ?');
    // One transaction: thousands of rows (an import shared) are one commit, not one each.
    db.transaction(() => {
      for (const id of ids) del.run(id);
    })();
  },
  count(db: Db): number {
    return stmt(db, 'SELECT count(*) FROM fleet_outbox').pluck().get() as number;
  },
};

export const fleetState = {
  get(db: Db, key: string): string | null {
    return (stmt(db, 'SELECT value FROM fleet_state WHERE key = ?').pluck().get(key) as string | undefined) ?? null;
  },
  set(db: Db, key: string, value: string): void {
    stmt(db, 'INSERT INTO fleet_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  },
};
