/**
 * Transactions for the applier (haproxy/config/apply.ts), which must look at the
 * state a change would leave before HAProxy has taken it, without keeping a
 * transaction open across an await (storage/db.ts):
 * - `speculate` runs a synchronous function inside BEGIN IMMEDIATE and always
 *   rolls back before it returns;
 * - `eachApart` runs one function per item inside a savepoint of its own, so
 *   an item that throws is undone alone and the others' writes stay;
 * - `commitNow` runs a synchronous function in one short committed transaction.
 */
import type { Db } from './db.js';

/** Runs `fn` in a transaction that is rolled back before this returns: a look at the state it would leave. */
export function speculate<T>(db: Db, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    if (out instanceof Promise) throw new Error('a speculative change must be synchronous');
    return out;
  } finally {
    db.exec('ROLLBACK');
  }
}

/**
 * Inside an open transaction: runs `fn` for each item in a savepoint of its
 * own. Returns the items whose `fn` returned and, with their error, those
 * whose `fn` threw (their writes undone, the others' kept).
 */
export function eachApart<I>(db: Db, items: readonly I[], fn: (item: I) => void): { ok: I[]; failed: { item: I; error: unknown }[] } {
  const ok: I[] = [];
  const failed: { item: I; error: unknown }[] = [];
  for (const item of items) {
    db.exec('SAVEPOINT each_apart');
    try {
      fn(item);
      db.exec('RELEASE each_apart');
      ok.push(item);
    } catch (error) {
      db.exec('ROLLBACK TO each_apart');
      db.exec('RELEASE each_apart');
      failed.push({ item, error });
    }
  }
  return { ok, failed };
}

/** Runs `fn` in one short synchronous transaction and commits it. */
export function commitNow<T>(db: Db, fn: () => T): T {
  return db.transaction(fn)();
}
