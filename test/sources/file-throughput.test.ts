/**
 * The file follower's throughput on a big file (realistic HAProxy lines,
 * ~190 bytes each), consumer doing nothing: printed as a diagnostic, with a
 * floor far below the measured figure so a slow CI machine does not fail it.
 * A bigger run: FILE_THROUGHPUT_LINES=2000000 node --import tsx --test test/sources/file-throughput.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource } from '../../src/pipeline/sources/file-source.js';
import { tempDir } from './helpers.js';

const N = Number(process.env.FILE_THROUGHPUT_LINES ?? 300_000);

function haproxyLine(i: number): string {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return `<134>Jun 10 06:13:20 lb1 haproxy[812]: ${ip}:${40000 + (i % 20000)} [10/Jun/2024:06:13:20.${String(i % 1000).padStart(3, '0')}] fe_https~ be_app/app${i % 4} 0/0/1/${i % 50}/${(i % 50) + 1} 200 ${1000 + (i % 5000)} - - ---- 3/3/0/0/0 0/0 "GET /api/items/${i}?page=${i % 10} HTTP/1.1"`;
}

test(`throughput: ${N} lines from a file`, async (t) => {
  const { dir, cleanup } = tempDir('throughput');
  try {
    const path = join(dir, 'haproxy.log');
    const ws = createWriteStream(path);
    for (let i = 0; i < N; i++) {
      if (!ws.write(haproxyLine(i) + '\n')) await new Promise<void>((r) => ws.once('drain', () => r()));
    }
    await new Promise<void>((r) => ws.end(() => r()));
    const size = statSync(path).size;
    let lines = 0;
    let last = '';
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const src = new FileSource({ name: 'b', path, format: 'haproxy', startAt: 'beginning' }, {
      onLines: (b) => {
        lines += b.length;
        last = b[b.length - 1]!.line;
        if (lines >= N) done();
      },
      onError: (e) => assert.fail(e.message),
    });
    const t0 = process.hrtime.bigint();
    await src.start();
    await finished;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    await src.stop();
    assert.equal(lines, N);
    assert.equal(last, haproxyLine(N - 1));
    const rate = N / s;
    t.diagnostic(`${N} lines, ${(size / 1048576).toFixed(1)} MiB in ${(s * 1000).toFixed(0)} ms: ${Math.round(rate).toLocaleString('en-US')} lines/s, ${(size / 1048576 / s).toFixed(0)} MiB/s`);
    assert.ok(rate > 150_000, `at least the pipeline's target rate (150,000 lines/s), got ${Math.round(rate)}`);
  } finally {
    cleanup();
  }
});
