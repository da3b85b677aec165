import type { PgMigration } from './migration.js';

/**
 * Migration 5: the fleet's remediation actions (issue 17). One row per action
 * (fleet_id, given by the node that recorded it), holding its record as the
 * last writer left it (`body`, checked by every reader: fleet/action-schema.ts),
 * the node that took it and its id there. `version` comes from its own
 * sequence and is drawn anew by every write, under the fleet's WRITE_LOCK
 * (schema.ts), so "rows after version v" is a complete catch-up; `written_by`
 * is the node of the last write (a node skips its own: no echo).
 */
export const migration: PgMigration = {
  version: 5,
  name: 'shared remediation actions',
  sql: `
    CREATE SEQUENCE fleet_actions_version;
    CREATE TABLE fleet_actions (
      fleet_id uuid PRIMARY KEY,
      node text NOT NULL,
      local_id bigint NOT NULL,
      version bigint NOT NULL,
      written_by text NOT NULL,
      body jsonb NOT NULL,
      written_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX fleet_actions_by_version ON fleet_actions (version);
  `,
};
