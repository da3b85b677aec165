import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 2,
  name: 'certificates',
  sql: `
      CREATE TABLE certificates (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        names       TEXT NOT NULL,
        file        TEXT NOT NULL UNIQUE,
        issuer      TEXT,
        serial      TEXT,
        not_before  TEXT,
        not_after   TEXT,
        key_type    TEXT NOT NULL,
        challenge   TEXT NOT NULL CHECK (challenge IN ('http-01', 'dns-01', 'dns-01-manual', 'self-signed')),
        order_url   TEXT,
        last_attempt_at TEXT,
        last_error  TEXT,
        failures    INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
    `,
};
