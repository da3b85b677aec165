/**
 * KeyIndex (the typed-array index of a rule's keys) against a Map doing the
 * same inserts, lookups and removals; and KeyTable's eviction through it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyIndex } from '../../src/pipeline/triage/key-index.js';
import { KeyTable } from '../../src/pipeline/triage/windows.js';

/** A small deterministic generator (tests must not depend on Math.random). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

test('KeyIndex agrees with a Map over 200,000 random inserts, lookups and removals', () => {
  const r = rng(7);
  const keys: string[] = [];
  const free: number[] = [];
  const idx = new KeyIndex((slot) => keys[slot] as string);
  const model = new Map<string, number>();
  for (let op = 0; op < 200_000; op++) {
    // Few distinct keys so that runs collide, are removed from their middle and re-filled.
    const k = `10.${Math.floor(r() * 4)}.${Math.floor(r() * 40)}.${Math.floor(r() * 20)}`;
    const h = KeyIndex.hash(k);
    const at = idx.find(k, h);
    assert.equal(at, model.get(k) ?? -1, `find ${k} at op ${op}`);
    if (at === -1 && r() < 0.6) {
      const slot = free.length ? (free.pop() as number) : keys.length;
      // A fresh string object: lookups compare by value.
      keys[slot] = (' ' + k).slice(1);
      idx.insert(h, slot);
      model.set(k, slot);
    } else if (at !== -1 && r() < 0.5) {
      idx.remove(k, h);
      model.delete(k);
      free.push(at);
    }
    assert.equal(idx.size, model.size);
  }
  for (const [k, slot] of model) assert.equal(idx.find(k, KeyIndex.hash(k)), slot);
  // Removing what is not there changes nothing.
  idx.remove('192.0.2.1', KeyIndex.hash('192.0.2.1'));
  assert.equal(idx.size, model.size);
});

test('KeyTable at its cap evicts through the index: a busy key survives a spray, evicted keys are gone', () => {
  const t = new KeyTable(100, () => {});
  const busy = t.get('203.0.113.9');
  busy.n = 42;
  for (let i = 0; i < 10_000; i++) {
    t.get(`198.51.${i >> 8}.${i & 255}`);
    // The busy key is hit between the spray's addresses (CLOCK's second chance).
    if (i % 50 === 0) assert.equal(t.get('203.0.113.9').n, 42);
  }
  assert.equal(t.size, 100);
  assert.equal(t.evicted, 10_001 - 100);
  assert.equal(t.get('203.0.113.9'), busy);
  // An early sprayed key was evicted: asking again gives a fresh state.
  const again = t.get('198.51.0.0');
  assert.equal(again.n, 0);
  assert.equal(again.last, -Infinity);
  assert.equal(t.size, 100);
  assert.equal([...t.states()].length, 100);
});
