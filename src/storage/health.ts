/** The database's own health, for GET /health: the only SQL the route needs. */
import type { Db } from './db.js';

/** True when a trivial query answers on this connection; never throws. */
export function databaseReadable(db: Db): boolean {
  try {
    db.prepare('SELECT 1').get();
    return true;
  } catch {
    return false;
  }
}
