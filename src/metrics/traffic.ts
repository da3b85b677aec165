/**
 * The last hour of HTTP traffic for the console's overview chart: every
 * `intervalMs` the unit reads HAProxy's frontend counters (requests, 4xx,
 * 5xx, summed over the frontends that serve sites; the stats listener is
 * left out) and keeps the per-second rates of the last `keep` intervals, in
 * memory (a restart starts the chart again).
 *
 * Counters restart at zero when a reload starts new workers: any counter
 * that went down is read as a restart, and the new values are what arrived
 * since.
 * A failed read leaves a gap (null), never a made-up zero.
 */
import type { FrontendCounters } from '../haproxy/runtime/servers.js';

export interface TrafficPoint {
  /** Unix seconds at the end of the interval. */
  t: number;
  requests: number | null;
  responses4xx: number | null;
  responses5xx: number | null;
}

export interface TrafficHistory {
  start(): void;
  stop(): void;
  /** Rates per second, oldest first. */
  points(): TrafficPoint[];
  /** Seconds between samples. */
  intervalSeconds: number;
  /** Reads once now (tests; the timer calls it too). */
  sample(): Promise<void>;
}

export function createTrafficHistory(opts: {
  read: () => Promise<Map<string, FrontendCounters>>;
  intervalMs?: number;
  keep?: number;
  /** Frontends left out of the sums (the stats listener). */
  skip?: (frontend: string) => boolean;
  now?: () => number;
}): TrafficHistory {
  const every = opts.intervalMs ?? 10_000;
  const keep = opts.keep ?? 360;
  const now = opts.now ?? Date.now;
  const out: TrafficPoint[] = [];
  let last: { at: number; c: FrontendCounters } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let busy = false;

  const push = (p: TrafficPoint) => {
    out.push(p);
    if (out.length > keep) out.splice(0, out.length - keep);
  };

  async function sample(): Promise<void> {
    if (busy) return;
    busy = true;
    const at = now();
    try {
      const sum: FrontendCounters = { requests: 0, responses4xx: 0, responses5xx: 0 };
      for (const [name, c] of await opts.read()) {
        if (opts.skip?.(name)) continue;
        sum.requests += c.requests;
        sum.responses4xx += c.responses4xx;
        sum.responses5xx += c.responses5xx;
      }
      if (last) {
        const dt = (at - last.at) / 1000;
        // One counter that went down means new workers: every counter started again from zero.
        const restarted = (['requests', 'responses4xx', 'responses5xx'] as const).some((k) => sum[k] < last!.c[k]);
        const rate = (k: keyof FrontendCounters) => {
          const d = restarted ? sum[k] : sum[k] - last!.c[k];
          return dt > 0 ? Math.round((d / dt) * 100) / 100 : 0;
        };
        push({ t: Math.round(at / 1000), requests: rate('requests'), responses4xx: rate('responses4xx'), responses5xx: rate('responses5xx') });
      }
      last = { at, c: sum };
    } catch {
      push({ t: Math.round(at / 1000), requests: null, responses4xx: null, responses5xx: null });
      last = null;
    } finally {
      busy = false;
    }
  }

  return {
    start() {
      void sample();
      timer = setInterval(() => void sample(), every);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    points: () => out.slice(),
    intervalSeconds: every / 1000,
    sample,
  };
}
