/**
 * Control characters out of text that people will read: notifications print
 * attacker text (samples, subjects) and model text (an analysis' summary),
 * and a terminal, mail client or chat must not act on it.
 *
 * Contract: `stripControls(s)` replaces every C0 control except tab and line
 * feed (so ESC, NUL, CR, BEL...), DEL, every C1 control (U+0080–U+009F),
 * the bidi embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069), the bidi marks (U+200E, U+200F, U+061C) and the line and
 * paragraph separators (U+2028, U+2029) by U+FFFD, so the reader sees that
 * something was there and nothing is interpreted. Pure; the stored data is
 * not changed (it is applied when a message is rendered).
 */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export const REPLACEMENT = '\ufffd';

export function stripControls(s: string): string {
  return s.replace(CONTROLS, REPLACEMENT);
}

/** `stripControls` over every string in a plain JSON value (arrays, objects). */
export function stripControlsDeep<T>(v: T): T {
  if (typeof v === 'string') return stripControls(v) as T;
  if (Array.isArray(v)) return v.map(stripControlsDeep) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stripControlsDeep(x)])) as T;
  return v;
}
