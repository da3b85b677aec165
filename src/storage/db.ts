/**
 * Opening the SQLite database: WAL, foreign keys on, migrations applied.
 *
 * The one rule every unit relies on: **no transaction is ever open when
 * control returns to the event loop.** Every transaction is a synchronous
 * function (`db.transaction(fn)()`, or BEGIN..COMMIT/ROLLBACK with no `await`
 * between them), so one unit's transaction can never swallow another unit's
 * writes, and every unit sees what the others committed. The applier
 * (haproxy/config/apply.ts) honours it by building a change's candidate in a
 * transaction it rolls back at once and committing only after HAProxy took
 * the change. `guardTransactions` enforces the rule: a transaction still open
 * when the code that opened it yields is reported, and with `HAPROXY_MANAGER_STRICT_TX=1` (the
 * test suite) it throws, failing the test that caused it.
 *
 * The daemon holds one read-write connection (`writer`) and, for the API's
 * reads, a read-only one (`reader`); offline commands open the file
 * read-only and never create or migrate it (`openDatabaseReadOnly`).
 */
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, mkdirSync, chmodSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations/index.js';
import { AppError } from '../errors.js';

export type Db = Database.Database;

function configure(db: Db): void {
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
}

/** The schema version this build writes. */
export const SCHEMA_VERSION = Math.max(...migrations.map((m) => m.version));

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

/** Told when a transaction stayed open across a return to the event loop. */
export type TxLeakHandler = (message: string) => void;

const strictTx = () => process.env.HAPROXY_MANAGER_STRICT_TX === '1';

/**
 * Checks, as soon as the code that ran a statement through `exec` and left a
 * transaction open yields (a microtask: any `await` at all, however short),
 * that it has been closed. Every transaction in this code
 * base is opened with `exec('BEGIN…')` or `db.transaction()` (which cannot
 * outlive its synchronous function), so this sees every way to break the rule.
 */
export function guardTransactions(db: Db, onLeak: TxLeakHandler): Db {
  const exec = db.exec.bind(db);
  let scheduled = false;
  const verify = () => {
    scheduled = false;
    if (!db.open || !db.inTransaction) return;
    const message = 'a SQLite transaction is still open after control returned to the event loop: it would take in other units\' writes';
    if (strictTx()) throw new Error(message);
    onLeak(message);
  };
  db.exec = (sql: string) => {
    const r = exec(sql);
    if (db.inTransaction && !scheduled) {
      scheduled = true;
      queueMicrotask(verify);
    }
    return r;
  };
  return db;
}

const defaultLeak: TxLeakHandler = (m) => process.stderr.write(`<3>${m}\n`);

export function openDatabase(file: string, opts: { onTxLeak?: TxLeakHandler } = {}): { writer: Db; reader: Db } {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }
  if (file !== ':memory:') {
    // Created 0600 before SQLite sees it (SQLite gives the -wal and -shm files the
    // main file's mode), and tightened if an older build or a loose umask left it
    // readable: the database holds private keys and audit records.
    closeSync(openSync(file, 'a', 0o600));
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
  }
  const writer = guardTransactions(new Database(file), opts.onTxLeak ?? defaultLeak);
  configure(writer);
  migrate(writer, file === ':memory:' ? null : file);
  const reader = file === ':memory:' ? writer : new Database(file, { readonly: true });
  if (reader !== writer) {
    reader.pragma('foreign_keys = ON');
    reader.pragma('busy_timeout = 5000');
  }
  return { writer, reader };
}

/**
 * Opens an existing database read-only for offline commands (render, explain,
 * replay, config check): it is never created or migrated, so a command run
 * beside a daemon (or before one ever ran) changes nothing. A missing file or
 * a schema this build does not read is a `config` error naming the file.
 */
export function openDatabaseReadOnly(file: string): Db {
  if (!existsSync(file)) throw new AppError('config', `no database at ${file}: the daemon creates it on its first start`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const v = db.pragma('user_version', { simple: true }) as number;
  if (v !== SCHEMA_VERSION) {
    db.close();
    throw new AppError('config', `the database at ${file} has schema version ${v}; this build reads version ${SCHEMA_VERSION}${v < SCHEMA_VERSION ? ': start the daemon once to migrate it' : ''}`);
  }
  return db;
}
