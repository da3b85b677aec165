/**
 * The novelty helper (src/pipeline/clustering/novelty.ts): a template never
 * seen before is reported once, nothing is reported during a source's
 * warm-up, and a burst of one template against its usual rate is reported
 * once per window, all on event time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNoveltyDetector, type AppLine, type NoveltyEvent } from '../../src/pipeline/clustering/novelty.js';

const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;

function feed(d: ReturnType<typeof createNoveltyDetector>, lines: AppLine[]): NoveltyEvent[] {
  const out: NoveltyEvent[] = [];
  for (const l of lines) {
    const e = d.observe(l);
    if (e) out.push(e);
  }
  return out;
}

const known = (i: number, source = 'api'): AppLine => ({ source, time: T0 + i * 1000, message: `request ${i} served in ${i % 90}ms for client 10.0.0.${i % 250}` });

describe('new templates', () => {
  test('a template never seen before is reported once, with its id, template and sample', () => {
    const d = createNoveltyDetector();
    const first = d.observe(known(1));
    assert.equal(first?.kind, 'new_template');
    assert.equal(first?.template, 'request <*> served in <*> for client <*>');
    assert.equal(d.observe(known(2)), null);
    const e = d.observe({ source: 'api', time: T0 + 5000, message: 'database connection lost: timeout after 30s' });
    assert.deepEqual(
      { kind: e?.kind, source: e?.source, count: e?.count, sample: e?.sample, time: e?.time },
      { kind: 'new_template', source: 'api', count: 1, sample: 'database connection lost: timeout after 30s', time: T0 + 5000 },
    );
    assert.equal(d.observe({ source: 'api', time: T0 + 6000, message: 'database connection lost: timeout after 12s' }), null);
    assert.equal(d.stats().reported, 2);
  });

  test('nothing is reported during warm-up; templates learned then are known after it', () => {
    const d = createNoveltyDetector({ warmupLines: 50 });
    const lines: AppLine[] = [];
    for (let i = 0; i < 50; i++) lines.push(i % 10 === 0 ? { source: 'api', time: T0 + i, message: `cache miss for key user:${i}` } : known(i));
    assert.deepEqual(feed(d, lines), []);
    assert.equal(d.observe(known(51)), null);
    assert.equal(d.observe({ source: 'api', time: T0 + 99, message: 'cache miss for key user:999' }), null);
    assert.equal(d.observe({ source: 'api', time: T0 + 100, message: 'disk full on /var' })?.kind, 'new_template');
  });

  test('warm-up is per source', () => {
    const d = createNoveltyDetector({ warmupLines: 3 });
    feed(d, [known(1, 'api'), known(2, 'api'), known(3, 'api')]);
    assert.equal(d.observe({ source: 'api', time: T0, message: 'segfault in worker' })?.kind, 'new_template');
    assert.equal(d.observe({ source: 'billing', time: T0, message: 'segfault in worker' }), null, 'billing is still warming up');
  });

  test('a restart with warm-up does not report what the previous run knew', () => {
    const history: AppLine[] = [];
    for (let i = 0; i < 300; i++) history.push(i % 3 === 0 ? { source: 'api', time: T0 + i * 1000, message: `user ${i} logged in from 10.1.1.${i % 200}` } : known(i));
    const before = createNoveltyDetector();
    assert.equal(feed(before, history).length, 2);
    const after = createNoveltyDetector({ warmupLines: 100 });
    assert.deepEqual(feed(after, history), []);
  });

  test('a word variant of a known template is reported with variantOf', () => {
    const d = createNoveltyDetector();
    const a = d.observe({ source: 'app', time: T0, message: 'Segment s_1 flushed to disk early (size 5 KB)' });
    const b = d.observe({ source: 'app', time: T0, message: 'Segment s_2 flushed to memory early (size 9 KB)' });
    assert.equal(b?.kind, 'new_template');
    assert.equal(b?.variantOf, a?.templateId);
  });
});

describe('bursts', () => {
  const err = (t: number, i: number): AppLine => ({ source: 'api', time: t, message: `upstream 10.0.0.${i % 200}:8080 timed out after ${i % 5000}ms` });

  test('one template far above its usual rate is reported once per window', () => {
    const d = createNoveltyDetector({ burstWindowMs: MIN, burstMinCount: 20, burstFactor: 10 });
    const lines: AppLine[] = [];
    // Two a minute for 20 minutes, then 60 in minute 20, then 60 in minute 21.
    for (let m = 0; m < 20; m++) for (let k = 0; k < 2; k++) lines.push(err(T0 + m * MIN + k * 1000, m * 2 + k));
    for (let m = 20; m < 22; m++) for (let k = 0; k < 60; k++) lines.push(err(T0 + m * MIN + k * 500, m * 60 + k));
    const events = feed(d, lines);
    assert.equal(events[0]?.kind, 'new_template');
    const bursts = events.filter((e) => e.kind === 'burst');
    assert.equal(bursts.length, 1, JSON.stringify(bursts));
    const b = bursts[0]!;
    assert.equal(b.count, 21, 'reported on the first line above 10 x usual (2/min)');
    assert.equal(b.windowMs, MIN);
    assert.ok(b.baseline! > 1.5 && b.baseline! < 2.5, `baseline ${b.baseline}`);
    assert.ok(b.time >= T0 + 20 * MIN && b.time < T0 + 21 * MIN);
    assert.equal(b.template, 'upstream <*> timed out after <*>');
  });

  test('a steady high rate is not a burst, and neither is a new template\'s first window', () => {
    const d = createNoveltyDetector({ burstWindowMs: MIN, burstMinCount: 20, burstFactor: 10 });
    const lines: AppLine[] = [];
    for (let m = 0; m < 10; m++) for (let k = 0; k < 100; k++) lines.push(err(T0 + m * MIN + k * 100, m * 100 + k));
    const events = feed(d, lines);
    assert.deepEqual(events.map((e) => e.kind), ['new_template']);
  });

  test('quiet minutes lower the usual rate', () => {
    const d = createNoveltyDetector({ burstWindowMs: MIN, burstMinCount: 20, burstFactor: 10 });
    const lines: AppLine[] = [];
    for (let k = 0; k < 30; k++) lines.push(err(T0 + k * 100, k)); // 30 in minute 0
    for (let k = 0; k < 5; k++) lines.push(err(T0 + MIN + k * 100, k)); // a few in minute 1
    for (let k = 0; k < 40; k++) lines.push(err(T0 + 60 * MIN + k * 100, k)); // an hour later
    const bursts = feed(d, lines).filter((e) => e.kind === 'burst');
    assert.equal(bursts.length, 1);
    assert.ok(bursts[0]!.baseline! < 2, `baseline ${bursts[0]!.baseline}`);
  });

  test('nothing is reported during warm-up, but the rate is learned', () => {
    const d = createNoveltyDetector({ warmupLines: 1000, burstWindowMs: MIN });
    const lines: AppLine[] = [];
    for (let m = 0; m < 5; m++) for (let k = 0; k < 100; k++) lines.push(err(T0 + m * MIN + k * 100, k));
    assert.deepEqual(feed(d, lines), []);
  });

  test('event time, not the wall clock: a replay gives the same answer', () => {
    const lines: AppLine[] = [];
    for (let m = 0; m < 15; m++) for (let k = 0; k < (m === 12 ? 80 : 3); k++) lines.push(err(T0 + m * MIN + k * 200, k));
    lines.push({ source: 'api', time: T0 + 14 * MIN, message: 'kernel: Out of memory: Killed process 1234 (node)' });
    const a = feed(createNoveltyDetector(), lines);
    const b = feed(createNoveltyDetector(), lines);
    assert.deepEqual(a, b);
    assert.deepEqual(a.map((e) => e.kind), ['new_template', 'burst', 'new_template']);
  });
});

describe('bounds', () => {
  test('sources beyond maxSources are forgotten, least recently seen first', () => {
    const d = createNoveltyDetector({ maxSources: 2 });
    d.observe(known(1, 'a'));
    d.observe(known(1, 'b'));
    d.observe(known(2, 'a'));
    d.observe(known(1, 'c'));
    assert.equal(d.stats().sources, 2);
    assert.ok(d.miner('a') && d.miner('c'));
    assert.equal(d.miner('b'), undefined);
  });

  test('templates per source stay under the miner cap', () => {
    const d = createNoveltyDetector({ miner: { maxTemplates: 50 } });
    for (let i = 0; i < 5000; i++) d.observe({ source: 's', time: T0 + i, message: `event${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + ((i / 26) | 0) % 26)}${String.fromCharCode(97 + ((i / 676) | 0) % 26)} happened` });
    assert.ok(d.stats().templates <= 50);
  });
});
