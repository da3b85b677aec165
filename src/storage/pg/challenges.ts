/**
 * HTTP-01 challenge tokens in the fleet's PostgreSQL (fleet/challenges.ts):
 * the only place their SQL lives. The CA may reach any node; every node's
 * responder looks a token it does not hold up here. A token carries its
 * expiry so one left behind by a node that died is ignored, then pruned.
 */
import type pg from 'pg';

export async function putChallenge(pool: pg.Pool, token: string, keyAuthorization: string, node: string, ttlSeconds: number): Promise<void> {
  await pool.query(
    `INSERT INTO fleet_challenges (token, key_authorization, node, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
     ON CONFLICT (token) DO UPDATE SET key_authorization = excluded.key_authorization, node = excluded.node, expires_at = excluded.expires_at`,
    [token, keyAuthorization, node, ttlSeconds],
  );
}

export async function getChallenge(pool: pg.Pool, token: string): Promise<string | undefined> {
  const r = await pool.query<{ v: string }>('SELECT key_authorization AS v FROM fleet_challenges WHERE token = $1 AND expires_at > now()', [token]);
  return r.rows[0]?.v;
}

export async function removeChallenge(pool: pg.Pool, token: string): Promise<void> {
  await pool.query('DELETE FROM fleet_challenges WHERE token = $1', [token]);
}

/** Deletes expired tokens (the leader, once a minute); returns how many. */
export async function pruneChallenges(pool: pg.Pool): Promise<number> {
  return (await pool.query('DELETE FROM fleet_challenges WHERE expires_at <= now()')).rowCount ?? 0;
}
