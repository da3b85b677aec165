/**
 * The notify stage: an incident event -> routing -> per-channel digest rule
 * -> outbox rows. Synchronous and SQLite-only, so it can run inside the
 * transaction that stores the incident change (pass that handle as `db`);
 * delivery is the outbox worker's job.
 */
import type { Db } from '../../storage/db.js';
import type { Incident } from '../incidents/group.js';
import { durationMs } from '../../util/duration.js';
import type { NotificationsConfig } from '../../config/notifications.js';
import { enqueueWithDigest } from './digest.js';
import { routeEvent } from './routing.js';
import { summarize } from './types.js';
import type { EventKind } from '../../config/notifications.js';
import type { NotifyEvent } from './types.js';

export interface NotifierOptions {
  db: Db;
  config: NotificationsConfig;
  now?: () => number;
  /** Called after enqueueing on the notifier's own handle (to wake the outbox worker). */
  onEnqueued?: () => void;
}

export interface Queued {
  channel: string;
  messageId: string;
}

export function createNotifier(opts: NotifierOptions) {
  const now = opts.now ?? Date.now;
  const channels = Object.keys(opts.config.channels);
  const rule = { threshold: opts.config.digest.threshold, windowMs: durationMs(opts.config.digest.window) };

  function notify(ev: NotifyEvent, o: { db?: Db; channel?: string } = {}): Queued[] {
    if (!opts.config.enabled) return [];
    const targets = routeEvent(opts.config.routes, channels, {
      kind: ev.kind,
      severity: ev.incident?.severity,
      category: ev.incident?.category,
      channel: o.channel,
    });
    const db = o.db ?? opts.db;
    const t = now();
    // Incident events are idempotent per (incident, kind, time): a repeated call queues nothing new.
    const key = ev.incident && ev.incident.id > 0 ? `incident:${ev.incident.id}:${ev.kind}:${ev.at}` : undefined;
    const out: Queued[] = [];
    db.transaction(() => {
      for (const ch of targets) {
        const id = enqueueWithDigest(db, ch, ev, rule, t, key);
        if (id !== null) out.push({ channel: ch, messageId: id });
      }
    })();
    if (out.length > 0 && db === opts.db) opts.onEnqueued?.();
    return out;
  }

  return {
    notify,
    /** One incident state change. */
    incident(kind: Exclude<EventKind, 'test'>, inc: Incident, o: { db?: Db; detail?: string; at?: number } = {}): Queued[] {
      return notify({ kind, at: o.at ?? now(), incident: summarize(inc), detail: o.detail }, { db: o.db });
    },
    /** A test message to one channel (POST /api/notifications/test). */
    test(channel: string, detail?: string): Queued[] {
      if (!channels.includes(channel)) throw new Error(`no notification channel named "${channel}"`);
      return notify({ kind: 'test', at: now(), detail }, { channel });
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
