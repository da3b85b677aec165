/**
 * Digests: the rule that keeps a flood from becoming a thousand messages.
 *
 * Per channel, over a sliding `window`:
 * - the first `threshold` events go out one message each;
 * - from the next one on, events are collected into ONE digest message that
 *   is queued at once with next_attempt_at = (first collected event + window),
 *   and every further event for that channel joins it while it is still
 *   waiting (not yet claimed by the worker);
 * - once the digest is sent, counting starts again: events are single
 *   messages again when fewer than `threshold` single messages were queued
 *   in the last window, otherwise a new digest opens.
 * So a channel gets at most threshold + 1 messages per window however many
 * events arrive, and a digest is at most one window late. `test` events are
 * never merged. A digest lists at most 100 events and counts the rest. The state is the outbox table itself, so it survives a
 * restart and runs in the caller's transaction.
 */
import type { Db } from '../../storage/db.js';
import { countSingles, digestHasKey, hasMessage, openDigest, setPayload } from '../../storage/outbox.js';
import { enqueueMessage, messageIdFor } from './outbox.js';
import type { MessagePayload, NotifyEvent } from './types.js';

export const MAX_DIGEST_EVENTS = 100;
/** Dedupe keys a digest remembers; an event repeated past this many merges may be counted twice. */
export const MAX_DIGEST_KEYS = 1000;

export interface DigestRule {
  threshold: number;
  windowMs: number;
}

export function enqueueWithDigest(
  db: Db,
  channel: string,
  ev: NotifyEvent,
  rule: DigestRule,
  now: number,
  dedupeKey?: string,
): string | null {
  return db.transaction((): string | null => {
    if (dedupeKey !== undefined) {
      // Already queued, on its own or inside a digest of this channel (digests keep their events' keys).
      if (hasMessage(db, messageIdFor(channel, dedupeKey)) || digestHasKey(db, channel, now - 2 * rule.windowMs, dedupeKey)) return null;
    }
    if (ev.kind !== 'test' && !ev.standalone) {
      const open = openDigest(db, channel, now);
      if (open) {
        // Written by enqueueMessage below as a MessagePayload.
        const p = open.payload as MessagePayload;
        // A digest lists at most MAX_DIGEST_EVENTS events; the rest are counted.
        if (p.events.length < MAX_DIGEST_EVENTS) p.events.push(ev);
        else p.omitted = (p.omitted ?? 0) + 1;
        // Keys let a repeated event be recognised; bounded, so a flood cannot grow the row without end.
        if (dedupeKey !== undefined && (p.keys ??= []).length < MAX_DIGEST_KEYS) p.keys.push(dedupeKey);
        setPayload(db, open.id, p);
        return open.messageId;
      }
      if (countSingles(db, channel, now - rule.windowMs) >= rule.threshold) {
        return enqueueMessage(db, channel, { kind: 'digest', payload: { kind: 'digest', events: [ev], ...(dedupeKey !== undefined ? { keys: [dedupeKey] } : {}) }, notBefore: now + rule.windowMs }, now);
      }
    }
    return enqueueMessage(db, channel, { kind: ev.kind, payload: { kind: ev.kind, events: [ev] }, dedupeKey }, now);
  })();
}
