/**
 * A rule's subject keys to their slot numbers (windows.ts KeyTable): open
 * addressing with linear probing over one typed array (per place, the key's
 * 32-bit hash and its slot + 1 side by side, so a probe reads one cache
 * line; slot 0 is an empty place), grown by doubling, with backward-shift
 * deletion (no tombstones).
 *
 * Why not a Map: a table at its cap under a spray of new addresses deletes
 * and inserts on every line, and a Map then rebuilds its whole backing store
 * every few ten thousand changes; each discarded store is megabytes of old
 * garbage, which is most of the peak memory with a million distinct
 * addresses. Here a change moves a few numbers and allocates nothing; and a
 * probe compares the stored hash before it reads a key (a string elsewhere
 * in memory), so a miss costs no string comparison.
 *
 * Contract: keys are compared as strings (an equal string finds its slot
 * whatever the object); `keyOf(slot)` must return the key inserted with
 * that slot for as long as it is in the index.
 */
import { hash32 } from './hash.js';

/** Places per key at most (the table doubles beyond): 1 / load factor. */
const SPREAD = 2;
const MIN_PLACES = 16;

export class KeyIndex {
  /** Place p: the hash at 2p, the slot + 1 at 2p + 1 (0: empty). */
  private places: Int32Array;
  private mask: number;
  size = 0;

  constructor(private readonly keyOf: (slot: number) => string) {
    this.places = new Int32Array(2 * MIN_PLACES);
    this.mask = MIN_PLACES - 1;
  }

  /** The hash a key is stored under (hash32, as a signed 32-bit number). */
  static hash(key: string): number {
    return hash32(key) | 0;
  }

  /** The slot of `key` (whose hash is `h`), or -1. */
  find(key: string, h: number): number {
    const a = this.places;
    const mask = this.mask;
    for (let p = home(h, mask); ; p = (p + 1) & mask) {
      const w = a[2 * p + 1] as number;
      if (w === 0) return -1;
      if (a[2 * p] === h && this.keyOf(w - 1) === key) return w - 1;
    }
  }

  /** Adds the key of `slot` (not in the index; its hash is `h`). */
  insert(h: number, slot: number): void {
    if ((this.size + 1) * SPREAD > this.mask + 1) this.grow();
    this.place(h, slot);
    this.size++;
  }

  /** Takes `key` (whose hash is `h`) out; nothing when it is not in. */
  remove(key: string, h: number): void {
    const a = this.places;
    const mask = this.mask;
    let p = home(h, mask);
    for (; ; p = (p + 1) & mask) {
      const w = a[2 * p + 1] as number;
      if (w === 0) return;
      if (a[2 * p] === h && this.keyOf(w - 1) === key) break;
    }
    // Backward shift: pull later entries of the run into the hole when their home allows.
    let hole = p;
    for (let q = (p + 1) & mask; a[2 * q + 1] !== 0; q = (q + 1) & mask) {
      const k = home(a[2 * q] as number, mask);
      // Entry q may move to the hole when its home is not cyclically within (hole, q].
      const stays = hole <= q ? k > hole && k <= q : k > hole || k <= q;
      if (stays) continue;
      a[2 * hole] = a[2 * q] as number;
      a[2 * hole + 1] = a[2 * q + 1] as number;
      hole = q;
    }
    a[2 * hole] = 0;
    a[2 * hole + 1] = 0;
    this.size--;
  }

  private place(h: number, slot: number): void {
    const a = this.places;
    const mask = this.mask;
    let p = home(h, mask);
    while (a[2 * p + 1] !== 0) p = (p + 1) & mask;
    a[2 * p] = h;
    a[2 * p + 1] = slot + 1;
  }

  private grow(): void {
    const old = this.places;
    const n = old.length; // places after growing: twice as many, two numbers each
    this.places = new Int32Array(2 * n);
    this.mask = n - 1;
    for (let i = 0; i < old.length; i += 2) {
      const w = old[i + 1] as number;
      if (w !== 0) this.place(old[i] as number, w - 1);
    }
  }
}

/** The first place for hash `h`: its bits mixed (FNV's low bits alone cluster on similar keys). */
function home(h: number, mask: number): number {
  let x = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  x ^= x >>> 16;
  return x & mask;
}
