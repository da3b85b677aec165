/**
 * The file follower's live behaviour, deterministically: the test does its
 * file operations synchronously inside one turn of the event loop, so the
 * follower cannot poll in between and sees them as one step (as if they
 * happened between two polls).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource, type FileSourceOptions } from '../../src/pipeline/sources/file-source.js';
import { Collector, checkSequence, sleep, tempDir, waitFor, writerLine } from './helpers.js';

function lines(from: number, count: number): string {
  let s = '';
  for (let i = from; i < from + count; i++) s += writerLine(i) + '\n';
  return s;
}

async function withFollower(
  opts: Partial<FileSourceOptions>,
  body: (ctx: { path: string; dir: string; c: Collector; src: FileSource }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = tempDir('follow');
  const path = opts.path ?? join(dir, 'app.log');
  const c = new Collector();
  const src = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', rotateWaitMs: 200, pollIntervalMs: 50, ...opts }, c.deps());
  try {
    await body({ path, dir, c, src });
  } finally {
    await src.stop();
    cleanup();
  }
}

const until = (c: Collector, n: number) => waitFor(() => c.lines.length >= n, 5000, () => `${n} lines, have ${c.lines.length}`);

test('a file that appears after start is read from its start; RawLine fields', async () => {
  await withFollower({ startAt: 'end' }, async ({ path, c, src }) => {
    await src.start();
    await sleep(100);
    writeFileSync(path, lines(1, 100));
    await until(c, 100);
    assert.equal(checkSequence(c.texts(), 1, 100), null);
    const l = c.lines[0]!;
    assert.equal(l.source, 'app');
    assert.equal(l.format, 'text');
    assert.ok(Math.abs(l.receivedAt - Date.now()) < 5000);
  });
});

test('a file in a directory that does not exist yet is picked up when both appear', async () => {
  const { dir, cleanup } = tempDir('follow-dir');
  try {
    const path = join(dir, 'later', 'app.log');
    await withFollower({ path }, async ({ c, src }) => {
      await src.start();
      await sleep(100);
      mkdirSync(join(dir, 'later'));
      writeFileSync(path, lines(1, 10));
      await until(c, 10);
      appendFileSync(path, lines(11, 10));
      await until(c, 20);
      assert.equal(checkSequence(c.texts(), 1, 20), null);
    });
  } finally {
    cleanup();
  }
});

test('startAt "end" skips what is there, including a partial last line; new lines are read', async () => {
  await withFollower({ startAt: 'end' }, async ({ path, c, src }) => {
    writeFileSync(path, lines(1, 50) + writerLine(51).slice(0, 5));
    await src.start();
    appendFileSync(path, writerLine(51).slice(5) + '\n' + lines(52, 10));
    await until(c, 10);
    await sleep(100);
    assert.equal(checkSequence(c.texts(), 52, 10), null);
  });
});

test('deleted and re-created: the rest of the old file, then the new one from its start', async () => {
  await withFollower({}, async ({ path, c, src }) => {
    writeFileSync(path, lines(1, 100));
    await src.start();
    await until(c, 100);
    appendFileSync(path, lines(101, 50));
    rmSync(path);
    await sleep(120);
    writeFileSync(path, lines(151, 50));
    await until(c, 200);
    await sleep(100);
    assert.equal(checkSequence(c.texts(), 1, 200), null);
  });
});

test('rename rotation: lines written to the old file after the rename (before the writer reopens) are read', async () => {
  await withFollower({ rotateWaitMs: 500 }, async ({ path, c, src }) => {
    writeFileSync(path, lines(1, 10));
    await src.start();
    await until(c, 10);
    renameSync(path, `${path}.1`);
    writeFileSync(path, '');
    await sleep(150);
    // The writer still has the old file open: it goes on writing there, then reopens.
    appendFileSync(`${path}.1`, lines(11, 10));
    await until(c, 20);
    appendFileSync(path, lines(21, 10));
    await until(c, 30);
    assert.equal(checkSequence(c.texts(), 1, 30), null);
  });
});

test('two rename rotations between two polls: path.2 (rest), path.1 (whole), then path', async () => {
  await withFollower({}, async ({ path, c, src }) => {
    writeFileSync(path, lines(1, 10));
    await src.start();
    await until(c, 10);
    // One synchronous step: no poll can run in between.
    appendFileSync(path, lines(11, 10));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(21, 10));
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(31, 10));
    await until(c, 40);
    await sleep(150);
    assert.equal(checkSequence(c.texts(), 1, 40), null);
  });
});

test('copytruncate: lines written before the copy but not read yet are recovered from the copy', async () => {
  await withFollower({}, async ({ path, c, src }) => {
    writeFileSync(path, lines(1, 10));
    await src.start();
    await until(c, 10);
    appendFileSync(path, lines(11, 10)); // not read yet
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, lines(21, 5));
    await until(c, 25);
    await sleep(150);
    assert.equal(checkSequence(c.texts(), 1, 25), null);
    assert.deepEqual(c.errors, []);
  });
});

test('copytruncate refilled past the old offset before the poll: noticed by the first bytes', async () => {
  await withFollower({}, async ({ path, c, src }) => {
    writeFileSync(path, lines(1, 5));
    await src.start();
    await until(c, 5);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, lines(6, 50)); // far longer than what was read
    await until(c, 55);
    await sleep(150);
    assert.equal(checkSequence(c.texts(), 1, 55), null);
  });
});

test('copytruncate of a file that was empty at the last poll: the unseen copy is read first', async () => {
  await withFollower({}, async ({ path, c, src }) => {
    writeFileSync(path, '');
    writeFileSync(`${path}.1`, 'an old copy, read before start\n');
    await src.start();
    await sleep(120);
    appendFileSync(path, lines(1, 10));
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, lines(11, 5));
    await until(c, 15);
    await sleep(150);
    assert.equal(checkSequence(c.texts(), 1, 15), null);
  });
});

for (const copied of [0, 3]) {
  test(`copytruncate caught between the copy and the truncation (copy holding ${copied} lines): not read twice`, async () => {
    await withFollower({}, async ({ path, c, src }) => {
      writeFileSync(path, '');
      await src.start();
      await sleep(120);
      // One step, unseen by the follower: lines written, then logrotate creates the copy and starts filling it.
      appendFileSync(path, lines(1, 10));
      writeFileSync(`${path}.1`, lines(1, copied));
      await sleep(120);
      writeFileSync(`${path}.1`, lines(1, 10)); // the copy is complete...
      await sleep(120);
      truncateSync(path, 0); // ...and now the truncation
      appendFileSync(path, lines(11, 5));
      await until(c, 15);
      await sleep(150);
      assert.equal(checkSequence(c.texts(), 1, 15), null);
    });
  });
}

test('first sight of a file while logrotate is copying it (copytruncate): the copy is not read as well', async () => {
  await withFollower({ startAt: 'end' }, async ({ path, c, src }) => {
    await src.start();
    await sleep(120);
    writeFileSync(path, lines(1, 10));
    writeFileSync(`${path}.1`, lines(1, 3));
    await sleep(120);
    writeFileSync(`${path}.1`, lines(1, 10));
    truncateSync(path, 0);
    appendFileSync(path, lines(11, 5));
    await until(c, 15);
    await sleep(150);
    assert.equal(checkSequence(c.texts(), 1, 15), null);
  });
});

test('truncated with no copy: read from the start again, reported', async () => {
  await withFollower({}, async ({ path, c, src }) => {
    writeFileSync(path, lines(1, 20));
    await src.start();
    await until(c, 20);
    truncateSync(path, 0);
    appendFileSync(path, lines(21, 3));
    await until(c, 23);
    assert.equal(checkSequence(c.texts(), 1, 23), null);
    assert.equal(c.errors.length, 1);
    assert.match(c.errors[0]!.message, /truncated and no copy/);
    assert.equal(c.errors[0]!.code, 'io');
  });
});

test('a partial last line is held until its newline arrives', async () => {
  await withFollower({ flushPartialAfterMs: 60_000 }, async ({ path, c, src }) => {
    writeFileSync(path, 'first line\nsecond ha');
    await src.start();
    await until(c, 1);
    await sleep(200);
    assert.deepEqual(c.texts(), ['first line']);
    appendFileSync(path, 'lf of it\n');
    await until(c, 2);
    assert.deepEqual(c.texts(), ['first line', 'second half of it']);
  });
});

test('a partial last line is delivered after the quiet period', async () => {
  await withFollower({ flushPartialAfterMs: 150 }, async ({ path, c, src }) => {
    writeFileSync(path, 'whole\nno newline at the end');
    await src.start();
    await until(c, 2);
    assert.deepEqual(c.texts(), ['whole', 'no newline at the end']);
  });
});

test('polling alone (no fs.watch) follows appends', async () => {
  await withFollower({ watch: false, pollIntervalMs: 30 }, async ({ path, c, src }) => {
    writeFileSync(path, '');
    await src.start();
    for (let i = 0; i < 5; i++) {
      appendFileSync(path, lines(1 + i * 10, 10));
      await sleep(20);
    }
    await until(c, 50);
    assert.equal(checkSequence(c.texts(), 1, 50), null);
  });
});

test('stats: lines, bytes, lines_per_second, lag_bytes, last_line_at', async () => {
  await withFollower({}, async ({ path, c, src }) => {
    const text = lines(1, 1000);
    writeFileSync(path, text);
    await src.start();
    await until(c, 1000);
    const st = src.stats();
    assert.equal(st.lines, 1000);
    assert.equal(st.bytes, Buffer.byteLength(text));
    // The rate is per second of time since start (test/sources/line-rate.test.ts holds its arithmetic).
    assert.ok(st.lines_per_second > 0, String(st.lines_per_second));
    assert.equal(st.lines_per_second_10s, st.lines_per_second, 'younger than 10 s: both windows span the time since start');
    assert.equal(st.lag_bytes, 0);
    assert.ok(st.last_line_at !== null && Date.now() - st.last_line_at < 5000);
    assert.deepEqual([st.decode_errors, st.truncated, st.dropped], [0, 0, 0]);
  });
});

test('a consumer that throws is reported; the source goes on', async () => {
  await withFollower({}, async ({ path, c }) => {
    let calls = 0;
    const inner = c.deps().onLines;
    const src2 = new FileSource({ name: 'x', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50 }, {
      onLines: (b) => {
        calls++;
        if (calls === 1) throw new Error('consumer bug');
        inner(b);
      },
      onError: (e) => c.errors.push(e),
    });
    writeFileSync(path, 'a\n');
    await src2.start();
    try {
      await waitFor(() => calls >= 1, 2000, () => 'first batch');
      appendFileSync(path, 'b\n');
      await until(c, 1);
      assert.deepEqual(c.texts(), ['b']);
      assert.equal(c.errors.length, 1);
      assert.equal(c.errors[0]!.code, 'consumer');
      assert.match(c.errors[0]!.message, /consumer bug/);
    } finally {
      await src2.stop();
    }
  });
});
