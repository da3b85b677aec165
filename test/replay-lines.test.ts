/**
 * replay-lines.ts gives the lines readline gives (crlfDelay: Infinity) for
 * the same bytes, whatever the chunking: plain ASCII (each line decoded on
 * its own), carriage returns, UTF-8 and invalid bytes, empty lines, a last
 * line without a newline, lines cut across chunks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { readLines } from '../src/cli/replay-lines.js';

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

test('replay lines are the lines readline gives, for any chunking', async () => {
  for (const [name, buf] of INPUTS) {
    for (const size of [1, 2, 3, 7, 64, 1 << 20]) {
      assert.deepEqual(await viaReadLines(buf, size), await viaReadline(buf, size), `${name}, chunks of ${size}`);
    }
  }
});
