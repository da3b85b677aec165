/**
 * The notifications unit, for the composition root: the constructor builds
 * channels (reading secret files; a bad one throws a `notifications.channels.
 * <name>: ...` error at start-up) and stores its parts; `start()` starts the
 * outbox worker; `stop()` stops it and waits for sends in flight.
 *
 * Wiring (for the owner; the outbox table is migration 4): merge
 * `notificationsSchema` under `notifications`, create this unit after the
 * database, feed it incident changes (`notifier.incident(kind, inc, { db })`
 * inside the transaction that stores them; transitions.ts says which updates
 * are state changes), `acted` from the action stage, `notifier.test(channel)`
 * from POST /api/notifications/test and `stats()` into the status API.
 */
import type { Db } from '../../storage/db.js';
import type { Logger } from '../../log.js';
import { durationMs } from '../../util/duration.js';
import { createChannels } from './channels.js';
import type { NotificationsConfig } from '../../config/notifications.js';
import { createNotifier } from './notifier.js';
import { createOutbox } from './outbox.js';
import type { Channel } from './types.js';

export interface NotificationsOptions {
  db: Db;
  config: NotificationsConfig;
  log: Logger;
  /** Names this host in messages (the hostname by default in the daemon). */
  source: string;
  templateDir?: string;
  /** Replaces the configured channels (tests). */
  channels?: Map<string, Channel>;
  now?: () => number;
}

export function createNotifications(opts: NotificationsOptions) {
  const o = opts.config.outbox;
  const channels = opts.channels ?? createChannels(opts.config, opts.source, opts.templateDir);
  const outbox = createOutbox({
    db: opts.db,
    channels,
    log: opts.log.child({ unit: 'notify' }),
    concurrency: o.concurrency,
    pollIntervalMs: durationMs(o.poll_interval),
    backoffBaseMs: durationMs(o.backoff_base),
    backoffMaxMs: durationMs(o.backoff_max),
    giveUpAfterMs: durationMs(o.give_up_after),
    now: opts.now,
  });
  let started = false;
  const notifier = createNotifier({
    db: opts.db,
    config: opts.config,
    now: opts.now,
    // Wake the worker at once instead of at the next poll (coalesced, after the caller's transaction).
    onEnqueued: () => {
      if (started) outbox.poke();
    },
  });
  return {
    notifier,
    outbox,
    start(): void {
      if (!opts.config.enabled) return;
      started = true;
      outbox.start();
      // Delivered and dead rows are history, deleted after `outbox.keep` by the retention unit (retention/unit.ts).
    },
    async stop(): Promise<void> {
      started = false;
      await outbox.stop();
    },
    stats: () => outbox.stats(),
  };
}

export type Notifications = ReturnType<typeof createNotifications>;
