/** The action registry (src/pipeline/actions/registry.ts): every unit's target checks, inverses, and names refused when recording. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTION_TYPES, allUnits, isAction, requireUnit, unitOf } from '../../src/pipeline/actions/registry.js';
import { inverseOf, recordFromDecision } from '../../src/pipeline/policy/actions.js';
import type { Decision } from '../../src/pipeline/policy/types.js';
import { AppError } from '../../src/errors.js';

const GOOD: Record<string, { raw: string | null; text: string | null }[]> = {
  ip: [
    { raw: '203.0.113.7', text: '203.0.113.7' },
    { raw: ' 203.0.113.0/24 ', text: '203.0.113.0/24' },
    { raw: '2001:DB8::1', text: '2001:db8::1' },
  ],
  server: [{ raw: 'web/s1', text: 'web/s1' }, { raw: 'app_2.x/srv-a:1', text: 'app_2.x/srv-a:1' }],
  none: [{ raw: null, text: null }, { raw: 'anything', text: null }],
};
const BAD: Record<string, (string | null)[]> = {
  ip: [null, '', 'not-an-ip', '203.0.113.300', 'web/s1'],
  server: [null, '', 'web', 'web/s1/x', 'web/s 1', 'web/<script>', `${'a'.repeat(65)}/s1`],
  none: [],
};

test('the registry lists the ten actions, each once, with a unit of the same name', () => {
  assert.equal(ACTION_TYPES.length, 10);
  assert.equal(new Set(ACTION_TYPES).size, 10);
  assert.deepEqual(allUnits().map((u) => u.name), [...ACTION_TYPES]);
  for (const n of ACTION_TYPES) assert.equal(unitOf(n).name, n);
});

for (const u of allUnits()) {
  test(`${u.name}: accepts good targets (canonicalised) and refuses bad ones with a validation error`, () => {
    for (const g of GOOD[u.targetKind]!) assert.equal(u.text(u.validate(g.raw)), g.text, `${u.name} ${g.raw}`);
    for (const b of BAD[u.targetKind]!) {
      assert.throws(() => u.validate(b), (e: unknown) => e instanceof AppError && e.kind === 'validation' && new RegExp(u.name).test(e.message), `${u.name} accepted ${JSON.stringify(b)}`);
    }
    assert.ok(u.describe({ target: GOOD[u.targetKind]![0]!.text, ttlS: 60 } as never).length > 0);
  });
}

test('every inverse is a registered action, and undoing it undoes back where that makes sense', () => {
  const withInverse = allUnits().filter((u) => u.inverse !== undefined);
  assert.deepEqual(withInverse.map((u) => u.name).sort(), ['block_ip', 'disable_server', 'drain_server', 'trust_ip', 'unblock_ip', 'untrust_ip']);
  for (const u of withInverse) {
    assert.ok(isAction(u.inverse), `${u.name}: inverse ${u.inverse} is not registered`);
    assert.equal(unitOf(u.inverse as never).targetKind, u.targetKind, `${u.name} and its inverse target the same kind`);
    assert.equal(inverseOf(u.name as never), u.inverse);
  }
  assert.equal(inverseOf('enable_server'), null);
  assert.equal(inverseOf('restart_haproxy'), null);
});

test('unit properties the guardrails read: widening, narrowing, timed, not a change', () => {
  const names = (f: (u: ReturnType<typeof unitOf>) => boolean) => allUnits().filter(f).map((u) => u.name).sort();
  assert.deepEqual(names((u) => u.access === 'widens'), ['enable_server', 'trust_ip', 'unblock_ip', 'untrust_ip']);
  assert.deepEqual(names((u) => u.access === 'narrows'), ['block_ip']);
  assert.deepEqual(names((u) => u.timed), ['block_ip']);
  assert.deepEqual(names((u) => !u.change), ['notify']);
});

test('an unknown action name is refused when a record is made from it', () => {
  assert.equal(isAction('rate_limit_ip'), false);
  assert.throws(() => requireUnit('rate_limit_ip'), (e: unknown) => e instanceof AppError && e.kind === 'validation' && /unknown action "rate_limit_ip"/.test(e.message));
  const d: Decision = { action: 'rate_limit_ip' as never, target: '203.0.113.7', ttl_s: null, mode: 'enforce', origin: 'rules', policyRule: 'x', reason: 'r', incidentId: 1 };
  assert.throws(() => recordFromDecision(d, { now: 1 }), /unknown action/);
  assert.equal(recordFromDecision({ ...d, action: 'notify', target: null }, { now: 1 }).action, 'notify');
});
