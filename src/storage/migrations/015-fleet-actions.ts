import type { Migration } from './migration.js';
/**
 * Migration 17: remediation actions shared by a fleet (issue 17).
 * - fleet_id: the action's fleet-wide id (a uuid given when it is recorded on
 *   a fleet node); NULL on a single node, whose actions are never shared.
 * - node: the node that took it when that is another node (its record came
 *   through PostgreSQL); NULL for this node's own actions. The policy's
 *   context (cooldowns, caps, repeat offenders) reads only this node's own.
 * - fleet_dirty: > 0 while this row has a local change PostgreSQL does not
 *   hold yet (counts the saves since the last write, so a save made while a
 *   write was under way keeps the row dirty): the row is its own outbox.
 * - fleet_version: the version of the PostgreSQL row this node last wrote or
 *   applied (conflict detection: a newer one by another node is overwritten
 *   by the last writer and recorded as a conflict).
 */
export const migration: Migration = {
  version: 15,
  name: 'fleet actions',
  sql: `
      ALTER TABLE actions ADD COLUMN fleet_id TEXT;
      ALTER TABLE actions ADD COLUMN node TEXT;
      ALTER TABLE actions ADD COLUMN fleet_dirty INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE actions ADD COLUMN fleet_version INTEGER NOT NULL DEFAULT 0;
      CREATE UNIQUE INDEX actions_fleet_id ON actions (fleet_id) WHERE fleet_id IS NOT NULL;
      CREATE INDEX actions_fleet_dirty ON actions (id) WHERE fleet_dirty > 0;
    `,
};
