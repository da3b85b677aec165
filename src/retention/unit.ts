/**
 * The retention unit: deletes history past its time (the `retention`
 * settings; delivered and dead notifications after notifications.outbox.keep)
 * and the certificate backups beyond the newest `retention.cert_backups` of
 * each certificate, at start and on `retention.schedule`.
 *
 * Contract: one run at a time (a run asked for while one is going joins it).
 * A run deletes in batches of `batch_size` rows, each its own short
 * transaction, and yields to the event loop between batches, so the other
 * units' writes interleave and no write lock is held for long; at most
 * `max_rows_per_run` rows per table go in one run, the rest in the next.
 * `start()` does not wait for the first run (a large backlog must not hold up
 * start-up); `stop()` ends the run after its current batch. One info line per
 * run with the counts; a failure is logged and the next run tries again.
 */
import cron from 'node-cron';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { Unit } from '../units.js';
import { retention as store } from '../storage/retention.js';
import { pruneCertBackups } from '../certs/backups.js';
import { allUnits } from '../pipeline/actions/registry.js';
import { durationMs } from '../util/duration.js';
import { describe } from '../errors.js';

/** What one run deleted. `more`: a table hit max_rows_per_run (the rest goes next run). */
export interface RetentionReport {
  audit: number;
  incidents: number;
  actions: number;
  analyses: number;
  outbox: number;
  cert_backups: number;
  more: string[];
  ms: number;
}

export interface Retention extends Unit {
  /** Runs now (or joins the run going on) and resolves with what it deleted. */
  run(): Promise<RetentionReport>;
}

/** Actions whose done record stays in effect until undone or lapsed: those that have an inverse. */
const LASTING = allUnits()
  .filter((u) => u.inverse !== undefined)
  .map((u) => u.name);

export function createRetention(d: { cfg: Config; log: Logger; db: Db; now?: () => number }): Retention {
  const r = d.cfg.retention;
  const now = d.now ?? Date.now;
  let task: ReturnType<typeof cron.schedule> | null = null;
  let current: Promise<RetentionReport> | null = null;
  let stopping = false;

  /** Calls `batch` until it deletes fewer than batch_size rows, the run's cap is reached, or the unit stops; returns the rows deleted and whether the cap stopped it. */
  const drain = async (batch: (limit: number) => number): Promise<{ n: number; capped: boolean }> => {
    let n = 0;
    while (!stopping) {
      const limit = Math.min(r.batch_size, r.max_rows_per_run - n);
      if (limit <= 0) return { n, capped: true };
      const got = batch(limit);
      n += got;
      if (got < limit) break;
      await yieldToLoop();
    }
    return { n, capped: false };
  };

  const runOnce = async (): Promise<RetentionReport> => {
    const started = now();
    const out: RetentionReport = { audit: 0, incidents: 0, actions: 0, analyses: 0, outbox: 0, cert_backups: 0, more: [], ms: 0 };
    const cut = (keep: string) => started - durationMs(keep);
    const tally = (table: string, res: { n: number; capped: boolean }) => {
      if (res.capped) out.more.push(table);
      return res.n;
    };
    if (r.audit !== null) {
      const before = new Date(cut(r.audit)).toISOString();
      out.audit = tally('audit', await drain((limit) => store.audit(d.db, before, limit)));
    }
    if (r.incidents !== null) {
      const before = new Date(cut(r.incidents)).toISOString();
      out.incidents = tally(
        'incidents',
        await drain((limit) => {
          const p = store.incidents(d.db, before, started, LASTING, limit);
          out.actions += p.actions;
          out.analyses += p.analyses;
          return p.incidents;
        }),
      );
    }
    if (r.actions !== null) {
      const before = cut(r.actions);
      out.actions += tally('actions', await drain((limit) => store.actions(d.db, before, started, LASTING, limit)));
    }
    if (r.analyses !== null) {
      const before = cut(r.analyses);
      out.analyses += tally('analyses', await drain((limit) => store.analyses(d.db, before, limit)));
    }
    const outboxBefore = cut(d.cfg.notifications.outbox.keep);
    out.outbox = tally('outbox', await drain((limit) => store.outbox(d.db, outboxBefore, limit)));
    if (!stopping) out.cert_backups = pruneCertBackups(d.cfg.paths.certBackupDir, r.cert_backups).length;
    out.ms = now() - started;
    return out;
  };

  const run = (): Promise<RetentionReport> => {
    if (current) return current;
    current = runOnce()
      .then((rep) => {
        d.log.info('retention: history pruned', { ...rep, more: rep.more.length ? rep.more.join(',') : undefined });
        return rep;
      })
      .finally(() => {
        current = null;
      });
    return current;
  };
  /** A scheduled run: a failure is logged, never thrown. */
  const tick = () =>
    run().catch((e) => {
      d.log.error('retention: pruning failed', { error: describe(e) });
    });

  return {
    name: 'retention',
    run,
    start() {
      stopping = false;
      void tick();
      task = cron.schedule(r.schedule, () => void tick(), { noOverlap: true });
    },
    async stop() {
      stopping = true;
      await task?.stop();
      task = null;
      await current?.catch(() => undefined);
    },
  };
}
