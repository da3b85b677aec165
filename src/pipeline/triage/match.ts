/**
 * Compiled filters: a rule's `filter` turned once into plain objects whose
 * `test` runs on every line. Built for the hot path: no allocation while
 * testing except the lazily decoded path (only when it holds `%` or `+`),
 * cheap checks (status table, method, event) before regular expressions.
 *
 * A `LineView` is the one mutable view of the current line the engine reuses
 * for every line; it caches what several rules ask for (the subject address,
 * the path without its query, the decoded path).
 *
 * Patterns are tested per field, not per rule: the engine registers every
 * pattern matcher of every rule in a `MatcherRegistry`, which puts those of
 * one field (path, user_agent, host, ...) in one `MatchGroup`. The first
 * rule that asks about a line's path runs all the path patterns once and
 * keeps the answer as bits, for the other rules on that line and, remembered
 * per value, for later lines with the same path (values repeat: the site's
 * pages and assets, a few dozen User-Agents). A rule added as data gets this
 * without code.
 */
import type { LineKind, ParsedLine } from '../types.js';
import { LINE_KINDS, type FilterSpec, type StringMatch } from './schema.js';
import { hash32 } from './hash.js';
import { decodeTarget, haproxyUnescape, isNormalPath, normalizeSlashes, percentDecode, splitQuery, type QueryParams } from './normalize.js';

export const KIND_BIT: Readonly<Record<LineKind, number>> = Object.fromEntries(LINE_KINDS.map((k, i) => [k, 1 << i])) as Record<LineKind, number>;
export const ALL_KINDS = (1 << LINE_KINDS.length) - 1;

/**
 * A field value decoded for a `decode: true` match: HAProxy's `#XX` log
 * escapes, then percent escapes (repeated until stable, at most three
 * rounds; normalize.ts), `+` as a space. The same string when there was
 * nothing to decode; a function of the value alone (MatchGroup relies on it).
 */
export function decodeLoose(s: string): string {
  return percentDecode(haproxyUnescape(s), true);
}

/** A field's value as a string: strings as they are, numbers in decimal, anything else absent (LineView.str). */
function strOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Numbers the lines every view is reset to, so a group's answer for one line is never taken for another's. */
let SERIAL = 0;

/** The current line as rules see it. One instance is reused for every line. */
export class LineView {
  /** This line's number among all lines any view was reset to (MatchGroup's per-line answer). */
  serial = 0;
  line: ParsedLine = { ok: false, kind: 'unknown', time: null, fields: {} };
  fields: Record<string, unknown> = {};
  source = '';
  kindBit = 0;
  time = 0;
  status = -1;
  /** Fields most rules read, loaded once per line (the parser's field objects have many shapes, so each load is a slow one). */
  method: string | undefined = undefined;
  userAgent: string | undefined = undefined;
  host: string | undefined = undefined;
  termination: string | undefined = undefined;
  /** Fields the pattern groups are asked about on every line (engine.ts plan), as str() reads them: loaded by name, not by a key. */
  referer: string | undefined = undefined;
  uri: string | undefined = undefined;
  httpVersion: string | undefined = undefined;
  request: string | undefined = undefined;
  private pathRaw: string | undefined = undefined;
  private pathDecoded: string | undefined = undefined;
  private pathNoQuery: string | undefined = undefined;
  private ipCache: string | undefined = undefined;
  private pathNormalized: string | undefined = undefined;
  private params: QueryParams | undefined = undefined;
  private uaDecoded: string | undefined = undefined;
  private queryCache: string | undefined = undefined;
  private ipDone = false;
  private pathDone = 0;
  /** Per-line hashes of the values distinct sets count (hashOf): one bit per slot says this line's is computed. */
  private hashDone = 0;
  private readonly hashes: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // bit 1: decoded, bit 2: without query, bit 4: normalized, bit 8: query params, bit 16: decoded User-Agent, bit 32: query

  reset(line: ParsedLine, source: string, time: number): void {
    this.serial = ++SERIAL;
    this.line = line;
    this.fields = line.fields;
    this.source = source;
    this.kindBit = KIND_BIT[line.kind] ?? 0;
    this.time = time;
    const st = line.fields.status;
    this.status = typeof st === 'number' ? st : -1;
    const f = line.fields;
    const p = f.path;
    this.pathRaw = typeof p === 'string' ? p : undefined;
    const m = f.method;
    this.method = typeof m === 'string' ? m : undefined;
    const ua = f.user_agent;
    this.userAgent = typeof ua === 'string' ? ua : undefined;
    const h = f.host;
    this.host = typeof h === 'string' ? h : undefined;
    const ts = f.termination_state;
    this.termination = typeof ts === 'string' ? ts : undefined;
    this.referer = strOf(f.referer);
    this.uri = strOf(f.uri);
    this.httpVersion = strOf(f.http_version);
    this.request = strOf(f.request);
    this.ipDone = false;
    this.pathDone = 0;
    this.hashDone = 0;
  }

  /**
   * The hash32 of `s` (one of this line's values, `slot` naming which, below
   * 16), computed once per line however many rules count it. With `repeats`
   * (values that recur across lines, such as User-Agents) a long value goes
   * through a memo of recent hashes (HASHES), which finds it by a few of its
   * characters and one comparison, faster than hash32's loop over all of
   * them; one-off values (queries) would only churn it.
   */
  hashOf(slot: number, s: string | undefined, repeats: boolean): number | undefined {
    if (s === undefined) return undefined;
    const bit = 1 << slot;
    if ((this.hashDone & bit) !== 0) return this.hashes[slot];
    let h: number;
    if (!repeats || s.length < 32) h = hash32(s);
    else {
      const known = HASHES.get(s);
      if (known >= 0) h = known;
      else HASHES.set(s, (h = hash32(s)));
    }
    this.hashes[slot] = h;
    this.hashDone |= bit;
    return h;
  }

  /** A field as a string: strings as they are, numbers in decimal, anything else absent. */
  str(name: string): string | undefined {
    return strOf(this.fields[name]);
  }

  /** The path with its query string, as logged. */
  path(): string | undefined {
    return this.pathRaw;
  }

  /** The decoded request target (normalize.ts decodeTarget; the same string when there was nothing to decode). */
  decodedPath(): string | undefined {
    if ((this.pathDone & 1) === 0) {
      this.pathDone |= 1;
      this.pathDecoded = this.pathRaw === undefined ? undefined : decodeTarget(this.pathRaw);
    }
    return this.pathDecoded;
  }

  /** The path without its query as a server resolves it (normalize.ts normalizePath), computed on first use. */
  normalizedPath(): string | undefined {
    if ((this.pathDone & 4) === 0) {
      this.pathDone |= 4;
      // normalizePath on the path without its query, sharing that string with pathOnly (each step returns its input when it has nothing to do).
      const p = this.pathOnly();
      this.pathNormalized = p === undefined || isNormalPath(p) ? p : normalizeSlashes(percentDecode(haproxyUnescape(p), false));
    }
    return this.pathNormalized;
  }

  /** The query's parameters, decoded (absent without a query), computed on first use. */
  queryParams(): QueryParams | undefined {
    if ((this.pathDone & 8) === 0) {
      this.pathDone |= 8;
      const q = this.query();
      this.params = q === undefined ? undefined : splitQuery(q);
    }
    return this.params;
  }

  /** The User-Agent decoded like a `decode: true` match decodes it. */
  decodedUserAgent(): string | undefined {
    if ((this.pathDone & 16) === 0) {
      this.pathDone |= 16;
      const ua = this.userAgent;
      this.uaDecoded = ua === undefined ? undefined : ua.indexOf('%') === -1 && ua.indexOf('#') === -1 ? ua : percentDecode(haproxyUnescape(ua), false);
    }
    return this.uaDecoded;
  }

  /** The path without its query string. */
  pathOnly(): string | undefined {
    if ((this.pathDone & 2) === 0) {
      this.pathDone |= 2;
      const p = this.pathRaw;
      if (p === undefined) this.pathNoQuery = undefined;
      else {
        const q = p.indexOf('?');
        this.pathNoQuery = q === -1 ? p : p.slice(0, q);
      }
    }
    return this.pathNoQuery;
  }

  /** The query string (after `?`), absent when the path has none; computed once per line (several rules and their keys read it). */
  query(): string | undefined {
    if ((this.pathDone & 32) === 0) {
      this.pathDone |= 32;
      const p = this.pathRaw;
      const q = p === undefined ? -1 : p.indexOf('?');
      this.queryCache = q === -1 ? undefined : (p as string).slice(q + 1);
    }
    return this.queryCache;
  }

  /** The client address: real_ip when the line has one (from a trusted proxy's header), else client_ip. */
  ip(): string | undefined {
    if (!this.ipDone) {
      this.ipDone = true;
      const r = this.fields.real_ip;
      if (typeof r === 'string' && r.length > 0 && r !== '-') this.ipCache = r;
      else {
        const c = this.fields.client_ip;
        this.ipCache = typeof c === 'string' && c.length > 0 && c !== '-' ? c : undefined;
      }
    }
    return this.ipCache;
  }
}

/**
 * Answers a group of pattern matchers keeps, per value tested (SlotMemo):
 * values up to MEMO_MAX_KEY long.
 */
export const MEMO_SLOTS = 4096;
/** Longer values are tested on every line without being remembered (rarely repeated, and a long key costs memory). */
export const MEMO_MAX_KEY = 512;
/** Matchers per group: one bit each in a 31-bit small integer; a field with more gets another group. */
const GROUP_MAX = 30;

/**
 * Recent answers (integers from 0 to 2^32 - 1) for string values, in
 * MEMO_SLOTS slots chosen by a cheap fingerprint of the value (its length
 * and eight of its characters); a slot holds one value and its answer, and
 * a collision replaces it. Why not a Map: a line's values are fresh strings,
 * and a Map hashes every character of each before it looks (a User-Agent is
 * over a hundred); here a lookup reads eight characters and compares one
 * stored value. An answer is reused only for an equal string, so it is
 * always right; values that collide (by chance or crafted) only cost the
 * test a miss runs. Values longer than MEMO_MAX_KEY are never kept (get
 * answers -1, set keeps nothing), and values are copied when stored, so no
 * log line stays alive through a memo; memory stays under MEMO_SLOTS x
 * MEMO_MAX_KEY x 2 bytes.
 */
export class SlotMemo {
  private readonly keys: (string | undefined)[] = new Array<string | undefined>(MEMO_SLOTS).fill(undefined);
  private readonly vals = new Float64Array(MEMO_SLOTS);

  /** The answer kept for `s`, or -1. */
  get(s: string): number {
    if (s.length > MEMO_MAX_KEY) return -1;
    const slot = slotOf(s);
    return this.keys[slot] === s ? (this.vals[slot] as number) : -1;
  }

  /** Keeps `answer` (an integer, 0 to 2^32 - 1) for `s`. */
  set(s: string, answer: number): void {
    if (s.length > MEMO_MAX_KEY) return;
    const slot = slotOf(s);
    this.keys[slot] = s.length < 13 ? s : (' ' + s).slice(1);
    this.vals[slot] = answer;
  }
}

/** A value's slot in a SlotMemo: its length and eight characters spread over it (the ends vary most: ids, versions, extensions), mixed. */
function slotOf(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  let h = Math.imul(n, 0x9e3779b1);
  h = Math.imul(h ^ s.charCodeAt(n - 1), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt(n >> 1), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt((n * 3) >> 2), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt(n >> 2), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt(n - 1 - (n >> 3)), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt(n - 1 - (n >> 4)), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt((n * 5) >> 3), 0x85ebca6b);
  h = Math.imul(h ^ s.charCodeAt((n * 7) >> 3), 0x85ebca6b);
  h ^= h >>> 15;
  return h & (MEMO_SLOTS - 1);
}

/** The hash32 of long values that recur (LineView.hashOf). */
const HASHES = new SlotMemo();

/** Anything that tests a line (a rule's compiled signatures, signatures.ts). */
export interface LineTest {
  test(v: LineView): boolean;
  /** What test() cannot pass without (CompiledFilter.needs), or null. */
  needs(status?: number): Need[] | null;
}

/** A compiled `StringMatch`. */
export class StringMatcher {
  private readonly mode: 0 | 1 | 2; // equals, prefix, pattern
  private readonly values: string[];
  private readonly re: RegExp | null;
  private readonly fold: boolean;
  readonly decode: boolean;
  /** Where its answers come from when registered (patterns only): its group and its bit there. */
  group: MatchGroup | null = null;
  bit = 0;

  /** `field`: the field it tests ('path': the line's path, whose decoded form the view keeps). */
  constructor(
    m: StringMatch,
    readonly field = '',
  ) {
    this.fold = m.ignore_case;
    this.decode = m.decode;
    if (m.equals !== undefined) {
      this.mode = 0;
      this.values = m.equals.map((v) => (this.fold ? v.toLowerCase() : v));
      this.re = null;
    } else if (m.prefix !== undefined) {
      this.mode = 1;
      this.values = m.prefix.map((v) => (this.fold ? v.toLowerCase() : v));
      this.re = null;
    } else {
      this.mode = 2;
      this.values = [];
      this.re = new RegExp(m.pattern ?? '', this.fold ? 'i' : '');
    }
  }

  /** A pattern (worth running once per value for every rule, see MatchGroup); equals and prefix are cheaper tested in place. */
  get isPattern(): boolean {
    return this.mode === 2;
  }

  test(s: string): boolean {
    if (this.mode === 2) return (this.re as RegExp).test(s);
    const v = this.fold ? s.toLowerCase() : s;
    const vals = this.values;
    if (this.mode === 0) {
      for (let i = 0; i < vals.length; i++) if (vals[i] === v) return true;
      return false;
    }
    for (let i = 0; i < vals.length; i++) if (v.startsWith(vals[i] as string)) return true;
    return false;
  }

  /** Tests the decoded form `d` of `s` (after `s` itself did not match): false when decoding changed nothing. */
  testDecoded(s: string, d: string | undefined): boolean {
    return d !== undefined && d !== s && this.test(d);
  }

  /** The whole test of a value of its field on the line `v` shows: the value itself, then (with `decode`) its decoded form. */
  matches(s: string, v: LineView): boolean {
    const g = this.group;
    if (g !== null) return (g.answer(s, v) & this.bit) !== 0;
    return this.testBoth(s, v);
  }

  /** `matches` without a group. */
  testBoth(s: string, v: LineView): boolean {
    if (this.test(s)) return true;
    return this.decode && this.testDecoded(s, this.field === 'path' && s === v.path() ? v.decodedPath() : decodeLoose(s));
  }
}

/**
 * The pattern matchers of one field: run together, once per value, the
 * answer kept as bits (bit i: matcher i matched). Contract: `answer(s, v)`
 * has bit i set exactly when matchers[i].testBoth(s, v) is true; it is kept
 * for the current line (by the view's serial and the value) and remembered
 * per value (testBoth depends on the value alone: patterns without the g or
 * y flag keep no state, and a decoded form is a function of the value).
 */
export class MatchGroup {
  readonly matchers: StringMatcher[] = [];
  private readonly memo = new SlotMemo();
  private serial = -1;
  private input = '';
  private bits = 0;

  answer(s: string, v: LineView): number {
    if (this.serial === v.serial && this.input === s) return this.bits;
    const ms = this.matchers;
    // One pattern alone is cheaper run than looked up (a lookup compares the whole value, and a miss copies it).
    const keep = ms.length > 1;
    let b = keep ? this.memo.get(s) : -1;
    if (b < 0) {
      b = 0;
      for (let i = 0; i < ms.length; i++) if ((ms[i] as StringMatcher).testBoth(s, v)) b |= 1 << i;
      if (keep) this.memo.set(s, b);
    }
    this.serial = v.serial;
    this.input = s;
    this.bits = b;
    return b;
  }
}

/**
 * Fields whose every matcher is grouped, `equals` and `prefix` too (others
 * group only patterns): the termination state has a handful of values, so
 * its group always answers from memory, and a rule that waits for HAProxy's
 * own refusals (`PR`, `cR`, ...) then needs that answer (CompiledFilter.needs)
 * instead of being visited on every line.
 */
const ALWAYS_GROUPED: ReadonlySet<string> = new Set(['termination_state']);

/** Puts the pattern matchers of the filters compiled with it into groups by field (see MatchGroup). */
export class MatcherRegistry {
  private readonly open = new Map<string, MatchGroup>();
  readonly groups: MatchGroup[] = [];

  add(m: StringMatcher): void {
    if (!m.isPattern && !ALWAYS_GROUPED.has(m.field)) return;
    let g = this.open.get(m.field);
    if (g === undefined || g.matchers.length >= GROUP_MAX) {
      g = new MatchGroup();
      this.open.set(m.field, g);
      this.groups.push(g);
    }
    m.group = g;
    m.bit = 1 << g.matchers.length;
    g.matchers.push(m);
  }
}

function statusTable(items: (number | string)[]): Uint8Array {
  const t = new Uint8Array(1000);
  for (const it of items) {
    if (typeof it === 'number') t[it] = 1;
    else if (/^\dxx$/.test(it)) {
      const base = Number(it[0]) * 100;
      t.fill(1, base, base + 100);
    } else {
      const [lo, hi] = it.split('-').map(Number) as [number, number];
      t.fill(1, lo, hi + 1);
    }
  }
  return t;
}

/** A matcher for `field`, registered with `reg` when there is one. */
function sm(m: StringMatch | undefined, field: string, reg: MatcherRegistry | undefined): StringMatcher | null {
  if (m === undefined) return null;
  const x = new StringMatcher(m, field);
  reg?.add(x);
  return x;
}

/**
 * A grouped pattern a filter cannot pass without: matcher `bit` of `group`
 * on the line's `field` (read as the filter reads it, fieldReader). The
 * engine asks each group once per line and runs only the rules whose need
 * came true (or that have none), in rule order.
 */
export interface Need {
  /** Whose answer: a MatchGroup, or the engine's TargetVerdicts (signatures.ts). */
  readonly group: object;
  readonly bit: number;
  /** The field the group is asked about ('' for TargetVerdicts, which reads the target itself). */
  readonly field: string;
  /** The group's answer for the line (bits), or 0 when the line has no such field. */
  readonly ask: (v: LineView) => number;
}

/** The Need of matcher `m` (grouped). */
function needOf(m: StringMatcher): Need {
  const g = m.group as MatchGroup;
  const read = fieldReader(m.field);
  return {
    group: g,
    bit: m.bit,
    field: m.field,
    ask: (v) => {
      const s = read(v);
      return s === undefined ? 0 : g.answer(s, v);
    },
  };
}

/** How a filter reads the value of a grouped field (the same reads as CompiledFilter.test). */
export function fieldReader(field: string): (v: LineView) => string | undefined {
  switch (field) {
    case 'path':
      return (v) => v.path();
    case 'query':
      return (v) => v.query();
    case 'path_normalized':
      return (v) => v.normalizedPath();
    case 'user_agent':
      return (v) => v.userAgent;
    case 'host':
      return (v) => v.host;
    case 'termination_state':
      return (v) => v.termination;
    case 'referer':
      return (v) => v.referer;
    case 'fields.uri':
      return (v) => v.uri;
    case 'fields.http_version':
      return (v) => v.httpVersion;
    case 'fields.request':
      return (v) => v.request;
    default: {
      const name = field.startsWith('fields.') ? field.slice('fields.'.length) : field;
      return (v) => v.str(name);
    }
  }
}

/** A compiled filter: the AND of its parts. */
export class CompiledFilter {
  readonly kinds: number;
  private readonly source: StringMatcher | null;
  private readonly status: Uint8Array | null;
  private readonly methods: string[] | null;
  private readonly events: string[] | null;
  private readonly levels: string[] | null;
  private readonly termination: StringMatcher | null;
  private readonly backend: StringMatcher | null;
  private readonly server: StringMatcher | null;
  private readonly host: StringMatcher | null;
  private readonly extra: { name: string; m: StringMatcher }[] | null;
  private readonly pathM: StringMatcher | null;
  private readonly pathNormM: StringMatcher | null;
  private readonly queryM: StringMatcher | null;
  private readonly qNamesM: StringMatcher | null;
  private readonly qValuesM: StringMatcher | null;
  private readonly sigs: LineTest | null;
  private readonly ua: StringMatcher | null;
  private readonly referer: StringMatcher | null;
  private readonly message: StringMatcher | null;
  private readonly any: CompiledFilter[] | null;
  private readonly not: CompiledFilter | null;

  /**
   * `reg`: where its pattern matchers are grouped with those of other filters
   * on the same field (the engine's one registry). `sigs`: a rule's signature
   * entries, compiled (signatures.ts); the filter then also needs one of them.
   */
  constructor(f: FilterSpec, reg?: MatcherRegistry, sigs: LineTest | null = null) {
    const kinds = f.kind === undefined ? null : Array.isArray(f.kind) ? f.kind : [f.kind];
    this.kinds = kinds === null ? ALL_KINDS : kinds.reduce((m, k) => m | KIND_BIT[k], 0);
    // Sources are few and tested as they are (never decoded): not grouped.
    this.source = sm(f.source, 'source', undefined);
    this.status = f.status ? statusTable(f.status) : null;
    this.methods = f.method ? f.method.map((m) => m.toUpperCase()) : null;
    this.events = f.event ?? null;
    this.levels = f.level ? f.level.map((l) => l.toLowerCase()) : null;
    this.termination = sm(f.termination_state, 'termination_state', reg);
    this.backend = sm(f.backend, 'backend', reg);
    this.server = sm(f.server, 'server', reg);
    this.host = sm(f.host, 'host', reg);
    this.extra = f.fields ? Object.entries(f.fields).map(([name, m]) => ({ name, m: sm(m, `fields.${name}`, reg) as StringMatcher })) : null;
    this.pathM = sm(f.path, 'path', reg);
    this.queryM = sm(f.query, 'query', reg);
    this.pathNormM = sm(f.path_normalized, 'path_normalized', reg);
    this.qNamesM = sm(f.query_names, 'query_names', reg);
    this.qValuesM = sm(f.query_values, 'query_values', reg);
    this.sigs = sigs;
    this.ua = sm(f.user_agent, 'user_agent', reg);
    this.referer = sm(f.referer, 'referer', reg);
    this.message = sm(f.message, 'message', reg);
    this.any = f.any ? f.any.map((s) => new CompiledFilter(s, reg)) : null;
    this.not = f.not ? new CompiledFilter(f.not, reg) : null;
  }

  /**
   * What the filter cannot pass without, as grouped patterns (Need): one of
   * its own parts, or for an `any` every alternative's need (any one of them
   * true); null when there is no such need (then the filter runs on every
   * line of its kinds and statuses). Necessary, never sufficient: a line
   * that meets it still goes through test(). With `status` (-1: none), for
   * lines of that status only: an `any` alternative whose own status list
   * excludes it cannot pass and is left out (`any: [{status: [429]},
   * {termination_state: ...}]` needs the termination state on a 200), and
   * with every alternative left out the answer is no need that can come true.
   */
  needs(status?: number): Need[] | null {
    const own = [this.pathM, this.queryM, this.pathNormM, this.ua, this.host, this.termination, this.backend, this.server, this.referer, this.message];
    if (this.extra !== null) for (const x of this.extra) own.push(x.m);
    for (const m of own) if (m !== null && m.group !== null) return [needOf(m)];
    const sig = this.sigs === null ? null : this.sigs.needs();
    if (sig !== null) return sig;
    if (this.any === null) return null;
    const out: Need[] = [];
    for (const a of this.any) {
      if (status !== undefined && !a.admitsStatus(status)) continue;
      const n = a.needs(status);
      if (n === null) return null;
      out.push(...n);
    }
    return out;
  }

  /** True when needs(status) can differ from needs(): an `any` alternative has a status list of its own. */
  needsDependOnStatus(): boolean {
    return this.any !== null && this.any.some((a) => a.status !== null || a.needsDependOnStatus());
  }

  /** False when no line with this status (-1: none) can pass the filter: the engine leaves the rule out for such lines (engine.ts byStatus). */
  admitsStatus(status: number): boolean {
    return this.status === null || (status >= 0 && status <= 999 && this.status[status] === 1);
  }

  test(v: LineView): boolean {
    if ((this.kinds & v.kindBit) === 0) return false;
    if (this.status !== null && (v.status < 0 || v.status > 999 || this.status[v.status] !== 1)) return false;
    if (this.methods !== null) {
      const m = v.method;
      if (m === undefined || !includes(this.methods, m)) return false;
    }
    if (this.events !== null) {
      const e = v.fields.event;
      if (typeof e !== 'string' || !includes(this.events, e)) return false;
    }
    if (this.levels !== null) {
      const l = v.fields.level;
      if (typeof l !== 'string' || !includes(this.levels, l.toLowerCase())) return false;
    }
    if (this.source !== null && !this.source.test(v.source)) return false;
    if (this.termination !== null && !testString(this.termination, v.termination, v)) return false;
    if (this.backend !== null && !testField(this.backend, v, 'backend')) return false;
    if (this.server !== null && !testField(this.server, v, 'server')) return false;
    if (this.host !== null && !testString(this.host, v.host, v)) return false;
    if (this.extra !== null) {
      for (let i = 0; i < this.extra.length; i++) {
        const x = this.extra[i] as { name: string; m: StringMatcher };
        if (!testField(x.m, v, x.name)) return false;
      }
    }
    if (this.pathM !== null) {
      const p = v.path();
      if (p === undefined) return false;
      if (!this.pathM.matches(p, v)) return false;
    }
    if (this.queryM !== null) {
      const q = v.query();
      if (q === undefined) return false;
      if (!this.queryM.matches(q, v)) return false;
    }
    if (this.pathNormM !== null && !testString(this.pathNormM, v.normalizedPath(), v)) return false;
    if (this.qNamesM !== null && !testAny(this.qNamesM, v.queryParams()?.names, v)) return false;
    if (this.qValuesM !== null && !testAny(this.qValuesM, v.queryParams()?.values, v)) return false;
    if (this.ua !== null && !testString(this.ua, v.userAgent, v)) return false;
    if (this.referer !== null && !testString(this.referer, v.referer, v)) return false;
    if (this.message !== null && !testField(this.message, v, 'message')) return false;
    if (this.any !== null) {
      let hit = false;
      for (let i = 0; i < this.any.length && !hit; i++) hit = (this.any[i] as CompiledFilter).test(v);
      if (!hit) return false;
    }
    if (this.not !== null && this.not.test(v)) return false;
    // Signatures last: the cheap keys above have already turned most lines away.
    if (this.sigs !== null && !this.sigs.test(v)) return false;
    return true;
  }
}

function includes(list: string[], s: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === s) return true;
  return false;
}

function testField(m: StringMatcher, v: LineView, name: string): boolean {
  return testString(m, v.str(name), v);
}

/** Any of the values (query parameters) matches. */
function testAny(m: StringMatcher, list: string[] | undefined, v: LineView): boolean {
  if (list === undefined) return false;
  for (let i = 0; i < list.length; i++) if (m.matches(list[i] as string, v)) return true;
  return false;
}

function testString(m: StringMatcher, s: string | undefined, v: LineView): boolean {
  return s !== undefined && m.matches(s, v);
}
