/**
 * Watching a flood of single-address blocks: which ranges fill up with
 * blocked attackers (range aggregation) and when the block rate spikes (the
 * operator is told once). Plain in-memory state, bounded; a restart forgets
 * it, which only delays the next range proposal or spike notice.
 */
import { parseIp } from '../../validate/ip.js';

export interface FloodOptions {
  /** Distinct blocked addresses of one range within windowMs that make a range block. */
  threshold: number;
  windowMs: number;
  prefixV4: number;
  prefixV6: number;
  /** Blocks per minute above which the operator is told. */
  spikePerMinute: number;
  /** After a spike notice, none again for this long. */
  spikeQuietMs: number;
}

/** Ranges tracked at most (the oldest are dropped beyond it). */
const MAX_RANGES = 50_000;

export interface RangeFull {
  /** Canonical CIDR, e.g. 198.51.100.0/24. */
  range: string;
  /** Distinct addresses of it blocked within the window. */
  addresses: number;
}

export function createFloodWatch(o: FloodOptions) {
  /** range -> address -> last blocked at */
  const ranges = new Map<string, Map<string, number>>();
  /** range -> when it was last handed out as full */
  const handedOut = new Map<string, number>();
  const lastMinute: number[] = [];
  let lastSpikeNotice = -Infinity;

  const rangeOf = (ip: string): string | null => {
    const p = parseIp(ip);
    if (!p || p.isCidr) return null;
    return parseIp(`${p.text}/${p.family === 4 ? o.prefixV4 : o.prefixV6}`)?.text ?? null;
  };

  return {
    rangeOf,
    /**
     * A single address was blocked at `now`: the range it belongs to when that
     * range now holds `threshold` distinct addresses blocked within the window
     * and was not handed out within the window; else null.
     */
    noteBlock(ip: string, now: number): RangeFull | null {
      const range = rangeOf(ip);
      if (!range) return null;
      let seen = ranges.get(range);
      if (!seen) {
        if (ranges.size >= MAX_RANGES) {
          const oldest = ranges.keys().next().value as string;
          ranges.delete(oldest);
          handedOut.delete(oldest);
        }
        seen = new Map();
        ranges.set(range, seen);
      }
      seen.set(ip, now);
      for (const [a, at] of seen) if (at <= now - o.windowMs) seen.delete(a);
      if (seen.size < o.threshold) return null;
      const prev = handedOut.get(range);
      if (prev !== undefined && prev > now - o.windowMs) return null;
      handedOut.set(range, now);
      return { range, addresses: seen.size };
    },
    /** A block was enforced at `now`: the blocks of the last minute when a spike notice is due, else null. */
    noteRate(now: number): number | null {
      lastMinute.push(now);
      while (lastMinute.length && (lastMinute[0] as number) <= now - 60_000) lastMinute.shift();
      if (lastMinute.length <= o.spikePerMinute || now - lastSpikeNotice < o.spikeQuietMs) return null;
      lastSpikeNotice = now;
      return lastMinute.length;
    },
  };
}
