/**
 * The batcher: which incidents go together in one call, and when.
 *
 * Contract:
 * - `add(item, urgent)` puts an item in the open batch. The batch goes when
 *   it holds `maxItems`, when `maxWaitMs` has passed since its first item
 *   came, or at once when an urgent (critical) item joins: a critical
 *   incident waits for no one, and takes along what is already waiting.
 * - At most `maxCalls` batches are being sent at once; a batch due while all
 *   are busy goes as soon as one ends (and keeps taking items until then,
 *   up to `maxItems`).
 * - `send(items)` owns each item's outcome; its errors are the caller's to
 *   report (it must not throw; a throw is swallowed so the batcher goes on).
 * - The clock is injected (`schedule`), so a benchmark can run it on log time.
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
  maxWaitMs: number;
  maxCalls: number;
  schedule?: Schedule;
  send(items: I[]): Promise<void>;
}

export function createBatcher<I>(o: BatcherOptions<I>) {
  const schedule = o.schedule ?? realSchedule;
  let open: I[] = [];
  let due = false;
  let cancel: (() => void) | null = null;
  let sending = 0;
  const running = new Set<Promise<void>>();

  const go = () => {
    while (due && open.length > 0 && sending < o.maxCalls) {
      // Items left past maxItems were due with these: they go next, without a new wait.
      const items = open.splice(0, o.maxItems);
      due = open.length > 0;
      if (cancel) cancel();
      cancel = null;
      sending++;
      const p: Promise<void> = o.send(items).catch(() => undefined).finally(() => {
        sending--;
        running.delete(p);
        go();
      });
      running.add(p);
    }
  };

  const arm = () => {
    cancel = schedule(o.maxWaitMs, () => {
      cancel = null;
      due = true;
      go();
    });
  };

  return {
    add(item: I, urgent: boolean): void {
      open.push(item);
      if (urgent || open.length >= o.maxItems || o.maxWaitMs <= 0) {
        due = true;
        go();
      } else if (!cancel && !due) {
        arm();
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
      const left = open;
      open = [];
      due = false;
      return left;
    },
  };
}
