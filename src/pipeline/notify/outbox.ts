/**
 * The notification outbox: messages wait in SQLite until a channel accepts them.
 *
 * Contract:
 * - `enqueueMessage(db, ...)` is synchronous; called inside the caller's
 *   `db.transaction(...)` it commits or rolls back with the caller's change.
 *   A `dedupeKey` makes it idempotent: the message id is derived from
 *   (channel, key), and a second enqueue of the same key is ignored.
 * - The worker claims due rows (attempts + 1, next_attempt_at pushed past the
 *   send timeout: a lease) in one transaction, so two outboxes on the same
 *   file (an overlapping restart) never send the same row at the same time.
 * - A row is marked delivered right after the channel accepts it and is never
 *   sent again. A crash between the receiver's accept and that mark is the
 *   one window where a receiver can see a message twice: it drops the second
 *   by the message id it carries (X-Haproxy-Manager-Message-Id / Message-ID).
 * - A failed send is retried with exponential backoff and jitter until
 *   `giveUpAfterMs` after creation; then the row is kept as dead.
 * - At most `concurrency` sends are in flight; each is cut at `timeoutMs`
 *   (the channel's own timeout should be shorter).
 * - All state is in the table: a new outbox on the same database picks up
 *   where the old one stopped.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../../storage/db.js';
import * as rows from '../../storage/outbox.js';
import type { OutboxRow } from '../../storage/outbox.js';
import type { Logger } from '../../log.js';
import { backoffDelay } from '../../util/backoff.js';
import { DeliveryError } from './types.js';
import type { Channel, MessagePayload, OutboxMessage } from './types.js';

export interface NewMessage {
  kind: string;
  payload: MessagePayload;
  /** Same key, same channel: same message id, enqueued once. */
  dedupeKey?: string;
  /** Not before this time (ms); now by default. Digests use it to hold a window open. */
  notBefore?: number;
}

export function messageIdFor(channel: string, dedupeKey?: string): string {
  if (dedupeKey === undefined) return randomUUID();
  return createHash('sha256').update(`${channel}\u0000${dedupeKey}`).digest('hex').slice(0, 32);
}

/** Inserts a message; returns its message id, or null when the dedupe key was already queued. */
export function enqueueMessage(db: Db, channel: string, msg: NewMessage, now = Date.now()): string | null {
  const messageId = messageIdFor(channel, msg.dedupeKey);
  const inserted = rows.insertMessage(db, { messageId, channel, kind: msg.kind, payload: msg.payload, dueAt: msg.notBefore ?? now, createdAt: now });
  return inserted ? messageId : null;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  dead: number;
  /** Sends that failed (all rows, all time). */
  failedAttempts: number;
  /** Age in ms of the oldest undelivered live row; 0 when none. */
  oldestPendingAgeMs: number;
  inFlight: number;
}

export interface OutboxOptions {
  db: Db;
  channels: ReadonlyMap<string, Channel>;
  log: Logger;
  concurrency: number;
  pollIntervalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  giveUpAfterMs: number;
  /** Hard cut on one send (default 30 s). */
  timeoutMs?: number;
  now?: () => number;
  random?: () => number;
}

export function createOutbox(opts: OutboxOptions) {
  const { db, log } = opts;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const lease = timeoutMs + 5_000;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let stopping = false;
  let inFlight = 0;
  let wake: (() => void) | null = null;
  let poked = false;
  const sends = new Set<Promise<void>>();

  async function sendOne(row: OutboxRow): Promise<void> {
    const attempt = row.attempts + 1;
    const msgLog = log.child({ message_id: row.messageId, channel: row.channel, attempt });
    const channel = opts.channels.get(row.channel);
    let error: string | null = null;
    let retryAfter: number | undefined;
    if (!channel) {
      error = `no channel named "${row.channel}"`;
    } else {
      const msg: OutboxMessage = {
        id: row.id,
        messageId: row.messageId,
        channel: row.channel,
        kind: row.kind,
        // Written by enqueueMessage as a MessagePayload.
        payload: row.payload as MessagePayload,
        attempt,
        createdAt: row.createdAt,
      };
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      try {
        await Promise.race([
          channel.send(msg, ac.signal),
          new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true })),
        ]);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        if (e instanceof DeliveryError) retryAfter = e.retryAfterMs;
      } finally {
        clearTimeout(t);
      }
    }
    const t = now();
    if (error === null) {
      rows.markDelivered(db, row.id, t);
      msgLog.info('notification delivered', { kind: row.kind });
      return;
    }
    // Errors come from receivers, never from our secrets; still one line only.
    const reason = error.replace(/\s+/g, ' ').slice(0, 500);
    if (t - row.createdAt >= opts.giveUpAfterMs) {
      rows.markFailed(db, row.id, null, reason);
      msgLog.error('notification dropped: gave up', { kind: row.kind, error: reason });
      return;
    }
    // The receiver's Retry-After wins over a shorter backoff, capped at the maximum.
    const delay = Math.max(
      backoffDelay(attempt, { baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs, random: opts.random }),
      Math.min(retryAfter ?? 0, opts.backoffMaxMs),
    );
    rows.markFailed(db, row.id, t + delay, reason);
    msgLog.warn('notification failed, will retry', { kind: row.kind, retry_in_ms: delay, error: reason });
  }

  /** Claims and starts what fits under the concurrency cap; returns how many started. */
  function pump(): number {
    if (stopping) return 0;
    // Called from inside a caller's transaction on this connection: its rows are not
    // committed yet and may roll back. The next poll or wake-up sends them.
    if (db.inTransaction) return 0;
    const room = opts.concurrency - inFlight;
    if (room <= 0) return 0;
    const t = now();
    const claimed = rows.claimDue(db, room, t, t + lease);
    for (const row of claimed) {
      inFlight++;
      const p = sendOne(row)
        .catch((e) => log.error('outbox send crashed', { error: e }))
        .finally(() => {
          inFlight--;
          sends.delete(p);
          if (running) wake?.();
        });
      sends.add(p);
    }
    return claimed.length;
  }

  /**
   * Asks the worker to look for due rows soon (after the caller's
   * transaction commits). Calls within one tick coalesce into one look: a
   * burst of a thousand enqueues is one pump, not a thousand.
   */
  function poke(): void {
    if (!running || poked) return;
    poked = true;
    setImmediate(() => {
      poked = false;
      wake?.();
    });
  }

  return {
    /** Queues a message on `db` (the caller's handle, inside its transaction) or the outbox's own. */
    enqueue(channel: string, msg: NewMessage, handle: Db = db): string | null {
      const id = enqueueMessage(handle, channel, msg, now());
      if (handle === db) poke();
      return id;
    },

    poke,

    /** Delivers everything due now and waits for those sends (tests, the benchmark). */
    async drain(): Promise<void> {
      for (;;) {
        pump();
        if (sends.size === 0) return;
        await Promise.race(sends);
      }
    },

    start(): void {
      if (running) return;
      running = true;
      stopping = false;
      const loop = () => {
        if (!running) return;
        try {
          pump();
        } catch (e) {
          log.error('outbox poll failed', { error: e });
        }
        if (timer) clearTimeout(timer);
        timer = setTimeout(loop, opts.pollIntervalMs);
      };
      wake = loop;
      loop();
    },

    /** Stops claiming; waits for sends in flight (each bounded by the timeout). */
    async stop(): Promise<void> {
      running = false;
      stopping = true;
      wake = null;
      if (timer) clearTimeout(timer);
      timer = null;
      await Promise.allSettled([...sends]);
      for (const ch of opts.channels.values()) await ch.close?.();
    },

    /** Deletes delivered and dead rows older than `olderThanMs`; returns how many. Pending rows are kept. */
    prune(olderThanMs: number): number {
      return rows.pruneFinished(db, now() - olderThanMs);
    },

    stats(): OutboxStats {
      const t = now();
      const c = rows.outboxCounts(db);
      // Claimed rows in flight count their attempt already; do not call them failures.
      return {
        pending: c.pending,
        delivered: c.delivered,
        dead: c.dead,
        failedAttempts: Math.max(0, c.unsuccessfulAttempts - inFlight),
        oldestPendingAgeMs: c.oldestPendingAt === null ? 0 : Math.max(0, t - c.oldestPendingAt),
        inFlight,
      };
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
