import type { PgMigration } from './migration.js';

/**
 * Shared certificates and HTTP-01 challenge tokens (fleet/shared-certs.ts,
 * fleet/challenges.ts). A certificate row holds the public chain and the
 * private key sealed with the fleet key (fleet/secret-box.ts): never a
 * usable key. `version` is drawn from its own sequence on every write, so
 * "what changed" is one ordered scan. A removal keeps the row with
 * `removed` and the serial that was removed (a tombstone), so a node that
 * was away removes exactly that certificate and no newer one.
 */
export const migration: PgMigration = {
  version: 3,
  name: 'shared certificates and challenge tokens',
  sql: `
    CREATE SEQUENCE fleet_certificate_version;
    CREATE TABLE fleet_certificates (
      name text PRIMARY KEY,
      names jsonb NOT NULL,
      serial text NOT NULL,
      not_before timestamptz NOT NULL,
      not_after timestamptz NOT NULL,
      challenge text NOT NULL,
      order_url text,
      chain text,
      key_sealed text,
      removed boolean NOT NULL DEFAULT false,
      version bigint NOT NULL,
      node text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE fleet_challenges (
      token text PRIMARY KEY,
      key_authorization text NOT NULL,
      node text NOT NULL,
      expires_at timestamptz NOT NULL
    );
  `,
};
