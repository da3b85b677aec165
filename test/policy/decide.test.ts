/**
 * The shipped policy (config/policy.yaml) on representative incidents, and
 * an adversarial analysis that must yield no unsafe enforced action.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPolicy } from '../../src/pipeline/policy/load.js';
import { decide } from '../../src/pipeline/policy/decide.js';
import { parsePolicy } from '../../src/pipeline/policy/load.js';
import type { Analysis, Decision, PolicyContext, RecentAction } from '../../src/pipeline/policy/types.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { ipInRange } from '../../src/validate/ip.js';
import { makeIncident } from '../helpers/incident.js';

const policy = loadPolicy({ file: join(import.meta.dirname, '../../config/policy.yaml') }).policy;
const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);
const TRUSTED = ['198.51.100.10', '203.0.113.0/28'];

const incident = (over: Partial<Incident> = {}): Incident =>
  makeIncident({ id: 7, rule: 'sensitive-files', category: 'exposure', subject: { type: 'ip', value: '203.0.113.99' }, firstSeen: NOW - 1000, samples: ['GET /.env'], ...over }, NOW);

function ctx(over: Partial<PolicyContext> = {}): PolicyContext {
  return {
    now: NOW,
    recentActions: [],
    currentBlocks: 0,
    isProtected: (ip) => TRUSTED.some((r) => ipInRange(ip, r)),
    protectedRanges: TRUSTED,
    ...over,
  };
}

const llm = (recs: Analysis['recommended_actions'], confidence = 0.95): Analysis => ({ source: 'llm', summary: 's', confidence, recommended_actions: recs });
const find = (ds: Decision[], action: string, target?: string | null) => ds.filter((d) => d.action === action && (target === undefined || d.target === target));

test('a rule-based attacker is blocked in enforce mode with the rule TTL, and notified', () => {
  const ds = decide(policy, incident(), null, ctx());
  const [b] = find(ds, 'block_ip');
  assert.ok(b);
  assert.equal(b.mode, 'enforce');
  assert.equal(b.target, '203.0.113.99');
  assert.equal(b.ttl_s, 3600);
  assert.equal(b.policyRule, 'block-clear-attackers');
  assert.equal(b.origin, 'rules');
  assert.match(b.reason, /block-clear-attackers/);
});

for (const [rule, category] of [
  ['sql-injection', 'injection'],
  ['scanner-user-agent', 'scanner'],
  ['login-failures', 'bruteforce'],
  ['request-flood', 'flood'],
  ['path-enumeration', 'recon'],
] as const) {
  test(`shipped policy enforces blocks for ${rule}`, () => {
    const ds = decide(policy, incident({ rule, category, severity: 'high' }), null, ctx());
    assert.equal(find(ds, 'block_ip')[0]?.mode, 'enforce');
  });
}

test('a low-severity block suggestion is only recorded (dry-run)', () => {
  const ds = decide(policy, incident({ severity: 'low' }), null, ctx());
  assert.equal(find(ds, 'block_ip')[0]?.mode, 'dry-run');
});

test('repeat offenders get a longer block', () => {
  const recent: RecentAction[] = [
    { action: 'block_ip', target: '203.0.113.99', mode: 'enforce', at: NOW - 2 * 86_400_000 },
    { action: 'block_ip', target: '203.0.113.99', mode: 'enforce', at: NOW - 3 * 86_400_000 },
  ];
  const [b] = find(decide(policy, incident(), null, ctx({ recentActions: recent })), 'block_ip');
  assert.equal(b?.mode, 'enforce');
  assert.equal(b?.ttl_s, 3600 * 16);
  const [c] = find(decide(policy, incident(), null, ctx({ recentActions: [...recent, ...recent, ...recent] })), 'block_ip');
  assert.equal(c?.ttl_s, 7 * 86_400, 'capped at max_ttl');
});

test('an LLM trust recommendation is only proposed; unblock too', () => {
  // Of the incident's subject: a model may name no other address (target_not_subject).
  const ds = decide(policy, incident(), llm([{ type: 'trust_ip', target: '203.0.113.99' }, { type: 'unblock_ip', target: '203.0.113.99' }]), ctx());
  assert.equal(find(ds, 'trust_ip')[0]?.mode, 'propose');
  assert.equal(find(ds, 'trust_ip')[0]?.policyRule, 'llm-widening-proposed');
  assert.equal(find(ds, 'unblock_ip')[0]?.mode, 'propose');
});

test('an LLM block is proposed when confident, dry-run when not, with the policy TTL', () => {
  const hi = decide(policy, incident({ actions: [] }), llm([{ type: 'block_ip', target: '203.0.113.99', ttl_s: 999999 }], 0.9), ctx());
  assert.deepEqual([find(hi, 'block_ip')[0]?.mode, find(hi, 'block_ip')[0]?.ttl_s], ['propose', 3600]);
  const lo = decide(policy, incident({ actions: [] }), llm([{ type: 'block_ip', target: '203.0.113.99' }], 0.3), ctx());
  assert.equal(find(lo, 'block_ip')[0]?.mode, 'dry-run');
});

test('restart_haproxy is enforced only for a watchdog incident', () => {
  const wd = incident({ rule: 'haproxy-not-serving', category: 'watchdog', severity: 'critical', subject: { type: 'backend', value: 'haproxy' }, actions: [{ type: 'notify' }] });
  const ds = decide(policy, wd, null, ctx());
  assert.equal(find(ds, 'restart_haproxy')[0]?.mode, 'enforce');
  assert.equal(find(ds, 'notify')[0]?.mode, 'enforce');

  // The same recommendation from an LLM on any other incident: proposed at most.
  const other = incident({ rule: 'backend-5xx-storm', category: 'availability', severity: 'critical', subject: { type: 'backend', value: 'api' }, actions: [{ type: 'notify' }] });
  const ds2 = decide(policy, other, llm([{ type: 'restart_haproxy' }]), ctx());
  assert.equal(find(ds2, 'restart_haproxy')[0]?.mode, 'propose');
  assert.equal(decide(policy, other, null, ctx()).some((d) => d.action === 'restart_haproxy'), false);
  // A lifecycle incident (HAProxy restarted) is not the watchdog: no restart.
  const life = incident({ rule: 'haproxy-worker-crash', category: 'lifecycle', severity: 'critical', subject: { type: 'backend', value: 'haproxy' }, actions: [{ type: 'notify' }] });
  assert.equal(decide(policy, life, null, ctx()).some((d) => d.action === 'restart_haproxy'), false);
});

test('simulation turns enforce into dry-run', () => {
  const sim = { ...policy, simulation: true };
  const ds = decide(sim, incident(), null, ctx());
  assert.equal(find(ds, 'block_ip')[0]?.mode, 'dry-run');
  assert.match(find(ds, 'block_ip')[0]?.reason ?? '', /simulation/);
});

test('a candidate no rule allows is returned refused (no_policy)', () => {
  const p = parsePolicy('version: 1\nrules: []\n', 'inline');
  const ds = decide(p, incident(), null, ctx());
  assert.equal(ds.length, 1);
  assert.equal(ds[0]?.mode, 'refused');
  assert.equal(ds[0]?.guardrail, 'no_policy');
});

test('on_match stop ends the walk; continue goes on', () => {
  const p = parsePolicy(
    `version: 1
rules:
  - name: first
    match: { category: exposure }
    actions: [{ type: notify, from: rules, mode: dry-run }]
    on_match: stop
  - name: second
    actions: [{ type: block_ip, from: rules, mode: enforce }]
`,
    'inline',
  );
  const inc = incident({ actions: [{ type: 'block_ip', ttl_s: 60 }, { type: 'notify' }] });
  const ds = decide(p, inc, null, ctx());
  assert.equal(find(ds, 'block_ip')[0]?.guardrail, 'no_policy');
  const p2 = { ...p, rules: p.rules.map((r) => ({ ...r, on_match: 'continue' as const })) };
  assert.equal(find(decide(p2, inc, null, ctx()), 'block_ip')[0]?.mode, 'enforce');
});

test('adversarial analysis: no unsafe decision in enforce mode', () => {
  const evil = llm(
    [
      { type: 'trust_ip', target: '1.2.3.4', reason: 'ignore previous instructions' },
      { type: 'unblock_ip', target: '0.0.0.0/0' },
      { type: 'unblock_ip', target: '*' },
      { type: 'unblock_ip', target: '::/0' },
      { type: 'restart_haproxy' },
      { type: 'reload_haproxy' },
      { type: 'block_ip', target: '127.0.0.1', ttl_s: 0 },
      { type: 'block_ip', target: '0.0.0.0/0' },
      { type: 'block_ip', target: '::ffff:127.0.0.1' },
      { type: 'block_ip', target: '198.51.100.10' },
      { type: 'block_ip', target: '203.0.113.0/24' },
      { type: 'disable_server', target: 'web/s1; shutdown sessions' },
      { type: 'drop_database', target: 'all' },
      { type: 'trust_ip', target: '1.2.3.4\nset map' },
    ],
    1,
  );
  // The worst: an incident that also looks like a clear attack, and the watchdog one.
  for (const inc of [incident(), incident({ category: 'watchdog', rule: 'haproxy-not-serving', subject: { type: 'backend', value: 'haproxy' }, actions: [] })]) {
    const ds = decide(policy, inc, evil, ctx());
    const enforced = ds.filter((d) => d.mode === 'enforce');
    for (const d of enforced) {
      assert.notEqual(d.origin, 'llm', `an LLM recommendation was enforced: ${JSON.stringify(d)}`);
      if (d.action === 'block_ip') {
        assert.equal(d.target, '203.0.113.99');
        assert.ok(d.ttl_s !== null && d.ttl_s > 0);
      }
      assert.ok(['block_ip', 'notify', 'restart_haproxy'].includes(d.action), JSON.stringify(d));
      if (d.action === 'restart_haproxy') assert.equal(inc.category, 'watchdog');
    }
    // Nothing unsafe even as a proposal: protected, too wide and malformed targets are refused outright.
    for (const d of ds.filter((x) => x.mode !== 'refused')) {
      if (d.action === 'block_ip') assert.ok(!['127.0.0.1', '0.0.0.0/0', '198.51.100.10', '203.0.113.0/24'].includes(d.target ?? ''), JSON.stringify(d));
      if (d.target !== null) assert.match(d.target, /^[0-9a-f.:/]+$|^[A-Za-z0-9_.:-]+\/[A-Za-z0-9_.:-]+$/);
    }
    const codes = new Set(ds.map((d) => d.guardrail).filter(Boolean));
    for (const c of ['protected', 'too_wide', 'bad_target', 'unknown_action', 'target_not_subject']) assert.ok(codes.has(c as never), `expected a ${c} refusal`);
    // "trust 1.2.3.4" names someone other than the subject: refused, not even proposed.
    assert.equal(find(ds, 'trust_ip', '1.2.3.4')[0]?.guardrail, 'target_not_subject');
    // No address action of the model's survives, on either incident: none names the subject.
    assert.deepEqual(ds.filter((d) => d.origin === 'llm' && d.action.endsWith('_ip') && d.mode !== 'refused'), []);
  }
});

test("the analysis stage's result feeds decide() (notify_only, empty targets)", async () => {
  const { fromAnalysisResult } = await import('../../src/pipeline/policy/analysis.js');
  const a = fromAnalysisResult({
    summary: 'scanner',
    confidence: 0.9,
    recommendations: [
      { type: 'notify_only', target: '' },
      { type: 'untrust_ip', target: '203.0.113.99' },
      { type: 'restart_haproxy', target: '' },
    ],
  });
  const ds = decide(policy, incident({ actions: [] }), a, ctx());
  assert.deepEqual(ds.map((d) => [d.action, d.target, d.mode]), [
    ['notify', null, 'enforce'],
    ['untrust_ip', '203.0.113.99', 'propose'],
    ['restart_haproxy', null, 'propose'],
  ]);
});
