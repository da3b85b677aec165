/**
 * Patterns grouped by field (match.ts MatchGroup): the engine runs a field's
 * patterns once per line and remembers the answer per value. Whatever the
 * grouping, every rule must see exactly what its own filter, tested alone,
 * says: per line (no answer carried to the next line), per value (a
 * remembered answer is the value's own), decoded forms included, and with
 * more patterns on one field than one group holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledFilter, LineView, MatcherRegistry, MEMO_SLOTS, SlotMemo } from '../../src/pipeline/triage/match.js';
import { loadRules } from '../../src/pipeline/triage/load.js';
import type { FilterSpec } from '../../src/pipeline/triage/schema.js';
import type { ParsedLine } from '../../src/pipeline/types.js';
import { http, T0 } from './helpers.js';

const PATHS = [
  '/', '/index.html', '/.env', '/%2eenv', '/a/..%2f..%2fetc%2fpasswd', '/search?q=1%27%20OR%201%3D1--', "/item?id=1' OR '1'='1",
  '/wp-login.php', '/backup.sql', '/db.tar.gz', '/?x=${jndi:ldap://x/a}', '/%24%7Bjndi%3Aldap%3A%2F%2Fx%7D', '/static/app.js?v=3',
  '/phpmyadmin/', '/account/login', '/q?a=b+c&d=%252e%252e%252f', '/latest/meta-data/', '/x?u=http://169.254.169.254/',
];
const UAS = ['Mozilla/5.0 (X11; Linux x86_64)', 'sqlmap/1.8', 'curl/8.5.0', '${jndi:ldap://x/a}', 'Nikto', 'Googlebot/2.1'];
const HOSTS = ['www.example.com', '169.254.169.254', 'metadata.google.internal:80', 'api.example.com'];

/** Lines that cycle through the values (so each value comes back many times), with statuses and methods varied. */
function lines(n: number): ParsedLine[] {
  const out: ParsedLine[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      http(T0 + i, {
        path: PATHS[i % PATHS.length],
        user_agent: UAS[(i * 7) % UAS.length],
        host: HOSTS[(i * 5) % HOSTS.length],
        status: [200, 404, 403, 401][i % 4],
        method: i % 3 === 0 ? 'POST' : 'GET',
      }),
    );
  }
  return out;
}

/** Every filter's answer for every line, with the filters grouped (one registry) or each alone. */
function answers(filters: FilterSpec[], ls: ParsedLine[], grouped: boolean): boolean[][] {
  const reg = grouped ? new MatcherRegistry() : undefined;
  const compiled = filters.map((f) => new CompiledFilter(f, reg));
  const v = new LineView();
  return ls.map((l) => {
    v.reset(l, 'haproxy', l.time ?? 0);
    return compiled.map((c) => c.test(v));
  });
}

test('the shipped rules answer alike grouped by field and tested alone, line after line and value after value', () => {
  const { rules } = loadRules({ dir: 'config/rules' });
  const filters = rules.map((r) => r.filter);
  const ls = lines(2000);
  const alone = answers(filters, ls, false);
  const grouped = answers(filters, ls, true);
  assert.deepEqual(grouped, alone);
  // The lines do reach the rules: attacks are found, ordinary pages are not.
  const hits = alone.reduce((n, row) => n + row.filter(Boolean).length, 0);
  assert.ok(hits > 1000, `expected many matches, got ${hits}`);
  const names = rules.map((r) => r.name);
  const sqli = names.indexOf('sql-injection');
  assert.equal(alone[ls.findIndex((l) => l.fields.path === '/search?q=1%27%20OR%201%3D1--')]![sqli], true, 'a decoded injection matches');
});

test('more patterns on one field than a group holds, and more values than it remembers, change no answer', () => {
  // 70 path patterns (three groups), one per digit pair, some decoded.
  const filters: FilterSpec[] = [];
  for (let k = 0; k < 70; k++) filters.push({ kind: 'http', path: { pattern: `/p${k}(?:$|/)`, ignore_case: k % 2 === 0, decode: k % 3 === 0 } } as FilterSpec);
  const ls: ParsedLine[] = [];
  // Distinct values beyond MEMO_SLOTS (slots are taken over by new values), then the early ones again.
  for (let i = 0; i < MEMO_SLOTS + 500; i++) ls.push(http(T0 + i, { path: `/p${i % 70}/${i}` }));
  for (let i = 0; i < 300; i++) ls.push(http(T0 + i, { path: i % 2 ? `/P${i % 70}` : `/%70${i % 70}` }));
  const alone = answers(filters, ls, false);
  assert.deepEqual(answers(filters, ls, true), alone);
  // Each line matches exactly its own pattern, or (upper case / encoded) the ones that fold or decode.
  assert.deepEqual(alone[5]!.map((x, k) => (x ? k : -1)).filter((k) => k >= 0), [5]);
  assert.equal(alone[MEMO_SLOTS + 500 + 1]![1], false, '/P1: pattern 1 does not ignore case');
  assert.equal(alone[MEMO_SLOTS + 500 + 3]![3], false, '/P3: pattern 3 does not ignore case');
  assert.equal(alone[MEMO_SLOTS + 500]![0], true, '/%700: pattern 0 decodes');
  assert.equal(alone[MEMO_SLOTS + 500 + 2]![2], false, '/%702: pattern 2 does not decode');
});

test('one view or several: an answer kept for one line is never taken for the next', () => {
  const reg = new MatcherRegistry();
  const f = new CompiledFilter({ kind: 'http', path: { pattern: '\\.env', ignore_case: false, decode: true } } as FilterSpec, reg);
  const g = new CompiledFilter({ kind: 'http', path: { pattern: 'admin', ignore_case: false, decode: false } } as FilterSpec, reg);
  const a = new LineView();
  const b = new LineView();
  a.reset(http(T0, { path: '/.env' }), 'haproxy', T0);
  assert.equal(f.test(a), true);
  b.reset(http(T0, { path: '/admin' }), 'haproxy', T0);
  assert.equal(f.test(b), false);
  assert.equal(g.test(b), true);
  assert.equal(f.test(a), true);
  assert.equal(g.test(a), false);
  a.reset(http(T0, { path: '/%2eenv' }), 'haproxy', T0);
  assert.equal(f.test(a), true);
  assert.equal(g.test(a), false);
});

test('a slot memo answers only for an equal value, through collisions, whole answers up to 2^32 - 1', () => {
  const m = new SlotMemo();
  // Values that differ only where the fingerprint does not look (their middle, or one character of many) collide often.
  const values: string[] = [];
  for (let i = 0; i < MEMO_SLOTS * 4; i++) values.push(`Mozilla/5.0 (${String(i).padStart(6, '0')}) Gecko/20100101 Firefox/${i % 3}`, `/p/${i}`, 'x'.repeat(i % 40) + String(i % 10));
  const kept = new Map<string, number>();
  values.forEach((s, i) => {
    const answer = (i * 2654435761) % 2 ** 32;
    m.set(s, answer);
    kept.set(s, answer);
    // The value just kept is found, with its whole answer.
    assert.equal(m.get(s), answer);
  });
  let found = 0;
  for (const [s, answer] of kept) {
    const got = m.get(s);
    // A value is either forgotten (its slot taken) or given the answer last kept for it: never another value's.
    assert.ok(got === -1 || got === answer, `${s}: ${got} is not ${answer}`);
    if (got === answer) found++;
    // A copy of the value (another string object) finds the same.
    assert.equal(m.get((' ' + s).slice(1)), got);
  }
  assert.ok(found > MEMO_SLOTS / 4 && found <= MEMO_SLOTS, `${found} of ${kept.size} values still held`);
  assert.equal(m.get(''), -1);
  m.set('', 7);
  assert.equal(m.get(''), 7);
});
