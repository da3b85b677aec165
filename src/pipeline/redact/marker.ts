/**
 * The text that replaces a secret: `[REDACTED:<kind>]`, kind one of the
 * detectors' names (`param`, `jwt`, `email`, `aws-key`, ...). Detectors
 * leave a marker alone, which makes redaction idempotent.
 */
export const marker = (kind: string) => `[REDACTED:${kind}]`;

const AT = /\[REDACTED(?::[a-z0-9-]{1,20})?\]/y;

/** The end of the marker starting at `i` in `text`, or -1 when none starts there. */
export function MARKER_AT(text: string, i: number): number {
  AT.lastIndex = i;
  return AT.test(text) ? AT.lastIndex : -1;
}

/** Every marker in `text` as [start, end). */
export function markerSpans(text: string): [number, number][] {
  return [...text.matchAll(/\[REDACTED(?::[a-z0-9-]{1,20})?\]/g)].map((m) => [m.index, m.index + m[0].length]);
}
