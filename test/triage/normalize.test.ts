/**
 * Request normalization (normalize.ts): each transformation on ordinary and
 * adversarial input, and the filter keys that read the normalized fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTarget, haproxyUnescape, isNormalPath, MAX_PARAMS, normalizePath, normalizeSlashes, percentDecode, splitQuery } from '../../src/pipeline/triage/normalize.js';
import { CompiledFilter, LineView } from '../../src/pipeline/triage/match.js';
import { filterSchema } from '../../src/pipeline/triage/schema.js';
import type { ParsedLine } from '../../src/pipeline/types.js';

test("HAProxy's #XX log escapes: quotes, hash, control characters; a # without two hex digits stays", () => {
  assert.equal(haproxyUnescape('/item?id=1#27#20or#201=1'), "/item?id=1' or 1=1");
  assert.equal(haproxyUnescape('/q?x=#22a#22&y=#23'), '/q?x="a"&y=#');
  assert.equal(haproxyUnescape('/a#00b#0a'), '/a\u0000b\n');
  assert.equal(haproxyUnescape('/a#zz#4'), '/a#zz#4');
  const plain = '/index.html?page=2';
  assert.equal(haproxyUnescape(plain), plain);
});

test('percent-decoding repeats until stable, at most three rounds; invalid escapes stay', () => {
  assert.equal(percentDecode('%2e%2e%2f'), '../');
  assert.equal(percentDecode('%252e%252e%252f'), '../'); // double
  assert.equal(percentDecode('%25252e'), '.'); // triple
  assert.equal(percentDecode('%2525252e'), '%2e'); // a fourth layer stays encoded
  assert.equal(percentDecode('%zz%4'), '%zz%4');
  assert.equal(percentDecode('%%32%65'), '%2e'.replace('%2e', '.')); // "%%32%65" -> "%2e" -> "."
  assert.equal(percentDecode('a%00b'), 'a\u0000b');
  assert.equal(percentDecode('%c0%ae'), '\u00c0\u00ae'); // overlong UTF-8 stays two Latin-1 units a pattern can name
  assert.equal(percentDecode('a+b', true), 'a b');
  assert.equal(percentDecode('a+b'), 'a+b');
  assert.equal(percentDecode('%2B', true), '+'); // an encoded plus is a plus
  // A bomb of escapes costs three rounds and never grows.
  const bomb = '%25'.repeat(10_000);
  assert.ok(percentDecode(bomb).length <= bomb.length);
});

test('the decoded target: + is a space in the query only; slashes and dot segments kept for traversal rules', () => {
  assert.equal(decodeTarget('/a+b/c?q=union+select'), '/a+b/c?q=union select');
  assert.equal(decodeTarget('/x/..%2f..%2fetc/passwd'), '/x/../../etc/passwd');
  assert.equal(decodeTarget('/p?id=1#2527#20or#201=1'), "/p?id=1' or 1=1"); // #25 then %27
  const plain = '/css/site.css';
  assert.equal(decodeTarget(plain), plain);
});

test('collapsed slashes and dot segments, never above the root; backslashes count as slashes', () => {
  assert.equal(normalizeSlashes('//pma/'), '/pma/');
  assert.equal(normalizeSlashes('/a/./b/../c'), '/a/c');
  assert.equal(normalizeSlashes('/../../../etc/passwd'), '/etc/passwd');
  assert.equal(normalizeSlashes('/a/b/..'), '/a/');
  assert.equal(normalizeSlashes('/a/.'), '/a/');
  assert.equal(normalizeSlashes('/a\\..\\b'), '/b');
  assert.equal(normalizeSlashes('/.well-known/x'), '/.well-known/x'); // a dot file is not a dot segment
  assert.equal(normalizeSlashes('/...'), '/...');
  const plain = '/api/items';
  assert.equal(normalizeSlashes(plain), plain);
});

test('the normalized path: decoded, then resolved; the query is left out', () => {
  // The fast path only says "nothing to do" when the full computation agrees (it may send a dot file the long way).
  for (const p of ['/', '/a/b.css', '//a', '/a/./b', '/a/../b', '/.git/x', '/%2e', '/a#23', '/a\\b', '/..', 'a/b', '']) {
    if (isNormalPath(p)) assert.equal(normalizePath(p), p, p);
  }
  assert.equal(isNormalPath('/products/42'), true);
  for (const p of ['//pma/', '/a/../b', '/%70ma/', '/a#23b', '/a\\..\\b']) assert.equal(isNormalPath(p), false, p);
  assert.equal(normalizePath('//pma/index.php?x=1'), '/pma/index.php');
  assert.equal(normalizePath('/x/..%2fpma/'), '/pma/');
  assert.equal(normalizePath('/%2570ma/'), '/pma/');
  assert.equal(normalizePath('/data/migrations/..%2f..%2fdb.sql'), '/db.sql');
  assert.equal(normalizePath('/static/%2e%2e/%2e%2e/admin'), '/admin');
});

test('the query split into decoded names and values; bounded', () => {
  assert.deepEqual(splitQuery('a=1&b=union+select&c&d=%2527x&e=#22y#22'), { names: ['a', 'b', 'c', 'd', 'e'], values: ['1', 'union select', '', "'x", '"y"'] });
  assert.deepEqual(splitQuery('host=1.1.1.1;wget+http://x/'), { names: ['host'], values: ['1.1.1.1;wget http://x/'] }); // `;` is data
  assert.deepEqual(splitQuery('url%3D=http%3A%2F%2F169.254.169.254%2F'), { names: ['url='], values: ['http://169.254.169.254/'] });
  assert.deepEqual(splitQuery('&&='), { names: [''], values: [''] });
  assert.equal(splitQuery('x=1&'.repeat(1000)).names.length, MAX_PARAMS);
});

const line = (path: string, extra: Record<string, unknown> = {}): ParsedLine => ({ ok: true, kind: 'http', time: 0, fields: { method: 'GET', status: 404, client_ip: '192.0.2.1', path, ...extra } });
function matches(filter: unknown, path: string, extra: Record<string, unknown> = {}): boolean {
  const f = new CompiledFilter(filterSchema.parse(filter));
  const v = new LineView();
  v.reset(line(path, extra), 'haproxy', 0);
  return f.test(v);
}

test('filter keys on normalized fields: path_normalized, query_names, query_values; the raw path still there', () => {
  const pma = { kind: 'http', path_normalized: { pattern: '^/(?:pma|phpmyadmin)(?:/|$)', ignore_case: true } };
  for (const p of ['/pma/', '//pma/index.php', '/x/../PMA/', '/%70ma/', '/./phpmyadmin']) assert.equal(matches(pma, p), true, p);
  for (const p of ['/docs/pma/', '/pmadness', '/']) assert.equal(matches(pma, p), false, p);
  // The raw path keeps its dot segments for traversal rules.
  assert.equal(matches({ path: { pattern: '\\.\\./', decode: true } }, '/a/..%2f..%2fetc/passwd'), true);
  assert.equal(matches({ path_normalized: { pattern: '\\.\\./' } }, '/a/..%2f..%2fetc/passwd'), false);
  const q = { query_values: { pattern: "^'\\s*or\\s" } };
  assert.equal(matches(q, "/p?id=#27%20or%201=1"), true);
  assert.equal(matches(q, '/p?id=1'), false);
  assert.equal(matches(q, '/p'), false); // no query: the key does not match
  assert.equal(matches({ query_names: { equals: ['class.module.classloader.url'], ignore_case: true } }, '/?class.module.classLoader.URL=x'), true);
  // decode: true now reads HAProxy's escapes: raw quotes in a logged SQLi.
  assert.equal(matches({ path: { pattern: "'\\s*or\\s+1=1", decode: true } }, '/item?id=1#27#20or#201=1'), true);
});
