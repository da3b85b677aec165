/**
 * Opening the SQLite database: WAL, foreign keys on, migrations applied.
 * The daemon holds two connections: `writer` for every change (used only
 * under the apply lock, see haproxy/apply.ts) and `reader` for API reads, so
 * a read never sees a change whose HAProxy apply is still in flight.
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations.js';

export type Db = Database.Database;

function configure(db: Db): void {
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
}

/** Applies pending migrations; backs the file up first when it already holds data. Returns the versions applied. */
export function migrate(db: Db, file: string | null): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return [];
  if (current > 0 && file) {
    db.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(file, `${file}.before-v${pending[0]!.version}.bak`);
  }
  for (const m of pending) {
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return pending.map((m) => m.version);
}

export function openDatabase(file: string): { writer: Db; reader: Db } {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }
  const isNew = file === ':memory:' || !existsSync(file);
  const writer = new Database(file);
  configure(writer);
  migrate(writer, file === ':memory:' ? null : file);
  if (isNew && file !== ':memory:') chmodSync(file, 0o600);
  const reader = file === ':memory:' ? writer : new Database(file, { readonly: true });
  if (reader !== writer) {
    reader.pragma('foreign_keys = ON');
    reader.pragma('busy_timeout = 5000');
  }
  return { writer, reader };
}
