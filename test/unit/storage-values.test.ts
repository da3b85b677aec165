/**
 * Repositories return what they created and leave the caller's objects alone
 * (storage/incidents.ts `write`, pipeline/incidents.ts `recordIds`), and the
 * outbox repository (storage/outbox.ts) keeps the claim contract the worker
 * relies on: a claimed row is leased, a second claim skips it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { createIncidents } from '../../src/pipeline/incidents/group.js';
import type { Finding } from '../../src/pipeline/types.js';
import * as outbox from '../../src/storage/outbox.js';
import { makeIncident } from '../helpers/incident.js';

test('incidents.write returns new and existing ids in order and does not change the objects', () => {
  const { writer: db } = openDatabase(':memory:');
  const a = makeIncident({ id: 0 });
  const b = makeIncident({ id: 0, subject: { type: 'ip', value: '203.0.113.51' } });
  const before = structuredClone([a, b]);
  const ids = incidents.write(db, [a, b]);
  assert.equal(ids.length, 2);
  assert.ok(ids[0]! > 0 && ids[1]! > ids[0]!);
  assert.deepEqual([a, b], before, 'the objects passed in are unchanged');
  // An id other than 0 updates that row and comes back as it is.
  const again = incidents.write(db, [{ ...a, id: ids[0]!, count: 7 }]);
  assert.deepEqual(again, [ids[0]]);
  assert.equal(incidents.get(db, ids[0]!)?.count, 7);
  assert.deepEqual(incidents.write(db, []), []);
  db.close();
});

test('the incident registry records the ids storage returned; a mismatch throws', () => {
  const { writer: db } = openDatabase(':memory:');
  const reg = createIncidents({ quietMs: 60_000, maxSamples: 5, maxOpen: 10 });
  const finding = (time: number, sample: string): Finding => ({
    rule: 'r', category: 'recon', severity: 'low', subject: { type: 'ip', value: '203.0.113.9' }, time, count: 1, escalate: false, actions: [], sample,
  });
  const inc = reg.add(finding(1_000, 'GET /'));
  const changed = reg.drainChanged();
  reg.recordIds(changed, incidents.write(db, changed));
  assert.ok(inc.id > 0);
  // The next write of the same incident updates its row instead of inserting another.
  reg.add(finding(2_000, 'GET /x'));
  const next = reg.drainChanged();
  assert.deepEqual(incidents.write(db, next), [inc.id]);
  assert.equal(incidents.counts(db).open, 1);
  assert.throws(() => reg.recordIds(next, []), /0 ids for 1 incidents/);
  db.close();
});

test('outbox rows: insert once per message id, claim under a lease, mark delivered or failed, prune finished', () => {
  const { writer: db } = openDatabase(':memory:');
  const m = { messageId: 'm1', channel: 'ops', kind: 'opened', payload: { kind: 'opened', events: [] }, dueAt: 100, createdAt: 100 };
  assert.equal(outbox.insertMessage(db, m), true);
  assert.equal(outbox.insertMessage(db, m), false, 'same message id: nothing written');
  assert.equal(outbox.insertMessage(db, { ...m, messageId: 'm2', dueAt: 500, createdAt: 500 }), true);

  assert.deepEqual(outbox.claimDue(db, 10, 99, 1_000), [], 'nothing due yet');
  const claimed = outbox.claimDue(db, 10, 200, 1_000);
  assert.deepEqual(claimed.map((r) => [r.messageId, r.attempts, r.payload]), [['m1', 0, m.payload]]);
  assert.deepEqual(outbox.claimDue(db, 10, 200, 1_000), [], 'leased: a second claim skips it');
  assert.deepEqual(outbox.claimDue(db, 10, 1_000, 2_000).map((r) => [r.messageId, r.attempts]), [['m2', 0], ['m1', 1]], 'the lease ran out; due order');

  outbox.markDelivered(db, claimed[0]!.id, 1_100);
  outbox.markFailed(db, claimed[0]!.id, 5_000, 'late'); // after delivery: ignored
  const m2 = outbox.claimDue(db, 10, 3_000, 4_000)[0]!;
  outbox.markFailed(db, m2.id, null, 'gave up');
  assert.deepEqual(outbox.outboxCounts(db), { pending: 0, delivered: 1, dead: 1, unsuccessfulAttempts: 3, oldestPendingAt: null });
  assert.deepEqual(outbox.claimDue(db, 10, 10_000, 11_000), [], 'a delivered row is never claimed again');
  assert.equal(outbox.pruneFinished(db, 101), 1, 'only rows created before the cut');
  assert.equal(outbox.pruneFinished(db, 1_000), 1);
  db.close();
});
