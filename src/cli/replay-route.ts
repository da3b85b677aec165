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
import { hash32 } from '../pipeline/triage/hash.js';

/** Characters of an address as text: digits, hex letters, `:` and `.`. */
function isAddressChar(c: number): boolean {
  return (c >= 48 && c <= 58) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** `s[from, to)` as an address key, or null when it is not plain address text (or could be an IPv4-mapped IPv6 address, which the parser rewrites). */
function addressAt(s: string, from: number, to: number): string | null {
  if (to - from < 2 || to - from > 45) return null;
  let colon = false;
  for (let j = from; j < to; j++) {
    const c = s.charCodeAt(j);
    if (!isAddressChar(c)) return null;
    if (c === 58) colon = true;
  }
  const v = s.slice(from, to);
  return colon && /ffff/i.test(v) ? null : v;
}

/** True when `s[from, to)` is a request id as `%ID` writes one (or `-`). */
function isId(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let j = from; j < to; j++) {
    const c = s.charCodeAt(j);
    if (!((c >= 48 && c <= 58) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46)) return false;
  }
  return true;
}

/** The client address of a line in this project's log format, read without parsing; null when not certain. */
export function routeKey(s: string): string | null {
  const rid = s.lastIndexOf(' rid=');
  if (rid < 0 || !isId(s, rid + 5, s.length)) return null;
  const rip = s.lastIndexOf(' rip=', rid - 1);
  if (rip < 0 || s.indexOf(' ', rip + 5) !== rid) return null;
  if (rid - rip - 5 === 1 && s.charCodeAt(rip + 5) === 45) {
    // rip=-: the TCP peer, the `%ci:%cp` word before ` [` (the accept date).
    const b = s.indexOf(' [');
    if (b < 0 || b > rip) return null;
    const w = s.lastIndexOf(' ', b - 1) + 1;
    const colon = s.lastIndexOf(':', b - 1);
    if (colon <= w) return null;
    for (let j = colon + 1; j < b; j++) {
      const c = s.charCodeAt(j);
      if (c < 48 || c > 57) return null;
    }
    // An IPv6 peer without brackets is not split this way with certainty: the parser decides.
    const v = addressAt(s, w, colon);
    return v !== null && v.indexOf(':') < 0 ? v : null;
  }
  return addressAt(s, rip + 5, rid);
}

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
    const key = routeKey(body.toString('latin1', from, nl));
    if (key !== null) lists[shardOf(key, n)]!.push(k, from, nl, 1);
    else for (let w = 0; w < n; w++) lists[w]!.push(k, from, nl, 0);
    k++;
    from = nl + 1;
  }
  return { lines: k, mine: lists.map((l) => Int32Array.from(l)) };
}
