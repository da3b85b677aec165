import type { Migration } from './migration.js';
/**
 * Migration 9: actions indexed by target. A decision round reads only the
 * records of its own targets (cooldown, repeat offenders), so a flood of
 * 2,000 attackers costs 2,000 indexed lookups, not 2,000 scans of the week.
 */
export const migration: Migration = {
  version: 9,
  name: 'actions indexed by target',
  sql: `CREATE INDEX IF NOT EXISTS actions_by_target ON actions (target, created_at);`,
};
