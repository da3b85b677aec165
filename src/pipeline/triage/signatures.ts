/**
 * Signature families compiled for the hot path. A rule's `signatures`
 * entries (schema.ts) are joined into one regular expression per field and
 * case mode (`(?:p1)|(?:p2)|...`), so a family of dozens of entries costs a
 * line one or two regular-expression scans, not dozens. The entries' own
 * patterns are compiled only to say which one matched (the example checks
 * of `rules test`), never on the per-line path.
 */
import type { ParsedLine } from '../types.js';
import { SlotMemo, type LineView, type Need } from './match.js';
import type { RuleSpec, SignatureField, SignatureSpec } from './schema.js';
import { gateFor } from './gate.js';

interface Group {
  field: SignatureField;
  re: RegExp;
  /** A character class every match holds one of (gate.ts); a value without any is not scanned. Null: always scanned. */
  gate: RegExp | null;
  /** For the User-Agent and the Host, whose values repeat: recent answers. */
  memo: Memo | null;
}

/**
 * A pattern with its recent answers (match.ts SlotMemo), for the User-Agent
 * and the Host, whose values repeat: the same browser agents and hosts come
 * back on most lines, and comparing a string is far cheaper than scanning it
 * with dozens of alternatives. Values longer than MEMO_MAX_LENGTH are
 * scanned each time, not stored.
 */
export const MEMO_MAX_LENGTH = 256;
export class Memo {
  private readonly memo = new SlotMemo();
  constructor(private readonly re: RegExp) {}

  test(s: string): boolean {
    const n = s.length;
    if (n === 0 || n > MEMO_MAX_LENGTH) return this.re.test(s);
    const known = this.memo.get(s);
    if (known >= 0) return known === 1;
    const hit = this.re.test(s);
    this.memo.set(s, hit ? 1 : 0);
    return hit;
  }
}

/** The values of `field` a signature sees on this line: the path and User-Agent raw, then decoded when that differs. */
function valuesOf(v: LineView, field: SignatureField): string[] {
  switch (field) {
    case 'path': {
      const p = v.path();
      const d = v.decodedPath();
      return p === undefined ? [] : d !== undefined && d !== p ? [p, d] : [p];
    }
    case 'path_normalized': {
      const n = v.normalizedPath();
      return n === undefined ? [] : [n];
    }
    case 'query_names':
      return v.queryParams()?.names ?? [];
    case 'query_values':
      return v.queryParams()?.values ?? [];
    case 'user_agent': {
      const ua = v.userAgent;
      const d = v.decodedUserAgent();
      return ua === undefined ? [] : d !== undefined && d !== ua ? [ua, d] : [ua];
    }
    case 'host':
      return v.host === undefined ? [] : [v.host];
  }
}

/** Any value of the field matches (the query fields, and single entries for explanations). */
function testValue(re: RegExp, v: LineView, field: SignatureField, gate: RegExp | null = null): boolean {
  if (field === 'path') {
    // The common case, without an array.
    const p = v.path();
    if (p === undefined) return false;
    if ((gate === null || gate.test(p)) && re.test(p)) return true;
    const d = v.decodedPath();
    return d !== undefined && d !== p && (gate === null || gate.test(d)) && re.test(d);
  }
  const vals = valuesOf(v, field);
  for (let i = 0; i < vals.length; i++) {
    const s = vals[i] as string;
    if ((gate === null || gate.test(s)) && re.test(s)) return true;
  }
  return false;
}

/** testValue for the fields with a memo: the User-Agent (raw, then decoded) and the Host. */
function testMemo(m: Memo, v: LineView, field: SignatureField): boolean {
  if (field === 'host') return v.host !== undefined && m.test(v.host);
  const ua = v.userAgent;
  if (ua === undefined) return false;
  if (m.test(ua)) return true;
  const d = v.decodedUserAgent();
  return d !== undefined && d !== ua && m.test(d);
}

/** Groups per TargetVerdicts: one bit each in a 31-bit small integer. */
const TARGET_GROUPS_MAX = 30;

/**
 * The answers of every rule's request-target groups (fields path and
 * path_normalized, which are functions of the logged target alone: decoding
 * and normalizing read nothing else), computed together once per distinct
 * target and remembered: pages, assets and API calls come back on most
 * lines, and one lookup of the target then answers every signature family,
 * without decoding or normalizing it again. One per engine (the rules'
 * groups share it), kept like a MatchGroup's answers (match.ts SlotMemo); a
 * target longer than the memo keeps, or a group beyond TARGET_GROUPS_MAX, is
 * tested each time as before. Only an equal target reuses an answer, so a
 * memo can never change a verdict; a flood of one-off targets only takes its
 * slots.
 */
export class TargetVerdicts {
  private readonly groups: Group[] = [];
  private readonly memo = new SlotMemo();
  private serial = -1;
  private bits = 0;

  /** Takes a group; returns its bit, or 0 when full (the caller then tests the group itself). */
  add(g: Group): number {
    if (this.groups.length >= TARGET_GROUPS_MAX) return 0;
    this.groups.push(g);
    return 1 << (this.groups.length - 1);
  }

  /** The bits of the groups that match this line's target. */
  answer(v: LineView): number {
    if (this.serial === v.serial) return this.bits;
    const p = v.path();
    let b: number;
    if (p === undefined) b = 0;
    else {
      b = this.memo.get(p);
      if (b < 0) this.memo.set(p, (b = this.compute(v)));
    }
    this.serial = v.serial;
    this.bits = b;
    return b;
  }

  private compute(v: LineView): number {
    const gs = this.groups;
    let b = 0;
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i] as Group;
      if (testValue(g.re, v, g.field, g.gate)) b |= 1 << i;
    }
    return b;
  }
}

export class SignatureSet {
  private readonly groups: Group[];
  /** Per group: its bit in `targets` (0: tested here). */
  private readonly bits: number[];
  private singles: { spec: SignatureSpec; re: RegExp }[] | null = null;

  /** `targets`: the engine's shared memo for request-target groups (none: every group is tested on every line). */
  constructor(
    readonly entries: readonly SignatureSpec[],
    private readonly targets: TargetVerdicts | null = null,
  ) {
    const byKey = new Map<string, { field: SignatureField; fold: boolean; parts: string[] }>();
    for (const e of entries) {
      const k = `${e.field}\u0000${e.ignore_case}`;
      let g = byKey.get(k);
      if (g === undefined) byKey.set(k, (g = { field: e.field, fold: e.ignore_case, parts: [] }));
      g.parts.push(`(?:${e.pattern})`);
    }
    // Cheap fields first: the path is always there; parameters are split only if needed.
    // (Splitting groups further, by anchoring or by a literal prefilter, was
    // measured slower: each extra test costs more than the scan it saves.)
    const order: SignatureField[] = ['path_normalized', 'path', 'host', 'user_agent', 'query_names', 'query_values'];
    this.groups = [...byKey.values()]
      .sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field))
      .map((g) => {
        const joined = g.parts.join('|');
        const re = new RegExp(joined, g.fold ? 'i' : '');
        // Not the paths: measured, the copies a memo keeps of them cost about what it saves (they vary more, and their patterns have gates).
        const repeats = g.field === 'user_agent' || g.field === 'host';
        return { field: g.field, re, gate: repeats ? null : gateFor(joined), memo: repeats ? new Memo(re) : null };
      });
    this.bits = this.groups.map((g) => (targets !== null && (g.field === 'path' || g.field === 'path_normalized') ? targets.add(g) : 0));
  }

  /**
   * What test() cannot pass without: any one of its groups, when each is
   * cheap to ask on every line (a target group, answered by the shared
   * TargetVerdicts, or an agent or host group, answered by its memo); null
   * when a group would be a scan of its own (query parameters).
   */
  needs(): Need[] | null {
    const t = this.targets;
    const out: Need[] = [];
    for (let i = 0; i < this.groups.length; i++) {
      const g = this.groups[i] as Group;
      const bit = this.bits[i] as number;
      if (bit !== 0 && t !== null) out.push({ group: t, bit, field: '', ask: (v) => t.answer(v) });
      else if (g.memo !== null) {
        const memo = g.memo;
        const field = g.field;
        out.push({ group: memo, bit: 1, field, ask: (v) => (testMemo(memo, v, field) ? 1 : 0) });
      } else return null;
    }
    return out;
  }

  /** True when at least one entry matches the line. */
  test(v: LineView): boolean {
    const gs = this.groups;
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i] as Group;
      const bit = this.bits[i] as number;
      if (bit !== 0) {
        if (((this.targets as TargetVerdicts).answer(v) & bit) !== 0) return true;
      } else if (g.memo !== null ? testMemo(g.memo, v, g.field) : testValue(g.re, v, g.field, g.gate)) return true;
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
      // The joined patterns the engine runs must agree with the entry's own.
      else if (!set.test(v)) out.push(`${spec.name}: signature ${e.id}: its example ${JSON.stringify(m)} matches the entry but not the rule's joined patterns`);
    }
    for (const n of e.normal) {
      v.reset(exampleLine(e.field, n), 'example', 0);
      const hit = set.matching(v);
      if (hit.length === 0 && set.test(v)) out.push(`${spec.name}: signature ${e.id}: the normal example ${JSON.stringify(n)} is matched by the rule's joined patterns`);
      if (hit.length) out.push(`${spec.name}: signature ${e.id}: the normal example ${JSON.stringify(n)} is matched by ${hit.join(', ')}`);
    }
  }
  return out;
}
