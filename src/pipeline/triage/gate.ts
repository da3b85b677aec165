/**
 * A cheap prefilter for a joined signature pattern: the set of "rare"
 * characters of which every match must contain at least one. Most ordinary
 * request targets hold none of them (`/products/42`, `/css/site.css`), so a
 * single character-class scan lets them skip dozens of alternatives.
 *
 * Derived from the pattern itself, conservatively: for each top-level
 * alternative, the first item that must appear in every match (not made
 * optional by `?`, `*` or `{0,`) and that can only be rare characters: a
 * literal, a class whose members all are, or a group each of whose
 * alternatives has such an item. An alternative without one means no gate
 * (null): the pattern is always run. A wrong gate would hide attacks, so
 * anything not understood (back-references, lookarounds, ranges, escapes
 * like \d) ends the search for that alternative.
 */

/** Characters rare in ordinary request targets and common in payloads (and the two-character "..", see item()). */
export const GATE_CHARS = new Set(['$', '{', '}', '(', ')', ';', '|', '@', '#', '<', '>', "'", '"', '`', '\\', ':', '\n', '=', '?', '&', '[', ']', '!', '*', ',']);

interface Cursor {
  s: string;
  i: number;
}

/** The item at the cursor: its gate characters (null: none known) and whether it is optional; advances past it and its quantifier. */
function item(c: Cursor): { set: Set<string> | null; optional: boolean; stop: boolean } {
  const s = c.s;
  const ch = s[c.i] as string;
  let set: Set<string> | null = null;
  let stop = false;
  if (ch === '(') {
    // (?: ... ) or ( ... ); lookarounds and named groups are not understood.
    let j = c.i + 1;
    if (s[j] === '?') {
      if (s[j + 1] !== ':') stop = true;
      j += 2;
    }
    const start = j;
    j = walk(s, j, 1, (_i, d, depth) => d === ')' && depth === 0);
    if (!stop) set = alternativesGate(s.slice(start, j));
    c.i = j + 1;
  } else if (ch === '[') {
    let j = c.i + 1;
    const members: string[] = [];
    let ok = s[j] !== '^';
    for (; j < s.length && s[j] !== ']'; j++) {
      let m = s[j] as string;
      if (m === '\\') {
        const e = s[++j] as string;
        m = e === 'n' ? '\n' : /[\w]/.test(e) ? '' : e; // \d, \s, \w...: not a single known character
        if (m === '') ok = false;
      } else if (s[j + 1] === '-' && s[j + 2] !== ']') ok = false; // a range
      members.push(m);
    }
    c.i = j + 1;
    if (ok && members.length && members.every((m) => GATE_CHARS.has(m))) set = new Set(members);
  } else if (ch === '\\' && s.startsWith('\\.\\.', c.i)) {
    // "..": rare in ordinary targets, the mark of traversal. (Optional when a quantifier follows the second dot.)
    set = new Set(['..']);
    c.i += 4;
  } else if (ch === '\\') {
    const e = s[c.i + 1] as string;
    if (/[1-9kpPuxcdDwWsSbB0]/.test(e)) stop = /[1-9k]/.test(e); // back-references: give up; classes and assertions: no character
    else if (e === 'n') set = new Set(['\n']);
    else if (GATE_CHARS.has(e)) set = new Set([e]);
    c.i += 2;
  } else if (ch === '^' || ch === '$' || ch === '.') {
    c.i += 1;
  } else {
    if (GATE_CHARS.has(ch) && ch !== '|' && ch !== ')' && ch !== '?' && ch !== '*') set = new Set([ch]);
    c.i += 1;
  }
  // Its quantifier.
  let optional = false;
  const q = s[c.i];
  if (q === '?' || q === '*') {
    optional = true;
    c.i++;
  } else if (q === '+') c.i++;
  else if (q === '{') {
    const m = /^\{(\d+)(?:,\d*)?\}/.exec(s.slice(c.i));
    if (m) {
      optional = m[1] === '0';
      c.i += m[0].length;
    }
  }
  if (s[c.i] === '?') c.i++; // lazy
  return { set, optional, stop };
}

/** The gate of one alternative (a sequence): the first required item with a gate set. */
function sequenceGate(alt: string): Set<string> | null {
  const c: Cursor = { s: alt, i: 0 };
  while (c.i < alt.length) {
    const it = item(c);
    if (it.stop) return null;
    if (!it.optional && it.set !== null) return it.set;
  }
  return null;
}

/** Splits on top-level `|`. */
export function topLevelAlternatives(pattern: string): string[] {
  const out: string[] = [];
  let from = 0;
  walk(pattern, 0, 0, (i, ch, depth) => {
    if (ch === '|' && depth === 0) {
      out.push(pattern.slice(from, i));
      from = i + 1;
    }
    return false;
  });
  out.push(pattern.slice(from));
  return out;
}

/**
 * Walks a pattern's source from `from` at group depth `depth`, skipping
 * escapes and character classes, and calls `at` for each `(`, `)` and `|`
 * with the depth after it. Returns the index where `at` said stop, or the
 * length when it never did (an unclosed group).
 */
function walk(s: string, from: number, depth: number, at: (i: number, ch: string, depth: number) => boolean): number {
  let inClass = false;
  for (let i = from; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(' || ch === ')' || ch === '|') {
      if (ch === '(') depth++;
      else if (ch === ')') depth--;
      if (at(i, ch, depth)) return i;
    }
  }
  return s.length;
}

/** The union of the alternatives' gates, or null when one of them has none. */
function alternativesGate(pattern: string): Set<string> | null {
  const all = new Set<string>();
  for (const alt of topLevelAlternatives(pattern)) {
    const g = sequenceGate(alt);
    if (g === null) return null;
    for (const x of g) all.add(x);
  }
  return all;
}

/** A regular expression matching any gate character of `pattern`, or null when it has no gate. */
export function gateFor(pattern: string): RegExp | null {
  const g = alternativesGate(pattern);
  if (g === null || g.size === 0) return null;
  const chars = [...g].filter((x) => x.length === 1);
  const esc = chars.map((ch) => (ch === '\n' ? '\\n' : /[\\\]^-]/.test(ch) ? '\\' + ch : ch)).join('');
  const parts = [...(chars.length ? [`[${esc}]`] : []), ...(g.has('..') ? ['\\.\\.'] : [])];
  return new RegExp(parts.join('|'));
}
