/**
 * A fleet unit's LISTEN connection, kept up (the change log's sync and the
 * shared actions each hold one; a pool's connections cannot LISTEN).
 *
 * Contract: connects, runs `setup` on the new connection (migrate, LISTEN),
 * routes every notification to `notified`, then calls `up`; when the
 * connection ends or cannot be made, calls `down(attempt, error)` (attempt
 * 0 is the first failure of an outage, so a unit can warn once and stay
 * quiet after) and tries again after a growing pause. `stop` ends the
 * connection and resolves once the loop has returned.
 */
import pg from 'pg';
import { describe } from '../errors.js';
import { sleeper } from '../util/sleeper.js';

const RETRY_MS = [250, 500, 1000, 2000];

export interface Listening {
  readonly connected: boolean;
  /** What ended the last connection or attempt (null: none yet). */
  readonly lastError: string | null;
  stop(): Promise<void>;
}

export function keepListening(o: {
  conf: pg.ClientConfig;
  setup: (c: pg.Client) => Promise<void>;
  notified: () => void;
  up: () => void;
  down: (attempt: number, error: string | null) => void;
}): Listening {
  let stopped = false;
  let connected = false;
  let lastError: string | null = null;
  let client: pg.Client | null = null;
  const nap = sleeper();

  /** One connection's life; resolves when it ends. */
  async function session(): Promise<void> {
    const c = new pg.Client(o.conf);
    client = c;
    const ended = new Promise<void>((r) => {
      c.once('end', () => r());
      c.on('error', (e) => {
        lastError = describe(e);
        r();
      });
    });
    await c.connect();
    c.on('notification', () => o.notified());
    await o.setup(c);
    connected = true;
    o.up();
    await ended;
    connected = false;
    c.removeAllListeners('notification');
    await c.end().catch(() => undefined);
  }

  const loop = (async () => {
    let attempt = 0;
    while (!stopped) {
      try {
        await session();
        attempt = 0;
      } catch (e) {
        lastError = describe(e);
        connected = false;
        await (client as pg.Client | null)?.end().catch(() => undefined);
      }
      if (stopped) return;
      o.down(attempt, lastError);
      await nap.sleep(RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!);
    }
  })();

  return {
    get connected() {
      return connected;
    },
    get lastError() {
      return lastError;
    },
    async stop() {
      stopped = true;
      nap.cut();
      await (client as pg.Client | null)?.end().catch(() => undefined);
      await loop;
    },
  };
}
