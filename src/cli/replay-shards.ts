/**
 * `monitor replay --threads N` (N > 1): the replay's parse and triage in N
 * worker threads (replay-shard-worker.ts), sharded by client address
 * (replay-route.ts), with the same incidents as one thread.
 *
 * The main thread reads blocks of whole lines into shared memory (one copy)
 * and deals each line to the shard of its address (replay-route.ts
 * dealBlock; a line whose address it cannot read without parsing goes to
 * every shard, and the shards parse it to find its owner; a block that is
 * not plain ASCII each shard cuts itself). A shard runs, for its own clients, the
 * rules keyed by the client in full; for every other rule (by backend,
 * server, host, path, source) it stops after the filter and the key and
 * hands the window's input back. The main thread takes each block's results
 * when all shards have sent theirs and walks the block's lines in order:
 * the line's time moves the clock, its findings go to the incidents, the
 * windows handed over run here (the only place that sees every line), and
 * quiet incidents resolve each second of log time, exactly as the
 * one-thread loop in monitor-replay.ts does.
 *
 * What differs from one thread: each shard caps its own rule tables, so
 * under more distinct subjects than a table holds (100,000 by default) the
 * evictions differ; and a line without a time of its own takes the last time
 * its shard saw rather than the last time of the whole file.
 */
import { Worker } from 'node:worker_threads';
import type { FileHandle } from 'node:fs/promises';
import type { Finding } from '../pipeline/types.js';
import type { RuleSpec } from '../pipeline/triage/schema.js';
import type { Pipeline } from '../monitor/pipeline.js';
import { createBlockReader } from './replay-blocks.js';
import { dealBlock } from './replay-route.js';

/** What a shard is told when it starts. */
export interface ShardSetup {
  shard: number;
  shards: number;
  /** The rules as loaded by the main thread (plain data; each shard compiles its own). */
  rules: RuleSpec[];
  protectedRanges: string[];
  receivedAt: number;
  maxAheadMs?: number;
}

/** A block of whole lines, the same shared bytes for every shard. */
export interface ShardBlock {
  seq: number;
  bytes: SharedArrayBuffer;
  length: number;
  last: boolean;
  /** When the main thread dealt the lines (replay-route.ts dealBlock): how many, and this shard's. */
  lines: number;
  mine?: Int32Array;
}

/** A finding a shard made on line `[0]` by rule `[1]`, or a window handed over: line, rule, key, value, time, raw line. */
export type ShardItem = [number, number, Finding] | [number, number, string, number | undefined, number, string | undefined];

export interface ShardResult {
  seq: number;
  shard: number;
  /** Lines in the block (every shard counts all of them). */
  lines: number;
  /** Each line's own time when it is this shard's and has one, else NaN. */
  times: Float64Array;
  /** In line order; within a line, not yet in rule order. */
  items: ShardItem[];
  unparsed: number;
  misrouted: number;
}

export interface ShardedReplay {
  lines: number;
  unparsed: number;
  /** Lines whose parsed address was not the one they were routed by (replay-route.ts); 0 unless the router is wrong. */
  misrouted: number;
}

/**
 * A shard's thread. Run from the TypeScript sources (tests, benchmarks), a
 * worker does not inherit tsx's loader hooks, so a small script registers
 * them before it imports the shard; the built package imports it directly.
 */
function startShard(setup: ShardSetup): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./replay-shard-worker${fromSource ? '.ts' : '.js'}`, import.meta.url).href;
  const tsx = fromSource ? import.meta.resolve('tsx/esm/api') : null;
  const boot = `const { workerData } = require('node:worker_threads');
(async () => { if (workerData.tsx) (await import(workerData.tsx)).register(); await import(workerData.entry); })().catch((e) => { setImmediate(() => { throw e; }); });`;
  return new Worker(boot, { eval: true, workerData: { ...setup, entry, tsx } });
}

/** Blocks in flight before the reader waits: enough to keep every shard busy, few enough to bound memory (a block is 1 MiB). */
const IN_FLIGHT = 4;

const byRule = (a: ShardItem, b: ShardItem) => a[1] - b[1];

/**
 * Replays `input` through `pipeline`'s incidents with `setup.shards` shards.
 * `onLine` runs after each line (the caller's tick of quiet incidents) and
 * `onBlock` after each block (progress).
 */
export async function replaySharded(
  input: NodeJS.ReadableStream | FileHandle,
  pipeline: Pipeline,
  setup: Omit<ShardSetup, 'shard'>,
  onLine: () => void,
  onBlock: (lines: number, bytes: number) => void,
): Promise<ShardedReplay> {
  const workers = Array.from({ length: setup.shards }, (_, shard) => startShard({ ...setup, shard }));
  const pending = new Map<number, ShardResult[]>();
  // Blocks in flight, by number: their buffers go back to the reader once every shard has answered.
  const reader = createBlockReader(IN_FLIGHT);
  const inFlight = new Map<number, { bytes: SharedArrayBuffer; length: number }>();
  const total: ShardedReplay = { lines: 0, unparsed: 0, misrouted: 0 };
  let next = 0;
  let sent = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const rouse = () => {
    if (failure !== null) reader.abort(failure);
    const w = wake;
    wake = null;
    w?.();
  };

  function take(results: ShardResult[], bytes: number): void {
    const lines = results[0]!.lines;
    const cursor = results.map(() => 0);
    const mine: ShardItem[] = [];
    for (let k = 0; k < lines; k++) {
      for (let w = 0; w < results.length; w++) {
        const r = results[w]!;
        const t = r.times[k]!;
        if (t === t) pipeline.see(t);
        let c = cursor[w]!;
        while (c < r.items.length && r.items[c]![0] === k) mine.push(r.items[c++]!);
        cursor[w] = c;
      }
      if (mine.length > 1) mine.sort(byRule);
      for (let i = 0; i < mine.length; i++) {
        const it = mine[i]!;
        if (it.length === 3) pipeline.add(it[2]);
        else pipeline.resume(it[1], it[2], it[3], it[4], it[5]);
      }
      mine.length = 0;
      onLine();
    }
    for (const r of results) {
      total.unparsed += r.unparsed;
      total.misrouted += r.misrouted;
    }
    total.lines += lines;
    onBlock(lines, bytes);
  }

  for (const w of workers) {
    w.on('message', (r: ShardResult) => {
      let got = pending.get(r.seq);
      if (got === undefined) pending.set(r.seq, (got = []));
      got[r.shard] = r;
      try {
        for (;;) {
          const ready = pending.get(next);
          if (ready === undefined || ready.filter(Boolean).length < workers.length) break;
          const block = inFlight.get(next)!;
          pending.delete(next);
          reader.release(block.bytes);
          inFlight.delete(next);
          next++;
          take(ready, block.length);
        }
      } catch (e) {
        failure ??= e as Error;
      }
      rouse();
    });
    w.on('error', (e) => {
      failure ??= e;
      rouse();
    });
    w.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`a replay shard stopped (exit code ${code})`);
      rouse();
    });
  }
  const until = async (done: () => boolean) => {
    while (!done() && failure === null) await new Promise<void>((r) => (wake = r));
    if (failure !== null) throw failure;
  };

  try {
    await reader.read(input, (b) => {
      const seq = sent++;
      inFlight.set(seq, { bytes: b.bytes, length: b.length });
      // The main thread, otherwise mostly waiting, cuts and routes the usual block once, so a shard decodes only its own lines.
      const dealt = b.last ? null : dealBlock(Buffer.from(b.bytes, 0, b.length), b.length, workers.length);
      workers.forEach((w, i) => {
        const m: ShardBlock = { seq, bytes: b.bytes, length: b.length, last: b.last, lines: dealt?.lines ?? 0 };
        if (dealt !== null) m.mine = dealt.mine[i]!;
        w.postMessage(m, dealt !== null ? [m.mine!.buffer as ArrayBuffer] : []);
      });
    });
    await until(() => next === sent);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return total;
}
