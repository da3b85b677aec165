/**
 * Lines of a byte stream for `monitor replay`, without `readline`: lines are
 * found with indexOf on the bytes, so a line costs one decoding rather than a
 * regular expression, a string join and a promise. A chunk of plain ASCII
 * without carriage returns (the usual log) has each line decoded on its own
 * (Latin-1, the same text), giving strings of their own, which the parser
 * and the rules' map lookups read faster than slices of a chunk's text
 * (about a fifth of the replay's CPU time here); any other chunk is decoded
 * once (UTF-8, invalid bytes as U+FFFD, as a decoding stream does) up to its
 * last newline and cut into lines. Lines end as readline ends them with `crlfDelay: Infinity`: at
 * "\n", "\r\n" or a lone "\r"; an empty line is a line; text after the last
 * end is a line when it is not empty.
 *
 * Contract: `onLines` gets each chunk's lines in order, synchronously, as
 * one array it may keep; a newline is a byte of its own in UTF-8, so cutting
 * the bytes at one never splits a character.
 */
import { isAscii } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';

const NL = 10;

/** Decodes bytes [start, end): as Latin-1 (a copy) when they are all ASCII, which gives the same text as UTF-8 at a fraction of the cost. */
function decode(b: Buffer, start: number, end: number): string {
  return b.toString(isAscii(b.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
}

/** Cuts `text` (whole lines, the last without its "\n") into lines as readline would. */
function cut(text: string, out: string[]): void {
  if (text.indexOf('\r') === -1) {
    let from = 0;
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl === -1) break;
      out.push(text.slice(from, nl));
      from = nl + 1;
    }
    out.push(text.slice(from));
    return;
  }
  // Rare: carriage returns. Each "\n"-ended segment loses a trailing "\r"; lone ones end lines too.
  const segments = text.split('\n');
  for (let k = 0; k < segments.length; k++) {
    let s = segments[k] as string;
    if (s.charCodeAt(s.length - 1) === 13) s = s.slice(0, -1);
    for (const part of s.split('\r')) out.push(part);
  }
}

/** The lines of bytes [start, end) of `b`, where `end` is a newline and the bytes before `start` are not part of them. */
function wholeLines(b: Buffer, start: number, end: number, out: string[]): void {
  const body = b.subarray(start, end);
  // Plain ASCII without carriage returns (the usual log): each line decoded on its own, so it is a string of
  // its own rather than a slice of the chunk's text (the parser and the rules' lookups read it directly).
  if (body.indexOf(13) === -1 && isAscii(body)) {
    let from = start;
    for (;;) {
      const nl = b.indexOf(NL, from);
      if (nl === -1 || nl >= end) break;
      out.push(b.toString('latin1', from, nl));
      from = nl + 1;
    }
    out.push(b.toString('latin1', from, end));
  } else cut(decode(b, start, end), out);
}

/** The lines after the last newline of a stream (not empty): a final "\r" ends the line with no line after. */
function tailLines(b: Buffer): string[] {
  let text = decode(b, 0, b.length);
  if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
  return text.split('\r');
}

/**
 * The lines of a block of whole lines (each ends with "\n"; readLines' rules),
 * or with `last`, of the text after a stream's last newline: for a sharded
 * replay's blocks (replay-blocks.ts).
 */
export function linesOf(block: Buffer, last: boolean): string[] {
  if (last) return tailLines(block);
  const out: string[] = [];
  if (block.length > 0) wholeLines(block, 0, block.length - 1, out);
  return out;
}

/**
 * Reads a file's handle to its end, handing over lines chunk by chunk: the
 * file is read into one buffer used again for every chunk (every line is
 * decoded into a string of its own), where a read stream allocates a fresh
 * megabyte per chunk and keeps the garbage collector busy.
 */
async function readFileLines(fh: FileHandle, onLines: (lines: string[]) => void): Promise<void> {
  let buf = Buffer.allocUnsafe(CHUNK);
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      // No newline in a whole buffer: a longer line; a larger buffer.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, len, buf.length - len, null);
    if (bytesRead === 0) break;
    const end = len + bytesRead;
    const lastNl = buf.lastIndexOf(NL, end - 1);
    if (lastNl < len) {
      len = end;
      continue;
    }
    const out: string[] = [];
    wholeLines(buf, 0, lastNl, out);
    buf.copy(buf, 0, lastNl + 1, end);
    len = end - (lastNl + 1);
    if (out.length > 0) onLines(out);
  }
  if (len > 0) onLines(tailLines(buf.subarray(0, len)));
}

const CHUNK = 1 << 20;

/** A file's handle (fs/promises open), not a stream (a read stream has an fd too, and a read method of its own). */
export function isFileHandle(x: NodeJS.ReadableStream | FileHandle): x is FileHandle {
  return typeof (x as FileHandle).stat === 'function';
}

/** Reads `input` (a stream, or a file's handle) to its end, handing over lines chunk by chunk. */
export async function readLines(input: NodeJS.ReadableStream | FileHandle, onLines: (lines: string[]) => void): Promise<void> {
  if (isFileHandle(input)) return readFileLines(input, onLines);
  let held: Buffer | null = null;
  for await (const c of input as NodeJS.ReadableStream & AsyncIterable<Buffer | string>) {
    const chunk = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
    const lastNl = chunk.lastIndexOf(NL);
    if (lastNl === -1) {
      held = held === null ? Buffer.from(chunk) : Buffer.concat([held, chunk]);
      continue;
    }
    const out: string[] = [];
    let start = 0;
    if (held !== null) {
      // The line begun in an earlier chunk: joined with its end here before decoding.
      const firstNl = chunk.indexOf(NL);
      const joined = Buffer.concat([held, chunk.subarray(0, firstNl)]);
      cut(decode(joined, 0, joined.length), out);
      held = null;
      start = firstNl + 1;
    }
    if (lastNl >= start) wholeLines(chunk, start, lastNl, out);
    if (lastNl + 1 < chunk.length) held = Buffer.from(chunk.subarray(lastNl + 1));
    if (out.length > 0) onLines(out);
  }
  if (held !== null && held.length > 0) {
    // After the last newline: a line (it is not empty).
    onLines(tailLines(held));
  }
}
