import type { Migration } from './migration.js';

export const migration: Migration = {
  version: 6,
  name: 'analyses; expired blocks as an action status',
  // SQLite cannot change a CHECK in place: the actions table is rebuilt
  // (the self-reference names the new table so the rename carries it over).
  sql: `
      CREATE TABLE actions_v6 (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        incident_id      INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
        action           TEXT    NOT NULL CHECK (action IN ('block_ip','unblock_ip','trust_ip','untrust_ip','disable_server','enable_server','drain_server','reload_haproxy','restart_haproxy','notify')),
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
        reverts_id       INTEGER REFERENCES actions_v6(id) ON DELETE SET NULL,
        CHECK (action <> 'block_ip' OR mode = 'refused' OR ttl_s IS NOT NULL OR decided_by = 'person')
      );
      INSERT INTO actions_v6 SELECT id, created_at, updated_at, incident_id, action, target, ttl_s, expires_at, decided_by, actor, mode, status, reason, analysis_summary, result, reviewed_by, reverts_id FROM actions;
      DROP TABLE actions;
      ALTER TABLE actions_v6 RENAME TO actions;
      CREATE INDEX actions_created ON actions (created_at);
      CREATE INDEX actions_status ON actions (status, created_at);
      CREATE INDEX actions_target ON actions (action, target, created_at);
      CREATE INDEX actions_incident ON actions (incident_id);
      CREATE INDEX actions_expiry ON actions (expires_at) WHERE status = 'done' AND expires_at IS NOT NULL;

      CREATE TABLE analyses (
        id              INTEGER PRIMARY KEY,
        incident_id     INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
        created_at      INTEGER NOT NULL,
        status          TEXT    NOT NULL CHECK (status IN ('analysed','skipped','failed')),
        reason          TEXT,
        trigger         TEXT    NOT NULL,
        model           TEXT,
        cached          INTEGER NOT NULL DEFAULT 0,
        escalated       INTEGER NOT NULL DEFAULT 0,
        summary         TEXT,
        likely_cause    TEXT,
        severity        TEXT,
        confidence      REAL,
        recommendations TEXT    NOT NULL DEFAULT '[]',
        dropped         TEXT    NOT NULL DEFAULT '[]'
      );
      CREATE INDEX analyses_incident ON analyses (incident_id, id);
      -- The open digest of a channel is looked up on every notification.
      CREATE INDEX outbox_open_digest ON outbox (channel, id) WHERE kind = 'digest' AND delivered_at IS NULL AND attempts = 0;
    `,
};
