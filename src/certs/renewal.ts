/**
 * The renewal schedule: node-cron (twice a day by default), each run delayed
 * by a random jitter so many hosts do not hit the CA at the same minute. A run
 * renews every certificate whose remaining life is below a third of its
 * lifetime and whose retry time has come; failures are recorded per
 * certificate by the service and never stop the others.
 */
import cron from 'node-cron';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { describe } from '../errors.js';
import { durationMs } from '../util/duration.js';
import type { CertService } from './service.js';

/**
 * `leads`: in a fleet, whether this node leads it now (fleet/leader.ts); a
 * run on another node is skipped (the leader renews for every node).
 * `runSoon` starts a run after the jitter (a node that just became leader
 * catches up on what its predecessor may have left).
 */
export function scheduleRenewal(cfg: Config, log: Logger, certs: CertService, leads?: () => boolean): { stop(): Promise<void>; runSoon(): void } {
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  const runOnce = async () => {
    if (running) return;
    if (leads && !leads()) {
      log.debug('renewal run skipped: another node leads the fleet');
      return;
    }
    running = true;
    try {
      const results = await certs.renew({}, 'scheduler');
      const renewed = results.filter((r) => r.status === 'renewed').length;
      const failed = results.filter((r) => r.status === 'failed').length;
      if (renewed || failed) log.info('renewal run finished', { renewed, failed, checked: results.length });
    } catch (e) {
      log.error('renewal run failed', { error: describe(e) });
    } finally {
      running = false;
    }
  };
  const soon = () => {
    const jitter = Math.floor(Math.random() * durationMs(cfg.acme.renew_jitter));
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void runOnce(), jitter);
    timer.unref();
  };
  const task = cron.schedule(cfg.acme.renew_schedule, soon);
  return {
    runSoon: soon,
    async stop() {
      if (timer) clearTimeout(timer);
      await task.stop();
    },
  };
}
