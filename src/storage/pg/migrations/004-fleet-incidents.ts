import type { PgMigration } from './migration.js';

/**
 * Fleet incidents (issue 17): one row per condition (rule and subject) seen
 * by one or more nodes within the incident window. `notifier` is the node
 * that opened it and sends its notifications; `open_nodes` the nodes whose
 * local incident is still open (the last one to leave resolves it and tells);
 * `last_seen` is pushed by the nodes while they see it (the window is judged
 * on it). Decided under an advisory lock per rule and subject
 * (storage/pg/incidents.ts).
 */
export const migration: PgMigration = {
  version: 4,
  name: 'fleet incidents',
  sql: `
    CREATE TABLE fleet_incidents (
      id bigserial PRIMARY KEY,
      rule text NOT NULL,
      subject_type text NOT NULL,
      subject_value text NOT NULL,
      severity text NOT NULL,
      escalate boolean NOT NULL,
      first_seen timestamptz NOT NULL,
      last_seen timestamptz NOT NULL,
      notifier text NOT NULL,
      nodes text[] NOT NULL,
      open_nodes text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      resolved_at timestamptz
    );
    CREATE INDEX fleet_incidents_open ON fleet_incidents (rule, subject_type, subject_value, last_seen) WHERE resolved_at IS NULL;
  `,
};
