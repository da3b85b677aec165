import type { Migration } from './migration.js';
/**
 * Migration 10: a site's options (force HTTPS, HSTS, and the groups that
 * follow) as one JSON column, read through storage/site-options.ts. '{}' is
 * every default: a database from before renders exactly as it did.
 */
export const migration: Migration = {
  version: 10,
  name: 'site options',
  sql: `ALTER TABLE domains ADD COLUMN options TEXT NOT NULL DEFAULT '{}';`,
};
