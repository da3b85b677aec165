import type { Migration } from './migration.js';
/**
 * Migration 20: an analysis may be another fleet node's (issue 17: one LLM
 * analysis per fleet incident).
 * - analysed_by: the node whose model call made the verdict this node took
 *   from PostgreSQL; NULL when this node made the call (and on a single node).
 */
export const migration: Migration = {
  version: 16,
  name: 'analysis by another node',
  sql: `
      ALTER TABLE analyses ADD COLUMN analysed_by TEXT;
    `,
};
