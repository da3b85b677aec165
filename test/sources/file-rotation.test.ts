/**
 * Rotation: 100,000 lines written by a separate writer process while the
 * follower reads, across several rename rotations (logrotate `create`) and
 * copytruncate rotations; every line must arrive once, in order.
 *
 * The writer rotates every 15,000 lines (6 rotations) and keeps 4 rotated
 * files, so the oldest are deleted while the test runs. With polling only
 * (no fs.watch, a 250 ms poll) several rotations happen between two polls:
 * that exercises reading the rotations in between (path.2 then path.1).
 *
 * copytruncate's limit, by design: bytes written between logrotate's copy
 * and its truncation are in neither file. The writer writes nothing in that
 * window (it pauses around it, as the logrotate race allows); lines written
 * before the copy but not yet read are recovered from the copy.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FileSource } from '../../src/pipeline/sources/file-source.js';
import { Collector, checkSequence, runWriter, sleep, tempDir, waitFor } from './helpers.js';

const TOTAL = 100_000;

async function rotationRun(t: TestContext, mode: 'rename' | 'copytruncate', watch: boolean): Promise<void> {
  const { dir, cleanup } = tempDir(`rot-${mode}`);
  try {
    const path = join(dir, 'haproxy.log');
    const c = new Collector();
    const src = new FileSource({ name: 't', path, format: 'haproxy', startAt: 'beginning', watch, rotateWaitMs: 300 }, c.deps());
    await src.start();
    const started = Date.now();
    await runWriter({ path, from: 1, count: TOTAL, batch: 50, sleepEvery: 2, mode, rotateEvery: 15_000, keep: 4, pauseMs: 5 });
    const wrote = Date.now() - started;
    await waitFor(() => c.lines.length >= TOTAL, 15_000, () => `${TOTAL} lines, have ${c.lines.length}: ${checkSequence(c.texts(), 1, TOTAL)}; errors: ${c.errors.map((e) => e.message).join(' | ')}`);
    await sleep(400); // anything doubled would arrive now
    await src.stop();
    const st = src.stats();
    assert.equal(checkSequence(c.texts(), 1, TOTAL), null);
    assert.equal(c.lines.length, TOTAL);
    assert.equal(st.lines, TOTAL);
    assert.equal(st.decode_errors, 0);
    assert.equal(st.truncated, 0);
    assert.deepEqual(c.errors.map((e) => e.message), []);
    t.diagnostic(`${mode} watch=${watch}: ${TOTAL} lines, writer ${wrote} ms, all delivered ${Date.now() - started} ms, ${c.batches} batches`);
  } finally {
    cleanup();
  }
}

test('rename rotation (logrotate create), fs.watch: 100,000 lines, none lost, none doubled, in order', async (t) => {
  await rotationRun(t, 'rename', true);
});

test('rename rotation, polling only: several rotations between polls, none lost or doubled', async (t) => {
  await rotationRun(t, 'rename', false);
});

test('copytruncate rotation, fs.watch: 100,000 lines, none lost, none doubled, in order', async (t) => {
  await rotationRun(t, 'copytruncate', true);
});

test('copytruncate rotation, polling only: unread lines recovered from the copy (path.2 then path.1)', async (t) => {
  await rotationRun(t, 'copytruncate', false);
});
