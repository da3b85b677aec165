import type { Migration } from './migration.js';
/**
 * Migration 12: indexes for retention (issue 14), so each prune is a range
 * delete on an indexed time column (storage/retention.ts):
 * - resolved incidents by `resolved_at` (open ones are never pruned);
 * - analyses by `created_at`;
 * - actions with no incident by `created_at` (an incident's actions go with it);
 * - actions by `reverts_id`: deleting an action makes SQLite look for the
 *   records that revert it (ON DELETE SET NULL), a full scan per row without it;
 * - finished outbox rows (delivered or dead) by `created_at`.
 * audit_log(at), actions(incident_id) and analyses(incident_id) already exist.
 */
export const migration: Migration = {
  version: 12,
  name: 'retention indexes',
  sql: `
      CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE status = 'resolved';
      CREATE INDEX analyses_created ON analyses (created_at);
      CREATE INDEX actions_unlinked ON actions (created_at) WHERE incident_id IS NULL;
      CREATE INDEX actions_reverts ON actions (reverts_id);
      CREATE INDEX outbox_finished ON outbox (created_at) WHERE delivered_at IS NOT NULL OR next_attempt_at IS NULL;
    `,
};
