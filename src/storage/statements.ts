/**
 * Prepared statements kept per connection: preparing is most of the cost of
 * a small query (a flood of blocks runs the same few thousands of times).
 * Contract: the SQL text is the key, so a statement's modes (pluck, raw)
 * must be the same wherever that text is used; nothing here iterates, so a
 * shared statement is never busy.
 */
import type Database from 'better-sqlite3';
import type { Db } from './db.js';

const perDb = new WeakMap<Db, Map<string, Database.Statement>>();

export function stmt(db: Db, sql: string): Database.Statement {
  let m = perDb.get(db);
  if (!m) {
    m = new Map();
    perDb.set(db, m);
  }
  let s = m.get(sql);
  if (!s) {
    s = db.prepare(sql);
    m.set(sql, s);
  }
  return s;
}
