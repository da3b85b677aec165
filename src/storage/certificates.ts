/**
 * Certificates: the only place their SQL lives. Each row is one combined PEM
 * file with the names it covers, its dates and issuer, the key type, how it
 * was obtained and its ACME order: no lineage is ever guessed from file names
 * or modification times.
 */
import type { Db } from './db.js';

export type Challenge = 'http-01' | 'dns-01' | 'dns-01-manual' | 'self-signed';

export interface CertificateRow {
  id: number;
  name: string;
  names: string[];
  file: string;
  issuer: string | null;
  serial: string | null;
  not_before: string | null;
  not_after: string | null;
  key_type: string;
  challenge: Challenge;
  order_url: string | null;
  last_attempt_at: string | null;
  last_error: string | null;
  failures: number;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

type Sql = Omit<CertificateRow, 'names'> & { names: string };
const toRow = (r: Sql): CertificateRow => ({ ...r, names: JSON.parse(r.names) as string[] });

export interface CertificateFacts {
  name: string;
  names: string[];
  file: string;
  issuer: string | null;
  serial: string | null;
  notBefore: string | null;
  notAfter: string | null;
  keyType: string;
  challenge: Challenge;
  orderUrl: string | null;
}

export const certificates = {
  list(db: Db): CertificateRow[] {
    return (db.prepare(`SELECT * FROM certificates ORDER BY challenge = 'self-signed' DESC, name`).all() as Sql[]).map(toRow);
  },
  get(db: Db, name: string): CertificateRow | null {
    const r = db.prepare('SELECT * FROM certificates WHERE name = ?').get(name) as Sql | undefined;
    return r ? toRow(r) : null;
  },
  /** Inserts or replaces the facts of a certificate (a renewal keeps the row, clears its failures). */
  save(db: Db, c: CertificateFacts): number {
    db.prepare(
      `INSERT INTO certificates (name, names, file, issuer, serial, not_before, not_after, key_type, challenge, order_url)
       VALUES (@name, @names, @file, @issuer, @serial, @notBefore, @notAfter, @keyType, @challenge, @orderUrl)
       ON CONFLICT(name) DO UPDATE SET names = excluded.names, file = excluded.file, issuer = excluded.issuer, serial = excluded.serial,
         not_before = excluded.not_before, not_after = excluded.not_after, key_type = excluded.key_type, challenge = excluded.challenge,
         order_url = excluded.order_url, last_error = NULL, failures = 0, next_attempt_at = NULL,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
    ).run({ ...c, names: JSON.stringify(c.names) });
    return (db.prepare('SELECT id FROM certificates WHERE name = ?').get(c.name) as { id: number }).id;
  },
  recordFailure(db: Db, name: string, error: string, nextAttemptAt: string): void {
    db.prepare(
      `UPDATE certificates SET last_error = ?, failures = failures + 1, next_attempt_at = ?, last_attempt_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE name = ?`,
    ).run(error.slice(0, 2000), nextAttemptAt, name);
  },
  remove(db: Db, name: string): boolean {
    return db.prepare('DELETE FROM certificates WHERE name = ?').run(name).changes > 0;
  },
};

/** True when a certificate name (exact or `*.base`) covers a host name, as TLS does: a wildcard covers one label, never the apex. */
export function covers(certName: string, host: string): boolean {
  if (certName === host) return true;
  if (!certName.startsWith('*.')) return false;
  const base = certName.slice(2);
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === base;
}
