/**
 * The one-run-at-a-time worker the fleet's units share (the change log's
 * sync, shared actions, shared certificates, certificate requests).
 *
 * Contract:
 * - `wake` starts a run, or asks the run going on for one more after it:
 *   runs never overlap, and no wake is lost (also one that lands between a
 *   run's last check and its end, e.g. from a microtask).
 * - `next` resolves once a run that began after the call has ended (or the
 *   worker is stopped): "what was there when I asked has been looked at".
 * - `occupy(job)` holds the worker's slot until `job` settles (a start-up
 *   catch-up the unit runs itself); a wake meanwhile runs after it.
 * - A failing run is handed to `onError` (the unit logs it) and the worker
 *   goes on; after `stopped()` turns true nothing new starts.
 */
export interface SerialWorker {
  wake(): void;
  next(): Promise<void>;
  occupy(job: Promise<unknown>): void;
  /** Resolves when no run is going. */
  idle(): Promise<void>;
  readonly busy: boolean;
}

export function serialWorker(o: { run: () => Promise<void>; onError: (e: unknown) => void; stopped?: () => boolean }): SerialWorker {
  const stopped = o.stopped ?? (() => false);
  let running: Promise<void> | null = null;
  let again = false;
  let waiters: (() => void)[] = [];

  function finish(): void {
    running = null;
    if (stopped()) {
      for (const w of waiters.splice(0)) w();
      return;
    }
    if (again || waiters.length) wake();
  }

  function wake(): void {
    if (stopped()) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        const these = waiters;
        waiters = [];
        try {
          await o.run();
        } catch (e) {
          o.onError(e);
        }
        for (const w of these) w();
      } while (again && !stopped());
    })().finally(finish);
  }

  return {
    wake,
    next: () =>
      new Promise<void>((r) => {
        if (stopped()) return r();
        waiters.push(r);
        if (running) again = true;
        else wake();
      }),
    occupy(job) {
      const before = running;
      running = (async () => {
        await before;
        await job.then(
          () => undefined,
          () => undefined,
        );
      })().finally(finish);
    },
    idle: async () => {
      while (running) await running;
    },
    get busy() {
      return running !== null;
    },
  };
}
