/**
 * No import cycle between folders under src/ (scripts/check-imports.ts), other
 * than the explicit allow-list below: each entry waits for a change outside
 * the storage package. Remove an entry when its cycle is gone; the goal is an
 * empty list, and a new cycle fails at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chainOf, cyclesOf, findFolderCycles, folderOf, formatCycle, type ImportSite } from '../../scripts/check-imports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Cycles known on the day this test was written, and the edges that keep them:
 * - `pipeline` -> everything: src/pipeline/monitor.ts (the lead's) lives beside
 *   pipeline/types.ts, which every pipeline sub-folder and notify, ops,
 *   haproxy/watchdog.ts import; monitor.ts imports config, storage, notify,
 *   pipeline/sources. Moving monitor.ts (or types.ts) out of `pipeline` cuts
 *   every cycle through `pipeline`.
 * - `storage -> pipeline/policy`: src/storage/actions.ts (a colleague's)
 *   imports the ActionRecord type from pipeline/policy/actions.ts.
 * - `notify -> ops`: src/notify/acted.ts imports ops/remediation.js.
 * - `config -> notify`, `config -> pipeline/*`: src/config/schema.ts
 *   gathers the sub-schemas; `ops -> config`, `haproxy -> config` (apply.ts,
 *   the lead's) read the config's types.
 */
const ALLOWED = new Set([
  'config -> notify -> ops -> config',
  'config -> notify -> ops -> haproxy -> config',
  'config -> notify -> pipeline -> config',
  'config -> pipeline/analysis -> pipeline -> config',
  'config -> pipeline/parse -> pipeline -> config',
  'haproxy -> pipeline -> notify -> ops -> haproxy',
  'haproxy -> storage -> pipeline/policy -> pipeline -> notify -> ops -> haproxy',
  'notify -> ops -> pipeline -> notify',
  'notify -> ops -> pipeline/analysis -> pipeline -> notify',
  'notify -> ops -> pipeline/policy -> pipeline -> notify',
  'notify -> ops -> storage -> pipeline/policy -> pipeline -> notify',
  'notify -> pipeline -> notify',
  'notify -> storage -> pipeline/policy -> pipeline -> notify',
  'pipeline -> pipeline/parse -> pipeline',
  'pipeline -> pipeline/sources -> pipeline',
  'pipeline -> pipeline/triage -> pipeline',
  'pipeline -> pipeline/triage -> pipeline/parse -> pipeline',
  'pipeline -> storage -> pipeline/policy -> pipeline',
]);

test('no import cycle between folders under src/ beyond the allow-list', () => {
  const cycles = findFolderCycles(ROOT);
  const unexpected = cycles.filter((c) => !ALLOWED.has(chainOf(c)));
  assert.deepEqual(unexpected.map(formatCycle), []);
});

test('storage and notify no longer import each other', () => {
  const cycles = findFolderCycles(ROOT).map(chainOf);
  assert.ok(!cycles.includes('notify -> storage -> notify'), 'notify -> storage -> notify');
  assert.ok(!cycles.some((c) => c.includes('storage -> notify')), 'no cycle has storage importing notify');
});

test('folder nodes: first level, the second under pipeline/, top-level files alone', () => {
  assert.equal(folderOf('storage/migrations/001-core.ts'), 'storage');
  assert.equal(folderOf('pipeline/triage/engine.ts'), 'pipeline/triage');
  assert.equal(folderOf('pipeline/monitor.ts'), 'pipeline');
  assert.equal(folderOf('daemon.ts'), 'daemon.ts');
});

test('cycles are found, once each, with an example import per edge', () => {
  const site = (file: string): ImportSite => ({ file, line: 1, specifier: `./${file}` });
  const edges = new Map([
    ['a', new Map([['b', site('a-b')]])],
    ['b', new Map([['c', site('b-c')], ['a', site('b-a')]])],
    ['c', new Map([['a', site('c-a')]])],
    ['d', new Map([['a', site('d-a')]])],
  ]);
  const cycles = cyclesOf(edges);
  assert.deepEqual(cycles.map(chainOf), ['a -> b -> a', 'a -> b -> c -> a']);
  assert.deepEqual(cycles[1]!.examples.map((e) => e.file), ['a-b', 'b-c', 'c-a']);
  assert.deepEqual(cyclesOf(new Map([['a', new Map([['b', site('a-b')]])]])), []);
});
