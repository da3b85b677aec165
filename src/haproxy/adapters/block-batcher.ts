/**
 * Coalesces blocks into batches: while one batch is being applied, the
 * blocks asked for meanwhile wait and go together as the next one (one map
 * file write and one runtime payload for all of them; ip-lists.blockIps).
 * A flood of 2,000 distinct attackers costs a handful of runtime changes, not
 * 2,000 (each rewriting the whole map file and dumping the runtime map twice).
 *
 * Contract: each caller's promise settles with its own row (or the batch's
 * error); blocks are applied in the order asked; at most `maxBatch` per
 * change. One block alone goes at once (no waiting for company).
 */
import type { BlockedIp } from '../../storage/ip-lists.js';
import type { BatchBlock } from '../changes/ip-lists.js';
import type { RuntimeResult } from '../config/apply.js';

export type ApplyBatch = (items: readonly BatchBlock[]) => Promise<{ result: BlockedIp[] } & RuntimeResult>;

interface Waiting {
  item: BatchBlock;
  resolve: (r: { row: BlockedIp; runtimeApplied: boolean }) => void;
  reject: (e: unknown) => void;
}

export function createBlockBatcher(apply: ApplyBatch, opts: { maxBatch?: number } = {}) {
  const maxBatch = opts.maxBatch ?? 5000;
  let queue: Waiting[] = [];
  let running = false;

  const drain = async () => {
    running = true;
    try {
      while (queue.length) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        try {
          const res = await apply(batch.map((w) => w.item));
          batch.forEach((w, i) => w.resolve({ row: res.result[i]!, runtimeApplied: res.runtimeApplied }));
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      running = false;
    }
  };

  return {
    block(item: BatchBlock): Promise<{ row: BlockedIp; runtimeApplied: boolean }> {
      return new Promise((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!running) void drain();
      });
    },
    /** Blocks waiting for the batch in flight (for status and tests). */
    waiting: () => queue.length,
  };
}
