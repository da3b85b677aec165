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
 * Cycles left after the redesign's first step (issue 9), to be emptied by the
 * next: the edges that keep most of them are
 * - `pipeline` -> everything: pipeline/monitor.ts lives beside pipeline/types.ts,
 *   which every pipeline sub-folder, notify, ops and haproxy/watchdog.ts import;
 *   moving monitor.ts (or types.ts) out of `pipeline` cuts every cycle through it;
 * - `storage -> pipeline/policy`: storage/actions.ts imports the ActionRecord type;
 * - `pipeline/policy <-> pipeline/actions`: records check names against the
 *   registry, the executor decides through the policy;
 * - `config -> notify`, `config -> pipeline/*`: config/schema.ts gathers the
 *   sub-schemas while those folders read the config's types.
 */
const ALLOWED = new Set([
  'config -> notify -> pipeline -> config',
  'config -> notify -> pipeline/actions -> config',
  'config -> pipeline/analysis -> pipeline -> config',
  'config -> pipeline/analysis -> pipeline/clustering -> pipeline -> config',
  'config -> pipeline/parse -> pipeline -> config',
  'notify -> pipeline -> notify',
  'notify -> pipeline/actions -> pipeline -> notify',
  'notify -> storage -> pipeline/policy -> pipeline -> notify',
  'pipeline -> pipeline/clustering -> pipeline',
  'pipeline -> pipeline/parse -> pipeline',
  'pipeline -> pipeline/sources -> pipeline',
  'pipeline -> pipeline/triage -> pipeline',
  'pipeline -> pipeline/triage -> pipeline/parse -> pipeline',
  'pipeline -> storage -> pipeline/policy -> pipeline',
  'pipeline/actions -> pipeline/policy -> pipeline/actions',
  'pipeline/actions -> storage -> pipeline/policy -> pipeline/actions',
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
