import type { PgMigration } from './migration.js';

/**
 * Migration 2: the shared configuration's current state (issue 17), beside
 * the change log: each domain (with its backend, servers and site options)
 * and each TCP service as the body its last change carried, each trusted
 * proxy with its note; every row with the version and node that set it
 * (last writer wins). Nodes apply the change log, not these tables; they are
 * what PostgreSQL holds now, for the operator and the tests.
 */
export const migration: PgMigration = {
  version: 2,
  name: 'shared domains, TCP services and trusted proxies',
  sql: `
    CREATE TABLE fleet_domains (
      domain text PRIMARY KEY,
      body jsonb NOT NULL,
      version bigint NOT NULL,
      node text NOT NULL
    );
    CREATE TABLE fleet_tcp_services (
      name text PRIMARY KEY,
      body jsonb NOT NULL,
      version bigint NOT NULL,
      node text NOT NULL
    );
    CREATE TABLE fleet_trusted_proxies (
      cidr text PRIMARY KEY,
      note text,
      version bigint NOT NULL,
      node text NOT NULL
    );
  `,
};
