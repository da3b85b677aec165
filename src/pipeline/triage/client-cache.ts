/**
 * The engine's per-client pointers (engine.ts): for each client address
 * seen twice, where its state is in the table of each rule grouped by the
 * address alone (the state's row, which is its slot), so one lookup per line
 * serves all those rules. Only a cache: each rule's KeyTable still holds,
 * caps and evicts its states; a pointer is used only while the state's row
 * still carries the owner it was stored with (client number + 1; a table
 * reusing the state resets it). Owners are unique within one filling of the
 * cache, and emptying it drops every pointer, so a number given again after
 * that can never meet a pointer stored before.
 *
 * Laid out for few memory reads per line, since nearly every line meets it
 * and its clients are scattered: an IPv4 address in its canonical form is
 * its own 32-bit key in an open-addressing table of one Int32Array, the key
 * and the client's number side by side (one cache line read, no string
 * compared); any other address goes through a Map. The pointers of all
 * clients sit in one Int32Array, `slots` per client. When CAP clients are
 * held it is emptied and fills again with those still current.
 */

/** Table size for IPv4 keys (bits): a power of two, at most half full. */
const BITS = 16;
const SIZE = 1 << BITS;
export const CAP = SIZE / 2;

/**
 * The address as a number when `s` is an IPv4 address written canonically
 * (four decimal parts 0-255 without leading zeros), plus one so that 0 is
 * never a key; else 0. Exactly one such string gives each number, so two
 * different strings never share a record.
 */
export function ipv4Key(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return 0;
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return 0;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return 0;
    if (digits > 0 && part === 0) return 0; // a leading zero
    part = part * 10 + d;
    if (part > 255) return 0;
    digits++;
  }
  if (digits === 0 || dots !== 3) return 0;
  return (v * 256 + part + 1) | 0;
}

export class ClientCache {
  /** The pointers: client `c`'s state for rule slot `k` is row rows[c * slots + k] - 1 of that rule's table (0: none yet). */
  readonly rows: Int32Array;
  /** Place i: key at 2i (0: empty), the client's number at 2i + 1. */
  private readonly table4 = new Int32Array(2 * SIZE);
  private readonly other = new Map<string, number>();
  private count = 0;

  constructor(readonly slots: number) {
    // Zeroed memory the system hands out as it is first written: a cache that holds few clients touches little of it.
    this.rows = new Int32Array(CAP * Math.max(1, slots));
  }

  /** The client's number, or -1 when it has none. */
  find(key: string): number {
    const k = ipv4Key(key);
    if (k === 0) return this.other.get(key) ?? -1;
    const t = this.table4;
    for (let i = hashSlot(k); ; i = (i + 1) & (SIZE - 1)) {
      const at = t[2 * i] as number;
      if (at === k) return t[2 * i + 1] as number;
      if (at === 0) return -1;
    }
  }

  /** A number for a client that has none (find gave -1), emptying the cache first when it is full. */
  add(key: string): number {
    if (this.count >= CAP) this.clear();
    const c = this.count++;
    const k = ipv4Key(key);
    if (k === 0) {
      // A copy: the key may be a slice of a whole log line, which a kept slice would keep alive.
      this.other.set((' ' + key).slice(1), c);
      return c;
    }
    const t = this.table4;
    let i = hashSlot(k);
    while (t[2 * i] !== 0) i = (i + 1) & (SIZE - 1);
    t[2 * i] = k;
    t[2 * i + 1] = c;
    return c;
  }

  get size(): number {
    return this.count;
  }

  private clear(): void {
    this.table4.fill(0);
    this.other.clear();
    this.rows.fill(0, 0, this.count * this.slots);
    this.count = 0;
  }
}

/** Where an IPv4 key starts its probe: its bits mixed (consecutive addresses are common) and cut to the table. */
function hashSlot(k: number): number {
  return Math.imul(k, 0x9e3779b1) >>> (32 - BITS);
}
