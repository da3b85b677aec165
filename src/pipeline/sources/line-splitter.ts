/**
 * Bytes to lines: the one place where a source's bytes become strings.
 *
 * - A line ends at "\n"; a "\r" before it is dropped.
 * - A line longer than `maxLineBytes` is delivered cut to that length (at a
 *   UTF-8 character boundary) and counted as truncated; the rest, up to the
 *   next newline, is discarded without being held in memory.
 * - Invalid UTF-8 becomes U+FFFD (never an exception) and the line is counted
 *   as a decode error.
 * - Binary garbage is counted (decode error and dropped) and not delivered:
 *   a line with a NUL byte after its start, a line of NULs only, or an
 *   invalid-UTF-8 line that is mostly (over 30%, and at least 8 of them)
 *   replacement or control characters.
 *   Leading NULs are stripped first: the hole a writer without O_APPEND
 *   leaves after a copytruncate must not swallow the line written after it.
 * - Bytes after the last newline are held (copied) until the newline arrives
 *   or `flush()` is called (the source's quiet period).
 */
import { isUtf8 } from 'node:buffer';

export interface SplitCounters {
  decode_errors: number;
  truncated: number;
  dropped: number;
}

const NL = 10;
const CR = 13;
/** Share of replacement/control characters above which an invalid-UTF-8 line is binary garbage. */
const BINARY_SHARE = 0.3;
const BINARY_MIN_BAD = 8;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private skip: boolean;

  constructor(
    private readonly maxLineBytes: number,
    private readonly counters: SplitCounters,
    /** Start by discarding up to the first newline (resuming after a cut line, or starting mid-line). */
    skipToNewline = false,
  ) {
    this.skip = skipToNewline;
  }

  /** Bytes held for an incomplete line. */
  get pendingBytes(): number {
    return this.pendingLen;
  }

  /** True while discarding the rest of a line that was cut. */
  get skipping(): boolean {
    return this.skip;
  }

  /**
   * Appends the complete lines in `chunk` to `out` and holds the rest.
   * The caller may reuse `chunk` after the call.
   */
  push(chunk: Buffer, out: string[]): void {
    const len = chunk.length;
    let pos = 0;
    if (this.skip || this.pendingLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl === -1) {
        if (!this.skip) this.hold(chunk, 0, len, out);
        return;
      }
      if (this.skip) {
        this.skip = false;
      } else {
        this.completePending(chunk, nl, out);
      }
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(NL);
    if (last >= pos) {
      // One validity check and one NUL search for the whole run of complete lines:
      // the common case (valid text, no NUL) then costs nothing per line.
      const valid = isUtf8(chunk.subarray(pos, last + 1));
      let nul = chunk.indexOf(0, pos);
      while (pos <= last) {
        const nl = chunk.indexOf(NL, pos);
        const hasNul = nul !== -1 && nul < nl;
        this.emit(chunk, pos, nl, valid, hasNul, out);
        pos = nl + 1;
        if (hasNul) nul = chunk.indexOf(0, pos);
      }
    }
    if (pos < len) this.hold(chunk, pos, len, out);
  }

  /** Emits the held partial line, if any, as a line; ends a skip. */
  flush(out: string[]): void {
    this.skip = false;
    if (this.pendingLen === 0) return;
    const line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLen);
    this.pending = [];
    this.pendingLen = 0;
    this.emit(line, 0, line.length, false, line.indexOf(0) !== -1, out);
  }

  /** Forgets the held partial line and any skip. */
  reset(): void {
    this.pending = [];
    this.pendingLen = 0;
    this.skip = false;
  }

  private completePending(chunk: Buffer, nl: number, out: string[]): void {
    // Never concatenate more than the maximum: the rest of the line is cut anyway.
    const take = Math.min(nl, this.maxLineBytes + 1 - this.pendingLen);
    const line = Buffer.concat([...this.pending, chunk.subarray(0, Math.max(0, take))]);
    this.pending = [];
    this.pendingLen = 0;
    this.emit(line, 0, line.length, false, line.indexOf(0) !== -1, out);
  }

  private hold(chunk: Buffer, start: number, end: number, out: string[]): void {
    const n = end - start;
    if (this.pendingLen + n > this.maxLineBytes) {
      // An overlong line without its newline yet: deliver it cut now and discard the rest
      // as it arrives, so memory stays bounded by the maximum.
      const line = Buffer.concat([...this.pending, chunk.subarray(start, start + (this.maxLineBytes + 1 - this.pendingLen))]);
      this.pending = [];
      this.pendingLen = 0;
      this.skip = true;
      this.emit(line, 0, line.length, false, line.indexOf(0) !== -1, out);
      return;
    }
    // A copy: the caller reuses its read buffer.
    this.pending.push(Buffer.from(chunk.subarray(start, end)));
    this.pendingLen += n;
  }

  private emit(buf: Buffer, start: number, end: number, knownValid: boolean, hasNul: boolean, out: string[]): void {
    const text = decodeLine(buf, start, end, knownValid, hasNul, this.maxLineBytes, this.counters);
    if (text !== null) out.push(text);
  }
}

/**
 * Decodes bytes [start, end) of `buf` as one line, by the rules at the top of
 * this file (NULs, length cap, trailing CR, U+FFFD, binary garbage), counting
 * into `counters`. Null when the line is binary garbage (counted, not delivered).
 * `knownValid`: the caller already checked the bytes are UTF-8; `hasNul`: they may hold a NUL.
 */
export function decodeLine(
  buf: Buffer,
  start: number,
  end: number,
  knownValid: boolean,
  hasNul: boolean,
  maxLineBytes: number,
  counters: SplitCounters,
): string | null {
  let s = start;
  let e = end;
  if (hasNul) {
    while (s < e && buf[s] === 0) s++;
    if (s === e || buf.subarray(s, e).indexOf(0) !== -1) {
      counters.decode_errors++;
      counters.dropped++;
      return null;
    }
  }
  if (e - s > maxLineBytes) {
    e = s + maxLineBytes;
    // Cut before a character that the cut would split.
    let back = 0;
    while (back < 3 && e > s && ((buf[e] ?? 0) & 0xc0) === 0x80) {
      e--;
      back++;
    }
    counters.truncated++;
  } else if (e > s && buf[e - 1] === CR) {
    e--;
  }
  const text = buf.toString('utf8', s, e);
  if (!knownValid && !isUtf8(buf.subarray(s, e))) {
    counters.decode_errors++;
    if (looksBinary(text)) {
      counters.dropped++;
      return null;
    }
  }
  return text;
}

function looksBinary(text: string): boolean {
  let bad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd || (c < 0x20 && c !== 9) || c === 0x7f) bad++;
  }
  // A short line with a couple of bad bytes is text in a wrong encoding, not garbage.
  return bad >= BINARY_MIN_BAD && bad > text.length * BINARY_SHARE;
}
