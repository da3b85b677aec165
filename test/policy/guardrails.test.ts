/**
 * Every guardrail, under a policy that enforces everything (the guardrails
 * must hold whatever the policy says).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicy } from '../../src/pipeline/policy/load.js';
import { decide } from '../../src/pipeline/policy/decide.js';
import { applyGuardrails, guardrailState } from '../../src/pipeline/policy/guardrails.js';
import type { Analysis, Decision, PolicyContext, RecentAction } from '../../src/pipeline/policy/types.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { ipInRange } from '../../src/validate/ip.js';
import { makeIncident } from '../helpers/incident.js';

const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);
const PROTECTED = ['198.51.100.10', '2001:db8:1::/48'];

// The most permissive policy there is: everything, from anyone, enforced.
const yolo = parsePolicy(
  `version: 1
rules:
  - name: yolo
    actions:
${['block_ip', 'unblock_ip', 'trust_ip', 'untrust_ip', 'disable_server', 'enable_server', 'drain_server', 'reload_haproxy', 'restart_haproxy', 'notify']
  .map((t) => `      - { type: ${t}, from: [rules, llm], mode: enforce }`)
  .join('\n')}
`,
  'yolo',
);

const incident = (over: Partial<Incident> = {}): Incident =>
  makeIncident({ rule: 'sql-injection', category: 'injection', severity: 'high', subject: { type: 'ip', value: '203.0.113.5' }, firstSeen: NOW, samples: [], ...over }, NOW);

function ctx(over: Partial<PolicyContext> = {}): PolicyContext {
  return { now: NOW, recentActions: [], currentBlocks: 0, isProtected: (ip) => PROTECTED.some((r) => ipInRange(ip, r)), protectedRanges: PROTECTED, ...over };
}

const rulesAnalysis = (recs: Analysis['recommended_actions']): Analysis => ({ source: 'rules', summary: '', confidence: 1, recommended_actions: recs });
const blockOf = (target: string, c = ctx(), ttl_s: number | null = 3600): Decision =>
  decide(yolo, incident({ subject: { type: 'ip', value: target }, actions: [{ type: 'block_ip', ttl_s: ttl_s ?? undefined }] }), null, c)[0] as Decision;

for (const [name, target] of [
  ['loopback v4', '127.0.0.1'],
  ['loopback elsewhere in 127/8', '127.8.9.10'],
  ['loopback v6', '::1'],
  ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
  ['unspecified', '0.0.0.0'],
  ['private 10/8', '10.1.2.3'],
  ['private 172.16/12', '172.20.0.1'],
  ['private 192.168/16', '192.168.1.1'],
  ['link-local', '169.254.169.254'],
  ['CGNAT', '100.64.1.1'],
  ['IPv6 unique local', 'fd00::1'],
  ['IPv6 link-local', 'fe80::1'],
  ['a trusted address', '198.51.100.10'],
  ['an address in a protected v6 range', '2001:db8:1::42'],
  ['a CIDR covering a trusted address', '198.51.100.0/24'],
  ['a CIDR covering loopback', '127.0.0.0/16'],
  ['a CIDR covering a protected range', '2001:db8::/40'],
] as const) {
  test(`never blocks ${name} (${target})`, () => {
    const d = blockOf(target);
    assert.equal(d.mode, 'refused', JSON.stringify(d));
    assert.equal(d.guardrail, 'protected');
  });
}

test('isProtected alone (no range list) protects the address', () => {
  const d = blockOf('192.0.2.200', ctx({ protectedRanges: [], isProtected: (ip) => ip === '192.0.2.200' }));
  assert.equal(d.guardrail, 'protected');
});

test('a public address and a narrow public range are blocked', () => {
  assert.equal(blockOf('203.0.113.5').mode, 'enforce');
  assert.equal(blockOf('203.0.113.0/24').mode, 'enforce');
  assert.equal(blockOf('203.0.113.0/24').target, '203.0.113.0/24');
});

test('ranges wider than /16 or /32 are refused for every IP action', () => {
  assert.equal(blockOf('0.0.0.0/0').guardrail, 'too_wide'); // it covers loopback too; width is judged first
  assert.equal(blockOf('8.0.0.0/8').guardrail, 'too_wide');
  const ds = decide(yolo, incident({ actions: [] }), rulesAnalysis([{ type: 'unblock_ip', target: '0.0.0.0/0' }, { type: 'trust_ip', target: '::/0' }]), ctx());
  assert.deepEqual(ds.map((d) => d.guardrail), ['too_wide', 'too_wide']);
});

test('targets must parse', () => {
  const ds = decide(
    yolo,
    incident({ subject: { type: 'server', value: 'api/s1' }, actions: [] }),
    rulesAnalysis([
      { type: 'block_ip', target: '1.2.3', ttl_s: 60 },
      { type: 'block_ip', target: '1.2.3.4 ; del map', ttl_s: 60 },
      { type: 'trust_ip', target: null },
      { type: 'disable_server', target: 'api/s1\nshutdown' },
      { type: 'disable_server', target: 'api' },
      { type: 'drain_server', target: 'api/s 1' },
      { type: 'enable_server', target: 'api/s-1.b_2' },
    ]),
    ctx(),
  );
  assert.deepEqual(
    ds.map((d) => d.guardrail ?? d.mode),
    ['bad_target', 'bad_target', 'bad_target', 'bad_target', 'bad_target', 'bad_target', 'enforce'],
  );
});

test('a daemon block without a TTL (permanent) is refused; a person may make one', () => {
  const d = blockOf('203.0.113.5', ctx(), null);
  assert.equal(d.guardrail, 'permanent_block');
  const zero = decide(yolo, incident({ actions: [] }), rulesAnalysis([{ type: 'block_ip', target: '203.0.113.6', ttl_s: 0 }]), ctx())[0];
  assert.equal(zero?.guardrail, 'permanent_block');
  const c = ctx();
  const person = applyGuardrails(
    { action: 'block_ip', target: '203.0.113.5', ttl_s: null, mode: 'enforce', origin: 'policy', policyRule: null, reason: 'operator', incidentId: 0 },
    c,
    guardrailState(c),
    'person',
  );
  assert.equal(person.mode, 'enforce');
  // A person still cannot block a protected address.
  const p2 = applyGuardrails({ ...person, target: '127.0.0.1', mode: 'enforce' }, c, guardrailState(c), 'person');
  assert.equal(p2.guardrail, 'protected');
});

test('a TTL above the maximum is cut to it', () => {
  const d = blockOf('203.0.113.5', ctx({ limits: { maxBlockTtlS: 7200 } }), 999_999);
  assert.equal(d.mode, 'enforce');
  assert.equal(d.ttl_s, 7200);
});

test('cap on enforced actions per hour: what can hurt the host counts and is held; a rule\'s single-address block is not', () => {
  // Five range blocks in the last hour: the cap of 5 is reached.
  const recent: RecentAction[] = Array.from({ length: 5 }, (_, i) => ({ action: 'block_ip', target: `192.0.${i + 1}.0/24`, mode: 'enforce', decidedBy: 'rule', at: NOW - 60_000 * (i + 1) }));
  const c = ctx({ recentActions: recent, limits: { maxActionsPerHour: 5 } });
  assert.equal(blockOf('203.0.113.5', c).mode, 'enforce', 'one address from the rules: bounded by capacity, not the hour');
  assert.equal(blockOf('203.0.113.0/24', c).guardrail, 'cap_per_hour', 'a range is capped');
  const fromModel = decide(yolo, incident({ actions: [] }), { source: 'llm', summary: '', confidence: 1, recommended_actions: [{ type: 'block_ip', target: '203.0.113.5', ttl_s: 60 }] }, c);
  assert.equal(fromModel.find((x) => x.origin === 'llm')?.guardrail, 'cap_per_hour', "the model's single-address block is capped");
  const restart = decide(yolo, incident(), rulesAnalysis([{ type: 'restart_haproxy' }]), c);
  assert.equal(restart.find((x) => x.action === 'restart_haproxy')?.guardrail, 'cap_per_hour', 'a restart is capped');
  // Single-address rule blocks never fill the hour: a flood of them leaves the cap for what it guards.
  const flood: RecentAction[] = Array.from({ length: 500 }, (_, i) => ({ action: 'block_ip', target: `198.18.${i >> 8}.${i & 255}`, mode: 'enforce', decidedBy: 'rule', at: NOW - 1000 }));
  assert.equal(decide(yolo, incident(), rulesAnalysis([{ type: 'reload_haproxy' }]), ctx({ recentActions: flood, limits: { maxActionsPerHour: 5 } })).find((x) => x.action === 'reload_haproxy')?.mode, 'enforce');
  // The model's blocks in the record count (decidedBy llm).
  const llmRecent = recent.map((r, i) => ({ ...r, target: `192.0.2.${i + 1}`, decidedBy: 'llm' }));
  assert.equal(blockOf('203.0.113.0/24', ctx({ recentActions: llmRecent, limits: { maxActionsPerHour: 5 } })).guardrail, 'cap_per_hour');
  // Older than an hour, proposals and notifications do not count.
  const old = recent.map((r) => ({ ...r, at: NOW - 3_600_001 }));
  assert.equal(blockOf('203.0.113.0/24', ctx({ recentActions: [...old, { action: 'notify', target: null, mode: 'enforce', at: NOW }], limits: { maxActionsPerHour: 5 } })).mode, 'enforce');
  // A count kept by the caller wins over the records.
  assert.equal(blockOf('203.0.113.0/24', ctx({ cappedLastHour: 5, limits: { maxActionsPerHour: 5 } })).guardrail, 'cap_per_hour');
  // Within one call: the second enforced capped action over the cap is refused.
  const ds = decide(
    yolo,
    incident({ actions: [] }),
    rulesAnalysis([{ type: 'block_ip', target: '203.0.113.0/28', ttl_s: 60 }, { type: 'block_ip', target: '203.0.114.0/28', ttl_s: 60 }]),
    ctx({ limits: { maxActionsPerHour: 1 } }),
  );
  assert.deepEqual(ds.map((d) => d.guardrail ?? d.mode), ['enforce', 'cap_per_hour']);
});

test('cap on concurrent blocks', () => {
  assert.equal(blockOf('203.0.113.5', ctx({ currentBlocks: 10, limits: { maxConcurrentBlocks: 10 } })).guardrail, 'cap_blocks');
  assert.equal(blockOf('203.0.113.5', ctx({ currentBlocks: 9, limits: { maxConcurrentBlocks: 10 } })).mode, 'enforce');
});

test('cooldown per (action, target)', () => {
  const recent: RecentAction[] = [{ action: 'block_ip', target: '203.0.113.5', mode: 'enforce', at: NOW - 60_000 }];
  assert.equal(blockOf('203.0.113.5', ctx({ recentActions: recent })).guardrail, 'cooldown');
  // Another target, another action, or after the cooldown: allowed.
  assert.equal(blockOf('203.0.113.6', ctx({ recentActions: recent })).mode, 'enforce');
  assert.equal(blockOf('203.0.113.5', ctx({ recentActions: [{ ...recent[0]!, action: 'unblock_ip' }] })).mode, 'enforce');
  assert.equal(blockOf('203.0.113.5', ctx({ recentActions: recent, limits: { cooldownMs: 30_000 } })).mode, 'enforce');
  // A canonical form matches: ::ffff:203.0.113.5 is 203.0.113.5.
  const d = decide(yolo, incident({ actions: [] }), rulesAnalysis([{ type: 'block_ip', target: '::ffff:203.0.113.5', ttl_s: 60 }]), ctx({ recentActions: recent }))[0];
  assert.equal(d?.guardrail, 'cooldown');
});

test('the same action twice in one call is a duplicate', () => {
  const ds = decide(yolo, incident(), rulesAnalysis([{ type: 'block_ip', target: '203.0.113.5', ttl_s: 60 }]), ctx());
  assert.deepEqual(ds.map((d) => d.guardrail ?? d.mode), ['enforce', 'duplicate']);
});

test('an LLM recommendation that widens access is never enforced, whatever the policy', () => {
  const a: Analysis = { source: 'llm', summary: '', confidence: 1, recommended_actions: [{ type: 'trust_ip', target: '203.0.113.5' }, { type: 'unblock_ip', target: '203.0.113.5' }, { type: 'enable_server', target: 'api/s1' }] };
  const ds = decide(yolo, incident({ actions: [] }), a, ctx());
  assert.deepEqual(ds.map((d) => d.guardrail), ['widening_from_llm', 'widening_from_llm', 'widening_from_llm']);
});

test('dry-run is recorded without touching caps or cooldowns; protection still applies', () => {
  const dry = parsePolicy('version: 1\nrules:\n  - name: d\n    actions: [{ type: block_ip, mode: dry-run }]\n', 'd');
  const recent: RecentAction[] = [{ action: 'block_ip', target: '203.0.113.5', mode: 'enforce', at: NOW - 1000 }];
  const c = ctx({ recentActions: recent, currentBlocks: 10, limits: { maxConcurrentBlocks: 10, maxActionsPerHour: 1 } });
  assert.equal(decide(dry, incident(), null, c)[0]?.mode, 'dry-run');
  assert.equal(decide(dry, incident({ subject: { type: 'ip', value: '127.0.0.1' } }), null, c)[0]?.guardrail, 'protected');
});
