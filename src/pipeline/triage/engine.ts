/**
 * The triage engine: parsed lines in, findings out. Synchronous and
 * allocation-light (one reused LineView; allocation only for a new subject,
 * a finding, or a decoded path that held escapes).
 *
 * Time is event time: `line.time`, or for a line without one the last time
 * seen on the same source (before that source had a timed line: the latest
 * time of any source; before any line had a time: the `now` option).
 * Replaying a log therefore gives the same findings as reading it live.
 *
 * Protected subjects (trusted, local, trusted-proxy and loopback addresses,
 * as `isProtected` says) are never the target of a block suggestion. By
 * default (`protectedMode: 'strip'`) such a finding is kept without its
 * block_ip actions, so an operator still hears that a trusted address is
 * scanning or brute-forcing (a pen test, a compromised host); with 'drop' it
 * is dropped. Either way the rule's `protected` counter goes up.
 */
import { createHash } from 'node:crypto';
import { durationMs } from '../../util/duration.js';
import type { Finding, LineKind, ParsedLine, SubjectType } from '../types.js';
import { actionsFor, compileRule, excepted, subjectOfKey, type CompiledRule, type RuleCounters } from './compile.js';
import { KIND_BIT, LineView, MatcherRegistry } from './match.js';
import { TargetVerdicts } from './signatures.js';
import { ClientCache } from './client-cache.js';
import type { State } from './windows.js';
import type { RuleSpec } from './schema.js';
import { LINE_KINDS } from './schema.js';

export interface TriageOptions {
  /** True for addresses that must never be the subject of a block (trusted, local, trusted proxies). Loopback is always protected. */
  isProtected?: (ip: string) => boolean;
  /** What happens to a finding about a protected address: 'strip' its block suggestions (default) or 'drop' it. */
  protectedMode?: 'strip' | 'drop';
  /**
   * Subjects tracked per rule. Default 100,000; fewer for rules whose
   * subjects can each hold many values (see VALUE_BUDGET in compile.ts); a
   * rule's own max_keys wins.
   */
  maxKeysPerRule?: number;
  /** Time for untimed lines before any line had a time. Default Date.now. */
  now?: () => number;
  /**
   * A shard of a sharded replay (cli/replay-shard.ts): the rules whose key
   * holds the client address run whole here, since every line of one client
   * comes to one shard; every other rule stops once a line has matched its
   * filter and given a key, and hands what its window needs to `forward`,
   * called in rule order during process(). The thread that sees every line
   * runs those windows with resume().
   */
  forward?: (rule: number, key: string, value: number | undefined, t: number, raw: string | undefined) => void;
  /** false: run every rule's filter on every line of its kinds and statuses, without asking the pattern groups first (the tests hold the plan to that). Default true. */
  plan?: boolean;
}

export interface RuleStats extends RuleCounters {
  name: string;
  /** Subjects currently tracked. */
  keys: number;
  /** The most subjects the rule tracks. */
  cap: number;
  /** Subjects evicted to stay under the cap. */
  evicted: number;
}

export interface TriageStats {
  lines: number;
  /** Lines that did not parse (ok: false): never matched. */
  unparsed: number;
  /** Lines without a time of their own (given their source's last time). */
  untimed: number;
  findings: number;
  rules: RuleStats[];
}

export interface Triage {
  /**
   * Runs every enabled rule on one line and returns the findings it caused
   * (usually none). `raw` is the line's text, used as the finding's sample;
   * without it a short rendering of the fields is used.
   */
  process(line: ParsedLine, source: string, raw?: string): Finding[];
  /**
   * The window part of process() for one rule (by its index in `rules`), on
   * what a shard's `forward` handed over: the finding it causes, if any.
   */
  resume(rule: number, key: string, value: number | undefined, t: number, raw: string | undefined): Finding | null;
  /** The names of the rules whose filter matches this line (no state is touched): for `monitor explain`. */
  explain(line: ParsedLine, source: string): string[];
  stats(): TriageStats;
  /**
   * The rules' windows and once_per holds worth keeping across a restart or
   * a reload: subjects seen within their rule's span (window, leak time or
   * once_per) of the latest event time. Context lines are left out (raw log
   * text); `keep` decides which subjects may be written down (the monitor
   * leaves out what its redactor would change).
   */
  snapshot(keep: (key: string, type: SubjectType) => boolean): TriageSnapshot;
  /** Takes a snapshot back: rules whose definition is unchanged get their subjects' state; returns how many. */
  restore(snap: TriageSnapshot): number;
  /** The enabled rules, in load order. */
  readonly rules: readonly string[];
}

/** One subject's state as saved: key, last, quietUntil, n, head, times, distinct map entries (null for -Infinity and empty). */
export type SavedSubject = [string, number | null, number | null, number, number, number[] | null, [number, number][] | null];
export interface TriageSnapshot {
  version: 1;
  /** The latest event time when it was taken. */
  at: number;
  /** By rule name: a fingerprint of the rule's definition and its subjects. */
  rules: Record<string, { fp: string; subjects: SavedSubject[] }>;
}

/** How long a subject's state can still matter after its last match: the window (or the time a full bucket leaks), or once_per if longer. */
function spanOf(spec: RuleSpec, oncePerMs: number): number {
  const c = spec.condition;
  const w = c.type === 'leaky_bucket' ? durationMs(c.leak_every) * c.capacity : durationMs(c.window);
  return Math.max(w, oncePerMs);
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A saved subject of the right shape (the file is the daemon's own; a damaged one must not poison a window). */
function validSaved(x: unknown): x is SavedSubject {
  if (!Array.isArray(x) || x.length !== 7) return false;
  const [key, last, quiet, n, head, times, map] = x as unknown[];
  return (
    typeof key === 'string' && (last === null || num(last)) && (quiet === null || num(quiet)) && num(n) && num(head) &&
    (times === null || (Array.isArray(times) && times.every(num))) &&
    (map === null || (Array.isArray(map) && map.every((e) => Array.isArray(e) && e.length === 2 && num(e[0]) && num(e[1]))))
  );
}

const DEFAULT_MAX_KEYS = 100_000;

/** The answer for most lines: one shared empty list, frozen so that no caller can add to it. */
const NONE: Finding[] = Object.freeze([]) as unknown as Finding[];
const MAX_SOURCES = 10_000;
/** The status slot of lines without a status (or one above 999) in byKind's lists. */
const NO_STATUS = 1000;

/**
 * An exact copy of a line kept beyond this call (a sample, a context line):
 * a reader may hand over lines sliced from a large chunk of text, which a
 * kept slice would hold in memory whole. V8 flattens the joined string into
 * one of its own; the slice points into that.
 */
function copyOf(s: string): string {
  return (' ' + s).slice(1);
}

/** A finding's sample or context line: the raw text when there is one (copied), else a rendering of the fields. */
function sampleOf(line: ParsedLine | null, raw: string | undefined): string {
  return raw !== undefined ? copyOf(raw) : line !== null ? renderSample(line) : '';
}

/** Loopback and unspecified addresses: never blocked, whatever the caller's list says. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === '0.0.0.0' || ip === '::' || ip.startsWith('::ffff:127.');
}

/** A compact rendering of a line's main fields, for findings without the raw text. */
export function renderSample(line: ParsedLine): string {
  const f = line.fields;
  const parts: string[] = [line.kind];
  for (const k of ['real_ip', 'client_ip', 'method', 'path', 'status', 'termination_state', 'backend', 'server', 'event', 'level', 'ssl_error', 'message']) {
    const v = f[k];
    if (typeof v === 'string' || typeof v === 'number') parts.push(`${k}=${typeof v === 'string' && v.length > 200 ? v.slice(0, 200) : v}`);
  }
  return parts.join(' ');
}

/** Rules per word of a plan's masks (bits 0-29: clear of the sign bit). */
const WORD = 30;

/**
 * Which rules of one list a line can reach: `always` (bit i: rule i of the
 * list, two words of WORD rules) has no need (CompiledFilter.needs), and for
 * each group and field some rules need, the rules each of its matchers lets
 * through. Null for a list longer than two words (every rule is visited).
 */
export interface Plan {
  always0: number;
  always1: number;
  probes: Probe[];
}
interface Probe {
  ask: (v: LineView) => number;
  /** The matchers some rule needs. */
  bits: number;
  /** Per matcher bit index: the rules it lets through (both words). */
  rules0: Int32Array;
  rules1: Int32Array;
}

/** The rules of one line kind and status, and their plan (null: visit every rule). */
interface RuleList {
  rules: CompiledRule[];
  plan: Plan | null;
}

/** `status`: the plan for lines of that status only (-1: none; CompiledFilter.needs); without it, for any status. */
export function planFor(list: CompiledRule[], status?: number): Plan | null {
  if (list.length > 2 * WORD) return null;
  const plan: Plan = { always0: 0, always1: 0, probes: [] };
  const byKey = new Map<string, Probe>();
  const groupIds = new Map<object, number>();
  list.forEach((r, i) => {
    const word = i < WORD ? 0 : 1;
    const bit = 1 << (i % WORD);
    const needs = r.filter.needs(status);
    if (needs === null) {
      if (word === 0) plan.always0 |= bit;
      else plan.always1 |= bit;
      return;
    }
    for (const n of needs) {
      let gid = groupIds.get(n.group);
      if (gid === undefined) groupIds.set(n.group, (gid = groupIds.size));
      const key = `${gid} ${n.field}`;
      let p = byKey.get(key);
      if (p === undefined) {
        p = { ask: n.ask, bits: 0, rules0: new Int32Array(32), rules1: new Int32Array(32) };
        byKey.set(key, p);
        plan.probes.push(p);
      }
      p.bits |= n.bit;
      const m = 31 - Math.clz32(n.bit);
      if (word === 0) (p.rules0[m] as number) |= bit;
      else (p.rules1[m] as number) |= bit;
    }
  });
  return plan;
}

/** Writes into `out` the indices of the rules of `list` the line in `v` can reach, in order; returns how many. */
export function toVisit(list: CompiledRule[], plan: Plan | null, v: LineView, out: Int32Array): number {
  if (plan === null) {
    for (let i = 0; i < list.length; i++) out[i] = i;
    return list.length;
  }
  let w0 = plan.always0;
  let w1 = plan.always1;
  const probes = plan.probes;
  for (let k = 0; k < probes.length; k++) {
    const p = probes[k] as Probe;
    let b = p.ask(v) & p.bits;
    while (b !== 0) {
      const m = 31 - Math.clz32(b & -b);
      w0 |= p.rules0[m] as number;
      w1 |= p.rules1[m] as number;
      b &= b - 1;
    }
  }
  let n = 0;
  while (w0 !== 0) {
    out[n++] = 31 - Math.clz32(w0 & -w0);
    w0 &= w0 - 1;
  }
  while (w1 !== 0) {
    out[n++] = WORD + 31 - Math.clz32(w1 & -w1);
    w1 &= w1 - 1;
  }
  return n;
}

export function createTriage(specs: readonly RuleSpec[], opts: TriageOptions = {}): Triage {
  const maxKeys = opts.maxKeysPerRule ?? DEFAULT_MAX_KEYS;
  const callerProtected = opts.isProtected;
  const isProtected = (ip: string) => isLoopback(ip) || (callerProtected !== undefined && callerProtected(ip));
  const drop = opts.protectedMode === 'drop';
  const now = opts.now ?? Date.now;

  const seen = new Set<string>();
  const rules: CompiledRule[] = [];
  // Every rule's patterns grouped by field: run once per line and value, whichever rules ask (match.ts).
  const registry = new MatcherRegistry();
  // Every rule's signature groups on the request target, answered once per distinct target (signatures.ts).
  const targets = new TargetVerdicts();
  for (const s of specs) {
    if (!s.enabled) continue;
    if (seen.has(s.name)) throw new Error(`rule ${s.name} is defined twice`);
    seen.add(s.name);
    rules.push(compileRule(s, maxKeys, registry, targets));
  }
  // Slots in a client record for the rules grouped by client address alone
  // that need no pattern (CompiledFilter.needs): those meet most lines of
  // their statuses. A rule that needs a pattern meets few lines and looks its
  // table up itself; a slot for it in every client's record would be memory
  // written for nothing (a record is a row of pointers per client, and fresh
  // memory is what costs: measured, growing the rows was 2.6% of a replay
  // with 30 slots a client).
  let clientSlots = 0;
  for (const r of rules) if (r.byClient && r.filter.needs() === null) r.slot = clientSlots++;
  rules.forEach((r, i) => (r.index = i));
  const forward = opts.forward ?? null;
  // Per client address, pointers to its states in the tables of the rules grouped by it alone (client-cache.ts).
  const clients = new ClientCache(clientSlots);
  // Rules by line kind, so a line only meets the rules that can match it.
  // Within a kind, by status (0-999; slot 1000 for a line without one): most
  // lines have a status that half the rules' filters exclude, and those are
  // then never called. Lists with the same rules are one entry, with their
  // plan (planFor: which rules a line can reach; most lines meet none of the
  // patterns, and the rules that need one are then not visited). A plan is
  // made for the status (planFor): rules that wait for a status or for
  // HAProxy's termination state (rate-limit-denials: 429, or PR/PT) need
  // the termination state's answer on every other status.
  const byKind = new Map<number, RuleList[]>();
  const shared = new Map<string, RuleList>();
  const groupIds = new Map<object, number>();
  const gid = (g: object) => groupIds.get(g) ?? (groupIds.set(g, groupIds.size), groupIds.size - 1);
  // What a plan depends on: each rule's needs for lines of this status (an `any` alternative that excludes the status drops out).
  const needsOf = (r: CompiledRule, status: number) => r.filter.needs(status)?.map((n) => `${gid(n.group)}:${n.field}:${n.bit}`).join(',') ?? '*';
  // Most rules' needs are the same for every status: worked out once for those.
  const everyStatus = new Map(rules.map((r) => [r, r.filter.needsDependOnStatus() ? null : needsOf(r, -1)]));
  const needsId = (list: CompiledRule[], status: number) => list.map((r) => everyStatus.get(r) ?? needsOf(r, status)).join(';');
  for (const k of LINE_KINDS) {
    const bit = KIND_BIT[k as LineKind];
    const ofKind = rules.filter((r) => (r.filter.kinds & bit) !== 0);
    const byStatus: RuleList[] = [];
    for (let st = 0; st <= NO_STATUS; st++) {
      const status = st === NO_STATUS ? -1 : st;
      const list = ofKind.filter((r) => r.filter.admitsStatus(status));
      const id = `${list.map((r) => r.name).join('\n')}\t${opts.plan === false ? '' : needsId(list, status)}`;
      let same = shared.get(id);
      if (same === undefined) shared.set(id, (same = { rules: list, plan: opts.plan === false ? null : planFor(list, status) }));
      byStatus.push(same);
    }
    byKind.set(bit, byStatus);
  }

  // The indices (in its list) of the rules a line visits, in order.
  const visit = new Int32Array(Math.max(1, rules.length));

  const view = new LineView();
  const sourceTimes = new Map<string, { t: number }>();
  let lastSource = '';
  let lastSlot: { t: number } | undefined;
  let lines = 0;
  let unparsed = 0;
  let untimed = 0;
  let findings = 0;
  let anyTime: number | null = null;

  function slotFor(source: string): { t: number } | undefined {
    if (source === lastSource && lastSlot !== undefined) return lastSlot;
    lastSource = source;
    lastSlot = sourceTimes.get(source);
    return lastSlot;
  }

  function eventTime(line: ParsedLine, source: string): number {
    const slot = slotFor(source);
    const lt = line.time;
    // A time that is not a finite number (NaN from a broken stamp) is treated as no time: it would poison every window it touched.
    if (lt !== null && Number.isFinite(lt)) {
      if (anyTime === null || lt > anyTime) anyTime = lt;
      if (slot === undefined) {
        // Sources are few (configured); a caller inventing names per line cannot grow this without bound.
        if (sourceTimes.size >= MAX_SOURCES) sourceTimes.clear();
        lastSlot = { t: lt };
        sourceTimes.set(source, lastSlot);
      } else slot.t = lt;
      return lt;
    }
    untimed++;
    if (slot !== undefined) return slot.t;
    // A source with no timed line yet: the latest time of any source, so a
    // replay stays independent of the wall clock once any line had a time.
    return anyTime !== null ? anyTime : now();
  }

  function process(line: ParsedLine, source: string, raw?: string): Finding[] {
    lines++;
    if (!line.ok) {
      unparsed++;
      return NONE;
    }
    const t = eventTime(line, source);
    const byStatus = byKind.get(KIND_BIT[line.kind] ?? 0);
    if (byStatus === undefined) return NONE;
    view.reset(line, source, t);
    const st = view.status;
    const entry = byStatus[st >= 0 && st < NO_STATUS ? st : NO_STATUS] as RuleList;
    const list = entry.rules;
    if (list.length === 0) return NONE;
    const nv = toVisit(list, entry.plan, view, visit);
    let out: Finding[] | null = null;
    // The line's client in `clients`: -1 none (yet).
    let cid = -1;
    // 0: the client not looked up yet; 1: looked up (cid, if any); 2: none, and none made for this line.
    let recState = 0;
    for (let k = 0; k < nv; k++) {
      const r = list[visit[k] as number] as CompiledRule;
      if (!r.filter.test(view)) continue;
      if (r.except !== null && excepted(r, view)) {
        r.counters.allowed++;
        continue;
      }
      r.counters.matched++;
      const key = r.key(view);
      if (key === undefined) {
        r.counters.no_key++;
        continue;
      }
      if (forward !== null && !r.byAddress) {
        forward(r.index, key, r.value === null ? undefined : r.value(view), t, raw);
        continue;
      }
      let s: State;
      if (r.slot >= 0 && recState !== 2) {
        // One lookup by address per line for all the rules grouped by it.
        if (recState === 0) {
          cid = clients.find(key);
          recState = 1;
        }
        if (cid >= 0) {
          const at = cid * clientSlots + r.slot;
          const row = (clients.rows[at] as number) - 1;
          // The row still holds this client's state while it carries the client as its owner (a table reusing it resets that).
          if (row >= 0 && r.cursor.at(row).heldBy(cid + 1)) s = r.cursor;
          else {
            const st = r.table.get(key);
            st.owner = cid + 1;
            clients.rows[at] = st.row + 1;
            s = r.cursor.of(st);
          }
        } else {
          const st = r.table.get(key);
          // A client only for an address seen before (its state here has a
          // time): an address seen once, as in a spray, costs no entry.
          if (st.last === -Infinity) recState = 2;
          else {
            cid = clients.add(key);
            st.owner = cid + 1;
            clients.rows[cid * clientSlots + r.slot] = st.row + 1;
          }
          s = r.cursor.of(st);
        }
      } else s = r.cursor.of(r.table.get(key));
      const f = step(r, s, t, r.value === null ? undefined : r.value(view), line, raw);
      if (f !== null) (out ??= []).push(f);
    }
    return out ?? NONE;
  }

  /** A line counted in a rule's window for subject state `s`: the finding when it crosses the condition. */
  function step(r: CompiledRule, s: State, t: number, value: number | undefined, line: ParsedLine | null, raw: string | undefined): Finding | null {
    // Per subject, time never goes back (lines from several processes may interleave a little).
    const tt = t < s.last ? s.last : t;
    s.last = tt;
    if (tt < s.quietUntil) {
      r.counters.suppressed++;
      return null;
    }
    const n = r.cond.hit(s, tt, value);
    if (n === 0) {
      if (r.context > 0) {
        const recent = (s.recent ??= []);
        if (recent.length >= r.context) recent.shift();
        recent.push(sampleOf(line, raw));
      }
      return null;
    }
    r.cond.reset(s);
    if (r.oncePerMs > 0) s.quietUntil = tt + r.oncePerMs;
    const f = finding(r, r.per ? subjectOfKey(s.key) : s.key, tt, n, line, raw);
    if (f !== null && s.recent !== null && s.recent.length) f.context = s.recent;
    s.recent = null;
    return f;
  }

  function resume(rule: number, key: string, value: number | undefined, t: number, raw: string | undefined): Finding | null {
    const r = rules[rule];
    if (r === undefined) throw new Error(`no rule ${rule}`);
    return step(r, r.cursor.of(r.table.get(key)), t, value, null, raw);
  }

  function finding(r: CompiledRule, subject: string, t: number, n: number, line: ParsedLine | null, raw: string | undefined): Finding | null {
    let allowBlock = true;
    if (r.subjectType === 'ip' && isProtected(subject)) {
      r.counters.protected++;
      if (drop) return null;
      allowBlock = false;
    }
    r.counters.findings++;
    findings++;
    return {
      rule: r.name,
      category: r.category,
      severity: r.severity,
      subject: { type: r.subjectType, value: subject },
      time: t,
      count: n,
      actions: actionsFor(r, subject, allowBlock),
      escalate: r.escalate,
      sample: sampleOf(line, raw),
    };
  }

  function explain(line: ParsedLine, source: string): string[] {
    if (!line.ok) return [];
    const v = new LineView();
    v.reset(line, source, line.time ?? 0);
    const byStatus = byKind.get(KIND_BIT[line.kind] ?? 0);
    const list = byStatus === undefined ? [] : (byStatus[v.status >= 0 && v.status < NO_STATUS ? v.status : NO_STATUS] as RuleList).rules;
    return list.filter((r) => r.filter.test(v) && !excepted(r, v)).map((r) => r.name);
  }

  function stats(): TriageStats {
    return {
      lines,
      unparsed,
      untimed,
      findings,
      rules: rules.map((r) => ({ name: r.name, ...r.counters, keys: r.table.size, cap: r.table.cap, evicted: r.table.evicted })),
    };
  }

  const fingerprints = new Map(rules.map((r) => [r.name, createHash('sha256').update(JSON.stringify(r.spec)).digest('hex').slice(0, 16)]));
  const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);

  function snapshot(keep: (key: string, type: SubjectType) => boolean): TriageSnapshot {
    const at = anyTime ?? now();
    const out: TriageSnapshot = { version: 1, at, rules: {} };
    for (const r of rules) {
      const since = at - spanOf(r.spec, r.oncePerMs);
      const subjects: SavedSubject[] = [];
      for (const st of r.table.states()) {
        if (st.last < since || !keep(st.key, r.subjectType)) continue;
        const times = r.cond.savedTimes !== undefined ? r.cond.savedTimes(st) : st.times ? [...st.times] : null;
        subjects.push([st.key, fin(st.last), fin(st.quietUntil), st.n, st.head, times, st.map ? [...st.map] : null]);
      }
      if (subjects.length) out.rules[r.name] = { fp: fingerprints.get(r.name)!, subjects };
    }
    return out;
  }

  function restore(snap: TriageSnapshot): number {
    let n = 0;
    for (const r of rules) {
      const saved = snap.rules[r.name];
      if (!saved || saved.fp !== fingerprints.get(r.name)) continue;
      if (!Array.isArray(saved.subjects)) continue;
      for (const x of saved.subjects) {
        if (!validSaved(x)) continue;
        const [key, last, quietUntil, count, head, times, map] = x;
        const st = r.table.get(key);
        st.last = last ?? -Infinity;
        st.quietUntil = quietUntil ?? -Infinity;
        st.n = count;
        st.head = head;
        if (r.cond.loadTimes !== undefined) r.cond.loadTimes(st, times);
        else st.times = times;
        st.map = map ? new Map(map) : null;
        n++;
      }
    }
    if (n > 0 && (anyTime === null || snap.at > anyTime)) anyTime = snap.at;
    return n;
  }

  return { process, resume, explain, stats, snapshot, restore, rules: rules.map((r) => r.name) };
}
