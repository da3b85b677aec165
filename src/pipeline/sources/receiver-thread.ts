/**
 * A receiving thread for a log source: a worker thread running a small
 * plain-JavaScript program (no TypeScript loader, so the same in a checkout
 * and in the package) that only reads a socket and posts what it read to
 * the main thread, where the lines are decoded and delivered.
 *
 * Why: the main thread parses and triages every line; while it does, it
 * reads nothing, and the kernel's buffer for the socket (a UDP receive
 * buffer, or the ~200 KiB a unix stream holds for its writer) fills in a few
 * milliseconds at 100,000 lines a second. A thread that does nothing but
 * read empties it as soon as it is scheduled, and what the pipeline has not
 * taken yet waits in memory, bounded by the source.
 *
 * Contract:
 * - `counters` is shared with the thread (BigInt64Array over a
 *   SharedArrayBuffer of `slots` entries): the source's program and its
 *   main side agree on what each slot means.
 * - Messages keep their order; `stop()` posts 'stop', waits for the
 *   thread's last message ('closed', which the program posts after its last
 *   data) and for the thread to end. A thread that fails is reported
 *   through `onCrash` and has ended.
 */
import { Worker } from 'node:worker_threads';

export interface ReceiverThread<M> {
  readonly counters: BigInt64Array;
  post(message: unknown): void;
  stop(): Promise<void>;
  /** Set once `onMessage` got `{type: 'closed'}` or the thread ended. */
  readonly ended: boolean;
}

export function startReceiverThread<M extends { type: string }>(
  program: string,
  workerData: Record<string, unknown>,
  slots: number,
  onMessage: (m: M) => void,
  onCrash: (message: string) => void,
): ReceiverThread<M> {
  const shared = new SharedArrayBuffer(slots * 8);
  const counters = new BigInt64Array(shared);
  const worker = new Worker(program, { eval: true, execArgv: [], workerData: { ...workerData, shared } });
  let ended = false;
  let closed: () => void = () => undefined;
  const lastMessage = new Promise<void>((resolve) => (closed = resolve));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      ended = true;
      closed();
      resolve();
    }),
  );
  worker.on('message', (m: M) => {
    if (m.type === 'closed') closed();
    else onMessage(m);
  });
  worker.on('error', (e) => onCrash(`the receiving thread failed: ${e.message}`));
  return {
    counters,
    get ended() {
      return ended;
    },
    post(message) {
      if (!ended) worker.postMessage(message);
    },
    async stop() {
      if (!ended) worker.postMessage('stop');
      await lastMessage;
      await exited;
    },
  };
}
