/**
 * The guardrails judge a block or a trust by the clients it covers in both
 * families as HAProxy matches them (pattern.c pat_match_ip: an IPv4 client is
 * looked up in IPv6 entries as ::ffff:a.b.c.d; a mapped, compatible or 6to4
 * IPv6 client in IPv4 entries). Every hostile range below passed on main.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from '../../src/pipeline/policy/load.js';
import { decide } from '../../src/pipeline/policy/decide.js';
import { judgeIpEntry } from '../../src/pipeline/policy/ip-guard.js';
import { DEFAULT_LIMITS, type Analysis, type PolicyContext } from '../../src/pipeline/policy/types.js';
import { haproxyCoverage, inAnyRange, ipInRange, parseIp } from '../../src/validate/ip.js';
import { makeIncident } from '../helpers/incident.js';

const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);

const policy = parsePolicy(
  `version: 1
rules:
  - name: everything
    actions:
      - { type: block_ip, from: [rules, llm], mode: enforce }
      - { type: trust_ip, from: [rules, llm], mode: propose }
`,
  'test',
);

const ctxWith = (protectedRanges: string[], selfRanges: string[] = []): PolicyContext => ({
  now: NOW,
  recentActions: [],
  currentBlocks: 0,
  isProtected: (ip) => protectedRanges.some((r) => ipInRange(ip, r)),
  protectedRanges,
  selfRanges,
});

const incident = makeIncident({ rule: 'sql-injection', category: 'injection', severity: 'high', subject: { type: 'ip', value: '203.0.113.5' }, firstSeen: NOW, samples: [] }, NOW);
const model = (type: string, target: string, source: Analysis['source'] = 'llm'): Analysis => ({ source, summary: 's', confidence: 0.99, recommended_actions: [{ type, target, ttl_s: 3600 }] });
const decideOne = (type: string, target: string, c: PolicyContext, source: Analysis['source'] = 'llm') => decide(policy, { ...incident, actions: [] }, model(type, target, source), c)[0]!;

// Protected sets in both families: a configured IPv4 address, a backend in IPv6, a trusted proxy range.
const SETS: [string, string[]][] = [
  ['none configured (built-ins only)', []],
  ['an IPv4 protected address', ['198.51.100.10']],
  ['an IPv6 backend server and an IPv4 trusted proxy', ['2001:db8:1::10', '192.0.2.0/28']],
];

// [range, why it must be refused]
const HOSTILE: [string, string][] = [
  ['::8000:0:0/81', 'holds ::ffff:0:0/96: every IPv4 client'],
  ['::c000:0:0/82', 'holds ::ffff:0:0/96'],
  ['::fffe:0:0/95', 'holds ::ffff:0:0/96'],
  ['::ffff:0:0/96', 'is 0.0.0.0/0'],
  ['::ffff:127.0.0.1', 'is 127.0.0.1'],
  ['::ffff:7f00:0/104', 'is 127.0.0.0/8'],
  ['::ffff:7f00:0/120', 'is 127.0.0.0/24'],
  ['::7f00:1', 'IPv4-compatible 127.0.0.1'],
  ['2002:7f00::/24', '6to4 of 127.0.0.0/8'],
  ['2002:7f00:1::/48', '6to4 of 127.0.0.1'],
  ['2002:a00::/24', '6to4 of 10.0.0.0/8'],
  ['::/0', 'everything'],
  ['0.0.0.0/0', 'everything'],
  ['::/1', 'half of IPv6, and every IPv4 client'],
  ['0.0.0.0/1', 'half of IPv4'],
  ['128.0.0.0/1', 'half of IPv4'],
  ['::/96', 'IPv4-compatible space: ::1 and ::'],
  ['::ffff:10.0.0.0/104', 'is 10.0.0.0/8'],
  ['::ffff:c0a8:0/112', 'is 192.168.0.0/16'],
  ['127.0.0.1', 'loopback'],
  ['::1', 'loopback'],
];

for (const [name, set] of SETS) {
  for (const [range, why] of HOSTILE) {
    test(`refused: block and trust of ${range} (${why}), protected: ${name}`, () => {
      const c = ctxWith(set);
      const block = decideOne('block_ip', range, c);
      assert.equal(block.mode, 'refused', JSON.stringify(block));
      assert.ok(block.guardrail === 'protected' || block.guardrail === 'too_wide', JSON.stringify(block));
      const trust = decideOne('trust_ip', range, c);
      assert.equal(trust.mode, 'refused', JSON.stringify(trust));
      assert.ok(trust.guardrail === 'protected' || trust.guardrail === 'too_wide', JSON.stringify(trust));
    });
  }
}

// The mapped forms of each configured protected range, and ranges around them.
for (const [range, set] of [
  ['::ffff:198.51.100.10', ['198.51.100.10']],
  ['::ffff:c633:6400/120', ['198.51.100.10']],
  ['2002:c633:640a::/48', ['198.51.100.10']],
  ['198.51.100.0/24', ['::ffff:198.51.100.10']],
  ['198.51.100.10', ['2002:c633:640a::/48']],
  ['2001:db8:1::/64', ['2001:db8:1::10']],
  ['::ffff:192.0.2.8', ['192.0.2.0/28']],
] as [string, string[]][]) {
  test(`refused as protected: ${range} against ${set.join(', ')}`, () => {
    const d = decideOne('block_ip', range, ctxWith(set));
    assert.equal(d.guardrail, 'protected', JSON.stringify(d));
  });
}

for (const range of ['203.0.113.5', '203.0.113.0/24', '198.51.100.11', '2001:db8:2::1', '2001:db8:2::/64', '2a00:1450::/32', '::ffff:203.0.113.9', '2002:cb00:7109::/48', '8.8.0.0/16']) {
  test(`accepted: a block of the ordinary public ${range} (a tier-1 verdict); from a model only when it is the subject`, () => {
    for (const [, set] of SETS) {
      const d = decideOne('block_ip', range, ctxWith(set), 'rules');
      assert.equal(d.mode, 'enforce', JSON.stringify(d));
      assert.equal(d.target, parseIp(range)!.text);
      // The coverage is fine; a model may still name only the incident's subject (203.0.113.5).
      const m = decideOne('block_ip', range, ctxWith(set));
      if (range === '203.0.113.5') assert.equal(m.mode, 'enforce', JSON.stringify(m));
      else assert.equal(m.guardrail, 'target_not_subject', JSON.stringify(m));
    }
  });
}

test('coverage: ::8000:0:0/81 holds every IPv4 client; 127.0.0.0/8 has its mapped, compatible and 6to4 forms', () => {
  assert.deepEqual(haproxyCoverage('::8000:0:0/81')!.v4.map((n) => n.text), ['0.0.0.0/0']);
  assert.deepEqual(haproxyCoverage('127.0.0.0/8')!.v6.map((n) => n.text), ['::ffff:7f00:0/104', '::7f00:0/104', '2002:7f00::/24']);
  assert.deepEqual(haproxyCoverage('2001:db8::/32')!.v4, []);
  assert.deepEqual(haproxyCoverage('::/81')!.v4, [], 'below ::ffff:0:0/96: no IPv4 client reaches it');
  assert.equal(haproxyCoverage('nope'), null);
});

test('judgeIpEntry: force lets a protected address through, never loopback, the own path or a too-wide range', () => {
  const c = ctxWith(['198.51.100.10'], ['192.0.2.1']);
  assert.equal(judgeIpEntry('198.51.100.10', c, DEFAULT_LIMITS)?.code, 'protected');
  assert.equal(judgeIpEntry('198.51.100.10', c, DEFAULT_LIMITS)?.forceable, true);
  assert.equal(judgeIpEntry('198.51.100.10', c, DEFAULT_LIMITS, { force: true }), null);
  assert.equal(judgeIpEntry('10.1.2.3', c, DEFAULT_LIMITS, { force: true }), null, 'a local address may be forced');
  for (const t of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '2002:7f00:1::/48', '::7f00:1', '192.0.2.1', '::ffff:192.0.2.1']) {
    const v = judgeIpEntry(parseIp(t)!.text, c, DEFAULT_LIMITS, { force: true });
    assert.equal(v?.code, 'self', t);
    assert.equal(v?.forceable, false, t);
  }
  for (const t of ['::8000:0:0/81', '::/0', '0.0.0.0/0', '0.0.0.0/1', '::/1', '1.0.0.0/8']) {
    assert.equal(judgeIpEntry(parseIp(t)!.text, c, DEFAULT_LIMITS, { force: true })?.code, 'too_wide', t);
  }
});

test('inAnyRange answers as ipInRange over every range, in both families, asked once or many times', () => {
  const ranges = ['10.0.0.0/8', '::ffff:192.168.0.0/112', '2001:db8::/32'];
  const inAny = inAnyRange(ranges);
  const cases: [string, boolean][] = [
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['192.168.7.7', true],
    ['2001:db8::1', true],
    ['2002:0a01:0203::1', true], // 6to4 of 10.1.2.3
    ['8.8.8.8', false],
    ['2001:db9::1', false],
    ['not-an-address', false],
  ];
  for (let round = 0; round < 2; round++) {
    for (const [ip, want] of cases) {
      assert.equal(inAny(ip), want, ip);
      assert.equal(ranges.some((r) => ipInRange(ip, r)), want, `${ip} by ipInRange`);
    }
  }
});
