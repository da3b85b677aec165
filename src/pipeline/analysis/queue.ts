/**
 * The analysis queue: incidents the policy escalates wait here for the
 * analyser, so that a burst of incidents, an API that pushes back or a spent
 * budget never blocks the log pipeline or loses an escalation.
 *
 * Contract:
 * - `enqueue()` returns at once. An incident already queued is not queued
 *   twice (its latest trigger wins). Enqueues within one tick form a batch,
 *   taken most severe first; identical incidents in a batch cost one call
 *   (the analyser answers the rest from its cache / the call in flight).
 * - At most `concurrency` analyses run at once.
 * - An analysis skipped for a reason that passes (budget spent, back-off,
 *   429, 529, 5xx, timeout, unreachable: analyser.ts TRANSIENT_SKIPS) goes
 *   back to the head of the queue and the queue pauses until the analyser's
 *   retry-after (or `retryMs`). Nothing is dispatched before `readyAt()`
 *   either (the analyser's back-off, which another call may have set). The
 *   tries of an incident that ended in a timeout or 5xx are counted and
 *   passed to the analyser, which gives it up after its `max_retries`. An
 *   incident that resolved while waiting, or waited longer than `maxWaitMs`,
 *   is given up: its outcome is reported as skipped (`resolved` /
 *   `expired_in_queue`).
 * - The queue is bounded (`maxQueued`): when full, the least severe, oldest
 *   entry is dropped and reported as skipped (`queue_full`).
 * - Every incident enqueued gets exactly one `onOutcome` call (unless the
 *   queue is stopped first). `onOutcome` errors are logged, never thrown.
 */
import type { Incident } from '../incidents/group.js';
import type { Logger } from '../../log.js';
import { SEVERITIES } from '../types.js';
import { COUNTED_SKIPS, TRANSIENT_SKIPS, type AnalyseOptions, type AnalysisOutcome } from './analyser.js';
import type { AnalysisContext } from './prompt.js';
import { describe } from '../../errors.js';

/** Reasons a queued incident is given up without an analysis, beyond the analyser's. */
export type QueueSkipReason = 'resolved' | 'expired_in_queue' | 'queue_full';

export type QueueOutcome = AnalysisOutcome | { status: 'skipped'; reason: QueueSkipReason };

export interface AnalysisQueueDeps {
  analyse(inc: Incident, ctx: AnalysisContext, opts: AnalyseOptions): Promise<AnalysisOutcome>;
  /** No dispatch before this time (ms since epoch): the analyser's back-off. Default: none. */
  readyAt?: () => number;
  /** Builds the prompt's context just before the call (so it is current). */
  context(inc: Incident): AnalysisContext | Promise<AnalysisContext>;
  onOutcome(inc: Incident, trigger: string, outcome: QueueOutcome): void | Promise<void>;
  log: Logger;
  maxQueued?: number;
  concurrency?: number;
  /** Pause after a transient skip without a retry-after. */
  retryMs?: number;
  maxWaitMs?: number;
  now?: () => number;
}

const TRANSIENT = new Set<string>(TRANSIENT_SKIPS);
const COUNTED = new Set<string>(COUNTED_SKIPS);
const rank = (i: Incident) => SEVERITIES.indexOf(i.severity);

interface Entry {
  inc: Incident;
  trigger: string;
  since: number;
  /** Tries that ended in a timeout or 5xx. */
  retries: number;
}

export function createAnalysisQueue(d: AnalysisQueueDeps) {
  const now = d.now ?? Date.now;
  const maxQueued = d.maxQueued ?? 500;
  const concurrency = d.concurrency ?? 2;
  const retryMs = d.retryMs ?? 60_000;
  const maxWaitMs = d.maxWaitMs ?? 3_600_000;
  let queue: Entry[] = [];
  let pending: Entry[] = [];
  let inFlight = 0;
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | null = null;
  let scheduled = false;
  let stopped = false;
  const counts = { enqueued: 0, analysed: 0, skipped: 0, failed: 0, requeued: 0, dropped: 0 };
  const running = new Set<Promise<void>>();

  const report = async (e: Entry, o: QueueOutcome) => {
    counts[o.status === 'analysed' ? 'analysed' : o.status === 'failed' ? 'failed' : 'skipped']++;
    try {
      await d.onOutcome(e.inc, e.trigger, o);
    } catch (err) {
      d.log.error('analysis outcome handler failed', { incident_id: e.inc.id, error: describe(err) });
    }
  };

  /** Moves the tick's batch into the queue, most severe first, and starts calls. */
  const take = () => {
    scheduled = false;
    if (stopped) return;
    pending.sort((a, b) => rank(b.inc) - rank(a.inc));
    queue.push(...pending);
    pending = [];
    while (queue.length > maxQueued) {
      // Drop the least severe, oldest entry.
      let victim = 0;
      for (let i = 1; i < queue.length; i++) if (rank(queue[i]!.inc) < rank(queue[victim]!.inc)) victim = i;
      const [e] = queue.splice(victim, 1);
      counts.dropped++;
      d.log.warn('analysis queue full: incident not analysed', { incident_id: e!.inc.id, queued: queue.length });
      void report(e!, { status: 'skipped', reason: 'queue_full' });
    }
    pump();
  };

  const arm = (at: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      pump();
    }, Math.max(0, at - now()));
    timer.unref();
  };

  const pump = () => {
    if (stopped) return;
    const ready = Math.max(pausedUntil, d.readyAt?.() ?? 0);
    if (now() < ready) {
      if (queue.length && !timer) arm(ready);
      return;
    }
    while (inFlight < concurrency && queue.length) {
      const e = queue.shift()!;
      if (e.inc.status === 'resolved') {
        void report(e, { status: 'skipped', reason: 'resolved' });
        continue;
      }
      if (now() - e.since > maxWaitMs) {
        void report(e, { status: 'skipped', reason: 'expired_in_queue' });
        continue;
      }
      inFlight++;
      const p = run(e).finally(() => {
        inFlight--;
        running.delete(p);
        pump();
      });
      running.add(p);
    }
  };

  const run = async (e: Entry) => {
    let ctx: AnalysisContext = {};
    try {
      ctx = await d.context(e.inc);
    } catch (err) {
      d.log.warn('analysis context unavailable', { incident_id: e.inc.id, error: describe(err) });
    }
    let o: AnalysisOutcome;
    try {
      o = await d.analyse(e.inc, ctx, { retries: e.retries });
    } catch (err) {
      // The analyser promises not to throw; if it does, the incident keeps its tier-1 verdict.
      o = { status: 'failed', reason: 'internal', detail: describe(err) };
    }
    if (stopped) return;
    if (o.status === 'skipped' && TRANSIENT.has(o.reason) && now() - e.since <= maxWaitMs && e.inc.status === 'open') {
      counts.requeued++;
      if (COUNTED.has(o.reason)) e.retries++;
      queue.unshift(e);
      pausedUntil = Math.max(pausedUntil, now() + (o.retryAfterMs ?? retryMs));
      d.log.info('analysis deferred', { incident_id: e.inc.id, reason: o.reason, retry_in_ms: pausedUntil - now(), queued: queue.length });
      arm(pausedUntil);
      return;
    }
    await report(e, o);
  };

  return {
    /** Queues an incident for analysis; false when it is already queued or the queue is stopped. */
    enqueue(inc: Incident, trigger: string): boolean {
      if (stopped) return false;
      const queued = queue.find((e) => e.inc.id === inc.id) ?? pending.find((e) => e.inc.id === inc.id);
      if (queued) {
        queued.trigger = trigger;
        return false;
      }
      counts.enqueued++;
      pending.push({ inc, trigger, since: now(), retries: 0 });
      if (!scheduled) {
        scheduled = true;
        setImmediate(take);
      }
      return true;
    },
    /** Stops taking work and waits for the calls in flight (the analyser's stop() aborts them). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await Promise.allSettled([...running]);
    },
    stats() {
      const until = Math.max(pausedUntil, d.readyAt?.() ?? 0);
      return { ...counts, queued: queue.length + pending.length, inFlight, pausedUntil: until > now() ? new Date(until).toISOString() : null };
    },
  };
}

export type AnalysisQueue = ReturnType<typeof createAnalysisQueue>;
