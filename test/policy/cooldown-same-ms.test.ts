/** The cooldown (guardrails.ts) holds between two decisions made within the same millisecond. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../src/pipeline/policy/decide.js';
import { parsePolicy } from '../../src/pipeline/policy/load.js';
import type { PolicyContext, RecentAction } from '../../src/pipeline/policy/types.js';
import { makeIncident } from '../helpers/incident.js';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const policy = parsePolicy('version: 1\nrules:\n  - name: block\n    actions: [{ type: block_ip, mode: enforce }, { type: restart_haproxy, from: policy, mode: propose }]\n', 'test');
const ctx = (recentActions: RecentAction[]): PolicyContext => ({ now: NOW, recentActions, currentBlocks: 0, isProtected: () => false, limits: { cooldownMs: 600_000 } });

test('a second decision in the same millisecond is refused by the cooldown of the first', () => {
  const inc = makeIncident({ id: 1, subject: { type: 'ip', value: '203.0.113.5' } }, NOW);
  const first = decide(policy, inc, null, ctx([]));
  assert.deepEqual(first.map((d) => `${d.action} ${d.mode}`), ['block_ip enforce', 'restart_haproxy propose']);
  const recorded: RecentAction[] = first.map((d) => ({ action: d.action, target: d.target, mode: d.mode, at: NOW }));
  const second = decide(policy, { ...inc, id: 2, rule: 'other' }, null, ctx(recorded));
  assert.deepEqual(second.map((d) => `${d.action} ${d.mode} ${d.guardrail ?? ''}`), ['block_ip refused cooldown', 'restart_haproxy refused cooldown']);
  // A millisecond past the cooldown, both may go again.
  const later = decide(policy, { ...inc, id: 3 }, null, { ...ctx(recorded), now: NOW + 600_000 });
  assert.deepEqual(later.map((d) => d.mode), ['enforce', 'propose']);
});
