/**
 * One daemon per state directory. The lock is an exclusive SQLite lock on
 * `daemon.lock` in the state directory (SQLite's EXCLUSIVE locking mode holds
 * a POSIX advisory lock for as long as the connection lives), so it is
 * released by the kernel when the holder exits, however it exits: no stale
 * lock file after a crash or SIGKILL. The holder's PID is written beside it
 * (`daemon.pid`) so a second daemon can say who holds it.
 *
 * Contract: `lockStateDir` takes the lock at once or throws a `conflict`
 * AppError naming the holder's PID; it never waits. `release()` drops it.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';

export interface StateLock {
  file: string;
  release(): void;
}

export function lockStateDir(stateDir: string): StateLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'daemon.lock');
  const pidFile = join(stateDir, 'daemon.pid');
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is kept after COMMIT.
    db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; COMMIT;');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code !== 'SQLITE_BUSY' && (e as { code?: string }).code !== 'SQLITE_LOCKED') throw e;
    let holder = 'unknown';
    try {
      holder = readFileSync(pidFile, 'utf8').trim() || holder;
    } catch {
      // The holder may not have written its PID yet.
    }
    throw new AppError('conflict', `another haproxy-manager (PID ${holder}) is running on the state directory ${stateDir}`);
  }
  writeFileAtomic(pidFile, `${process.pid}\n`);
  let held = true;
  return {
    file,
    release() {
      if (!held) return;
      held = false;
      rmSync(pidFile, { force: true });
      db.close();
    },
  };
}
