/**
 * A server's administrative state as the fleet shares it (key
 * `server_state:<backend>/<server>`): what a node records when its operator
 * drains a server passes another node's checks as is; a state other than
 * ready, drain or maint, a name not in canonical form, a missing or extra
 * field is refused with the field and reason, never repaired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetChangeSchema } from '../../src/fleet/change-schema.js';
import { configKey } from '../../src/storage/pg/config-changes.js';
import { isConfigChange, keyOf } from '../../src/storage/pg/changes.js';
import { issueLines } from '../../src/util/zod-issues.js';

const refusal = (v: unknown) => {
  const r = fleetChangeSchema.safeParse(v);
  assert.equal(r.success, false, `refused: ${JSON.stringify(v)}`);
  return issueLines(r.error!.issues, v).join('; ');
};

test('server_state: each state passes as is, keyed per backend and server', () => {
  for (const state of ['ready', 'drain', 'maint'] as const) {
    const c = { kind: 'server_state', backend: 'app', server: 'app1', state } as const;
    assert.deepEqual(fleetChangeSchema.parse(c), c);
    assert.equal(keyOf(c), 'server_state:app/app1');
    assert.equal(configKey(c), 'server_state:app/app1');
    assert.equal(isConfigChange(c), true, 'travels as configuration (its state row: fleet_server_states)');
  }
  assert.deepEqual(fleetChangeSchema.parse({ kind: 'server_state', backend: 'shop.v2', server: 'web_1-a', state: 'drain' }), { kind: 'server_state', backend: 'shop.v2', server: 'web_1-a', state: 'drain' });
});

test('server_state: a bad state, name or shape is refused, never repaired', () => {
  const good = { kind: 'server_state', backend: 'app', server: 'app1', state: 'drain' };
  assert.match(refusal({ ...good, state: 'off' }), /state/);
  assert.match(refusal({ ...good, state: 'DRAIN' }), /state/);
  // Health is not shared: HAProxy's operational states are no admin state.
  assert.match(refusal({ ...good, state: 'DOWN' }), /state/);
  assert.match(refusal({ ...good, backend: 'app backend' }), /backend: a name of letters, digits and \._-/);
  assert.match(refusal({ ...good, backend: '-app' }), /backend: a name of letters, digits and \._-/);
  assert.match(refusal({ ...good, server: '../app1' }), /server: a name of letters, digits and \._-/);
  assert.match(refusal({ ...good, server: 'a'.repeat(65) }), /server: a name of letters, digits and \._-/);
  assert.match(refusal({ ...good, server: 'app1\n' }), /server/);
  assert.match(refusal({ ...good, weight: 0 }), /weight|Unrecognized/i);
  const { state: _s, ...noState } = good;
  assert.match(refusal(noState), /state/);
  const { server: _v, ...noServer } = good;
  assert.match(refusal(noServer), /server/);
  assert.match(refusal({ ...good, backend: 7 }), /backend/);
});
