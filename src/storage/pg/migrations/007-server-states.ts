import type { PgMigration } from './migration.js';

/**
 * Migration 7: each server's shared administrative state (issue 17), beside
 * the change log: the state (ready, drain, maint) the operator last set for
 * `backend/server` on any node, with the version and node that set it (last
 * writer wins). Like the other state tables, nodes apply the change log, not
 * this table; it is what PostgreSQL holds now, for the operator and the
 * tests. Health (UP, DOWN) is never here: each node's HAProxy checks for
 * itself.
 */
export const migration: PgMigration = {
  version: 7,
  name: 'shared server administrative states',
  sql: `
    CREATE TABLE fleet_server_states (
      backend text NOT NULL,
      server text NOT NULL,
      state text NOT NULL CHECK (state IN ('ready', 'drain', 'maint')),
      version bigint NOT NULL,
      node text NOT NULL,
      PRIMARY KEY (backend, server)
    );
  `,
};
