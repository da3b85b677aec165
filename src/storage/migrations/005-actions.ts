import type { Migration } from './migration.js';

/** The `actions` table as migration 5 created it (frozen: migration 6 rebuilt it with the `expired` status). */
export const ACTIONS_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS actions (
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
  status           TEXT    NOT NULL CHECK (status IN ('proposed','approved','rejected','done','failed','reverted','recorded','refused')),
  reason           TEXT    NOT NULL,
  analysis_summary TEXT,
  result           TEXT,
  reviewed_by      TEXT,
  reverts_id       INTEGER REFERENCES actions(id) ON DELETE SET NULL,
  -- A daemon-made block always expires; only a person may make one permanent.
  CHECK (action <> 'block_ip' OR mode = 'refused' OR ttl_s IS NOT NULL OR decided_by = 'person')
);
CREATE INDEX IF NOT EXISTS actions_created ON actions (created_at);
CREATE INDEX IF NOT EXISTS actions_status ON actions (status, created_at);
CREATE INDEX IF NOT EXISTS actions_target ON actions (action, target, created_at);
CREATE INDEX IF NOT EXISTS actions_incident ON actions (incident_id);
CREATE INDEX IF NOT EXISTS actions_expiry ON actions (expires_at) WHERE status = 'done' AND expires_at IS NOT NULL;
`;

export const migration: Migration = {
  version: 5,
  name: 'remediation actions',
  sql: ACTIONS_TABLE_SQL,
};
