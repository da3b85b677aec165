/**
 * Fleet incidents in a real PostgreSQL (src/storage/pg/incidents.ts): nodes
 * claiming the same rule and subject at once get one fleet incident and one
 * notifier; a later sight within the window attaches, one after the window
 * (measured from the last sight, which nodes push) opens another; severity
 * only rises and the raise is told once; the last node to leave resolves it,
 * once; a resolved fleet incident is not joined again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migratedPool } from '../helpers/postgres.js';
import { claimIncident, leaveIncident, listFleetIncidents, raiseIncident, touchIncidents, type IncidentClaim } from '../../src/storage/pg/incidents.js';

const T0 = Date.parse('2026-12-07T12:00:00.000Z');
const MIN = 60_000;
const claim = (node: string, over: Partial<IncidentClaim> = {}): IncidentClaim => ({
  node,
  rule: 'sensitive-files',
  subjectType: 'ip',
  subjectValue: '203.0.113.7',
  severity: 'medium',
  escalate: false,
  firstSeen: T0,
  lastSeen: T0,
  windowMs: 10 * MIN,
  ...over,
});

test('fleet incidents: one per condition, one notifier, raised and resolved once', async (t) => {
  const { pool } = await migratedPool(t, 'fleet_incidents', 6);

  // Three nodes see the same condition at the same moment: one opens it, the two others attach.
  const got = await Promise.all(['a', 'b', 'c'].map((n) => claimIncident(pool, claim(n))));
  assert.equal(new Set(got.map((g) => g.id)).size, 1, 'one fleet incident');
  assert.equal(got.filter((g) => g.opened).length, 1, 'opened by one node');
  const notifier = got.find((g) => g.opened)!.notifier;
  assert.deepEqual(got.map((g) => g.notifier), [notifier, notifier, notifier]);
  assert.ok(got.every((g) => !g.raised));
  const id = got[0]!.id;
  let [row] = await listFleetIncidents(pool);
  assert.deepEqual([...row!.nodes].sort(), ['a', 'b', 'c']);
  assert.deepEqual([...row!.openNodes].sort(), ['a', 'b', 'c']);

  // A claim again by a node already in it changes no membership; another subject or rule is another incident.
  assert.equal((await claimIncident(pool, claim('a'))).id, id);
  const other = await claimIncident(pool, claim('b', { subjectValue: '203.0.113.8' }));
  assert.ok(other.opened && other.id !== id && other.notifier === 'b');
  const otherRule = await claimIncident(pool, claim('b', { rule: 'scanner-agent' }));
  assert.ok(otherRule.opened && otherRule.id !== id);
  [row] = await listFleetIncidents(pool);
  assert.deepEqual([...row!.nodes].sort(), ['a', 'b', 'c']);

  // Severity only rises; the call that raises it is told, once; the escalate flag likewise.
  assert.equal(await raiseIncident(pool, id, 'low', false), false);
  assert.equal(await raiseIncident(pool, id, 'medium', false), false);
  const raises = await Promise.all([raiseIncident(pool, id, 'high', false), raiseIncident(pool, id, 'high', false)]);
  assert.deepEqual(raises.sort(), [false, true]);
  assert.equal(await raiseIncident(pool, id, 'high', true), true);
  assert.equal(await raiseIncident(pool, id, 'high', true), false);
  // A node attaching with a higher severity raises it (it tells "escalated").
  const d = await claimIncident(pool, claim('d', { severity: 'critical', firstSeen: T0 + MIN, lastSeen: T0 + MIN }));
  assert.deepEqual([d.id, d.opened, d.raised], [id, false, true]);
  assert.equal((await listFleetIncidents(pool))[0]!.severity, 'critical');

  // The window counts from the last sight: 10 min after the last sight (T0 + 1 min) it is another condition ...
  const late = await claimIncident(pool, claim('e', { firstSeen: T0 + 12 * MIN, lastSeen: T0 + 12 * MIN }));
  assert.ok(late.opened && late.id !== id, 'seen after the window: a new fleet incident');
  // ... unless a node saw it meanwhile and pushed its sight.
  await touchIncidents(pool, [{ id, lastSeen: T0 + 15 * MIN }]);
  const kept = await claimIncident(pool, claim('f', { firstSeen: T0 + 20 * MIN, lastSeen: T0 + 20 * MIN }));
  assert.equal(kept.id, late.id, 'the newest matching fleet incident is joined');
  assert.ok(!kept.opened);

  // Nodes leave; the last one resolves it, once.
  for (const n of ['a', 'b', 'c']) assert.equal(await leaveIncident(pool, id, n, T0 + 2 * MIN), false, `${n} is not the last`);
  assert.equal(await leaveIncident(pool, id, 'a', T0 + 2 * MIN), false, 'leaving twice changes nothing');
  assert.equal(await leaveIncident(pool, id, 'd', T0 + 2 * MIN), true, 'the last node resolves it');
  assert.equal(await leaveIncident(pool, id, 'd', T0 + 2 * MIN), false);
  const resolved = (await listFleetIncidents(pool)).find((r) => r.id === id)!;
  assert.deepEqual([resolved.resolved, resolved.openNodes], [true, []]);
  // A resolved fleet incident is not joined again: the same condition later, within the window, is a new one, told again.
  assert.equal(await leaveIncident(pool, other.id, 'b', T0), true);
  const again = await claimIncident(pool, claim('c', { subjectValue: '203.0.113.8', firstSeen: T0 + MIN, lastSeen: T0 + MIN }));
  assert.ok(again.opened && again.id !== other.id && again.notifier === 'c');
});
