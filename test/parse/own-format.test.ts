/**
 * The fast path for this project's own log format (haproxy-traffic.ts
 * parseOwn) gives exactly what reading the line word by word gives: the same
 * fields, values and key order, on generated realistic lines, on every
 * fixture line, and on lines changed in the ways a fast path gets wrong
 * (signs, `-0`, tabs and doubled spaces, braces and quotes inside fields,
 * quoted or empty rip/rid, extra words, numeric names, long numbers). It also
 * takes the realistic lines, so the equality is not the slow path compared
 * with itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { realisticLog } from '../../scripts/bench/loggen.js';
import { parseTraffic } from '../../src/pipeline/parse/haproxy-traffic.js';
import { parseSyslogPrefix } from '../../src/pipeline/parse/syslog-prefix.js';
import { skipSpaces } from '../../src/pipeline/parse/scan.js';
import { parseLine } from '../../src/pipeline/parse/index.js';

const NOW = Date.UTC(2026, 10, 25, 12);

/** Both readings of one line's traffic part: [fast path first, word by word, fast path alone]. */
function both(line: string): [string, string, boolean] {
  const pre = parseSyslogPrefix(line, NOW);
  const p = skipSpaces(line, pre.start);
  const fast = parseTraffic(line, p, pre.offsetMin ?? 0);
  const slow = parseTraffic(line, p, pre.offsetMin ?? 0, 'words');
  const only = parseTraffic(line, p, pre.offsetMin ?? 0, 'own-only');
  if (fast !== null && slow !== null) assert.deepStrictEqual(fast, slow, line);
  return [JSON.stringify(fast), JSON.stringify(slow), only !== null];
}

function check(lines: Iterable<string>): { n: number; own: number } {
  let n = 0;
  let own = 0;
  for (const line of lines) {
    const [fast, slow, tookOwn] = both(line);
    assert.equal(fast, slow, `fast path differs on: ${line}`);
    n++;
    if (tookOwn) own++;
  }
  return { n, own };
}

const BASE =
  '<134>1 2026-11-25T06:00:00.003000+00:00 lb1 haproxy 2231 - - 198.51.100.4:40000 [25/Nov/2026:06:00:00.003] web~ app/s1 0/0/1/12/13 200 512 - - ---- 3/3/1/1/0 0/0 {shop.example.com|Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0} "GET /p?q=1 HTTP/1.1" rip=203.0.113.9 rid=C0A8:1F_AB.1';

test('the fast path takes the generated realistic lines and reads them as word by word does', () => {
  const r = check(realisticLog(30_000));
  assert.equal(r.n, 30_000);
  // Nearly every request line is the project's own format (the rest: TLS errors, events).
  assert.ok(r.own > 27_000, `fast path took ${r.own} of ${r.n}`);
});

test('every fixture line reads the same either way', () => {
  const dirs = ['test/parse/fixtures', 'config/rules/fixtures'];
  const lines: string[] = [];
  for (const d of dirs) {
    for (const f of readdirSync(d)) if (f.endsWith('.log')) lines.push(...readFileSync(join(d, f), 'utf8').split('\n').filter((l) => l !== ''));
  }
  const r = check(lines);
  assert.ok(r.n > 200, `${r.n} fixture lines`);
  assert.ok(r.own > 20, `fast path took ${r.own} fixture lines`);
});

test('lines changed where a fast path goes wrong read the same either way', () => {
  const edits: [string, string][] = [
    [' 0/0/1/12/13 ', ' 0/0/1/12/+13 '], // logasap
    [' 0/0/1/12/13 ', ' -0/0/1/-1/-1 '],
    [' 0/0/1/12/13 ', ' 0/0/1/12 '],
    [' 0/0/1/12/13 ', ' 0/0/1/12/1234567890123456 '], // 16 digits: not a number word by word
    [' 200 512 ', ' -1 512 '],
    [' 200 512 ', ' 200 +512 '],
    [' 200 512 ', ' 200  512 '],
    [' 200 512 ', ' 200\t512 '],
    [' 3/3/1/1/0 ', ' 3/3/1/1/+1 '], // redispatch
    [' - - ---- ', ' - - ----- '],
    [' - - ---- ', ' - - abcd '],
    [' - - ---- ', ' SID=1 - ---- '],
    [' - - ---- ', ' ---- '],
    [' - - ---- ', ' - - CD-- '],
    [' - - ---- ', ' - - cD-- '],
    ['web~ ', 'web '],
    ['web~ ', '~ '],
    ['web~ ', 'w:e '],
    [' app/s1 ', ' 12/34 '],
    [' app/s1 ', ' -x/s1 '],
    [' app/s1 ', ' app/s1/x '],
    [' app/s1 ', ' app/<NOSRV> '],
    ['{shop.example.com|', '{shop}x|'],
    ['{shop.example.com|', '{sh"op|'],
    ['{shop.example.com|', '{'],
    ['Firefox/120.0}', 'Firefox/120.0|https://ref.example/}'],
    ['Firefox/120.0}', 'Firefox/120.0} {resp|h}'],
    ['Firefox/120.0}', 'Fire#7Cfox#22/120.0}'],
    ['"GET /p?q=1 HTTP/1.1"', '"GET /p?"q=1 HTTP/1.1"'],
    ['"GET /p?q=1 HTTP/1.1"', '"<BADREQ>"'],
    ['"GET /p?q=1 HTTP/1.1"', '""'],
    ['"GET /p?q=1 HTTP/1.1"', '"GET https://other.example/x HTTP/2.0"'],
    ['"GET /p?q=1 HTTP/1.1"', '"CONNECT other.example:443 HTTP/1.1"'],
    ['"GET /p?q=1 HTTP/1.1"', '"GET /p?q=1 HTTP/1.1'],
    ['"GET /p?q=1 HTTP/1.1"', '"get /a b c HTTP/9"'],
    ['rip=203.0.113.9', 'rip=-'],
    ['rip=203.0.113.9', 'rip='],
    ['rip=203.0.113.9', 'rip="203.0.113.9"'],
    ['rip=203.0.113.9', 'rip=::ffff:203.0.113.9'],
    ['rid=C0A8:1F_AB.1', 'rid=-'],
    ['rid=C0A8:1F_AB.1', 'rid=C0A8:1F_AB.1 extra=1'],
    ['rid=C0A8:1F_AB.1', 'rid=C0A8:1F_AB.1 '],
    [' rip=203.0.113.9 rid=C0A8:1F_AB.1', ''],
    [' rip=203.0.113.9 rid=C0A8:1F_AB.1', ' rid=x rip=203.0.113.9'],
    ['198.51.100.4:40000', '[2001:db8::4]:40000'],
    ['198.51.100.4:40000', '2001:db8::4:40000'],
    ['198.51.100.4:40000', '198.51.100.4'],
    ['198.51.100.4:40000', '::ffff:198.51.100.4:40000'],
  ];
  const lines = [BASE, ...edits.map(([a, b]) => {
    assert.ok(BASE.includes(a), a);
    return BASE.replace(a, b);
  })];
  const r = check(lines);
  assert.equal(r.n, edits.length + 1);
  assert.ok(r.own >= 1 && r.own < r.n, `fast path took ${r.own} of ${r.n}`);
});

test('through parseLine, a fast-path line keeps its header, time and canonical addresses', () => {
  const p = parseLine(BASE.replace('rip=203.0.113.9', 'rip=::ffff:203.0.113.9'), 'haproxy', { now: NOW });
  assert.equal(p.ok, true);
  assert.equal(p.kind, 'http');
  assert.equal(p.time, Date.UTC(2026, 10, 25, 6, 0, 0, 3));
  assert.equal(p.fields.real_ip, '203.0.113.9');
  assert.equal(p.fields.syslog_host, 'lb1');
  assert.equal(p.fields.user_agent, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0');
  assert.deepEqual(p.fields.timers, { TR: 0, Tw: 0, Tc: 1, Tr: 12, Ta: 13 });
  assert.equal(p.fields.path, '/p?q=1');
});
