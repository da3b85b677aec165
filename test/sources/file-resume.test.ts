/**
 * Restart-resume: a follower stops (a clean stop saves its position in the
 * store), the file changes while it is stopped, and a new follower with the
 * same store delivers exactly the rest: nothing lost, nothing twice.
 *
 * What is feasible and what is not:
 * - appended while stopped: the rest of the file;
 * - renamed to path.1 (or further) while stopped: the rest of the old file,
 *   every newer rotation whole, then the new file;
 * - copytruncated while stopped: the rest from the copy, then the new content;
 * - deleted (or compressed away) while stopped: its unread rest is gone; the
 *   new file is read from its start and the loss is reported.
 * The store here is a JSON file (the daemon uses SQLite behind the same interface).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource } from '../../src/pipeline/sources/file-source.js';
import type { PositionStore } from '../../src/pipeline/sources/source.js';
import { Collector, JsonFilePositionStore, checkSequence, sleep, tempDir, waitFor, writerLine } from './helpers.js';

function lines(from: number, count: number): string {
  let s = '';
  for (let i = from; i < from + count; i++) s += writerLine(i) + '\n';
  return s;
}

function follower(path: string, c: Collector, store: PositionStore, extra: { maxLineBytes?: number } = {}): FileSource {
  return new FileSource({ name: 'app', path, format: 'text', startAt: 'end', pollIntervalMs: 50, rotateWaitMs: 200, ...extra }, c.deps(store));
}

async function run(body: (ctx: { path: string; store: JsonFilePositionStore }) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('resume');
  try {
    await body({ path: join(dir, 'app.log'), store: new JsonFilePositionStore(join(dir, 'positions.json')) });
  } finally {
    cleanup();
  }
}

/** Runs a follower until it has all of `count` lines, then stops it. */
async function readAll(path: string, store: PositionStore, count: number): Promise<Collector> {
  const c = new Collector();
  const src = follower(path, c, store);
  await src.start();
  await waitFor(() => c.lines.length >= count, 5000, () => `${count} lines, have ${c.lines.length}`);
  await sleep(100);
  await src.stop();
  return c;
}

test('stop after N lines (stop called from inside the consumer), write more, resume: exactly the rest', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, lines(1, 20_000));
    const first = new Collector();
    const src = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50, readChunkBytes: 16 * 1024 }, first.deps(store));
    let stopped: Promise<void> | null = null;
    first.afterBatch = (c) => {
      if (c.lines.length >= 3000 && !stopped) stopped = src.stop();
    };
    await src.start();
    await waitFor(() => stopped !== null, 5000, () => 'the stop');
    await stopped;
    const n = first.lines.length;
    assert.ok(n >= 3000 && n < 20_000, `stopped after ${n}`);
    await sleep(150);
    assert.equal(first.lines.length, n, 'nothing delivered after stop()');
    appendFileSync(path, lines(20_001, 5000));
    const second = await readAll(path, store, 25_000 - n);
    assert.equal(checkSequence([...first.texts(), ...second.texts()], 1, 25_000), null);
  });
});

test('rotation while stopped: the rest of the old file (now path.1), then the new one', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, '');
    const first = await readAll(path, store, 0);
    appendFileSync(path, lines(1, 500));
    const a = await readAll(path, store, 500);
    assert.equal(a.lines.length, 500);
    appendFileSync(path, lines(501, 300)); // written after the stop, never read
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(801, 200));
    const b = await readAll(path, store, 500);
    assert.equal(checkSequence([...first.texts(), ...a.texts(), ...b.texts()], 1, 1000), null);
  });
});

test('two rotations while stopped: path.2 from the offset, path.1 whole, then path', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, lines(1, 100));
    const c0 = new Collector();
    const s0 = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50 }, c0.deps(store));
    await s0.start();
    await waitFor(() => c0.lines.length >= 100, 5000, () => 'first 100');
    await s0.stop();
    appendFileSync(path, lines(101, 50));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(151, 50));
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(201, 50));
    const c1 = await readAll(path, store, 150);
    assert.equal(checkSequence([...c0.texts(), ...c1.texts()], 1, 250), null);
  });
});

test('copytruncate while stopped: the rest from the copy (path.1, found by its first bytes), then the new content', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, lines(1, 300));
    const c0 = new Collector();
    const s0 = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50 }, c0.deps(store));
    await s0.start();
    await waitFor(() => c0.lines.length >= 300, 5000, () => 'first 300');
    await s0.stop();
    appendFileSync(path, lines(301, 100));
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, lines(401, 100));
    const c1 = await readAll(path, store, 200);
    assert.equal(checkSequence([...c0.texts(), ...c1.texts()], 1, 500), null);
    assert.deepEqual(c1.errors, []);
  });
});

test('a partial line at the stop is read whole after the restart', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, `${writerLine(1)}\n${writerLine(2).slice(0, 6)}`);
    const c0 = new Collector();
    const s0 = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50 }, c0.deps(store));
    await s0.start();
    await waitFor(() => c0.lines.length >= 1, 5000, () => 'line 1');
    await s0.stop();
    appendFileSync(path, `${writerLine(2).slice(6)}\n${writerLine(3)}\n`);
    const c1 = await readAll(path, store, 2);
    assert.equal(checkSequence([...c0.texts(), ...c1.texts()], 1, 3), null);
  });
});

test('a line cut at the maximum and stopped in the middle of its rest: the rest is not delivered as a line', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, `${'x'.repeat(5000)}`);
    const c0 = new Collector();
    const s0 = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50, maxLineBytes: 1000 }, c0.deps(store));
    await s0.start();
    await waitFor(() => c0.lines.length >= 1, 5000, () => 'the cut line');
    await s0.stop();
    appendFileSync(path, `${'y'.repeat(3000)}\nnext\n`);
    const c1 = new Collector();
    const s1 = follower(path, c1, store, { maxLineBytes: 1000 });
    await s1.start();
    await waitFor(() => c1.lines.length >= 1, 5000, () => 'next');
    await sleep(100);
    await s1.stop();
    assert.deepEqual(c0.texts(), ['x'.repeat(1000)]);
    assert.deepEqual(c1.texts(), ['next']);
  });
});

test('deleted and re-created while stopped (no rotation left): the new file from its start, the loss reported', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, lines(1, 100));
    const c0 = new Collector();
    const s0 = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50 }, c0.deps(store));
    await s0.start();
    await waitFor(() => c0.lines.length >= 100, 5000, () => 'first 100');
    await s0.stop();
    rmSync(path);
    writeFileSync(path, lines(201, 10));
    const c1 = await readAll(path, store, 10);
    assert.equal(checkSequence(c1.texts(), 201, 10), null);
    assert.equal(c1.errors.length, 1);
    assert.equal(c1.errors[0]!.code, 'position');
  });
});

test('a saved position the source cannot read is ignored (startAt applies)', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, lines(1, 10));
    store.set(`file:${path}`, '{"v":99}');
    const c = new Collector();
    const src = follower(path, c, store);
    await src.start();
    appendFileSync(path, lines(11, 5));
    await waitFor(() => c.lines.length >= 5, 5000, () => '5 lines');
    await src.stop();
    assert.equal(checkSequence(c.texts(), 11, 5), null);
  });
});

test('stopped while a rotated file was still being drained: both rests after the restart', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, lines(1, 50));
    const c0 = new Collector();
    const s0 = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 50, rotateWaitMs: 60_000 }, c0.deps(store));
    await s0.start();
    await waitFor(() => c0.lines.length >= 50, 5000, () => 'first 50');
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(51, 50));
    await waitFor(() => c0.lines.length >= 100, 5000, () => 'first 100');
    await s0.stop();
    const saved = JSON.parse(store.get(`file:${path}`)!) as { files: unknown[] };
    assert.equal(saved.files.length, 2, 'the draining file and the new one');
    appendFileSync(`${path}.1`, lines(101, 10)); // the writer had not reopened yet
    appendFileSync(path, lines(111, 10));
    const c1 = await readAll(path, store, 20);
    assert.equal(checkSequence([...c0.texts(), ...c1.texts()], 1, 120), null);
  });
});

test('after a crash (no clean stop) nothing is lost; only lines read since the last periodic save repeat', async () => {
  await run(async ({ path, store }) => {
    writeFileSync(path, lines(1, 5000));
    // A store that stops taking writes at the "crash": what it holds is the last periodic save.
    let crashed = false;
    const crashing: PositionStore = { get: (k) => store.get(k), set: (k, v) => (crashed ? undefined : store.set(k, v)) };
    const c0 = new Collector();
    // The first poll reads the 5000 lines and saves; the next save is due 2 s later.
    const s0 = new FileSource({ name: 'app', path, format: 'text', startAt: 'beginning', pollIntervalMs: 20, saveIntervalMs: 2000 }, c0.deps(crashing));
    await s0.start();
    await waitFor(() => c0.lines.length >= 5000, 5000, () => 'first 5000');
    appendFileSync(path, lines(5001, 1000));
    await waitFor(() => c0.lines.length >= 6000, 5000, () => '6000');
    crashed = true;
    await s0.stop(); // releases the descriptors; its save is lost with the "crash"
    const c1 = new Collector();
    const s1 = follower(path, c1, store);
    await s1.start();
    await sleep(300);
    await s1.stop();
    const all = [...c0.texts(), ...c1.texts()];
    const distinct = new Set(all);
    assert.equal(distinct.size, 6000, 'every line at least once');
    assert.ok(c1.lines.length > 0 && c1.lines.length <= 1000, `repeats are what was read since the last save: ${c1.lines.length}`);
    assert.equal(checkSequence(c1.texts(), 6001 - c1.lines.length, c1.lines.length), null);
  });
});
