/**
 * Which shard of a sharded `monitor replay` (replay-shards.ts) a line
 * belongs to: the one its client address hashes to, so every line of one
 * client meets the same shard's windows. The address is the one the rules
 * group by (LineView.ip: real_ip when the line has one, else client_ip).
 *
 * routeKey reads it without parsing, from this project's own log format
 * (`... rip=<address> rid=<id>` at the end of the line, templates/haproxy/
 * frontend.njk), or from the `%ci:%cp` word before the accept date when rip
 * is `-`. It answers only for plain address text that the parser keeps as
 * it is (IPv4, or IPv6 that is not IPv4-mapped); for anything else null,
 * and every shard parses the line to find its owner (shardOfParsed). An
 * attacker writes neither the end of the line nor the words before the
 * request, so a request cannot steer its own line; the owner still checks
 * the parsed address against the key and counts a mismatch (misrouted).
 */
import { isAscii } from 'node:buffer';
import type { ParsedLine } from '../pipeline/types.js';
import { hash32, hash32Bytes } from '../pipeline/triage/hash.js';

/** Characters of an address as text: digits, hex letters, `:` and `.`. */
function isAddressChar(c: number): boolean {
  return (c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** The key routeAt found: bytes [keyStart, keyEnd) of the text it read (module-level out-parameters; routeAt is synchronous). */
let keyStart = 0;
let keyEnd = 0;

/** True when `b[from, to)` is plain address text the parser keeps as it is (not an IPv4-mapped IPv6 address, which it rewrites); sets the key. */
function addressAt(b: Buffer, from: number, to: number, v4only: boolean): boolean {
  if (to - from < 2 || to - from > 45) return false;
  let colon = false;
  for (let j = from; j < to; j++) {
    const c = b[j]!;
    if (!isAddressChar(c)) return false;
    if (c === 58) colon = true;
  }
  if (colon && (v4only || isMapped(b, from, to))) return false;
  keyStart = from;
  keyEnd = to;
  return true;
}

/** `ffff` in any case within [from, to): the address may be IPv4-mapped. */
function isMapped(b: Buffer, from: number, to: number): boolean {
  let run = 0;
  for (let j = from; j < to; j++) {
    run = (b[j]! | 0x20) === 102 ? run + 1 : 0;
    if (run === 4) return true;
  }
  return false;
}

/** True when `b[from, to)` is a request id as `%ID` writes one (or `-`). */
function isId(b: Buffer, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let j = from; j < to; j++) {
    const c = b[j]!;
    if (!((c >= 48 && c <= 58) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46)) return false;
  }
  return true;
}

/** Where the last ` ri<x>=` (x: `d` or `p`) in `b` starts at or before `before` and not before `from`; -1 if none (a short scan back from a line's end, without Buffer.lastIndexOf's per-call overhead). */
function lastTag(b: Buffer, x: number, from: number, before: number): number {
  for (let j = before; j >= from; j--) {
    if (b[j] === 32 && b[j + 1] === 114 && b[j + 2] === 105 && b[j + 3] === x && b[j + 4] === 61) return j;
  }
  return -1;
}

/**
 * Reads the client address of the line `b[from, to)` (ASCII) in this
 * project's log format without parsing it: true, with the address at
 * [keyStart, keyEnd), or false when not certain.
 */
function routeAt(b: Buffer, from: number, to: number): boolean {
  const rid = lastTag(b, 100, from, to - 5);
  if (rid < 0 || !isId(b, rid + 5, to)) return false;
  const rip = lastTag(b, 112, from, rid - 1);
  if (rip < 0) return false;
  for (let j = rip + 5; j < rid; j++) if (b[j] === 32) return false;
  if (rid - rip - 5 === 1 && b[rip + 5] === 45) {
    // rip=-: the TCP peer, the `%ci:%cp` word before ` [` (the accept date).
    const br = b.indexOf(' [', from);
    if (br < 0 || br > rip) return false;
    const sp = b.lastIndexOf(32, br - 1);
    const w = sp < from ? from : sp + 1;
    const colon = b.lastIndexOf(58, br - 1);
    if (colon <= w) return false;
    for (let j = colon + 1; j < br; j++) {
      const c = b[j]!;
      if (c < 48 || c > 57) return false;
    }
    // An IPv6 peer without brackets is not split this way with certainty: the parser decides.
    return addressAt(b, w, colon, true);
  }
  return addressAt(b, rip + 5, rid, false);
}

/** The client address of a line in this project's log format, read without parsing; null when not certain (or the line is not ASCII). */
export function routeKey(s: string): string | null {
  if (s.length === 0 || NOT_ASCII.test(s)) return null;
  return routeAt(Buffer.from(s, 'latin1'), 0, s.length) ? s.slice(keyStart, keyEnd) : null;
}

const NOT_ASCII = /[^\x00-\x7f]/;

/** The shard of `key` among `n`. */
export function shardOf(key: string, n: number): number {
  return hash32(key) % n;
}

/** The address the rules group a parsed line by (LineView.ip), if any. */
export function addressOf(p: ParsedLine): string | undefined {
  const r = p.fields.real_ip;
  if (typeof r === 'string' && r.length > 0 && r !== '-') return r;
  const c = p.fields.client_ip;
  return typeof c === 'string' && c.length > 0 && c !== '-' ? c : undefined;
}

/** The shard of a parsed line: its address's, and shard 0 for a line without one (no rule keyed by the client can count it). */
export function shardOfParsed(p: ParsedLine, n: number): number {
  const a = addressOf(p);
  return a === undefined ? 0 : shardOf(a, n);
}

/**
 * The lines of a block of plain ASCII lines without carriage returns (the
 * usual log; replay-lines.ts linesOf reads any other block) dealt to `n`
 * shards: per shard, the lines routed to it and the lines no route was read
 * from (every shard gets those), as quadruples (line number, start, end,
 * 1 routed / 0 unrouted) of byte offsets into the block. Null for any other
 * block: each shard then cuts and routes it itself.
 */
export function dealBlock(block: Buffer, length: number, n: number): { lines: number; mine: Int32Array[] } | null {
  const body = block.subarray(0, length);
  if (length === 0 || body.indexOf(13) !== -1 || !isAscii(body)) return null;
  const lists: number[][] = Array.from({ length: n }, () => []);
  let k = 0;
  let from = 0;
  for (;;) {
    const nl = body.indexOf(10, from);
    if (nl === -1) break;
    if (routeAt(body, from, nl)) lists[hash32Bytes(body, keyStart, keyEnd) % n]!.push(k, from, nl, 1);
    else for (let w = 0; w < n; w++) lists[w]!.push(k, from, nl, 0);
    k++;
    from = nl + 1;
  }
  return { lines: k, mine: lists.map((l) => Int32Array.from(l)) };
}
