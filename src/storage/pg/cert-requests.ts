/**
 * Certificate requests queued for the fleet's leader (fleet/cert-requests.ts):
 * the only place their SQL lives. Every state change is one statement whose
 * WHERE clause states the transition it makes, so two nodes racing for a row
 * cannot both win it, and a leader that lost its lock cannot record over the
 * row a newer leader took back.
 */
import type pg from 'pg';
import { LEADER_LOCK } from './leader.js';

/** NOTIFY channel for new requests; the payload is the request id. */
export const REQUEST_CHANNEL = 'hm_fleet_cert_requests';

export type RequestKind = 'order' | 'renew';
export type RequestState = 'queued' | 'running' | 'done' | 'failed';

export interface CertRequestRow {
  id: number;
  kind: RequestKind;
  names: string[];
  body: unknown;
  requestedNode: string;
  requestedActor: string;
  state: RequestState;
  runNode: string | null;
  attempts: number;
  result: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface Sql {
  id: string;
  kind: RequestKind;
  names: string[];
  body: unknown;
  requested_node: string;
  requested_actor: string;
  state: RequestState;
  run_node: string | null;
  attempts: number;
  result: unknown;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const COLS = 'id, kind, names, body, requested_node, requested_actor, state, run_node, attempts, result, error, created_at, started_at, finished_at';
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const row = (x: Sql): CertRequestRow => ({
  id: Number(x.id),
  kind: x.kind,
  names: x.names,
  body: x.body,
  requestedNode: x.requested_node,
  requestedActor: x.requested_actor,
  state: x.state,
  runNode: x.run_node,
  attempts: x.attempts,
  result: x.result,
  error: x.error,
  createdAt: x.created_at.toISOString(),
  startedAt: iso(x.started_at),
  finishedAt: iso(x.finished_at),
});

/** Queues a request and notifies the nodes (one statement: the row and the notification commit together). */
export async function enqueueCertRequest(pool: pg.Pool, r: { kind: RequestKind; names: string[]; body: unknown; node: string; actor: string }): Promise<CertRequestRow> {
  const q = await pool.query<Sql>(
    `WITH i AS (INSERT INTO fleet_cert_requests (kind, names, body, requested_node, requested_actor) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLS})
     , n AS (SELECT pg_notify($6, (SELECT id::text FROM i)))
     SELECT i.* FROM i, n`,
    [r.kind, JSON.stringify(r.names), JSON.stringify(r.body), r.node, r.actor, REQUEST_CHANNEL],
  );
  return row(q.rows[0]!);
}

/**
 * Puts back in the queue the rows left running by a leadership term that has
 * ended (its session no longer holds the leader lock: the leader died or lost
 * the lock); returns their ids. Only the leader calls this, before claiming.
 */
export async function requeueOrphans(pool: pg.Pool): Promise<number[]> {
  const r = await pool.query<{ id: string }>(
    `UPDATE fleet_cert_requests r SET state = 'queued', term = NULL, run_node = NULL
      WHERE r.state = 'running' AND NOT EXISTS (
        SELECT 1 FROM pg_locks l WHERE l.pid = r.term AND l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1)
      RETURNING r.id`,
    [LEADER_LOCK],
  );
  return r.rows.map((x) => Number(x.id));
}

/** Claims the oldest queued request for this leadership term (`term`: the lock session's backend pid); null when none waits. */
export async function claimCertRequest(pool: pg.Pool, node: string, term: number): Promise<CertRequestRow | null> {
  const r = await pool.query<Sql>(
    `UPDATE fleet_cert_requests SET state = 'running', run_node = $1, term = $2, attempts = attempts + 1, started_at = now()
      WHERE id = (SELECT id FROM fleet_cert_requests WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING ${COLS}`,
    [node, term],
  );
  return r.rows[0] ? row(r.rows[0]) : null;
}

/** Records the outcome of a request this term runs; false when the row is no longer this term's (requeued after the lock was lost). */
export async function finishCertRequest(pool: pg.Pool, id: number, term: number, outcome: { state: 'done' | 'failed'; result: unknown; error: string | null }): Promise<boolean> {
  const r = await pool.query(
    `UPDATE fleet_cert_requests SET state = $3, result = $4, error = $5, term = NULL, finished_at = now()
      WHERE id = $1 AND state = 'running' AND term = $2`,
    [id, term, outcome.state, JSON.stringify(outcome.result ?? null), outcome.error],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function getCertRequest(pool: pg.Pool, id: number): Promise<CertRequestRow | null> {
  const r = await pool.query<Sql>(`SELECT ${COLS} FROM fleet_cert_requests WHERE id = $1`, [id]);
  return r.rows[0] ? row(r.rows[0]) : null;
}

/** The newest `limit` requests, newest first. */
export async function recentCertRequests(pool: pg.Pool, limit: number): Promise<CertRequestRow[]> {
  const r = await pool.query<Sql>(`SELECT ${COLS} FROM fleet_cert_requests ORDER BY id DESC LIMIT $1`, [limit]);
  return r.rows.map(row);
}

export async function listenForRequests(c: pg.ClientBase): Promise<void> {
  await c.query(`LISTEN ${REQUEST_CHANNEL}`);
}
