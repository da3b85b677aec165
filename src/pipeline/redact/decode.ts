/**
 * Percent-decoding in layers, each character of a layer mapped back to the
 * span of the original text it came from, so that a secret found at any depth
 * of encoding (`?next=%2Flogin%3Ftoken%3D…`, `%253D`, `%74oken=`) is redacted
 * where it sits in the original line.
 *
 * Contract: `decodeLayers(text, max)` returns layer 0 (the text itself) and at
 * most `max` further layers; a layer is made only when the previous one holds
 * a `%XX` escape (hex digits of either case). Only `%XX` is decoded, one
 * escape to one character code (bytes of a UTF-8 sequence stay separate
 * characters: keys and delimiters are ASCII). `+` is left as it is: in a value
 * it stands for a space, and a space would end the value early and let the
 * rest of a secret through. Time and memory are O(length x layers).
 */

/** One decoded layer: `text[i]` came from `original.slice(start[i], end[i])`. */
export interface Layer {
  text: string;
  start: Int32Array;
  end: Int32Array;
}

const ESCAPE = /%[0-9A-Fa-f]{2}/;

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function identity(text: string): Layer {
  const n = text.length;
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    start[i] = i;
    end[i] = i + 1;
  }
  return { text, start, end };
}

function decodeOnce(prev: Layer): Layer {
  const s = prev.text;
  const n = s.length;
  const out: string[] = [];
  const start = new Int32Array(n);
  const end = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) === 37 && i + 2 < n) {
      const a = hex(s.charCodeAt(i + 1));
      const b = hex(s.charCodeAt(i + 2));
      if (a >= 0 && b >= 0) {
        out.push(String.fromCharCode(a * 16 + b));
        start[k] = prev.start[i]!;
        end[k] = prev.end[i + 2]!;
        k++;
        i += 2;
        continue;
      }
    }
    out.push(s[i]!);
    start[k] = prev.start[i]!;
    end[k] = prev.end[i]!;
    k++;
  }
  return { text: out.join(''), start: start.slice(0, k), end: end.slice(0, k) };
}

/** Layer 0 and up to `max` decoded layers (fewer when nothing is left to decode). */
export function decodeLayers(text: string, max: number): Layer[] {
  const layers = [identity(text)];
  let cur = layers[0]!;
  for (let d = 0; d < max && ESCAPE.test(cur.text); d++) {
    cur = decodeOnce(cur);
    layers.push(cur);
  }
  return layers;
}
