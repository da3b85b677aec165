/**
 * Building ParsedLine values. A line that is not understood is
 * `{ ok: false, kind: 'unknown', time: null, fields: { reason } }`, where
 * reason is a short fixed phrase (never the line itself), so counts of
 * reasons stay small.
 */
import type { ParsedLine } from '../types.js';

export function unknownLine(reason: string): ParsedLine {
  return { ok: false, kind: 'unknown', time: null, fields: { reason } };
}
