/**
 * The batcher: which incidents go together in one call, and when.
 *
 * Contract:
 * - `add(item, waitMs)` puts an item in the open batch, willing to wait
 *   `waitMs` for others. The batch goes when it holds `maxItems`, when the
 *   earliest deadline of its items (when each came plus its wait) has passed,
 *   or at once when an item that waits for no one (`waitMs` 0: a critical
 *   incident) joins, taking along what is already waiting. A later item with
 *   a shorter wait brings the batch's deadline forward; none pushes it back.
 * - At most `maxCalls` batches are being sent at once; a batch due while all
 *   are busy goes as soon as one ends (and keeps taking items until then,
 *   up to `maxItems`).
 * - `send(items)` owns each item's outcome; its errors are the caller's to
 *   report (it must not throw; a throw is swallowed so the batcher goes on).
 * - The clock is injected (`schedule`, `now`), so a benchmark can run it on
 *   log time.
 */

/** Runs `fn` after `ms`; returns a function that cancels it. */
export type Schedule = (ms: number, fn: () => void) => () => void;

/** Not unref'd: an incident waiting for its batch is work pending (stop() clears the timer). */
export const realSchedule: Schedule = (ms, fn) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export interface BatcherOptions<I> {
  maxItems: number;
  maxCalls: number;
  schedule?: Schedule;
  /** The clock the deadlines are read on (default Date.now); the same as `schedule`'s. */
  now?: () => number;
  send(items: I[]): Promise<void>;
}

export function createBatcher<I>(o: BatcherOptions<I>) {
  const schedule = o.schedule ?? realSchedule;
  const now = o.now ?? Date.now;
  let open: I[] = [];
  let due = false;
  let cancel: (() => void) | null = null;
  /** When the armed timer fires (Infinity: none armed). */
  let deadline = Infinity;
  let sending = 0;
  const running = new Set<Promise<void>>();

  const go = () => {
    while (due && open.length > 0 && sending < o.maxCalls) {
      // Items left past maxItems were due with these: they go next, without a new wait.
      const items = open.splice(0, o.maxItems);
      due = open.length > 0;
      if (cancel) cancel();
      cancel = null;
      deadline = Infinity;
      sending++;
      const p: Promise<void> = o.send(items).catch(() => undefined).finally(() => {
        sending--;
        running.delete(p);
        go();
      });
      running.add(p);
    }
  };

  const arm = (waitMs: number) => {
    if (cancel) cancel();
    deadline = now() + waitMs;
    cancel = schedule(waitMs, () => {
      cancel = null;
      deadline = Infinity;
      due = true;
      go();
    });
  };

  return {
    add(item: I, waitMs: number): void {
      open.push(item);
      if (waitMs <= 0 || open.length >= o.maxItems) {
        due = true;
        go();
      } else if (!due && now() + waitMs < deadline) {
        arm(waitMs);
      }
    },
    /** Items waiting for their batch to go. */
    waiting: () => open.length,
    /** Resolves once no batch is being sent (waiting ones stay waiting). */
    async idle(): Promise<void> {
      while (running.size) await Promise.allSettled([...running]);
    },
    /** Drops the waiting items (their owner reports them) and cancels the timer. */
    clear(): I[] {
      if (cancel) cancel();
      cancel = null;
      deadline = Infinity;
      const left = open;
      open = [];
      due = false;
      return left;
    },
  };
}
