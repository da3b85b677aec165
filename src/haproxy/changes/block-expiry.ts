/**
 * Blocks are lifted on time: a cheap indexed check every second, plus the
 * operator's `blocks.expiry_schedule` (cron). The daemon's own block actions
 * on lifted addresses are marked expired. Contract: one run at a time; a
 * failure is logged and the next tick tries again.
 */
import cron from 'node-cron';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../storage/db.js';
import type { Unit } from '../../units.js';
import { blocked } from '../../storage/ip-lists.js';
import { actions as actionStore } from '../../storage/actions.js';
import { describe } from '../../errors.js';
import { clearExpired, type Ops } from './ip-lists.js';

export function createBlockExpiry(d: { cfg: Config; log: Logger; db: Db; ops: Ops }): Unit & { run(): Promise<void> } {
  let running = false;
  let timer: NodeJS.Timeout | null = null;
  let task: ReturnType<typeof cron.schedule> | null = null;
  const run = async () => {
    if (running || blocked.expired(d.db, new Date().toISOString()).length === 0) return;
    running = true;
    try {
      const r = await clearExpired(d.ops, 'scheduler');
      const marked = actionStore.markExpired(d.db, r.result, Date.now());
      d.log.info('expired blocks removed', { count: r.result.length, ips: r.result.slice(0, 20).join(','), ...(marked.length ? { actions: marked.map((a) => a.id).join(',') } : {}) });
    } catch (e) {
      d.log.error('removing expired blocks failed', { error: describe(e) });
    } finally {
      running = false;
    }
  };
  return {
    name: 'block-expiry',
    run,
    async start() {
      await run();
      task = cron.schedule(d.cfg.blocks.expiry_schedule, () => void run(), { noOverlap: true });
      timer = setInterval(() => void run(), 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await task?.stop();
      task = null;
    },
  };
}
