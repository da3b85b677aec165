/**
 * Durations as the config and data files write them: a whole number and one
 * unit, "500ms", "30s", "5m", "6h", "1d". The one parser and the one schema
 * for them: anything else ("1.5h", "10 m", "1w", "10") is refused, never
 * guessed at.
 */
import { z } from 'zod';

const PATTERN = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const EXPECTED = 'a duration such as 500ms, 30s, 5m, 6h or 1d';

export function isDuration(d: string): boolean {
  const m = PATTERN.exec(d);
  return m !== null && Number.isSafeInteger(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

/** Milliseconds of a duration string; throws, naming the value, for anything that is not one. */
export function durationMs(d: string): number {
  const m = PATTERN.exec(d);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(d)} (expected ${EXPECTED})`);
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms)) throw new Error(`duration too long: ${JSON.stringify(d)}`);
  return ms;
}

/** A duration string in a zod schema (the value stays a string; convert with durationMs). */
export const durationSchema = z
  .string()
  .regex(PATTERN, EXPECTED)
  // zod runs refinements after a failed regex too: a malformed value is the regex's to report.
  .refine((d) => !PATTERN.test(d) || isDuration(d), 'the duration is too long');
