/**
 * The fleet units' one-run-at-a-time worker (src/fleet/worker.ts): runs never
 * overlap, a wake during a run gives exactly one more run, a wake landing in
 * the gap between a run's last check and its end is not lost, next() waits
 * for a run that began after it, occupy() holds the slot, and a failing run
 * is reported and does not stop the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialWorker } from '../../src/fleet/worker.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

test('runs never overlap; wakes during a run give one more run, not one each', async () => {
  let active = 0;
  let most = 0;
  let runs = 0;
  let release: (() => void) | null = null;
  const w = serialWorker({
    run: async () => {
      runs++;
      active++;
      most = Math.max(most, active);
      await new Promise<void>((r) => (release = r));
      active--;
    },
    onError: () => assert.fail('no error expected'),
  });
  w.wake();
  await tick();
  assert.equal(runs, 1);
  w.wake();
  w.wake();
  w.wake();
  release!();
  await tick();
  assert.equal(runs, 2, 'three wakes during the first run: one more run');
  release!();
  await w.idle();
  assert.equal(runs, 2);
  assert.equal(most, 1);
  assert.equal(w.busy, false);
});

test('a wake from a microtask right after the last run ended is not lost', async () => {
  // The gap between a run's last check and the worker's slot being freed is a
  // few microtasks wide; a wake queued at each depth around it must give a run.
  for (let depth = 0; depth < 8; depth++) {
    let runs = 0;
    const w = serialWorker({
      run: async () => {
        runs++;
        if (runs === 1) {
          let p = Promise.resolve();
          for (let i = 0; i < depth; i++) p = p.then(() => undefined);
          void p.then(() => w.wake());
        }
      },
      onError: () => assert.fail('no error expected'),
    });
    w.wake();
    for (let i = 0; i < 5; i++) await tick();
    await w.idle();
    assert.equal(runs, 2, `a wake ${depth} microtasks after the run`);
  }
});

test('next() resolves after a run that began after the call; occupy() holds the slot', async () => {
  const seen: string[] = [];
  let value = 'old';
  const w = serialWorker({ run: async () => void seen.push(value), onError: () => assert.fail('no error expected') });
  let finishJob: (() => void) | null = null;
  const job = new Promise<void>((r) => (finishJob = r));
  w.occupy(job);
  assert.equal(w.busy, true);
  value = 'new';
  const done = w.next();
  await tick();
  assert.deepEqual(seen, [], 'nothing runs beside the occupying job');
  finishJob!();
  await done;
  assert.deepEqual(seen, ['new']);
});

test('a failing run is reported and the worker goes on; nothing starts once stopped', async () => {
  const errors: unknown[] = [];
  let runs = 0;
  let stopped = false;
  const w = serialWorker({
    run: async () => {
      runs++;
      if (runs === 1) throw new Error('database away');
    },
    onError: (e) => errors.push(e),
    stopped: () => stopped,
  });
  await w.next();
  assert.equal(errors.length, 1);
  await w.next();
  assert.equal(runs, 2);
  stopped = true;
  w.wake();
  await w.next();
  assert.equal(runs, 2, 'no run after stop; next() does not hang');
});
