import type { PgMigration } from './migration.js';

/**
 * Certificate requests made on any node, and the fleet's one ACME account
 * (fleet/cert-requests.ts, fleet/acme-account.ts).
 *
 * fleet_cert_requests: a node that does not lead queues an order or a
 * renewal here; the leader claims it (state running, with `term`: the
 * backend pid of the session holding the leader lock, so a row left running
 * by a leader whose lock is gone can be told apart and run again), carries
 * it out and records the outcome. States only move queued -> running ->
 * done|failed, or running -> queued when its leader died (`attempts` counts
 * the starts; the CHECKs keep a row coherent whatever code writes it).
 *
 * fleet_acme_account: one account per ACME directory, its private key sealed
 * with the fleet key (never a usable key in the database).
 */
export const migration: PgMigration = {
  version: 6,
  name: 'certificate requests from any node, the fleet ACME account',
  sql: `
    CREATE TABLE fleet_cert_requests (
      id bigserial PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('order', 'renew')),
      names jsonb NOT NULL,
      body jsonb NOT NULL,
      requested_node text NOT NULL,
      requested_actor text NOT NULL,
      state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
      run_node text,
      term int,
      attempts int NOT NULL DEFAULT 0,
      result jsonb,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz,
      CHECK ((state = 'running') = (term IS NOT NULL)),
      CHECK ((state IN ('done', 'failed')) = (finished_at IS NOT NULL))
    );
    CREATE INDEX fleet_cert_requests_open ON fleet_cert_requests (id) WHERE state IN ('queued', 'running');
    CREATE TABLE fleet_acme_account (
      directory text PRIMARY KEY,
      key_sealed text NOT NULL,
      account_url text NOT NULL,
      node text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
  `,
};
