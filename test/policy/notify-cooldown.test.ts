/**
 * The cooldown guardrail (src/pipeline/policy/guardrails.ts) spares `notify`:
 * every incident may be told about, however many were notified within the
 * cooldown, while a second block of the same target within it is refused.
 * Through decide() with the shipped policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPolicy } from '../../src/pipeline/policy/load.js';
import { decide } from '../../src/pipeline/policy/decide.js';
import { DEFAULT_LIMITS, type Decision, type PolicyContext, type RecentAction } from '../../src/pipeline/policy/types.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';

const policy = loadPolicy({ file: join(import.meta.dirname, '../../config/policy.yaml'), operatorFile: null }).policy;
const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);
const COOLDOWN = DEFAULT_LIMITS.cooldownMs;

function incident(id: number, ip: string, over: Partial<Incident> = {}): Incident {
  return {
    id,
    rule: 'path-enumeration',
    category: 'recon',
    severity: 'medium',
    subject: { type: 'ip', value: ip },
    status: 'open',
    firstSeen: NOW - 30_000,
    lastSeen: NOW,
    count: 50,
    escalate: false,
    actions: [{ type: 'block_ip', ttl_s: 3600 }, { type: 'notify' }],
    samples: ['GET /wp-login.php'],
    resolvedAt: null,
    ...over,
  };
}

function ctx(recentActions: RecentAction[], over: Partial<PolicyContext> = {}): PolicyContext {
  return { now: NOW, recentActions, currentBlocks: 1, isProtected: () => false, protectedRanges: [], ...over };
}

const one = (ds: Decision[], action: Decision['action']) => {
  const found = ds.filter((d) => d.action === action);
  assert.equal(found.length, 1, `expected one ${action} decision, got ${JSON.stringify(ds)}`);
  return found[0]!;
};

// A notify and a block enforced two minutes ago, well inside the 10-minute cooldown.
const recent: RecentAction[] = [
  { action: 'notify', target: null, mode: 'enforce', at: NOW - 120_000 },
  { action: 'block_ip', target: '203.0.113.10', mode: 'enforce', at: NOW - 120_000 },
];

test('the cooldown is what this test assumes', () => {
  assert.ok(COOLDOWN > 120_000, `cooldown ${COOLDOWN} ms`);
});

test('notify is exempt from the cooldown: two incidents notified within it are both allowed', () => {
  const a = decide(policy, incident(1, '203.0.113.21'), null, ctx(recent));
  const n1 = one(a, 'notify');
  assert.equal(n1.mode, 'enforce');
  assert.equal(n1.guardrail, undefined);
  assert.equal(n1.policyRule, 'block-clear-attackers');

  // The first incident's notify is now recent too: the second one is told about anyway.
  const b = decide(policy, incident(2, '203.0.113.22'), null, ctx([...recent, { action: 'notify', target: null, mode: 'enforce', at: NOW - 1 }], { now: NOW + 1000 }));
  const n2 = one(b, 'notify');
  assert.equal(n2.mode, 'enforce');
  assert.equal(n2.guardrail, undefined);
  assert.equal(n2.incidentId, 2);
  // The unrelated block went through too (another address).
  assert.equal(one(b, 'block_ip').mode, 'enforce');
});

test('a notify of an incident not tied to an address, after many recent notifies, is allowed', () => {
  const many: RecentAction[] = Array.from({ length: 50 }, (_, i) => ({ action: 'notify', target: null, mode: 'enforce', at: NOW - i * 1000 }));
  const inc = incident(3, 'web', { rule: 'backend-down', category: 'availability', severity: 'high', subject: { type: 'backend', value: 'web' }, actions: [{ type: 'notify' }] });
  const n = one(decide(policy, inc, null, ctx(many)), 'notify');
  assert.equal(n.mode, 'enforce');
  assert.equal(n.guardrail, undefined);
});

test('block_ip on the same target within the cooldown is still refused (its notify is not)', () => {
  const ds = decide(policy, incident(4, '203.0.113.10'), null, ctx(recent));
  const b = one(ds, 'block_ip');
  assert.equal(b.mode, 'refused');
  assert.equal(b.guardrail, 'cooldown');
  assert.match(b.reason, /^guardrail cooldown: block_ip 203\.0\.113\.10 was done 120s ago \(cooldown 600s\)$/);
  assert.equal(one(ds, 'notify').mode, 'enforce');
});

test('a proposal counts for the cooldown too, and the cooldown ends', () => {
  const proposed: RecentAction[] = [{ action: 'block_ip', target: '203.0.113.10', mode: 'propose', at: NOW - 60_000 }];
  const refused = one(decide(policy, incident(5, '203.0.113.10'), null, ctx(proposed)), 'block_ip');
  assert.equal(refused.guardrail, 'cooldown');
  assert.match(refused.reason, /was proposed 60s ago/);
  // A dry-run does not start a cooldown.
  const dry = one(decide(policy, incident(6, '203.0.113.10'), null, ctx([{ ...proposed[0]!, mode: 'dry-run' }])), 'block_ip');
  assert.equal(dry.mode, 'enforce');
  // Once the cooldown is over, the same block is allowed again.
  const later = one(decide(policy, incident(7, '203.0.113.10'), null, ctx(recent, { now: NOW - 120_000 + COOLDOWN + 1 })), 'block_ip');
  assert.equal(later.mode, 'enforce');
  assert.equal(later.guardrail, undefined);
});

test('notify does not count against the per-hour cap, and other actions still do', () => {
  const cap = 3;
  const busy: RecentAction[] = [
    ...Array.from({ length: 10 }, (_, i): RecentAction => ({ action: 'notify', target: null, mode: 'enforce', at: NOW - i * 1000 })),
    ...Array.from({ length: cap }, (_, i): RecentAction => ({ action: 'block_ip', target: `198.51.${100 + i}.0/24`, mode: 'enforce', decidedBy: 'rule', at: NOW - 30 * 60_000 })),
  ];
  const ds = decide(policy, incident(8, '203.0.113.0/24'), null, ctx(busy, { limits: { maxActionsPerHour: cap } }));
  assert.equal(one(ds, 'notify').mode, 'enforce');
  assert.equal(one(ds, 'block_ip').guardrail, 'cap_per_hour');
});
