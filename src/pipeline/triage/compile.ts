/**
 * A rule spec compiled once into what the engine runs per line: its filter,
 * its key function, its condition and the finding template.
 */
import type { Severity, SubjectType, SuggestedAction } from '../types.js';
import { CompiledFilter, type LineView, type MatcherRegistry } from './match.js';
import { DISTINCT_FIELDS, SEEN_ONCE_HOLD, type DistinctField, type GroupKey, type PerKey, type RuleSpec } from './schema.js';
import { durationMs } from '../../util/duration.js';
import { SignatureSet, type TargetVerdicts } from './signatures.js';
import { BucketedCountWindow, CountWindow, DistinctWindow, EXACT_MAX, KeyTable, LeakyBucket, ROW, SeenOnceWindow, SMALL_SET, StateCursor, type Condition } from './windows.js';

/** Keys longer than this are cut, so one huge path cannot make a huge key. */
export const MAX_KEY_LENGTH = 512;

/** Per-rule counters, as `stats()` reports them. */
export interface RuleCounters {
  matched: number;
  findings: number;
  /** Findings held back by once_per. */
  suppressed: number;
  /** Findings whose subject was protected (block suggestion removed, or the finding dropped). */
  protected: number;
  /** Matching lines without the group-by field (no subject). */
  no_key: number;
  /** Matching lines left alone by an `except` filter or an allow entry. */
  allowed: number;
}

/** Lines of context a rule that keeps some holds per subject. */
export const CONTEXT_LINES = 4;

export interface CompiledRule {
  readonly name: string;
  readonly spec: RuleSpec;
  readonly filter: CompiledFilter;
  /** The rule's `except` filters (its own and the operator's allow entries): a line matching one is not counted. */
  readonly except: CompiledFilter[] | null;
  /** The compiled signatures, when the rule has some. */
  readonly signatures: SignatureSet | null;
  readonly subjectType: SubjectType;
  /** The state key: the subject, then (with `per`) PER_SEP and the per values. */
  readonly key: (v: LineView) => string | undefined;
  /** True when keys carry `per` values after PER_SEP (the finding's subject is the part before it). */
  readonly per: boolean;
  /** Grouped by the client address alone: the engine finds its state through the line's one client record (engine.ts). */
  readonly byClient: boolean;
  /** Its slot in the engine's client records (set by the engine for byClient rules; -1 otherwise). */
  slot: number;
  /** The client address is part of its key (with or without other keys): all its state for one line lives with that client's (a sharded replay keeps it in the client's shard). */
  readonly byAddress: boolean;
  /** Its place among the engine's rules (set by the engine; -1 otherwise): how a sharded replay names it across threads. */
  index: number;
  readonly value: ((v: LineView) => number | undefined) | null;
  readonly cond: Condition;
  readonly oncePerMs: number;
  readonly table: KeyTable;
  /** The engine's view of one subject's state in `table`, set per line (windows.ts StateCursor). */
  readonly cursor: StateCursor;
  readonly blockTtlS: number[];
  readonly notify: boolean;
  readonly severity: Severity;
  readonly category: string;
  readonly escalate: boolean;
  /**
   * Lines kept per subject as context for a report: rules that ask for
   * analysis and are not grouped by client address (few subjects: a
   * backend, a server, a source), so the model reads more than the one line
   * that crossed the threshold. 0: none.
   */
  readonly context: number;
  readonly counters: RuleCounters;
}

/** What an application source stands for: the application, i.e. a backend of HAProxy. */
const SUBJECT_TYPE: Record<GroupKey, SubjectType> = {
  ip: 'ip',
  backend: 'backend',
  server: 'server',
  host: 'host',
  path: 'path',
  source: 'backend',
};

function str(v: LineView, name: string): string | undefined {
  const s = v.fields[name];
  return typeof s === 'string' && s.length > 0 ? s : undefined;
}

function keyPart(k: GroupKey): (v: LineView) => string | undefined {
  switch (k) {
    case 'ip':
      return (v) => v.ip();
    case 'backend':
      return (v) => str(v, 'backend');
    case 'server': {
      return (v) => {
        const b = str(v, 'backend');
        const s = str(v, 'server');
        return b === undefined || s === undefined ? undefined : `${b}/${s}`;
      };
    }
    case 'host':
      return (v) => {
        const h = v.host;
        return h === undefined || h.length === 0 ? undefined : h.toLowerCase();
      };
    case 'path':
      return (v) => v.pathOnly();
    case 'source':
      return (v) => (v.source.length > 0 ? v.source : undefined);
  }
}

/** Separates the subject from the `per` values in a state key (a control character: no subject holds one). */
export const PER_SEP = '\u001f';

/** The subject part of a state key. */
export function subjectOfKey(key: string): string {
  const i = key.indexOf(PER_SEP);
  return i === -1 ? key : key.slice(0, i);
}

/**
 * A `per` value as it goes into a state key. Paths and User-Agents (long,
 * and read by other rules too) go in as their hash32 in base 36 (LineView.hashOf,
 * computed once per line): a short key is cheaper to hash, compare and keep,
 * and two values of one client colliding on 32 bits would only share a window.
 */
function perPart(k: PerKey): (v: LineView) => string | undefined {
  switch (k) {
    case 'path': {
      const slot = DISTINCT_FIELDS.indexOf('path');
      return (v) => {
        const h = v.hashOf(slot, v.pathOnly(), false);
        return h === undefined ? undefined : h.toString(36);
      };
    }
    case 'user_agent': {
      const slot = DISTINCT_FIELDS.indexOf('user_agent');
      return (v) => {
        const h = v.hashOf(slot, v.userAgent, true);
        return h === undefined ? undefined : h.toString(36);
      };
    }
    case 'host':
      return (v) => (v.host === undefined || v.host.length === 0 ? undefined : v.host.toLowerCase());
    case 'backend':
      return (v) => str(v, 'backend');
    case 'method':
      return (v) => v.method;
  }
}

/**
 * With `per`: the subject key, then each per value (an absent one as empty),
 * so each combination has its own window while findings name the subject.
 */
function perKeyFunction(subject: (v: LineView) => string | undefined, per: PerKey[]): (v: LineView) => string | undefined {
  const parts = per.map(perPart);
  return (v) => {
    const s = subject(v);
    if (s === undefined) return undefined;
    let out = s;
    for (let i = 0; i < parts.length; i++) out += PER_SEP + ((parts[i] as (v: LineView) => string | undefined)(v) ?? '');
    // Each part is cut like a key, so one huge value cannot make a huge key.
    return out.length > MAX_KEY_LENGTH * (parts.length + 1) ? out.slice(0, MAX_KEY_LENGTH * (parts.length + 1)) : out;
  };
}

function clip(s: string | undefined): string | undefined {
  return s !== undefined && s.length > MAX_KEY_LENGTH ? s.slice(0, MAX_KEY_LENGTH) : s;
}

function keyFunction(group: GroupKey[]): (v: LineView) => string | undefined {
  const parts = group.map(keyPart);
  if (parts.length === 1) {
    const p = parts[0] as (v: LineView) => string | undefined;
    return (v) => clip(p(v));
  }
  // A part the line lacks is left out (a log without captured Host headers
  // still groups [host, path] by path); a line lacking all of them has no key.
  return (v) => {
    let out: string | undefined;
    for (let i = 0; i < parts.length; i++) {
      const s = (parts[i] as (v: LineView) => string | undefined)(v);
      if (s === undefined) continue;
      // host + path reads as a URL ("example.com/login"); other parts are space-separated.
      out = out === undefined ? s : s.startsWith('/') ? out + s : `${out} ${s}`;
    }
    return clip(out);
  };
}

/**
 * What a distinct condition counts: the value's hash (LineView.hashOf, once
 * per line whichever rules ask), or the status itself.
 */
function valueFunction(f: DistinctField): (v: LineView) => number | undefined {
  const slot = DISTINCT_FIELDS.indexOf(f);
  switch (f) {
    case 'path':
      return (v) => v.hashOf(slot, v.pathOnly(), false);
    case 'query':
      return (v) => v.hashOf(slot, v.query(), false);
    case 'ip':
      return (v) => v.hashOf(slot, v.ip(), false);
    case 'user_agent':
      return (v) => v.hashOf(slot, str(v, 'user_agent'), true);
    case 'status':
      return (v) => (v.status >= 0 ? v.status : undefined);
    case 'host':
      return (v) => {
        const h = str(v, 'host');
        return h === undefined ? undefined : v.hashOf(slot, h.toLowerCase(), true);
      };
    default:
      return (v) => v.hashOf(slot, str(v, f), false);
  }
}

function condition(spec: RuleSpec): Condition {
  const c = spec.condition;
  switch (c.type) {
    case 'count':
      return c.threshold <= EXACT_MAX ? new CountWindow(c.threshold, durationMs(c.window)) : new BucketedCountWindow(c.threshold, durationMs(c.window));
    case 'leaky_bucket':
      return new LeakyBucket(c.capacity, durationMs(c.leak_every));
    case 'distinct':
      return c.seen_once !== undefined ? new SeenOnceWindow(c.threshold, durationMs(c.window), durationMs(c.seen_once), SEEN_ONCE_HOLD * c.threshold) : new DistinctWindow(c.threshold, durationMs(c.window));
  }
}

/**
 * The most numbers (times, counters, hashes) one rule may hold across its
 * subjects in the worst case: a rule whose subjects can each hold many
 * (a distinct set of 10,000) gets proportionally fewer subjects, so no rule
 * can take more than a few tens of MB whatever the input.
 */
export const VALUE_BUDGET = 4_000_000;
const MIN_KEYS = 1000;

/** Numbers one subject can hold at most under this condition. */
function valuesPerSubject(spec: RuleSpec): number {
  const c = spec.condition;
  switch (c.type) {
    case 'count':
      return c.threshold <= EXACT_MAX ? c.threshold : 16;
    case 'leaky_bucket':
      return 2;
    case 'distinct':
      if (c.seen_once !== undefined) return 3 * SEEN_ONCE_HOLD * c.threshold; // triples in an array
      return c.threshold <= SMALL_SET ? 2 * c.threshold : 6 * c.threshold; // pairs in an array, or Map entries
  }
}

/** The subjects a rule tracks: its own max_keys when set, else the engine's cap within the value budget. */
export function keyCap(spec: RuleSpec, maxKeys: number): number {
  if (spec.max_keys !== undefined) return spec.max_keys;
  return Math.min(maxKeys, Math.max(MIN_KEYS, Math.floor(VALUE_BUDGET / valuesPerSubject(spec))));
}

/**
 * `reg`: the engine's registry, which groups the patterns of all its rules by
 * field (match.ts MatchGroup); `targets`: the engine's memo for signature
 * groups on the request target (signatures.ts TargetVerdicts).
 */
export function compileRule(spec: RuleSpec, maxKeys: number, reg?: MatcherRegistry, targets?: TargetVerdicts): CompiledRule {
  const group = Array.isArray(spec.group_by) ? spec.group_by : [spec.group_by];
  const last = group[group.length - 1] as GroupKey;
  const cond = condition(spec);
  const signatures = spec.signatures ? new SignatureSet(spec.signatures, targets ?? null) : null;
  const table = new KeyTable(keyCap(spec, maxKeys), (s) => cond.reset(s), cond.inline === true ? ROW + 3 : ROW);
  return {
    name: spec.name,
    spec,
    filter: new CompiledFilter(spec.filter, reg, signatures),
    // Except filters are tested only on lines the rule matched: not grouped.
    except: spec.except ? spec.except.map((f) => new CompiledFilter(f)) : null,
    signatures,
    subjectType: SUBJECT_TYPE[last],
    key: spec.per === undefined ? keyFunction(group) : perKeyFunction(keyFunction(group), spec.per),
    per: spec.per !== undefined,
    byClient: spec.per === undefined && group.length === 1 && group[0] === 'ip',
    slot: -1,
    byAddress: group.includes('ip'),
    index: -1,
    value: spec.condition.type === 'distinct' ? valueFunction(spec.condition.field) : null,
    cond,
    oncePerMs: spec.once_per === undefined ? 0 : durationMs(spec.once_per),
    table,
    cursor: new StateCursor(table),
    blockTtlS: spec.actions.flatMap((a) => (a.type === 'block_ip' ? [Math.round(durationMs(a.ttl) / 1000)] : [])),
    notify: spec.actions.some((a) => a.type === 'notify'),
    severity: spec.severity,
    category: spec.category,
    escalate: spec.escalate,
    context: spec.escalate && SUBJECT_TYPE[last] !== 'ip' ? CONTEXT_LINES : 0,
    counters: { matched: 0, findings: 0, suppressed: 0, protected: 0, no_key: 0, allowed: 0 },
  };
}

/** True when one of the rule's `except` filters (or allow entries) matches the line. */
export function excepted(rule: CompiledRule, v: LineView): boolean {
  const ex = rule.except;
  if (ex === null) return false;
  for (let i = 0; i < ex.length; i++) if ((ex[i] as CompiledFilter).test(v)) return true;
  return false;
}

/** The suggested actions of a finding, in the rule's order; block_ip left out when `allowBlock` is false. */
export function actionsFor(rule: CompiledRule, subject: string, allowBlock: boolean): SuggestedAction[] {
  const out: SuggestedAction[] = [];
  let b = 0;
  for (const a of rule.spec.actions) {
    if (a.type === 'block_ip') {
      const ttl = rule.blockTtlS[b++] as number;
      if (allowBlock) out.push({ type: 'block_ip', target: subject, ttl_s: ttl });
    } else out.push({ type: 'notify' });
  }
  return out;
}
