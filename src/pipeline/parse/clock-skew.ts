/**
 * The one place a line's own time is judged against the clock. A line may
 * claim any time; one claiming to be from the future would move the event
 * clock ahead (every window, every quiet period) and resolve every open
 * incident at once. So a time more than `maxAheadMs` ahead of `now` (when
 * the line was received) is not believed: the line gets `now` as its time,
 * and `timeAheadMs` says how far ahead it claimed to be (counted by the
 * pipeline). A time within the allowance, or in the past, is kept as
 * written. Pure; never throws.
 */
import type { ParsedLine } from '../types.js';

export function clampFutureTime(p: ParsedLine, now: number, maxAheadMs: number): ParsedLine {
  if (p.time === null || !Number.isFinite(now) || p.time - now <= maxAheadMs) return p;
  return { ...p, time: now, timeAheadMs: p.time - now };
}
