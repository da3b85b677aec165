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
import { createBlockReader } from './replay-blocks.js';

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
 * Reads `input` (a stream, or a file's handle) to its end, handing over
 * lines block by block, with the block's size in bytes: the blocks of replay-blocks.ts (two buffers used in
 * turn; every line is decoded into a string of its own, so a block's buffer
 * goes back at once), the reader a sharded replay uses too.
 */
export async function readLines(input: NodeJS.ReadableStream | FileHandle, onLines: (lines: string[], bytes: number) => void): Promise<void> {
  const reader = createBlockReader(2);
  await reader.read(input, (b) => {
    const lines = linesOf(Buffer.from(b.bytes, 0, b.length), b.last);
    reader.release(b.bytes);
    if (lines.length > 0) onLines(lines, b.length);
  });
}
