/**
 * Signature families compiled for the hot path. A rule's `signatures`
 * entries (schema.ts) are joined into one regular expression per field and
 * case mode (`(?:p1)|(?:p2)|...`), so a family of dozens of entries costs a
 * line one or two regular-expression scans, not dozens. The entries' own
 * patterns are compiled only to say which one matched (`monitor explain`,
 * the example checks) and never on the per-line path.
 */
import type { ParsedLine } from '../types.js';
import type { LineView } from './match.js';
import type { RuleSpec, SignatureField, SignatureSpec } from './schema.js';

interface Group {
  field: SignatureField;
  re: RegExp;
}

/** The values of `field` a signature sees on this line (absent: the line lacks the field). */
function valuesOf(v: LineView, field: SignatureField, out: string[]): void {
  switch (field) {
    case 'path': {
      const p = v.path();
      if (p === undefined) return;
      out.push(p);
      const d = v.decodedPath();
      if (d !== undefined && d !== p) out.push(d);
      return;
    }
    case 'path_normalized': {
      const n = v.normalizedPath();
      if (n !== undefined) out.push(n);
      return;
    }
    case 'query_names':
    case 'query_values': {
      const q = v.queryParams();
      if (q !== undefined) out.push(...(field === 'query_names' ? q.names : q.values));
      return;
    }
    case 'user_agent': {
      const ua = v.userAgent;
      if (ua === undefined) return;
      out.push(ua);
      const d = v.decodedUserAgent();
      if (d !== undefined && d !== ua) out.push(d);
      return;
    }
    case 'host':
      if (v.host !== undefined) out.push(v.host);
      return;
  }
}

function testValue(re: RegExp, v: LineView, field: SignatureField): boolean {
  // The two common fields without a list: no array for the line.
  if (field === 'path') {
    const p = v.path();
    if (p === undefined) return false;
    if (re.test(p)) return true;
    const d = v.decodedPath();
    return d !== undefined && d !== p && re.test(d);
  }
  if (field === 'path_normalized') {
    const n = v.normalizedPath();
    return n !== undefined && re.test(n);
  }
  const vals: string[] = [];
  valuesOf(v, field, vals);
  for (let i = 0; i < vals.length; i++) if (re.test(vals[i] as string)) return true;
  return false;
}

/**
 * A pattern's top-level alternatives (`a|b|(c|d)` gives `a`, `b`, `(c|d)`),
 * read with escapes, character classes and groups in mind. Matching any of
 * them is matching the pattern, so they can be regrouped freely.
 */
export function topLevelAlternatives(pattern: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inClass = false;
  let from = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(pattern.slice(from, i));
      from = i + 1;
    }
  }
  out.push(pattern.slice(from));
  return out;
}

export class SignatureSet {
  private readonly groups: Group[];
  private singles: { spec: SignatureSpec; re: RegExp }[] | null = null;

  constructor(readonly entries: readonly SignatureSpec[]) {
    // One group per field, case mode and anchoring: alternatives that start
    // with `^` go into a group the regular-expression engine tries at the
    // first position only (V8 sees a disjunction whose every branch is
    // anchored as anchored); the others into one scanned along the text.
    const byKey = new Map<string, { field: SignatureField; fold: boolean; parts: string[] }>();
    for (const e of entries) {
      for (const alt of topLevelAlternatives(e.pattern)) {
        const anchored = alt.startsWith('^');
        const k = `${e.field}\u0000${e.ignore_case}\u0000${anchored}`;
        let g = byKey.get(k);
        if (g === undefined) byKey.set(k, (g = { field: e.field, fold: e.ignore_case, parts: [] }));
        g.parts.push(anchored ? `^(?:${alt.slice(1)})` : `(?:${alt})`);
      }
    }
    // Cheap fields first: the path is always there; parameters are split only if needed.
    const order: SignatureField[] = ['path_normalized', 'path', 'host', 'user_agent', 'query_names', 'query_values'];
    this.groups = [...byKey.values()]
      .sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field))
      .map((g) => ({ field: g.field, re: new RegExp(g.parts.join('|'), g.fold ? 'i' : '') }));
  }

  /** True when at least one entry matches the line. */
  test(v: LineView): boolean {
    const gs = this.groups;
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i] as Group;
      if (testValue(g.re, v, g.field)) return true;
    }
    return false;
  }

  /** The ids of the entries that match the line, in the rule's order (for explanations; not on the hot path). */
  matching(v: LineView): string[] {
    this.singles ??= this.entries.map((e) => ({ spec: e, re: new RegExp(e.pattern, e.ignore_case ? 'i' : '') }));
    const out: string[] = [];
    for (const s of this.singles) if (testValue(s.re, v, s.spec.field)) out.push(s.spec.id);
    return out;
  }
}

/** A line that holds just `value` in the field a signature reads (request targets for the path and query fields). */
function exampleLine(field: SignatureField, value: string): ParsedLine {
  const fields: Record<string, unknown> = { method: 'GET', status: 404, client_ip: '192.0.2.1', path: '/' };
  if (field === 'user_agent') fields.user_agent = value;
  else if (field === 'host') fields.host = value;
  else fields.path = value;
  return { ok: true, kind: 'http', time: 0, fields };
}

/**
 * Checks every entry's examples: each `match` value must be matched by the
 * entry itself, and no `normal` value by any entry of the rule. Returns one
 * message per failure, naming the rule and the entry.
 */
export function checkSignatureExamples(spec: RuleSpec, makeView: () => LineView): string[] {
  if (!spec.signatures) return [];
  const set = new SignatureSet(spec.signatures);
  const v = makeView();
  const out: string[] = [];
  for (const e of spec.signatures) {
    for (const m of e.match) {
      v.reset(exampleLine(e.field, m), 'example', 0);
      if (!set.matching(v).includes(e.id)) out.push(`${spec.name}: signature ${e.id}: its example ${JSON.stringify(m)} does not match`);
    }
    for (const n of e.normal) {
      v.reset(exampleLine(e.field, n), 'example', 0);
      const hit = set.matching(v);
      if (hit.length) out.push(`${spec.name}: signature ${e.id}: the normal example ${JSON.stringify(n)} is matched by ${hit.join(', ')}`);
    }
  }
  return out;
}
