/**
 * Per-subject state of a rule and the conditions over it, all in event time
 * (ms since epoch, from the log lines). Memory is bounded by construction:
 *
 * - a rule tracks at most `cap` subjects (KeyTable); a new subject beyond the
 *   cap evicts one that has not been hit since the evictor's hand last
 *   passed it (CLOCK, a cheap approximation of least-recently-used: a
 *   subject that keeps being hit survives, so an attacker cannot flush a
 *   busy subject's state by spraying one-shot addresses, which go first);
 * - a count window holds at most `threshold` times (exact, for thresholds up
 *   to EXACT_MAX) or 16 bucket counters (larger thresholds);
 * - a distinct set holds fewer than `threshold` (<= 10,000) 32-bit hashes
 *   with their last-seen times;
 * - a leaky bucket is two numbers.
 *
 * When a condition fires its subject's state is reset, so the next report
 * needs a fresh run of matches (and `once_per` may hold it back longer).
 */

import { hash32 } from './hash.js';
import { KeyIndex } from './key-index.js';

/** Numbers every state has in its row: last, quietUntil, n, head and mark (owner x 2 + ref). */
export const ROW = 5;
/** Where the mark is in a row: the owner (client-cache.ts) times 2, plus the CLOCK reference bit. */
export const MARK = 4;
/** Where a condition's own numbers start in a row (Condition.inline). */
export const OWN_AT = ROW;

/**
 * The numbers of a rule's subjects, a row per subject (last, quietUntil, n,
 * head, mark, and a condition's own) side by side in one Float64Array
 * shared by the rule's states. A number in an object's field is a heap box
 * of its own in V8 (three per state, measured: 0.9 million boxes, 14 MB,
 * beside 310,000 states with a million distinct addresses), which is memory
 * and garbage; rows in one array are neither. And a line that reaches a
 * state through its row (StateCursor) reads one place instead of the state
 * object and then its row: on a machine where a miss costs a few hundred
 * ns, that was about 9% of a replay.
 */
export class NumStore {
  num: Float64Array;
  /**
   * Numbers per row: ROW (last, quietUntil, n, head, mark), or ROW + 3 for
   * a condition that keeps the first value of its set in its row as well
   * (Condition.inline: one read for a subject that sends one value).
   */
  constructor(
    rows: number,
    readonly width = ROW,
  ) {
    this.num = new Float64Array(Math.max(1, rows) * width);
  }
  /** Room for row `i` (doubling; rows keep their values). */
  ensure(i: number): void {
    const w = this.width;
    if ((i + 1) * w <= this.num.length) return;
    let len = this.num.length;
    while (len < (i + 1) * w) len *= 2;
    const next = new Float64Array(len);
    next.set(this.num);
    this.num = next;
  }
}

/**
 * What a condition and the engine read and write of one subject's state:
 * SubjectState itself, or the engine's cursor over a row (StateCursor), which
 * reaches the object only for what is not in the row.
 */
export interface State {
  last: number;
  quietUntil: number;
  n: number;
  head: number;
  times: number[] | null;
  map: Map<number, number> | null;
  recent: string[] | null;
  readonly key: string;
  readonly store: NumStore;
  /** Where the row starts in store.num. */
  readonly o: number;
}

/** The state one rule keeps for one subject. One monomorphic shape for every condition type. */
export class SubjectState implements State {
  /** count: ring of times; buckets: counters; distinct (small sets): hash, time, hash, time, ... */
  times: number[] | null = null;
  /** distinct (large sets): hash -> time, in last-seen order. */
  map: Map<number, number> | null = null;
  /** Rules that keep context: the last lines matched for this subject since its last report (oldest first, bounded). */
  recent: string[] | null = null;
  /** Where this state's numbers are in `store.num`: row `o / store.width`, which is also its slot in its table. */
  readonly o: number;

  /** A state with a store of its own (tests: room for the numbers any condition keeps), or row `row` of a table's store. */
  constructor(
    public key: string,
    readonly store: NumStore = new NumStore(1, ROW + 3),
    row = 0,
  ) {
    store.ensure(row);
    this.o = row * store.width;
    const a = store.num;
    a[this.o] = -Infinity;
    a[this.o + 1] = -Infinity;
    a[this.o + 2] = 0;
    a[this.o + 3] = 0;
    a[this.o + MARK] = 0;
  }

  /** Its row in the store (and slot in its table). */
  get row(): number {
    return this.o / this.store.width;
  }
  /** Hit since the evictor last looked (CLOCK reference bit): bit 0 of the mark. */
  get ref(): boolean {
    return ((this.store.num[this.o + MARK] as number) & 1) === 1;
  }
  set ref(v: boolean) {
    const a = this.store.num;
    const m = a[this.o + MARK] as number;
    a[this.o + MARK] = (m - (m & 1)) + (v ? 1 : 0);
  }
  /**
   * The number of the engine's client entry that points here, plus one
   * (client-cache.ts; 0: none): the mark's other bits. Reset when the table
   * reuses this state for another subject.
   */
  get owner(): number {
    return (this.store.num[this.o + MARK] as number) >> 1;
  }
  set owner(v: number) {
    const a = this.store.num;
    a[this.o + MARK] = v * 2 + ((a[this.o + MARK] as number) & 1);
  }

  /** Latest event time seen for this subject; later lines never move it back. */
  get last(): number {
    return this.store.num[this.o] as number;
  }
  set last(v: number) {
    this.store.num[this.o] = v;
  }
  /** once_per: no report before this time. */
  get quietUntil(): number {
    return this.store.num[this.o + 1] as number;
  }
  set quietUntil(v: number) {
    this.store.num[this.o + 1] = v;
  }
  /** count: times held; buckets: total; leaky: level; distinct: values held. */
  get n(): number {
    return this.store.num[this.o + 2] as number;
  }
  set n(v: number) {
    this.store.num[this.o + 2] = v;
  }
  /** count: ring head; buckets: current absolute bucket; leaky: time of the last leak. */
  get head(): number {
    return this.store.num[this.o + 3] as number;
  }
  set head(v: number) {
    this.store.num[this.o + 3] = v;
  }
}

/**
 * Copies a string so that the table does not keep alive a whole log line the
 * key was sliced from (V8 keeps the parent of a sliced string).
 */
export function ownString(s: string): string {
  if (s.length < 13) return s; // V8 copies short substrings anyway
  // The rules a line's client meets each take its key: one copy for all of
  // them (a copy per table was most of the old space's garbage with a
  // million distinct addresses, each copy dropped when its state is reused).
  if (s === lastIn) return lastOut;
  lastIn = s;
  lastOut = Buffer.from(s, 'utf8').toString('utf8');
  return lastOut;
}
/** ownString's last key and its copy (holding the last key keeps at most one line alive). */
let lastIn = '';
let lastOut = '';

/**
 * A rule's subjects, capped: an index of their keys (key-index.ts) plus a
 * fixed ring of slots swept by a CLOCK hand for eviction (O(1) amortized).
 */
export class KeyTable {
  private readonly slots: SubjectState[] = [];
  /** The states' numbers: a state's row is its slot. */
  readonly store: NumStore;
  private readonly index = new KeyIndex((slot) => (this.slots[slot] as SubjectState).key);
  private hand = 0;
  evicted = 0;

  /** `clear` empties a state's condition data (keeping its arrays) when the state is reused for a new subject. */
  constructor(
    readonly cap: number,
    private readonly clear: (s: SubjectState) => void,
    /** Numbers per state: ROW, or ROW + 3 for a condition with numbers of its own in the row (Condition.inline). */
    width = ROW,
  ) {
    this.store = new NumStore(16, width);
  }

  get(key: string): SubjectState {
    const h = KeyIndex.hash(key);
    const at = this.index.find(key, h);
    let s: SubjectState;
    if (at >= 0) {
      s = this.slots[at] as SubjectState;
      s.ref = true;
      return s;
    }
    let slot: number;
    if (this.slots.length < this.cap) {
      slot = this.slots.length;
      s = new SubjectState(ownString(key), this.store, slot);
      this.slots.push(s);
    } else {
      // The evicted subject's object is reused: under a spray of new
      // addresses nothing is allocated but the key.
      slot = this.victim();
      s = this.slots[slot] as SubjectState;
      s.key = ownString(key);
      s.owner = 0;
      s.ref = false;
      s.last = -Infinity;
      s.quietUntil = -Infinity;
      s.recent = null;
      this.clear(s);
    }
    this.index.insert(h, slot);
    return s;
  }

  get size(): number {
    return this.index.size;
  }

  /** The state in slot `row` (a row StateCursor was set to). */
  stateAt(row: number): SubjectState {
    return this.slots[row] as SubjectState;
  }

  /** Every subject held (for a snapshot across a restart). */
  states(): IterableIterator<SubjectState> {
    return this.slots.values();
  }

  /** Finds the slot to reuse: the first under the hand not hit since the hand last passed (second chance); forgets its subject. */
  private victim(): number {
    const slots = this.slots;
    const w = this.store.width;
    for (;;) {
      const i = this.hand;
      this.hand = i + 1 === slots.length ? 0 : i + 1;
      // The reference bit is read from the row (bit 0 of the mark), not the object.
      const a = this.store.num;
      const m = a[i * w + MARK] as number;
      if ((m & 1) === 1) {
        a[i * w + MARK] = m - 1;
        continue;
      }
      const s = slots[i] as SubjectState;
      this.index.remove(s.key, KeyIndex.hash(s.key));
      this.evicted++;
      return i;
    }
  }
}

/**
 * One rule's view of one subject's state, set per line by the engine to a
 * row of the rule's table: the numbers are read from the row, and the state
 * object is reached only for what is not there (arrays, context lines, the
 * key of a finding). A line whose client the engine knows then reads one
 * row per rule instead of an object and then its row.
 */
export class StateCursor implements State {
  o = 0;
  private row = 0;
  private st: SubjectState | null = null;
  constructor(private readonly table: KeyTable) {}

  /** Set to row `row` of the table. */
  at(row: number): StateCursor {
    this.row = row;
    this.o = row * this.table.store.width;
    this.st = null;
    return this;
  }
  /** Set to state `s` of the table. */
  of(s: SubjectState): StateCursor {
    this.row = s.row;
    this.o = s.o;
    this.st = s;
    return this;
  }
  private state(): SubjectState {
    return (this.st ??= this.table.stateAt(this.row));
  }
  /** True when `owner` is the state's owner (SubjectState.owner); then it is marked as hit too, with one read of the mark for both. */
  heldBy(owner: number): boolean {
    const a = this.table.store.num;
    const m = a[this.o + MARK] as number;
    if (m >> 1 !== owner) return false;
    a[this.o + MARK] = m | 1;
    return true;
  }

  get store(): NumStore {
    return this.table.store;
  }
  // The row's numbers, as SubjectState reads them: each class keeps its own
  // accessors, so that each sees one shape of object on the hot path (a
  // shared base class made them see two).
  get last(): number {
    return this.table.store.num[this.o] as number;
  }
  set last(v: number) {
    this.table.store.num[this.o] = v;
  }
  get quietUntil(): number {
    return this.table.store.num[this.o + 1] as number;
  }
  set quietUntil(v: number) {
    this.table.store.num[this.o + 1] = v;
  }
  get n(): number {
    return this.table.store.num[this.o + 2] as number;
  }
  set n(v: number) {
    this.table.store.num[this.o + 2] = v;
  }
  get head(): number {
    return this.table.store.num[this.o + 3] as number;
  }
  set head(v: number) {
    this.table.store.num[this.o + 3] = v;
  }
  get times(): number[] | null {
    return this.state().times;
  }
  set times(v: number[] | null) {
    this.state().times = v;
  }
  get map(): Map<number, number> | null {
    return this.state().map;
  }
  set map(v: Map<number, number> | null) {
    this.state().map = v;
  }
  get recent(): string[] | null {
    return this.state().recent;
  }
  set recent(v: string[] | null) {
    this.state().recent = v;
  }
  get key(): string {
    return this.state().key;
  }
}

/** A rule's condition: `hit` records one match and returns the count that fired, or 0. */
export interface Condition {
  hit(s: State, t: number, value: string | number | undefined): number;
  /** Forgets a subject's matches (after it fired). */
  reset(s: State): void;
  /** True when the condition needs a value per match (distinct). */
  readonly needsValue: boolean;
  /** True when it keeps numbers of its own in the state's row (after the first four: a row of 8). */
  readonly inline?: boolean;
  /** The set as saved across a restart (SavedSubject's times), when the state's `times` alone is not it. */
  savedTimes?(s: State): number[] | null;
  /** Takes back what savedTimes gave. */
  loadTimes?(s: State, times: number[] | null): void;
}

/** Thresholds up to this are counted exactly (a ring of times); above, in 16 buckets per window. */
export const EXACT_MAX = 128;
const BUCKETS = 16;

/** A sliding window of `windowMs`: matches in (t - windowMs, t]; fires at `threshold`. */
export class CountWindow implements Condition {
  readonly needsValue = false;
  constructor(
    readonly threshold: number,
    readonly windowMs: number,
  ) {}

  hit(s: State, t: number): number {
    const th = this.threshold;
    if (th === 1) return 1;
    let ring = s.times;
    if (ring === null) {
      ring = s.times = new Array<number>(Math.min(th, 4)).fill(0);
      s.n = 0;
      s.head = 0;
    }
    // Drop what left the window.
    const edge = t - this.windowMs;
    let cap = ring.length;
    while (s.n > 0 && (ring[s.head] as number) <= edge) {
      s.head = (s.head + 1) % cap;
      s.n--;
    }
    if (s.n === cap) {
      // Grow (up to the threshold), unrolling the ring.
      const next = new Array<number>(Math.min(cap * 2, th)).fill(0);
      for (let i = 0; i < s.n; i++) next[i] = ring[(s.head + i) % cap] as number;
      ring = s.times = next;
      s.head = 0;
      cap = next.length;
    }
    ring[(s.head + s.n) % cap] = t;
    s.n++;
    return s.n >= th ? s.n : 0;
  }

  reset(s: State): void {
    s.n = 0;
    s.head = 0; // the ring (at most `threshold` long) is kept for reuse
  }
}

/**
 * A count window for large thresholds: 16 buckets of windowMs/16. The count
 * covers the current bucket and the 15 before it, so between 15/16 of the
 * window and the whole window: close enough for floods, and 16 numbers per
 * subject whatever the threshold.
 */
export class BucketedCountWindow implements Condition {
  readonly needsValue = false;
  private readonly width: number;
  constructor(
    readonly threshold: number,
    readonly windowMs: number,
  ) {
    this.width = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  hit(s: State, t: number): number {
    const abs = Math.floor(t / this.width);
    let b = s.times;
    if (b === null) {
      b = s.times = new Array<number>(BUCKETS).fill(0);
      s.n = 0;
      s.head = abs;
    } else if (abs > s.head) {
      if (abs - s.head >= BUCKETS) {
        b.fill(0);
        s.n = 0;
      } else {
        for (let i = s.head + 1; i <= abs; i++) {
          const j = i % BUCKETS;
          s.n -= b[j] as number;
          b[j] = 0;
        }
      }
      s.head = abs;
    }
    const j = s.head % BUCKETS;
    b[j] = (b[j] as number) + 1;
    s.n++;
    return s.n >= this.threshold ? s.n : 0;
  }

  reset(s: State): void {
    s.n = 0;
    s.head = -Infinity; // the next hit starts a fresh window
    if (s.times !== null) s.times.fill(0);
  }
}

/**
 * A leaky bucket (CrowdSec's): each match pours one in, one leaks out every
 * `leakEveryMs`; the match that takes the level above `capacity` fires.
 */
export class LeakyBucket implements Condition {
  readonly needsValue = false;
  private readonly rate: number;
  constructor(
    readonly capacity: number,
    readonly leakEveryMs: number,
  ) {
    this.rate = 1 / leakEveryMs;
  }

  hit(s: State, t: number): number {
    if (s.n > 0) {
      const level = s.n - (t - s.head) * this.rate;
      s.n = level > 0 ? level : 0;
    }
    s.head = t;
    s.n += 1;
    return s.n > this.capacity ? Math.ceil(s.n) : 0;
  }

  reset(s: State): void {
    s.n = 0;
    s.head = 0;
  }
}


/** Distinct sets up to this threshold are pairs in one array (a linear scan); larger ones a Map. */
export const SMALL_SET = 256;

/** Distinct values within (t - windowMs, t]; fires when `threshold` distinct values are held. */
export class DistinctWindow implements Condition {
  readonly needsValue = true;
  constructor(
    readonly threshold: number,
    readonly windowMs: number,
  ) {}

  hit(s: State, t: number, value: string | number | undefined): number {
    if (value === undefined) return 0;
    const h = typeof value === 'number' ? value : hash32(value);
    const edge = t - this.windowMs;
    if (this.threshold <= SMALL_SET) return this.hitSmall(s, t, h, edge);
    let m = s.map;
    if (m === null) m = s.map = new Map();
    for (const [k, at] of m) {
      if (at > edge) break; // last-seen order: the rest are newer
      m.delete(k);
    }
    m.delete(h);
    m.set(h, t);
    return m.size >= this.threshold ? m.size : 0;
  }

  private hitSmall(s: State, t: number, h: number, edge: number): number {
    // Pairs (hash, time) in one array, grown by hand (a pushed-to array
    // reserves 16 spare slots; a spray of one-shot subjects would pay for them).
    let a = s.times;
    if (a === null) {
      a = s.times = new Array<number>(4).fill(0);
      s.n = 0;
    }
    // One pass: drop expired values (compacting) and look for this one.
    let w = 0;
    let found = false;
    const n2 = s.n * 2;
    for (let r = 0; r < n2; r += 2) {
      const hv = a[r] as number;
      const at = a[r + 1] as number;
      if (hv === h) {
        found = true;
        a[w] = hv;
        a[w + 1] = t;
        w += 2;
      } else if (at > edge) {
        a[w] = hv;
        a[w + 1] = at;
        w += 2;
      }
    }
    if (!found) {
      if (w === a.length) {
        const next = new Array<number>(Math.min(a.length * 2, this.threshold * 2)).fill(0);
        for (let i = 0; i < w; i++) next[i] = a[i] as number;
        a = s.times = next;
      }
      a[w] = h;
      a[w + 1] = t;
      w += 2;
    }
    s.n = w / 2;
    return s.n >= this.threshold ? s.n : 0;
  }

  reset(s: State): void {
    s.n = 0; // the pair array is kept (at most 2 x threshold long) for reuse
    if (s.map !== null) s.map.clear();
  }
}

/**
 * Values seen exactly once within (t - windowMs, t] and not again for at
 * least `quietMs` since; fires when `threshold` such values are held. A
 * value seen again stops counting (until it has left the window), so a
 * client sending a fresh value with nearly every request (a user agent per
 * request, a random cache-busting query) is told from one whose many values
 * each recur (forty people behind one address). `quietMs` is what keeps the
 * first minutes of such an office out: when the engine starts (or the office
 * opens) every browser is new; within `quietMs` each has come back (its next
 * page, asset or poll), and a rotating bot's values never do.
 *
 * Bounded: at most `hold` values (default 2 x threshold, SEEN_ONCE_HOLD) as triples (hash,
 * last seen, seen again 0/1) in one array. When full, the least recently
 * seen of the values seen again makes room (they never count; one that
 * returns later looks new again, which only the quiet time can clear); when
 * every held value was seen once, the new value is not taken: those held
 * age past the quiet time and fire, so a bot rotating faster than `hold`
 * values per quiet time cannot flush them.
 */
export class SeenOnceWindow implements Condition {
  readonly needsValue = true;
  readonly inline = true;
  constructor(
    readonly threshold: number,
    readonly windowMs: number,
    readonly quietMs: number,
    readonly hold: number = 2 * threshold,
  ) {}

  /*
   * Layout: the set's first triple sits in the state's row (from OWN_AT,
   * after last, quietUntil, n, head and mark), the others in `times`. A
   * client that sends one value, as nearly every browser does, then costs
   * one read of its row per line and no array.
   */

  hit(s: State, t: number, value: string | number | undefined): number {
    if (value === undefined) return 0;
    const h = typeof value === 'number' ? value : hash32(value);
    const num = s.store.num;
    const o = s.o + OWN_AT;
    if (s.n === 1 && num[o] === h) {
      // The one value held came again: marked seen again, now. Nothing is
      // counted (the loop below gives the same: no value seen once is held).
      num[o + 1] = t;
      num[o + 2] = 1;
      return 0;
    }
    const a = gather(s, num, o);
    const once = this.step(a, s, t, h);
    scatter(s, num, o, a, this.hold);
    return once >= this.threshold ? once : 0;
  }

  /** The condition on the whole set in `a` (3 x s.n numbers): sets s.n, returns the values seen once and quiet. */
  private step(a: number[], s: State, t: number, h: number): number {
    const edge = t - this.windowMs;
    const quiet = t - this.quietMs;
    // One pass: drop expired values (compacting), mark this one seen again,
    // count the values seen once and quiet since, and find the least
    // recently seen of those seen again.
    let w = 0;
    let found = false;
    let once = 0;
    let oldest = -1;
    const n3 = s.n * 3;
    for (let r = 0; r < n3; r += 3) {
      const hv = a[r] as number;
      let at = a[r + 1] as number;
      let again = a[r + 2] as number;
      if (hv === h) {
        found = true;
        again = 1;
        at = t;
      } else if (at <= edge) continue;
      a[w] = hv;
      a[w + 1] = at;
      a[w + 2] = again;
      if (again === 0 && at <= quiet) once++;
      if (again === 1 && hv !== h && (oldest === -1 || at < (a[oldest + 1] as number))) oldest = w;
      w += 3;
    }
    if (!found && w === this.hold * 3) {
      if (oldest === -1) {
        // Full of values seen once: keep them (see the class comment).
        s.n = w / 3;
        return once;
      }
      // Full: the least recently seen of the values seen again makes room.
      w -= 3;
      for (let i = 0; i < 3; i++) a[oldest + i] = a[w + i] as number;
    }
    if (!found) {
      a[w] = h;
      a[w + 1] = t;
      a[w + 2] = 0;
      w += 3;
      if (this.quietMs === 0) once++;
    }
    s.n = w / 3;
    return once;
  }

  reset(s: State): void {
    s.n = 0; // the triple array is kept (at most 3 x hold long) for reuse
  }

  savedTimes(s: State): number[] | null {
    return s.n === 0 ? null : gather(s, s.store.num, s.o + OWN_AT).slice(0, s.n * 3);
  }

  /** `s.n` is already the saved count (a saved array may be longer: the old layout saved its spare room too). */
  loadTimes(s: State, times: number[] | null): void {
    const n = times === null ? 0 : Math.min(s.n, Math.floor(times.length / 3), this.hold);
    s.n = n;
    if (times !== null && n > 0) scatter(s, s.store.num, s.o + OWN_AT, times, this.hold);
  }
}

/** A seen-once set's triples, the row's first and then `times`, in one scratch array (valid until the next call). */
const SCRATCH: number[] = [];
function gather(s: State, num: Float64Array, o: number): number[] {
  const a = SCRATCH;
  const n3 = s.n * 3;
  // Room for one more triple than held (hit may add one).
  while (a.length < n3 + 3) a.push(0);
  if (n3 === 0) return a;
  a[0] = num[o] as number;
  a[1] = num[o + 1] as number;
  a[2] = num[o + 2] as number;
  const rest = s.times;
  for (let i = 3; i < n3; i++) a[i] = (rest as number[])[i - 3] as number;
  return a;
}

/** Puts `a`'s first s.n triples back: the first into the row, the others into `times` (grown by doubling, at most hold - 1 triples). */
function scatter(s: State, num: Float64Array, o: number, a: number[], hold: number): void {
  const n3 = s.n * 3;
  if (n3 === 0) return;
  num[o] = a[0] as number;
  num[o + 1] = a[1] as number;
  num[o + 2] = a[2] as number;
  if (n3 === 3) return;
  let rest = s.times;
  if (rest === null || rest.length < n3 - 3) {
    let len = rest === null ? 6 : rest.length;
    while (len < n3 - 3) len *= 2;
    const next = new Array<number>(Math.min(len, (hold - 1) * 3)).fill(0);
    if (rest !== null) for (let i = 0; i < rest.length; i++) next[i] = rest[i] as number;
    rest = s.times = next;
  }
  for (let i = 3; i < n3; i++) rest[i - 3] = a[i] as number;
}
