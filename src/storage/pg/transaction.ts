/**
 * One transaction on a connection checked out of the fleet's pool: BEGIN,
 * `body`, COMMIT; ROLLBACK when it throws.
 *
 * A checked-out client whose connection dies between two queries emits
 * 'error' on itself (the pool listens only while it is idle): without a
 * listener that would end the process. The failing query rejects anyway;
 * the client is then destroyed rather than returned to the pool.
 */
import type pg from 'pg';

export async function inTransaction<T>(pool: pg.Pool, body: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  const onError = (e: Error) => (broken = e);
  c.on('error', onError);
  try {
    await c.query('BEGIN');
    const out = await body(c);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    broken ??= e as Error;
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.removeListener('error', onError);
    c.release(broken);
  }
}
