import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 3,
  name: 'incidents and source positions',
  sql: `
      CREATE TABLE incidents (
        id            INTEGER PRIMARY KEY,
        rule          TEXT NOT NULL,
        category      TEXT NOT NULL,
        severity      TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
        subject_type  TEXT NOT NULL,
        subject_value TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
        first_seen    TEXT NOT NULL,
        last_seen     TEXT NOT NULL,
        count         INTEGER NOT NULL,
        escalate      INTEGER NOT NULL DEFAULT 0,
        actions       TEXT NOT NULL DEFAULT '[]',
        samples       TEXT NOT NULL DEFAULT '[]',
        resolved_at   TEXT,
        updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE UNIQUE INDEX incidents_open ON incidents(rule, subject_type, subject_value) WHERE status = 'open';
      CREATE INDEX incidents_last_seen ON incidents(last_seen);
      CREATE TABLE source_positions (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
    `,
};
