/**
 * Garbage input: binary data, a 1 MB line, a truncated last line, latin-1
 * bytes, NUL holes. Each is counted (decode_errors, truncated, dropped) and
 * skipped or repaired; the lines around it arrive intact and nothing throws.
 * Also the line splitter alone, with every chunk boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FileSource } from '../../src/pipeline/sources/file-source.js';
import { LineSplitter, type SplitCounters } from '../../src/pipeline/sources/line-splitter.js';
import { Collector, sleep, tempDir, waitFor } from './helpers.js';

async function follow(content: Buffer | string, opts: { maxLineBytes?: number; flushPartialAfterMs?: number; waitFor?: string } = {}) {
  const { dir, cleanup } = tempDir('garbage');
  const path = join(dir, 'app.log');
  const c = new Collector();
  const src = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 30, ...opts }, c.deps());
  try {
    writeFileSync(path, content);
    appendFileSync(path, 'END\n');
    await src.start();
    const last = opts.waitFor ?? 'END';
    await waitFor(() => c.texts().includes(last), 5000, () => `the line ${last}; have ${c.lines.length} lines`);
    await sleep(50);
    return { c, st: src.stats() };
  } finally {
    await src.stop();
    cleanup();
  }
}

test('binary garbage between good lines: counted and dropped, the good lines intact', async () => {
  const garbage = randomBytes(200_000);
  const { c, st } = await follow(Buffer.concat([Buffer.from('before\n'), garbage, Buffer.from('\nafter\n')]));
  const texts = c.texts();
  assert.equal(texts[0], 'before');
  assert.deepEqual(texts.slice(-2), ['after', 'END']);
  assert.ok(st.dropped > 0, 'binary lines dropped');
  assert.ok(st.decode_errors >= st.dropped);
  // What got through is text with U+FFFD where the bytes were bad, never a NUL.
  for (const t of texts) assert.ok(!t.includes('\u0000'));
  assert.equal(st.lines, texts.length);
});

test('a 1 MB line is cut to 64 KiB and counted; the next line is intact', async () => {
  const { c, st } = await follow(`short\n${'A'.repeat(1024 * 1024)}\nnext\n`);
  assert.deepEqual(
    c.texts().map((t) => t.length),
    [5, 64 * 1024, 4, 3],
  );
  assert.equal(st.truncated, 1);
  assert.equal(c.texts()[2], 'next');
});

test('a 1 MB line written without its newline for a while: cut once, the rest skipped, memory bounded', async () => {
  const { dir, cleanup } = tempDir('garbage-long');
  const path = join(dir, 'app.log');
  const c = new Collector();
  const src = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 20, maxLineBytes: 4096 }, c.deps());
  try {
    writeFileSync(path, '');
    await src.start();
    for (let i = 0; i < 16; i++) {
      appendFileSync(path, 'B'.repeat(64 * 1024));
      await sleep(5);
    }
    appendFileSync(path, '\nnext\n');
    await waitFor(() => c.texts().includes('next'), 5000, () => 'next');
    assert.deepEqual(c.texts(), ['B'.repeat(4096), 'next']);
    assert.equal(src.stats().truncated, 1);
  } finally {
    await src.stop();
    cleanup();
  }
});

test('a cut never splits a UTF-8 character', async () => {
  const { c, st } = await follow(`${'é'.repeat(40_000)}\n`, { maxLineBytes: 65_535 });
  assert.equal(c.texts()[0], 'é'.repeat(32_767));
  assert.equal(st.truncated, 1);
  assert.equal(st.decode_errors, 0);
});

test('latin-1 bytes become U+FFFD, the line is delivered and counted', async () => {
  const latin1 = Buffer.from('GET /caf\xe9 user=J\xfcrgen\n', 'latin1');
  const { c, st } = await follow(latin1);
  assert.deepEqual(c.texts(), ['GET /caf\uFFFD user=J\uFFFDrgen', 'END']);
  assert.equal(st.decode_errors, 1);
  assert.equal(st.dropped, 0);
});

test('a truncated last line (no newline, never completed) is delivered after the quiet period', async () => {
  const { dir, cleanup } = tempDir('garbage-partial');
  const path = join(dir, 'app.log');
  const c = new Collector();
  const src = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 20, flushPartialAfterMs: 100 }, c.deps());
  try {
    writeFileSync(path, 'complete\n2024-01-01 ERROR the write was cu');
    await src.start();
    await waitFor(() => c.lines.length >= 2, 5000, () => '2 lines');
    assert.deepEqual(c.texts(), ['complete', '2024-01-01 ERROR the write was cu']);
  } finally {
    await src.stop();
    cleanup();
  }
});

test('a NUL hole (copytruncate with a writer without O_APPEND) does not swallow the line after it', async () => {
  const { c, st } = await follow(Buffer.concat([Buffer.alloc(10_000), Buffer.from('real line\n'), Buffer.alloc(100), Buffer.from('\n')]));
  assert.deepEqual(c.texts(), ['real line', 'END']);
  assert.equal(st.dropped, 1, 'the NUL-only line');
});

test('CRLF line ends: the CR is dropped', async () => {
  const { c } = await follow('one\r\ntwo\r\n');
  assert.deepEqual(c.texts(), ['one', 'two', 'END']);
});

// ---- the splitter alone ------------------------------------------------------

function splitAll(chunks: Buffer[], max = 64 * 1024): { out: string[]; n: SplitCounters; pending: number } {
  const n: SplitCounters = { decode_errors: 0, truncated: 0, dropped: 0 };
  const s = new LineSplitter(max, n);
  const out: string[] = [];
  for (const ch of chunks) s.push(ch, out);
  return { out, n, pending: s.pendingBytes };
}

test('splitter: the same lines whatever the chunk boundaries (multi-byte characters split too)', () => {
  const text = Buffer.from('α line one\nbeta ünïcödé 😀\n\nlast 😀 line\npartial ü');
  const whole = splitAll([text]);
  assert.deepEqual(whole.out, ['α line one', 'beta ünïcödé 😀', '', 'last 😀 line']);
  assert.equal(whole.pending, Buffer.byteLength('partial ü'));
  for (let a = 0; a <= text.length; a++) {
    for (let b = a; b <= text.length; b += 3) {
      const r = splitAll([text.subarray(0, a), text.subarray(a, b), text.subarray(b)]);
      assert.deepEqual(r.out, whole.out, `split at ${a},${b}`);
      assert.equal(r.n.decode_errors, 0, `split at ${a},${b}`);
    }
  }
});

test('splitter: overlong lines cut across chunks exactly once; invalid bytes counted once per line', () => {
  const long = Buffer.from(`${'x'.repeat(100)}\nok\n`);
  for (let cut = 1; cut < long.length; cut += 7) {
    const r = splitAll([long.subarray(0, cut), long.subarray(cut)], 30);
    assert.deepEqual(r.out, ['x'.repeat(30), 'ok'], `cut at ${cut}`);
    assert.equal(r.n.truncated, 1);
  }
  const bad = splitAll([Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a, 0x63, 0x0a])]);
  assert.deepEqual(bad.out, ['a\uFFFD\uFFFDb', 'c']);
  assert.equal(bad.n.decode_errors, 1);
});

test('splitter: random bytes never throw, and every byte is accounted for', () => {
  for (let i = 0; i < 200; i++) {
    const buf = randomBytes(1 + Math.floor(Math.random() * 5000));
    const at = Math.floor(Math.random() * buf.length);
    const r = splitAll([buf.subarray(0, at), buf.subarray(at)], 512);
    const newlines = buf.filter((b) => b === 10).length;
    assert.ok(r.out.length + r.n.dropped <= newlines + 1, 'no line out of nothing');
    for (const l of r.out) assert.ok(Buffer.byteLength(l) <= 512 * 3);
  }
});
