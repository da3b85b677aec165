/**
 * The notification outbox table (migration 4): the only place its SQL lives.
 * Delivery (claiming, backoff, wake-ups) and the digest rule are in
 * notify/outbox.ts and notify/digest.ts; these functions only read and write
 * rows. Payloads are JSON text in the table; here they are values (what
 * notify/ put in is what it gets back). Times are ms since the epoch.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

/** A row as the worker sends it. */
export interface OutboxRow {
  id: number;
  messageId: string;
  channel: string;
  kind: string;
  payload: unknown;
  /** Claims so far (before this one). */
  attempts: number;
  createdAt: number;
}

interface Sql {
  id: number;
  message_id: string;
  channel: string;
  kind: string;
  payload: string;
  attempts: number;
  created_at: number;
}

const toRow = (r: Sql): OutboxRow => ({
  id: r.id,
  messageId: r.message_id,
  channel: r.channel,
  kind: r.kind,
  payload: JSON.parse(r.payload) as unknown,
  attempts: r.attempts,
  createdAt: r.created_at,
});

/** Inserts a pending message due at `dueAt`; false when its message id is already in the table (nothing written). */
export function insertMessage(
  db: Db,
  m: { messageId: string; channel: string; kind: string; payload: unknown; dueAt: number; createdAt: number },
): boolean {
  const res = stmt(db, 
      `INSERT OR IGNORE INTO outbox (message_id, channel, kind, payload, attempts, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, 0, ?, ?)`,
    )
    .run(m.messageId, m.channel, m.kind, JSON.stringify(m.payload), m.dueAt, m.createdAt);
  return res.changes === 1;
}

/**
 * Claims up to `limit` rows due at `now`, in one transaction: each claimed row
 * gets attempts + 1 and next_attempt_at = `leaseUntil`, so a second worker on
 * the same file skips it until the lease runs out. Returns the rows claimed
 * (with their attempts before the claim).
 */
export function claimDue(db: Db, limit: number, now: number, leaseUntil: number): OutboxRow[] {
  const select = stmt(db, 
    `SELECT id, message_id, channel, kind, payload, attempts, created_at FROM outbox
     WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?
     ORDER BY next_attempt_at, id LIMIT ?`,
  );
  const claim = stmt(db, 
    `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?
     WHERE id = ? AND delivered_at IS NULL AND attempts = ?`,
  );
  return db.transaction((): OutboxRow[] => {
    const rows = select.all(now, limit) as Sql[];
    return rows.filter((r) => claim.run(leaseUntil, r.id, r.attempts).changes === 1).map(toRow);
  })();
}

/** Marks a row delivered: it is never sent again. */
export function markDelivered(db: Db, id: number, at: number): void {
  stmt(db, `UPDATE outbox SET delivered_at = ?, next_attempt_at = NULL, last_error = NULL WHERE id = ?`).run(at, id);
}

/** Records a failed send: retried at `retryAt`, or kept as dead when `retryAt` is null. */
export function markFailed(db: Db, id: number, retryAt: number | null, error: string): void {
  stmt(db, `UPDATE outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND delivered_at IS NULL`).run(retryAt, error, id);
}

/** Deletes delivered and dead rows created before `before`; returns how many. Pending rows are kept. */
export function pruneFinished(db: Db, before: number): number {
  return stmt(db, `DELETE FROM outbox WHERE created_at < ? AND (delivered_at IS NOT NULL OR next_attempt_at IS NULL)`).run(before).changes;
}

export interface OutboxCounts {
  pending: number;
  delivered: number;
  dead: number;
  /** Claims that did not end delivered (sends in flight included: the caller subtracts them). */
  unsuccessfulAttempts: number;
  /** created_at of the oldest pending row; null when none. */
  oldestPendingAt: number | null;
}

export function outboxCounts(db: Db): OutboxCounts {
  const r = stmt(db, 
      `SELECT
         SUM(delivered_at IS NULL AND next_attempt_at IS NOT NULL) AS pending,
         SUM(delivered_at IS NOT NULL) AS delivered,
         SUM(delivered_at IS NULL AND next_attempt_at IS NULL) AS dead,
         COALESCE(SUM(attempts), 0) - COALESCE(SUM(delivered_at IS NOT NULL), 0) AS failed_attempts,
         MIN(CASE WHEN delivered_at IS NULL AND next_attempt_at IS NOT NULL THEN created_at END) AS oldest
       FROM outbox`,
    )
    .get() as { pending: number | null; delivered: number | null; dead: number | null; failed_attempts: number; oldest: number | null };
  return {
    pending: r.pending ?? 0,
    delivered: r.delivered ?? 0,
    dead: r.dead ?? 0,
    unsuccessfulAttempts: r.failed_attempts,
    oldestPendingAt: r.oldest,
  };
}

// --- The digest rule's queries (notify/digest.ts) ---

/** True when a row with this message id exists (in any state). */
export function hasMessage(db: Db, messageId: string): boolean {
  return stmt(db, `SELECT 1 FROM outbox WHERE message_id = ?`).get(messageId) !== undefined;
}

/** True when a digest of `channel` created after `since` lists `key` in its payload's `keys`. */
export function digestHasKey(db: Db, channel: string, since: number, key: string): boolean {
  return (
    stmt(db, 
        `SELECT 1 FROM outbox, json_each(outbox.payload, '$.keys') AS k
         WHERE outbox.channel = ? AND outbox.kind = 'digest' AND outbox.created_at > ? AND k.value = ?`,
      )
      .get(channel, since, key) !== undefined
  );
}

/** The newest digest of `channel` still waiting (never claimed, due after `now`), or null. */
export function openDigest(db: Db, channel: string, now: number): { id: number; messageId: string; payload: unknown } | null {
  const r = stmt(db, 
      `SELECT id, message_id, payload FROM outbox
       WHERE channel = ? AND kind = 'digest' AND delivered_at IS NULL AND attempts = 0 AND next_attempt_at > ?
       ORDER BY id DESC LIMIT 1`,
    )
    .get(channel, now) as { id: number; message_id: string; payload: string } | undefined;
  return r ? { id: r.id, messageId: r.message_id, payload: JSON.parse(r.payload) as unknown } : null;
}

/** Replaces a row's payload. */
export function setPayload(db: Db, id: number, payload: unknown): void {
  stmt(db, `UPDATE outbox SET payload = ? WHERE id = ?`).run(JSON.stringify(payload), id);
}

/** Single messages (neither digests nor tests) of `channel` created after `since`. */
export function countSingles(db: Db, channel: string, since: number): number {
  return (
    stmt(db, `SELECT COUNT(*) AS n FROM outbox WHERE channel = ? AND kind != 'digest' AND kind != 'test' AND created_at > ?`).get(channel, since) as {
      n: number;
    }
  ).n;
}
