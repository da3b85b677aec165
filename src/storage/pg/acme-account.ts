/**
 * The fleet's ACME account (fleet/acme-account.ts): the only place its SQL
 * lives. One row per ACME directory; the key is stored sealed.
 */
import type pg from 'pg';

export interface SharedAccountRow {
  directory: string;
  keySealed: string;
  accountUrl: string;
  node: string;
}

export async function getSharedAccount(pool: pg.Pool, directory: string): Promise<SharedAccountRow | null> {
  const r = await pool.query<{ directory: string; key_sealed: string; account_url: string; node: string }>(
    'SELECT directory, key_sealed, account_url, node FROM fleet_acme_account WHERE directory = $1',
    [directory],
  );
  const x = r.rows[0];
  return x ? { directory: x.directory, keySealed: x.key_sealed, accountUrl: x.account_url, node: x.node } : null;
}

/** Stores the account unless one is already stored for the directory; returns the one stored (the first writer's). */
export async function putSharedAccount(pool: pg.Pool, a: SharedAccountRow): Promise<SharedAccountRow> {
  await pool.query('INSERT INTO fleet_acme_account (directory, key_sealed, account_url, node) VALUES ($1, $2, $3, $4) ON CONFLICT (directory) DO NOTHING', [a.directory, a.keySealed, a.accountUrl, a.node]);
  return (await getSharedAccount(pool, a.directory))!;
}
