/**
 * replay-lines.ts gives the lines readline gives (crlfDelay: Infinity) for
 * the same bytes, whatever the chunking: plain ASCII (each line decoded on
 * its own), carriage returns, UTF-8 and invalid bytes, empty lines, a last
 * line without a newline, lines cut across chunks. So do a sharded replay's
 * blocks in shared memory (replay-blocks.ts, cut with linesOf), including a
 * line longer than a block, with every buffer given back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linesOf, readLines } from '../src/cli/replay-lines.js';
import { createBlockReader } from '../src/cli/replay-blocks.js';

async function viaReadline(buf: Buffer, size: number): Promise<string[]> {
  const out: string[] = [];
  const rl = createInterface({ input: Readable.from(chunks(buf, size)), crlfDelay: Infinity });
  for await (const l of rl) out.push(l);
  return out;
}

async function viaReadLines(buf: Buffer, size: number): Promise<string[]> {
  const out: string[] = [];
  await readLines(Readable.from(chunks(buf, size)), (ls) => out.push(...ls));
  return out;
}

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const INPUTS: [string, Buffer][] = [
  ['plain ASCII', Buffer.from('GET / 200\nPOST /login 401\n\n<134>1 2026-11-25T06:00:00Z lb1 haproxy 1 - - a b c\nlast without newline')],
  ['plain ASCII ending in a newline', Buffer.from('a\nbb\nccc\n\n')],
  ['carriage returns', Buffer.from('a\r\nb\rc\r\n\r\nd\r')],
  ['UTF-8 and invalid bytes', Buffer.concat([Buffer.from('caf\u00e9 \u2603\nx'), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from('\u00fcber\n')])],
  ['mixed', Buffer.from(Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `l\u00e9${i}` : i % 11 === 0 ? `cr${i}\r` : `line ${i} ${'x'.repeat(i % 50)}`)).join('\n'))],
];

async function viaFileHandle(buf: Buffer): Promise<string[]> {
  const out: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hm-lines-'));
  writeFileSync(join(dir, 'f'), buf);
  const fh = await open(join(dir, 'f'), 'r');
  try {
    await readLines(fh, (ls) => out.push(...ls));
  } finally {
    await fh.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

test('replay lines are the lines readline gives, for any chunking, and read from a file handle', async () => {
  const long = Buffer.from(`a\n${'x'.repeat(3 << 20)}\nb\n${'y'.repeat(1 << 20)}`);
  for (const [name, buf] of [...INPUTS, ['lines longer than the buffer', long] as [string, Buffer]]) {
    for (const size of buf.length > 100_000 ? [1 << 20] : [1, 2, 3, 7, 64, 1 << 20]) {
      assert.deepEqual(await viaReadLines(buf, size), await viaReadline(buf, size), `${name}, chunks of ${size}`);
    }
    assert.deepEqual(await viaFileHandle(buf), await viaReadline(buf, 1 << 20), `${name}, from a file`);
  }
});

/** Lines through a block reader, from a stream of chunks of `size`, or (size 0) from a file's handle. */
async function viaBlocks(buf: Buffer, size: number): Promise<{ lines: string[]; blocks: number }> {
  const out: string[] = [];
  let blocks = 0;
  // Two buffers: each block is given back before the next is needed, as the sharded replay does once every shard has answered.
  const reader = createBlockReader(2);
  const onBlock = (b: { bytes: SharedArrayBuffer; length: number; last: boolean }) => {
    blocks++;
    out.push(...linesOf(Buffer.from(b.bytes, 0, b.length), b.last));
    reader.release(b.bytes);
  };
  if (size > 0) await reader.read(Readable.from(chunks(buf, size)), onBlock);
  else {
    const dir = mkdtempSync(join(tmpdir(), 'hm-blocks-'));
    const fh = await (writeFileSync(join(dir, 'f'), buf), open(join(dir, 'f'), 'r'));
    try {
      await reader.read(fh, onBlock);
    } finally {
      await fh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { lines: out, blocks };
}

test('the blocks of a sharded replay hold the lines readline gives, for any chunking, with lines longer than a block', async () => {
  const long = 'L'.repeat(5 * (1 << 20) / 2);
  const inputs: [string, Buffer][] = [
    ...INPUTS,
    ['empty', Buffer.alloc(0)],
    ['a line longer than a block, between short ones', Buffer.from(`first\n${long}\nlast\n`)],
    ['a long last line without a newline', Buffer.from(`first\n${long}`)],
    ['many blocks', Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i} ${'y'.repeat(i % 90)}`).join('\n') + '\n')],
  ];
  for (const [name, buf] of inputs) {
    const sizes = buf.length > 100_000 ? [65_536, 1 << 20, 0] : [1, 3, 64, 1 << 20, 0];
    for (const size of sizes) {
      const got = await viaBlocks(buf, size);
      assert.deepEqual(got.lines, await viaReadline(buf, size || 1 << 20), size ? `${name}, chunks of ${size}` : `${name}, from a file`);
      if (buf.length > 3 << 20) assert.ok(got.blocks >= 2, `${name}: cut into blocks (${got.blocks})`);
    }
  }
});

test('a block reader waits for a buffer to come back, and a failure stops the wait', async () => {
  const reader = createBlockReader(2);
  const held: SharedArrayBuffer[] = [];
  const lines = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `line ${i} ${'z'.repeat(40)}`).join('\n') + '\n');
  const reading = reader.read(Readable.from(chunks(lines, 1 << 20)), (b) => void held.push(b.bytes));
  // The first block is never given back and the second buffer fills: the reader waits; a shard failing ends the wait with its error.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(held.length, 1);
  reader.abort(new Error('shard 1 stopped'));
  await assert.rejects(reading, /shard 1 stopped/);
});
