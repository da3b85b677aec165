/**
 * Shared certificates in the fleet's PostgreSQL (fleet/shared-certs.ts): the
 * only place their SQL lives. The private key is stored sealed (never a
 * usable key); every write draws a new version and NOTIFYs CERT_CHANNEL.
 */
import type pg from 'pg';
import { CERT_CHANNEL } from './leader.js';

/** What every node compares with its own certificates (no PEMs: cheap to read often). */
export interface SharedCertHead {
  name: string;
  serial: string;
  notBefore: Date;
  removed: boolean;
  version: number;
  node: string;
}

export interface SharedCert {
  name: string;
  names: string[];
  serial: string;
  notBefore: string;
  notAfter: string;
  challenge: string;
  orderUrl: string | null;
  chain: string;
  keySealed: string;
}

/** Writes (or replaces) a certificate and notifies the nodes. */
export async function putSharedCert(pool: pg.Pool, node: string, c: SharedCert): Promise<number> {
  const r = await pool.query<{ version: string }>(
    `WITH v AS (SELECT nextval('fleet_certificate_version') AS version, pg_notify($11, $1))
     INSERT INTO fleet_certificates (name, names, serial, not_before, not_after, challenge, order_url, chain, key_sealed, removed, version, node, updated_at)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, false, v.version, $10, now() FROM v
     ON CONFLICT (name) DO UPDATE SET names = excluded.names, serial = excluded.serial, not_before = excluded.not_before, not_after = excluded.not_after,
       challenge = excluded.challenge, order_url = excluded.order_url, chain = excluded.chain, key_sealed = excluded.key_sealed, removed = false,
       version = excluded.version, node = excluded.node, updated_at = now()
     RETURNING version`,
    [c.name, JSON.stringify(c.names), c.serial, c.notBefore, c.notAfter, c.challenge, c.orderUrl, c.chain, c.keySealed, node, CERT_CHANNEL],
  );
  return Number(r.rows[0]!.version);
}

/** Marks `name` removed when it still holds `serial` (a newer certificate of that name is left alone); true when marked. */
export async function removeSharedCert(pool: pg.Pool, node: string, name: string, serial: string): Promise<boolean> {
  const r = await pool.query(
    `UPDATE fleet_certificates SET removed = true, chain = NULL, key_sealed = NULL, version = nextval('fleet_certificate_version'), node = $3, updated_at = now()
      WHERE name = $1 AND serial = $2 AND NOT removed`,
    [name, serial, node],
  );
  if (r.rowCount) await pool.query('SELECT pg_notify($1, $2)', [CERT_CHANNEL, name]);
  return (r.rowCount ?? 0) > 0;
}

export async function sharedCertHeads(pool: pg.Pool): Promise<SharedCertHead[]> {
  const r = await pool.query<{ name: string; serial: string; not_before: Date; removed: boolean; version: string; node: string }>(
    'SELECT name, serial, not_before, removed, version, node FROM fleet_certificates ORDER BY version',
  );
  return r.rows.map((x) => ({ name: x.name, serial: x.serial, notBefore: x.not_before, removed: x.removed, version: Number(x.version), node: x.node }));
}

export async function sharedCert(pool: pg.Pool, name: string): Promise<SharedCert | null> {
  const r = await pool.query<{ name: string; names: string[]; serial: string; not_before: Date; not_after: Date; challenge: string; order_url: string | null; chain: string | null; key_sealed: string | null }>(
    'SELECT name, names, serial, not_before, not_after, challenge, order_url, chain, key_sealed FROM fleet_certificates WHERE name = $1 AND NOT removed',
    [name],
  );
  const x = r.rows[0];
  if (!x || x.chain === null || x.key_sealed === null) return null;
  return { name: x.name, names: x.names, serial: x.serial, notBefore: x.not_before.toISOString(), notAfter: x.not_after.toISOString(), challenge: x.challenge, orderUrl: x.order_url, chain: x.chain, keySealed: x.key_sealed };
}
