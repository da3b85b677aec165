/**
 * Units: the parts of the daemon the composition root starts and stops.
 * Contract (after zigbee2mqtt's extensions): a unit's factory only stores
 * its dependencies; `start()` does the work; `stop()` undoes it, and is safe
 * to call for a unit whose start failed half way. `startUnits` starts units
 * in order; when one fails it stops that one and those already started, in
 * reverse, and rethrows, so a failed start leaves nothing running. The
 * returned `stop` is the one teardown path.
 */
import type { Logger } from './log.js';
import { describe } from './errors.js';

export interface Unit {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export async function startUnits(units: Unit[], log: Logger): Promise<{ stop(): Promise<void> }> {
  const started: Unit[] = [];
  const stopAll = async () => {
    for (const u of started.splice(0).reverse()) {
      try {
        await u.stop();
      } catch (e) {
        log.error(`stopping ${u.name} failed`, { unit: u.name, error: describe(e) });
      }
    }
  };
  for (const u of units) {
    try {
      await u.start();
      started.push(u);
      log.debug(`unit started: ${u.name}`);
    } catch (e) {
      log.debug(`unit failed to start: ${u.name}`, { error: describe(e) });
      started.push(u);
      await stopAll();
      throw e;
    }
  }
  return { stop: stopAll };
}
