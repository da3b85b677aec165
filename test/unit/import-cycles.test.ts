/**
 * No import cycle between folders under src/ (scripts/check-imports.ts),
 * values or types: a new one fails with the chain of folders and one import
 * per edge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chainOf, cyclesOf, findFolderCycles, folderOf, formatCycle, type ImportSite } from '../../scripts/check-imports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('no import cycle between folders under src/', () => {
  assert.deepEqual(findFolderCycles(ROOT).map(formatCycle), []);
});

test('folder nodes: first level, the second under pipeline/ and haproxy/, top-level files alone', () => {
  assert.equal(folderOf('storage/migrations/001-core.ts'), 'storage');
  assert.equal(folderOf('pipeline/triage/engine.ts'), 'pipeline/triage');
  assert.equal(folderOf('pipeline/types.ts'), 'pipeline');
  assert.equal(folderOf('haproxy/runtime/maps.ts'), 'haproxy/runtime');
  assert.equal(folderOf('api/routes/domains.ts'), 'api');
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
