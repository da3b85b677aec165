import type { PgMigration } from './migration.js';

export const migration: PgMigration = {
  version: 1,
  name: 'change log, shared blocked and trusted addresses',
  sql: `
    CREATE TABLE fleet_changes (
      version bigserial PRIMARY KEY,
      change_id uuid NOT NULL UNIQUE,
      node text NOT NULL,
      kind text NOT NULL,
      key text NOT NULL,
      body jsonb NOT NULL,
      made_at timestamptz NOT NULL,
      committed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX fleet_changes_key ON fleet_changes (key, version);
    CREATE TABLE fleet_blocked_ips (
      ip_address text PRIMARY KEY,
      reason text,
      blocked_by text,
      expires_at timestamptz,
      version bigint NOT NULL,
      node text NOT NULL
    );
    CREATE TABLE fleet_trusted_ips (
      ip_address text NOT NULL,
      scope text NOT NULL,
      note text,
      version bigint NOT NULL,
      node text NOT NULL,
      PRIMARY KEY (ip_address, scope)
    );
    CREATE TABLE fleet_conflicts (
      id bigserial PRIMARY KEY,
      version bigint NOT NULL,
      winner_node text NOT NULL,
      loser_version bigint NOT NULL,
      loser_node text NOT NULL,
      key text NOT NULL,
      at timestamptz NOT NULL DEFAULT now()
    );
  `,
};
