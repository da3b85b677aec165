/**
 * The conditions behaviour rules need, through the engine with hand-built
 * lines: `seen_once` (values seen once and quiet since), `per` (counted
 * separately within a subject, findings still naming the subject) and
 * `distinct` over the query string; and what the schema refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { ruleSchema, SEEN_ONCE_HOLD } from '../../src/pipeline/triage/schema.js';
import { SeenOnceWindow, SubjectState } from '../../src/pipeline/triage/windows.js';
import { http, rule, T0 } from './helpers.js';

const S = 1000;
const uaChurn = () =>
  createTriage([rule({ condition: { type: 'distinct', field: 'user_agent', threshold: 5, window: '10m', seen_once: '1m' } })]);

test('seen_once: fresh values that never come back fire once the threshold-th is quiet for the given time', () => {
  const t = uaChurn();
  for (let i = 0; i < 5; i++) assert.equal(t.process(http(T0 + i * S, { user_agent: `bot/${i}` }), 'haproxy').length, 0, `fresh ${i}`);
  // 59 s after the fifth: only four are a minute old.
  assert.equal(t.process(http(T0 + 63 * S, { user_agent: 'bot/5' }), 'haproxy').length, 0);
  const f = t.process(http(T0 + 64 * S, { user_agent: 'bot/6' }), 'haproxy');
  assert.equal(f.length, 1);
  assert.equal(f[0]?.count, 5);
});

test('seen_once: values that come back (forty browsers behind one address) never fire, even when all look new at first', () => {
  const t = uaChurn();
  let n = 0;
  for (let round = 0; round < 30; round++) {
    for (let u = 0; u < 40; u++) n += t.process(http(T0 + round * 20 * S + u * 100, { user_agent: `browser/${u}` }), 'haproxy').length;
  }
  assert.equal(n, 0);
});

test('seen_once: a value seen again stops counting', () => {
  const t = uaChurn();
  for (let i = 0; i < 5; i++) t.process(http(T0 + i * S, { user_agent: `bot/${i}` }), 'haproxy');
  t.process(http(T0 + 10 * S, { user_agent: 'bot/0' }), 'haproxy');
  assert.equal(t.process(http(T0 + 70 * S, { user_agent: 'bot/9' }), 'haproxy').length, 0, 'four once-only values');
});

test('seen_once: holds at most SEEN_ONCE_HOLD x threshold values whatever the input', () => {
  const c = new SeenOnceWindow(8, 600 * S, 60 * S, SEEN_ONCE_HOLD * 8);
  const s = new SubjectState('k');
  for (let i = 0; i < 10_000; i++) c.hit(s, T0 + i, `v${i % 500}`);
  assert.ok((s.times?.length ?? 0) <= 3 * SEEN_ONCE_HOLD * 8, `${s.times?.length}`);
  assert.ok(s.n <= SEEN_ONCE_HOLD * 8);
  assert.ok(s.n >= 8, 'it holds at least the threshold');
});

test('per: counted separately per user agent; the finding names the address and can block it', () => {
  const t = createTriage([rule({ per: ['user_agent'], condition: { type: 'count', threshold: 3, window: '1m' }, actions: [{ type: 'block_ip', ttl: '1h' }] })]);
  // Three browsers behind one address, two requests each: no agent reaches 3.
  let n = 0;
  for (let i = 0; i < 6; i++) n += t.process(http(T0 + i * S, { user_agent: `browser/${i % 3}` }), 'haproxy').length;
  assert.equal(n, 0);
  const f = t.process(http(T0 + 7 * S, { user_agent: 'browser/1' }), 'haproxy');
  assert.equal(f.length, 1);
  assert.deepEqual(f[0]?.subject, { type: 'ip', value: '203.0.113.9' });
  assert.deepEqual(f[0]?.actions, [{ type: 'block_ip', target: '203.0.113.9', ttl_s: 3600 }]);
});

test('per: a line without the per field still counts (as an empty value)', () => {
  const t = createTriage([rule({ per: ['user_agent'], condition: { type: 'count', threshold: 2, window: '1m' } })]);
  t.process(http(T0, {}), 'haproxy');
  assert.equal(t.process(http(T0 + S, {}), 'haproxy').length, 1);
});

test('distinct over the query string, per path: one path with fresh queries fires, the same queries over many paths do not', () => {
  const mk = () => createTriage([rule({ per: ['path'], filter: { kind: 'http', query: { pattern: '.' } }, condition: { type: 'distinct', field: 'query', threshold: 4, window: '1m' } })]);
  const spread = mk();
  let n = 0;
  for (let i = 0; i < 12; i++) n += spread.process(http(T0 + i * S, { path: `/p${i % 4}?q=${Math.floor(i / 4)}` }), 'haproxy').length;
  assert.equal(n, 0);
  const bust = mk();
  const fired: number[] = [];
  for (let i = 0; i < 4; i++) if (bust.process(http(T0 + i * S, { path: `/?${i}x=${i * 7}` }), 'haproxy').length) fired.push(i);
  assert.deepEqual(fired, [3]);
  // No query: not a value (and here not even a match).
  assert.equal(mk().process(http(T0, { path: '/' }), 'haproxy').length, 0);
});

test('the schema refuses a per key repeated or already grouped on, seen_once too large or not shorter than the window', () => {
  const bad = (partial: Record<string, unknown>) => {
    const r = ruleSchema.safeParse({ name: 'x', description: 'x', category: 'x', severity: 'low', filter: { kind: 'http' }, group_by: 'ip', condition: { type: 'count', threshold: 1, window: '1m' }, ...partial });
    assert.equal(r.success, false, JSON.stringify(partial));
    return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n') ?? '';
  };
  assert.match(bad({ per: ['user_agent', 'user_agent'] }), /per: a key appears twice/);
  assert.match(bad({ group_by: ['ip', 'path'], per: ['path'] }), /per: path is already in group_by/);
  assert.match(bad({ per: ['referer'] }), /per/);
  assert.match(bad({ condition: { type: 'distinct', field: 'user_agent', threshold: 65, window: '10m', seen_once: '1m' } }), /condition.threshold: at most 64 with seen_once/);
  assert.match(bad({ condition: { type: 'distinct', field: 'user_agent', threshold: 5, window: '1m', seen_once: '1m' } }), /condition.seen_once: must be shorter than the window/);
  assert.match(bad({ condition: { type: 'distinct', field: 'user_agent', threshold: 5, window: '1m', seen_once: true } }), /seen_once/);
});

test('seen_once: a bot rotating agents faster than the set holds still fires (the set keeps the first values it saw once)', () => {
  const t = uaChurn(); // threshold 5: holds 20 values
  const fired: number[] = [];
  // Ten fresh agents a second for two minutes.
  for (let i = 0; i < 1200; i++) if (t.process(http(T0 + i * 100, { user_agent: `bot/${i}` }), 'haproxy').length) fired.push(i);
  assert.ok(fired.length > 0);
  assert.ok((fired[0] as number) <= 610, `first at ${fired[0]}`);
});
