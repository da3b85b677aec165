import type { Migration } from './migration.js';
/**
 * Migration 13: a fleet node's local side of shared state (issue 17).
 * - fleet_outbox: this node's own changes to shared state, written in the same
 *   transaction as the change itself and removed once PostgreSQL holds them, so
 *   a change made while the database is away is queued, never lost; the change
 *   id makes a resend after a crash a no-op there.
 * - fleet_state: small values, e.g. the last fleet version applied here (the
 *   catch-up point after a reconnect).
 * Single-node daemons have both tables, empty.
 */
export const migration: Migration = {
  version: 13,
  name: 'fleet outbox',
  sql: `
      CREATE TABLE fleet_outbox (
        id INTEGER PRIMARY KEY,
        change_id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        base_version INTEGER NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      );
      CREATE TABLE fleet_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
};
