/**
 * Backing up and restoring the database file (the CLI's `backup` and
 * `restore`, cli/backup.ts).
 *
 * Backup contract: SQLite's online backup API, from a read-only connection,
 * all pages in one step, so the copy is one read transaction: a consistent
 * snapshot while the daemon keeps writing (WAL lets it write meanwhile; a
 * write between steps would restart a stepped backup, forever under a steady
 * writer). The copy is made in a temporary file beside the destination
 * (mode 0600: it holds password hashes, the audit log and log samples), turned
 * into a standalone file (rollback journal, no -wal beside it), checked
 * (integrity_check), fsynced, and renamed into place: the destination is the
 * whole backup or is untouched. An existing destination is refused unless
 * `force`.
 *
 * Restore contract: offline only: the caller holds the state directory's
 * lock (state-lock.ts). The file is copied beside the database and checked
 * there (a SQLite database that passes integrity_check, a schema version this
 * build knows, every table and column the migrations up to that version make);
 * only then is the current database (with its -wal and -shm, if any) renamed
 * to `<db>.before-restore-<time>` and the copy renamed into its place. Any
 * failure before that leaves everything as it was. An older schema is
 * migrated by the daemon at its next start, as any older database is.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AppError, ioError } from '../errors.js';
import { fsyncDir } from '../util/files.js';
import { migrations } from './migrations/index.js';
import { SCHEMA_VERSION, type Db } from './db.js';

/** What a database file holds: its schema version, each table's rows, its size. */
export interface DatabaseSummary {
  schema_version: number;
  tables: Record<string, number>;
  bytes: number;
}

export interface BackupReport extends DatabaseSummary {
  file: string;
  source: string;
  /** The whole command: copy, checks, fsync, rename. */
  duration_ms: number;
  /** The page copy alone (the read transaction on the live database). */
  copy_ms: number;
}

export interface RestoreReport extends DatabaseSummary {
  database: string;
  from: string;
  /** Where the database that was replaced went; null when there was none. */
  previous: string | null;
}

const SIBLINGS = ['-wal', '-shm', '-journal'] as const;

function tablesOf(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

function rowCounts(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tablesOf(db)) out[t] = (db.prepare(`SELECT COUNT(*) AS n FROM "${t.replace(/"/g, '""')}"`).get() as { n: number }).n;
  return out;
}

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const removeWithSiblings = (file: string) => {
  for (const f of [file, ...SIBLINGS.map((s) => file + s)]) rmSync(f, { force: true });
};

const tmpBeside = (file: string, tag: string) => join(dirname(file), `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.${tag}`);

/** Copies the database at `source` to `dest` (see the contract above). */
export async function backupDatabase(source: string, dest: string, opts: { force?: boolean } = {}): Promise<BackupReport> {
  const started = performance.now();
  if (!existsSync(source)) throw new AppError('not_found', `no database at ${source}: the daemon creates it on its first start`, { path: source });
  if (!existsSync(dirname(dest))) throw new AppError('validation', `the directory of ${dest} does not exist`, { field: 'file' });
  if (existsSync(dest)) {
    if (!opts.force) throw new AppError('conflict', `${dest} exists; --force replaces it`, { path: dest });
    if (!statSync(dest).isFile()) throw new AppError('validation', `${dest} is not a regular file`, { field: 'file' });
  }
  const tmp = tmpBeside(dest, 'backup');
  let copyMs = 0;
  try {
    // Created 0600 before SQLite writes a byte of it.
    closeSync(openSync(tmp, 'wx', 0o600));
    const src = new Database(source, { readonly: true, fileMustExist: true });
    try {
      src.pragma('busy_timeout = 5000');
      // The first step only starts the backup; the next copies every page at once (one read transaction).
      const c0 = performance.now();
      await src.backup(tmp, { progress: () => 0x7fffffff });
      copyMs = Math.round(performance.now() - c0);
    } finally {
      src.close();
    }
    const copy = new Database(tmp);
    let summary: DatabaseSummary;
    try {
      copy.pragma('journal_mode = DELETE');
      const check = copy.pragma('integrity_check', { simple: true }) as string;
      if (check !== 'ok') throw new AppError('storage', `the copy of ${source} failed integrity_check: ${check}`, { path: dest });
      summary = { schema_version: copy.pragma('user_version', { simple: true }) as number, tables: rowCounts(copy), bytes: 0 };
    } finally {
      copy.close();
    }
    chmodSync(tmp, 0o600);
    fsyncFile(tmp);
    renameSync(tmp, dest);
    fsyncDir(dirname(dest));
    summary.bytes = statSync(dest).size;
    return { file: dest, source, ...summary, duration_ms: Math.round(performance.now() - started), copy_ms: copyMs };
  } catch (e) {
    removeWithSiblings(tmp);
    throw ioError(e, dest);
  }
}

/** The tables and columns the migrations up to `version` make. */
function expectedSchema(version: number): Map<string, string[]> {
  const mem = new Database(':memory:');
  try {
    for (const m of migrations.filter((x) => x.version <= version)) mem.exec(m.sql);
    return new Map(tablesOf(mem).map((t) => [t, columnsOf(mem, t)]));
  } finally {
    mem.close();
  }
}

function columnsOf(db: Db, table: string): string[] {
  return (db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').all(table) as { name: string }[]).map((r) => r.name);
}

/**
 * Checks that `file` is a haproxy-manager database this build can run on;
 * throws a `validation` AppError saying what it is instead. Opens the file
 * read-write: call it on a private copy.
 */
function checkCandidate(file: string, shownAs: string): DatabaseSummary {
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (e) {
    throw new AppError('validation', `${shownAs} cannot be opened as a database: ${(e as Error).message}`, { field: 'file', cause: e });
  }
  try {
    let check: string;
    try {
      check = db.pragma('integrity_check', { simple: true }) as string;
    } catch (e) {
      throw new AppError('validation', `${shownAs} is not a SQLite database (${(e as Error).message})`, { field: 'file', cause: e });
    }
    if (check !== 'ok') throw new AppError('validation', `${shownAs} is damaged: integrity_check says ${check}`, { field: 'file' });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0) throw new AppError('validation', `${shownAs} is not a haproxy-manager database (it has no schema version)`, { field: 'file' });
    if (version > SCHEMA_VERSION) {
      throw new AppError('validation', `${shownAs} has schema version ${version}, newer than this build's ${SCHEMA_VERSION}: restore it with the haproxy-manager that made it`, { field: 'file' });
    }
    const missing: string[] = [];
    for (const [table, cols] of expectedSchema(version)) {
      const have = new Set(columnsOf(db, table));
      if (have.size === 0) missing.push(`table ${table}`);
      else for (const c of cols) if (!have.has(c)) missing.push(`${table}.${c}`);
    }
    if (missing.length) {
      throw new AppError('validation', `${shownAs} is not a haproxy-manager database of schema version ${version}: it lacks ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`, { field: 'file' });
    }
    return { schema_version: version, tables: rowCounts(db), bytes: statSync(file).size };
  } finally {
    db.close();
  }
}

/** Replaces the database at `target` with the one in `from`; the caller holds the state directory's lock (see the contract above). */
export function restoreDatabase(from: string, target: string, now: Date = new Date()): RestoreReport {
  if (!existsSync(from)) throw new AppError('validation', `no file at ${from}`, { field: 'file' });
  if (!statSync(from).isFile()) throw new AppError('validation', `${from} is not a regular file`, { field: 'file' });
  if (existsSync(target) && statSync(from).ino === statSync(target).ino && statSync(from).dev === statSync(target).dev) {
    throw new AppError('validation', `${from} is the live database itself`, { field: 'file' });
  }
  const staged = tmpBeside(target, 'restore');
  let summary: DatabaseSummary;
  try {
    copyFileSync(from, staged);
    chmodSync(staged, 0o600);
    summary = checkCandidate(staged, from);
    fsyncFile(staged);
  } catch (e) {
    removeWithSiblings(staged);
    throw ioError(e, target);
  }
  // Checked: from here on the swap. The old database goes aside with its -wal (uncheckpointed writes stay with it).
  let previous: string | null = null;
  try {
    if (existsSync(target)) {
      previous = `${target}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`;
      renameSync(target, previous);
      for (const s of SIBLINGS) if (existsSync(target + s)) renameSync(target + s, previous + s);
    }
    renameSync(staged, target);
    fsyncDir(dirname(target));
  } catch (e) {
    // Put the old database back where it was.
    if (previous !== null && !existsSync(target) && existsSync(previous)) {
      renameSync(previous, target);
      for (const s of SIBLINGS) if (existsSync(previous + s)) renameSync(previous + s, target + s);
    }
    removeWithSiblings(staged);
    throw ioError(e, target);
  }
  for (const s of SIBLINGS) rmSync(staged + s, { force: true });
  return { database: target, from, previous, ...summary };
}
