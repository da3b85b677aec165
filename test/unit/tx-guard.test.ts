/**
 * The rule that no SQLite transaction spans an `await`, enforced by the
 * database wrapper: a transaction still open on the next tick is reported
 * (and, in strict mode, thrown); synchronous transactions are not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { guardTransactions } from '../../src/storage/db.js';

const tick = () => new Promise((r) => setImmediate(r));

function withStrict<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const prev = process.env.HAPROXY_MANAGER_STRICT_TX;
  if (on) process.env.HAPROXY_MANAGER_STRICT_TX = '1';
  else delete process.env.HAPROXY_MANAGER_STRICT_TX;
  return fn().finally(() => {
    if (prev === undefined) delete process.env.HAPROXY_MANAGER_STRICT_TX;
    else process.env.HAPROXY_MANAGER_STRICT_TX = prev;
  });
}

test('a transaction left open across an await is reported; synchronous ones are not', async () => {
  await withStrict(false, async () => {
    const leaks: string[] = [];
    const db = guardTransactions(new Database(':memory:'), (m) => leaks.push(m));
    db.exec('CREATE TABLE t (x)');
    db.exec('BEGIN');
    db.prepare('INSERT INTO t VALUES (1)').run();
    db.exec('COMMIT');
    db.transaction(() => db.prepare('INSERT INTO t VALUES (2)').run())();
    await tick();
    assert.deepEqual(leaks, [], 'synchronous transactions are fine');
    db.exec('BEGIN IMMEDIATE');
    await Promise.resolve(); // the shape of the old applier: BEGIN, then await (even an already-settled one)
    db.exec('ROLLBACK');
    await tick();
    assert.equal(leaks.length, 1);
    assert.match(leaks[0]!, /still open after control returned to the event loop/);
    db.close();
  });
});

test('in strict mode (the test suite) a leaked transaction throws', () => {
  // In a child: the throw is an uncaught exception there, as it would be in a test that leaked one.
  const script = `
    import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
    import { guardTransactions } from ${JSON.stringify(new URL('../../src/storage/db.ts', import.meta.url).pathname)};
    const db = guardTransactions(new Database(':memory:'), () => {});
    db.exec('BEGIN');
    await new Promise((r) => setTimeout(r, 10));
    db.exec('ROLLBACK');
    console.log('not caught');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, HAPROXY_MANAGER_STRICT_TX: '1' }, cwd: new URL('../..', import.meta.url).pathname });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /SQLite transaction is still open/);
  assert.doesNotMatch(r.stdout, /not caught/);
});
