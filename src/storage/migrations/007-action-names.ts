import type { Migration } from './migration.js';
/**
 * Migration 7: action names are no longer a CHECK on the `actions` table;
 * the registry (pipeline/actions/registry.ts) checks them when a record is
 * made, so adding an action needs no migration. The table is rebuilt as
 * migration 6 did (SQLite cannot drop a CHECK in place); every other
 * constraint and index is kept, and the self-reference names the new table
 * so the rename carries it over.
 */
export const migration: Migration = {
  version: 7,
  name: 'action names checked by the registry, not the table',
  sql: `
    CREATE TABLE actions_v7 (
      id               INTEGER PRIMARY KEY AUTOINCREMENT,
      created_at       INTEGER NOT NULL,
      updated_at       INTEGER NOT NULL,
      incident_id      INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
      action           TEXT    NOT NULL,
      target           TEXT,
      ttl_s            INTEGER CHECK (ttl_s IS NULL OR ttl_s > 0),
      expires_at       INTEGER,
      decided_by       TEXT    NOT NULL CHECK (decided_by IN ('rule','llm','person')),
      actor            TEXT,
      mode             TEXT    NOT NULL CHECK (mode IN ('enforce','propose','dry-run','refused')),
      status           TEXT    NOT NULL CHECK (status IN ('proposed','approved','rejected','done','failed','reverted','recorded','refused','expired')),
      reason           TEXT    NOT NULL,
      analysis_summary TEXT,
      result           TEXT,
      reviewed_by      TEXT,
      reverts_id       INTEGER REFERENCES actions_v7(id) ON DELETE SET NULL,
      CHECK (action <> 'block_ip' OR mode = 'refused' OR ttl_s IS NOT NULL OR decided_by = 'person')
    );
    INSERT INTO actions_v7 SELECT id, created_at, updated_at, incident_id, action, target, ttl_s, expires_at, decided_by, actor, mode, status, reason, analysis_summary, result, reviewed_by, reverts_id FROM actions;
    DROP TABLE actions;
    ALTER TABLE actions_v7 RENAME TO actions;
    CREATE INDEX actions_created ON actions (created_at);
    CREATE INDEX actions_status ON actions (status, created_at);
    CREATE INDEX actions_target ON actions (action, target, created_at);
    CREATE INDEX actions_incident ON actions (incident_id);
    CREATE INDEX actions_expiry ON actions (expires_at) WHERE status = 'done' AND expires_at IS NOT NULL;
  `,
};
