/**
 * The engine's per-client pointers (client-cache.ts): an IPv4 address in
 * canonical form is its own number (no two strings share one), anything else
 * goes by its text; lookups agree with a Map over a spray of addresses; the
 * cache empties itself when full and then holds no pointer from before (a
 * state's owner is checked against the client's number + 1, unique within
 * one filling). Through the engine: a rule that finds its states through
 * the cache gives exactly the findings of the same rule looking up its table
 * on every line, while the cache empties and the table evicts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAP, ClientCache, ipv4Key } from '../../src/pipeline/triage/client-cache.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { http, rule, T0 } from './helpers.js';

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
      assert.equal(added, model.size, 'numbers are given in order, once each within a filling');
      model.set(k, added);
      assert.equal(cache.find(k), added);
      cache.rows[added * 3 + 2] = 1 + added;
    }
  }
  assert.equal(cache.size, model.size);

  // Filled to CAP: the next client empties it; earlier clients are found no more, and no pointer stays.
  const full = new ClientCache(2);
  for (let i = 0; i < CAP; i++) {
    const c = full.add(`172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    full.rows[c * 2] = 7;
    full.rows[c * 2 + 1] = 9;
  }
  assert.equal(full.find('172.16.0.0'), 0);
  const first = full.add('192.0.2.1');
  assert.equal(first, 0);
  assert.equal(full.size, 1);
  assert.equal(full.find('172.16.0.0'), -1);
  assert.equal(full.find('192.0.2.1'), 0);
  assert.ok(full.rows.every((r) => r === 0), 'every pointer of the last filling is gone');
});

test('through the cache, a rule gives exactly the findings of the same rule looking up its table on every line', () => {
  // `cached` is grouped by the client alone (its states are found through the
  // client cache); `plain` is the same rule with a per value every line
  // shares (not grouped by the client alone: its table is looked up on every
  // line). Same keys in the same order, so the same evictions: the findings
  // must be the same. 60,000 clients (the cache empties at CAP), tables of
  // 3,000 (states evicted and reused while pointers to them remain).
  // Two such pairs: a client record holds a pointer per cached rule, and a
  // record given again after the cache emptied must not show the second
  // rule a pointer of the client that had it before.
  const cond = { type: 'count', threshold: 3, window: '10m' };
  const cond2 = { type: 'leaky_bucket', capacity: 2, leak_every: '5m' };
  const t = createTriage(
    [
      rule({ name: 'cached', condition: cond }),
      rule({ name: 'plain', per: ['method'], condition: cond }),
      rule({ name: 'cached2', condition: cond2 }),
      rule({ name: 'plain2', per: ['method'], condition: cond2 }),
    ],
    { maxKeysPerRule: 3_000 },
  );
  let x = 99;
  const found: Record<string, string[]> = { cached: [], plain: [], cached2: [], plain2: [] };
  for (let i = 0; i < 400_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // A few busy clients (kept in the tables), a long tail, and IPv6 (the Map path).
    const n = (x >>> 8) % 100 < 30 ? (x >>> 8) % 50 : (x >>> 8) % 60_000;
    const ip = n % 7 === 0 ? `2001:db8::${n.toString(16)}` : `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`;
    for (const f of t.process(http(T0 + i * 20, { client_ip: ip }), 'haproxy')) found[f.rule]!.push(`${f.subject.value} ${f.time} ${f.count}`);
  }
  assert.ok(found.cached!.length > 1_000, `findings: ${found.cached!.length}`);
  assert.ok(found.cached2!.length > 1_000, `findings: ${found.cached2!.length}`);
  assert.deepEqual(found.cached, found.plain);
  assert.deepEqual(found.cached2, found.plain2);
  const st = t.stats().rules;
  assert.equal(st[0]!.evicted, st[1]!.evicted);
  assert.equal(st[2]!.evicted, st[3]!.evicted);
  assert.ok(st[0]!.evicted > 10_000, `evicted: ${st[0]!.evicted}`);
});

test('after the cache empties, a client given a number again never reaches the state of the client that had it', () => {
  // Client A gets number 0 and a pointer for both cached rules; CAP more
  // clients empty the cache; X, the first client after that, gets number 0.
  // A's states are still in the tables (they are not full), so a pointer of
  // A's left in the record would send X's lines into A's windows.
  const cond = { type: 'leaky_bucket', capacity: 3, leak_every: '1h' };
  const t = createTriage([
    rule({ name: 'cached', condition: cond }),
    rule({ name: 'cached2', condition: cond }),
    rule({ name: 'plain2', per: ['method'], condition: cond }),
  ]);
  const found: string[] = [];
  let time = T0;
  const line = (ip: string) => {
    time += 10;
    for (const f of t.process(http(time, { client_ip: ip }), 'haproxy')) found.push(`${f.rule} ${f.subject.value}`);
  };
  line('10.0.0.1');
  line('10.0.0.1');
  for (let i = 0; i < CAP; i++) {
    const ip = `10.1.${(i >> 8) & 255}.${i & 255}`;
    line(ip);
    line(ip);
  }
  for (let i = 0; i < 4; i++) line('10.9.9.9');
  assert.deepEqual(found.sort(), ['cached 10.9.9.9', 'cached2 10.9.9.9', 'plain2 10.9.9.9']);
});
