/**
 * A rule's subject keys to their slot numbers (windows.ts KeyTable): open
 * addressing with linear probing over two typed arrays (each key's 32-bit
 * hash, and its slot + 1; 0 is an empty place), grown by doubling, with
 * backward-shift deletion (no tombstones).
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
  private hashes: Int32Array;
  private where: Int32Array;
  private mask: number;
  size = 0;

  constructor(private readonly keyOf: (slot: number) => string) {
    this.hashes = new Int32Array(MIN_PLACES);
    this.where = new Int32Array(MIN_PLACES);
    this.mask = MIN_PLACES - 1;
  }

  /** The hash a key is stored under (hash32, as a signed 32-bit number). */
  static hash(key: string): number {
    return hash32(key) | 0;
  }

  /** The slot of `key` (whose hash is `h`), or -1. */
  find(key: string, h: number): number {
    const hashes = this.hashes;
    const where = this.where;
    const mask = this.mask;
    for (let p = home(h, mask); ; p = (p + 1) & mask) {
      const w = where[p] as number;
      if (w === 0) return -1;
      if (hashes[p] === h && this.keyOf(w - 1) === key) return w - 1;
    }
  }

  /** Adds the key of `slot` (not in the index; its hash is `h`). */
  insert(h: number, slot: number): void {
    if ((this.size + 1) * SPREAD > this.where.length) this.grow();
    this.place(h, slot);
    this.size++;
  }

  /** Takes `key` (whose hash is `h`) out; nothing when it is not in. */
  remove(key: string, h: number): void {
    const hashes = this.hashes;
    const where = this.where;
    const mask = this.mask;
    let p = home(h, mask);
    for (; ; p = (p + 1) & mask) {
      const w = where[p] as number;
      if (w === 0) return;
      if (hashes[p] === h && this.keyOf(w - 1) === key) break;
    }
    // Backward shift: pull later entries of the run into the hole when their home allows.
    let hole = p;
    for (let q = (p + 1) & mask; where[q] !== 0; q = (q + 1) & mask) {
      const k = home(hashes[q] as number, mask);
      // Entry q may move to the hole when its home is not cyclically within (hole, q].
      const stays = hole <= q ? k > hole && k <= q : k > hole || k <= q;
      if (stays) continue;
      where[hole] = where[q] as number;
      hashes[hole] = hashes[q] as number;
      hole = q;
    }
    where[hole] = 0;
    hashes[hole] = 0;
    this.size--;
  }

  private place(h: number, slot: number): void {
    const mask = this.mask;
    let p = home(h, mask);
    while (this.where[p] !== 0) p = (p + 1) & mask;
    this.hashes[p] = h;
    this.where[p] = slot + 1;
  }

  private grow(): void {
    const oldH = this.hashes;
    const oldW = this.where;
    const n = oldW.length * 2;
    this.hashes = new Int32Array(n);
    this.where = new Int32Array(n);
    this.mask = n - 1;
    for (let i = 0; i < oldW.length; i++) {
      const w = oldW[i] as number;
      if (w !== 0) this.place(oldH[i] as number, w - 1);
    }
  }
}

/** The first place for hash `h`: its bits mixed (FNV's low bits alone cluster on similar keys). */
function home(h: number, mask: number): number {
  let x = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  x ^= x >>> 16;
  return x & mask;
}
