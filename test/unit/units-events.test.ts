/** The composition root's parts: units start in order and stop in reverse; the bus isolates listeners. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUnits, type Unit } from '../../src/units.js';
import { createEventBus } from '../../src/events.js';
import { createLogger } from '../../src/log.js';

const quietLog = (lines: string[] = []) => createLogger({ level: 'debug', format: 'text', priorityPrefix: false, write: (_l, line) => lines.push(line) });

const unit = (name: string, seen: string[], fail = false): Unit => ({
  name,
  start() {
    seen.push(`start ${name}`);
    if (fail) throw new Error(`${name} broke`);
  },
  stop() {
    seen.push(`stop ${name}`);
  },
});

test('units start in order and stop in reverse through one teardown', async () => {
  const seen: string[] = [];
  const r = await startUnits([unit('a', seen), unit('b', seen), unit('c', seen)], quietLog());
  await r.stop();
  assert.deepEqual(seen, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  await r.stop();
  assert.equal(seen.length, 6, 'stopping twice stops nothing twice');
});

test('a unit that fails to start is stopped with those before it, in reverse, and the error surfaces', async () => {
  const seen: string[] = [];
  await assert.rejects(startUnits([unit('a', seen), unit('b', seen, true), unit('c', seen)], quietLog()), /b broke/);
  assert.deepEqual(seen, ['start a', 'start b', 'stop b', 'stop a']);
});

test('a stop that throws is logged and the rest still stop', async () => {
  const seen: string[] = [];
  const lines: string[] = [];
  const bad: Unit = { name: 'bad', start() {}, stop() { throw new Error('cannot stop'); } };
  const r = await startUnits([unit('a', seen), bad, unit('c', seen)], quietLog(lines));
  await r.stop();
  assert.deepEqual(seen, ['start a', 'start c', 'stop c', 'stop a']);
  assert.ok(lines.some((l) => /stopping bad failed/.test(l)));
});

test('the bus: a listener that throws or rejects is logged and never stops the others', async () => {
  const lines: string[] = [];
  const bus = createEventBus<{ incident: { id: number } }>(quietLog(lines));
  const got: string[] = [];
  bus.on('incident', 'notify', () => {
    throw new Error('smtp exploded');
  });
  bus.on('incident', 'remediation', async (p) => {
    got.push(`block for ${p.id}`);
  });
  bus.on('incident', 'analysis', () => Promise.reject(new Error('queue full')));
  bus.on('incident', 'last', (p) => got.push(`last ${p.id}`));
  assert.doesNotThrow(() => bus.emit('incident', { id: 7 }));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, ['block for 7', 'last 7']);
  assert.ok(lines.some((l) => /incident listener failed: notify/.test(l) && /smtp exploded/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /incident listener failed: analysis/.test(l) && /queue full/.test(l)));
});
