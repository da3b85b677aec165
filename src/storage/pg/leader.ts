/**
 * The fleet leader's advisory lock (fleet/leader.ts): the only place its SQL
 * lives. A session-level lock held on one dedicated connection: PostgreSQL
 * releases it the moment that connection ends, which is what makes a dead
 * leader's place free. Who holds it is read from pg_locks joined with
 * pg_stat_activity (the holder's application_name names its node; nodes share
 * one database role, so each sees the others' sessions).
 */
import type pg from 'pg';

/** The leader lock's key: a fixed number, "hm19" in ASCII (schema.ts has hm17, hm18). */
export const LEADER_LOCK = 0x686d3139;
/** NOTIFY channel for shared certificates; the payload is the certificate's name. */
export const CERT_CHANNEL = 'hm_fleet_certificates';

/**
 * Makes the server notice a vanished leader (no FIN: host down, cable cut)
 * within about 10 s instead of the kernel's two hours, so its lock is freed.
 * Silently skipped where the server refuses (a pooler, a Unix socket ignores it).
 */
export async function tuneLeaderSession(c: pg.ClientBase): Promise<void> {
  for (const s of ['SET tcp_keepalives_idle = 3', 'SET tcp_keepalives_interval = 2', 'SET tcp_keepalives_count = 3', 'SET tcp_user_timeout = 10000']) {
    await c.query(s).catch(() => undefined);
  }
}

/** Tries to take the leader lock on this session; true when held. Call only while not holding it (session locks stack). */
export async function tryLeaderLock(c: pg.ClientBase): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK]);
  return r.rows[0]?.ok === true;
}

/** A round trip on the lock's connection: proves it (and so the lock) is alive. */
export async function heartbeat(c: pg.ClientBase): Promise<void> {
  await c.query('SELECT 1');
}

/** The application_name of the session holding the leader lock, or null when nobody holds it. */
export async function leaderHolder(c: pg.ClientBase): Promise<string | null> {
  const r = await c.query<{ name: string | null }>(
    `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [LEADER_LOCK],
  );
  return r.rows[0] ? (r.rows[0].name ?? '') : null;
}

export async function listenForCertificates(c: pg.ClientBase): Promise<void> {
  await c.query(`LISTEN ${CERT_CHANNEL}`);
}
