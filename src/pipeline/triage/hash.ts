/** FNV-1a, 32 bits: distinct sets keep hashes, never the (possibly long) values; key-index.ts places keys by it. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** hash32 of bytes [from, to) of `b` read as Latin-1 (for ASCII, the hash32 of the same text). */
export function hash32Bytes(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= b[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
