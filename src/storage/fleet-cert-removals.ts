/**
 * Certificate removals made on this node that the fleet's PostgreSQL has not
 * recorded yet (fleet/shared-certs.ts): kept in fleet_state (migration 13)
 * under `cert-removal:<name>`, the value the serial removed. Written before
 * PostgreSQL is asked and deleted once it has recorded the tombstone, so a
 * removal made while the database was away (or before a crash) is sent on
 * return, and the shared copy of that serial is not installed again meanwhile.
 * The only place their SQL lives.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

const PREFIX = 'cert-removal:';

export const pendingCertRemovals = {
  add(db: Db, name: string, serial: string): void {
    stmt(db, 'INSERT INTO fleet_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(PREFIX + name, serial);
  },
  /** Removes the entry for `name` only while it still names `serial` (a later removal of the same name is kept). */
  done(db: Db, name: string, serial: string): void {
    stmt(db, 'DELETE FROM fleet_state WHERE key = ? AND value = ?').run(PREFIX + name, serial);
  },
  list(db: Db): { name: string; serial: string }[] {
    return (stmt(db, "SELECT key, value FROM fleet_state WHERE key >= ? AND key < ? ORDER BY key").all(PREFIX, PREFIX.slice(0, -1) + ';') as { key: string; value: string }[]).map((r) => ({
      name: r.key.slice(PREFIX.length),
      serial: r.value,
    }));
  },
};
