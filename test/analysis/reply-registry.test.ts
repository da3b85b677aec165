/**
 * The model's action list comes from the action registry (pipeline/actions/
 * registry.ts): names, target kinds, help texts and whether an action widens
 * access, so adding an action needs no edit in the analysis stage and the
 * analysis stage cannot disagree with the guardrails about what widens access.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTION_HELP, ALLOWED_ACTIONS, TOOL_INPUT_SCHEMA, checkTargets, replySchema } from '../../src/pipeline/analysis/reply.js';
import { fromAnalysisResult } from '../../src/pipeline/policy/analysis.js';
import { allUnits } from '../../src/pipeline/actions/registry.js';

const opts = { pseudonyms: new Map<string, string>(), minPrefixV4: 24, minPrefixV6: 48, max: 10, model: 'm' };

test('every registered action is offered to the model, under its model name, with its help text', () => {
  assert.deepEqual(ALLOWED_ACTIONS, allUnits().map((u) => u.modelName ?? u.name));
  assert.ok(ALLOWED_ACTIONS.includes('notify_only') && !ALLOWED_ACTIONS.includes('notify'));
  assert.deepEqual(TOOL_INPUT_SCHEMA.properties.recommended_actions.items.properties.type.enum, ALLOWED_ACTIONS);
  for (const name of ALLOWED_ACTIONS) assert.match(ACTION_HELP.get(name) ?? '', /target: /, name);
});

test('target kinds and widening come from each unit: enable_server widens access like unblock and trust', () => {
  const reply = replySchema.parse({
    summary: 's',
    likely_cause: 'c',
    severity: 'high',
    confidence: 0.9,
    recommended_actions: [
      { type: 'enable_server', target: 'web/s1', reason: 'r' },
      { type: 'drain_server', target: 'web/s2', reason: 'r' },
      { type: 'untrust_ip', target: '198.51.100.7', reason: 'r' },
      { type: 'block_ip', target: 'web/s1', reason: 'r' },
      { type: 'notify_only', target: 'web/s1', reason: 'r' },
    ],
  });
  const { kept, dropped } = checkTargets(reply, opts);
  const widens = new Map(allUnits().map((u) => [u.modelName ?? u.name, u.access === 'widens']));
  assert.deepEqual(kept.map((r) => [r.type, r.target, r.widensAccess]), [
    ['enable_server', 'web/s1', true],
    ['drain_server', 'web/s2', false],
    ['untrust_ip', '198.51.100.7', true],
  ]);
  for (const r of kept) assert.equal(r.widensAccess, widens.get(r.type));
  assert.deepEqual(dropped.map((d) => [d.type, d.why]), [
    ['block_ip', 'target is not an IP or CIDR'],
    ['notify_only', 'this action takes no target'],
  ]);
});

test('the policy reads the model names back as registry names', () => {
  const a = fromAnalysisResult({ summary: 's', confidence: 0.5, recommendations: [{ type: 'notify_only', target: '' }, { type: 'block_ip', target: '192.0.2.1' }] });
  assert.deepEqual(a.recommended_actions.map((r) => [r.type, r.target]), [
    ['notify', null],
    ['block_ip', '192.0.2.1'],
  ]);
});
