/**
 * The one redactor: every sample line the daemon keeps goes through it when
 * a finding becomes part of an incident (src/pipeline/incidents/group.ts), so
 * the database, the API, every notification and every prompt see the same
 * redacted text. The analysis stage runs it again over what else it sends
 * (subjects, context); redacting twice gives what redacting once gave.
 *
 * Contract: `createRedactor({ extraKeys })` returns a pure function of one
 * line. It finds
 * - values under secret keys (keys.ts, pairs.ts) and token shapes
 *   (shapes.ts) in the line and in each of up to MAX_DECODE layers of
 *   percent-decoding (decode.ts), so a key nested in another parameter's
 *   value at any depth (`next=%2Flogin%3Ftoken%3D…`, `%253D`) is found;
 * - the span of the ORIGINAL text each finding came from, and replaces it
 *   with one `[REDACTED:<kind>]` marker (overlapping spans are merged).
 * Everything else is left exactly as it was: the redactor does not decode,
 * trim or normalise the line. Time is linear in the line's length (a 64 KiB
 * line takes milliseconds; test/redact/redact.test.ts holds the bound).
 */
import { decodeLayers } from './decode.js';
import { secretKeyMatcher } from './keys.js';
import { marker, markerSpans } from './marker.js';
import { findPairs } from './pairs.js';
import { findShapes } from './shapes.js';

/** Decoding layers tried past the text itself (triple encoding needs three). */
export const MAX_DECODE = 5;

export type Redactor = (line: string) => string;

export interface RedactorOptions {
  /** The operator's extra key names (config `redaction.extra_secret_keys`): substring, case-insensitive. */
  extraKeys?: readonly string[];
}

interface Span {
  start: number;
  end: number;
  kind: string;
}

export function createRedactor(o: RedactorOptions = {}): Redactor {
  const isSecret = secretKeyMatcher(o.extraKeys ?? []);
  return (line: string) => {
    if (line.length === 0) return line;
    const spans: Span[] = [];
    for (const layer of decodeLayers(line, MAX_DECODE)) {
      const add = (a: number, b: number, kind: string) => {
        if (b > a) spans.push({ start: layer.start[a]!, end: layer.end[b - 1]!, kind });
      };
      findPairs(layer.text, isSecret, (a, b) => add(a, b, 'param'));
      findShapes(layer.text, add);
    }
    if (spans.length === 0) return line;
    // A span inside a marker already there is that marker found again.
    const markers = markerSpans(line);
    const fresh = spans.filter((s) => !markers.some(([a, b]) => s.start >= a && s.end <= b));
    if (fresh.length === 0) return line;
    fresh.sort((x, y) => x.start - y.start || y.end - x.end);
    const merged: Span[] = [];
    for (const s of fresh) {
      const last = merged[merged.length - 1];
      if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
      else merged.push({ ...s });
    }
    let out = '';
    let at = 0;
    for (const s of merged) {
      out += line.slice(at, s.start) + marker(s.kind);
      at = s.end;
    }
    return out + line.slice(at);
  };
}
