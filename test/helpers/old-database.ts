/**
 * A database file as an older daemon left it: the shipped migrations up to
 * `version` applied, as storage/db.ts would have, and nothing after. For the
 * migration tests, which then fill it with that version's rows.
 */
import Database from 'better-sqlite3';
import { migrations } from '../../src/storage/migrations/index.js';

export function databaseAtVersion(file: string, version: number): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  for (const m of migrations.filter((m) => m.version <= version)) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  if (db.pragma('user_version', { simple: true }) !== version) throw new Error(`no migration ${version}`);
  return db;
}
