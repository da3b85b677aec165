import type { Migration } from './migration.js';
/**
 * Migration 8: `analyses.escalated` becomes `strong_model` (the stronger model
 * was asked). "Escalate" now means one thing only: an incident handed to the
 * analysis tier.
 */
export const migration: Migration = {
  version: 8,
  name: 'analyses.escalated renamed strong_model',
  sql: `ALTER TABLE analyses RENAME COLUMN escalated TO strong_model;`,
};
