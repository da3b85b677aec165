/**
 * The engine's per-client pointers (client-cache.ts): an IPv4 address in
 * canonical form is its own number (no two strings share one), anything else
 * goes by its text; lookups agree with a Map over a spray of addresses; the
 * cache empties itself when full, and every entry gets a token never given
 * before (what a state's owner is checked against).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAP, ClientCache, ipv4Key } from '../../src/pipeline/triage/client-cache.js';

test('ipv4Key: one number per canonical IPv4 address, 0 for any other text', () => {
  assert.equal(ipv4Key('0.0.0.0'), 1);
  assert.equal(ipv4Key('255.255.255.255'), (0xffffffff + 1) | 0);
  assert.notEqual(ipv4Key('10.0.0.1'), ipv4Key('10.0.1.0'));
  for (const s of ['01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', '.1.2.3', '::1', '::ffff:1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '', '1234.1.1.1']) {
    assert.equal(ipv4Key(s), 0, s);
  }
  // Back from the number to the text: the same string, so a number never stands for two subjects.
  let x = 12345;
  for (let i = 0; i < 20_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const s = `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
    const k = (ipv4Key(s) - 1) >>> 0;
    assert.equal(`${k >>> 24}.${(k >>> 16) & 255}.${(k >>> 8) & 255}.${k & 255}`, s);
  }
});

test('ClientCache agrees with a Map, IPv4 and IPv6 alike, and empties itself when full', () => {
  const cache = new ClientCache(3);
  const model = new Map<string, number>();
  const tokens = new Set<number>();
  let x = 7;
  const key = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const n = x % 20_000;
    return n % 5 === 0 ? `2001:db8::${n.toString(16)}` : `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`;
  };
  for (let i = 0; i < 30_000; i++) {
    const k = key();
    const c = cache.find(k);
    assert.equal(c, model.get(k) ?? -1, k);
    if (c < 0) {
      const added = cache.add(k);
      model.set(k, added);
      assert.equal(cache.find(k), added);
      const t = cache.token[added]!;
      assert.ok(!tokens.has(t), 'a token is never given twice');
      tokens.add(t);
      cache.states[added * 3 + 2] = undefined;
    }
  }
  assert.equal(cache.size, model.size);
  assert.ok(cache.states.length >= cache.size * 3);

  // Filled to CAP: the next client empties it; earlier clients are found no more.
  const full = new ClientCache(1);
  for (let i = 0; i < CAP; i++) full.add(`172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
  assert.equal(full.find('172.16.0.0'), 0);
  const first = full.add('192.0.2.1');
  assert.equal(first, 0);
  assert.equal(full.size, 1);
  assert.equal(full.find('172.16.0.0'), -1);
  assert.equal(full.find('192.0.2.1'), 0);
  assert.ok(full.token[0]! > CAP, 'a fresh token after emptying');
});
