/** Action records and their state machine: approve, reject, done, failed, revert (with the inverse action). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { ACTIONS_TABLE_SQL } from '../../src/storage/migrations/005-actions.js';
import {
  approve,
  inverseOf,
  markDone,
  markFailed,
  PolicyTransitionError,
  recheck,
  recordFromDecision,
  reject,
  revert,
  type ActionRecord,
} from '../../src/pipeline/policy/actions.js';
import type { Decision, PolicyContext } from '../../src/pipeline/policy/types.js';

const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);
const dec = (over: Partial<Decision> = {}): Decision => ({
  action: 'block_ip',
  target: '203.0.113.5',
  ttl_s: 3600,
  mode: 'propose',
  origin: 'llm',
  policyRule: 'llm-confident-proposed',
  reason: 'policy rule llm-confident-proposed',
  incidentId: 3,
  ...over,
});
const rec = (over: Partial<Decision> = {}, id = 1): ActionRecord => ({ ...recordFromDecision(dec(over), { now: NOW, analysisSummary: 'a scanner' }), id });

test('initial status follows the mode', () => {
  assert.equal(rec({ mode: 'propose' }).status, 'proposed');
  assert.equal(rec({ mode: 'enforce' }).status, 'approved');
  assert.equal(rec({ mode: 'dry-run' }).status, 'recorded');
  assert.equal(rec({ mode: 'refused' }).status, 'refused');
  const r = rec({ origin: 'rules' });
  assert.equal(r.decidedBy, 'rule');
  assert.equal(r.actor, 'llm-confident-proposed');
  assert.equal(r.analysisSummary, 'a scanner');
  assert.equal(rec().decidedBy, 'llm');
});

test('proposed -> approved -> done, with the block expiry', () => {
  const a = approve(rec(), 'alice', NOW + 1000);
  assert.equal(a.status, 'approved');
  assert.equal(a.reviewedBy, 'alice');
  const d = markDone(a, NOW + 2000, 'map updated');
  assert.equal(d.status, 'done');
  assert.equal(d.expiresAt, NOW + 2000 + 3600_000);
  assert.equal(d.result, 'map updated');
});

test('approved -> failed; proposed -> rejected', () => {
  assert.equal(markFailed(approve(rec(), 'a', NOW), NOW, 'socket timeout').status, 'failed');
  const r = reject(rec(), 'bob', NOW, 'false positive');
  assert.equal(r.status, 'rejected');
  assert.equal(r.result, 'false positive');
});

test('invalid transitions throw', () => {
  const proposed = rec();
  const done = markDone(approve(rec(), 'a', NOW), NOW);
  const rejected = reject(rec(), 'a', NOW);
  const bad: [string, () => unknown][] = [
    ['approve done', () => approve(done, 'a', NOW)],
    ['approve rejected', () => approve(rejected, 'a', NOW)],
    ['approve approved', () => approve(approve(proposed, 'a', NOW), 'a', NOW)],
    ['reject done', () => reject(done, 'a', NOW)],
    ['done proposed', () => markDone(proposed, NOW)],
    ['fail done', () => markFailed(done, NOW, 'x')],
    ['revert proposed', () => revert(proposed, 'a', NOW)],
    ['revert reverted', () => revert(revert(done, 'a', NOW).reverted, 'a', NOW)],
    ['approve dry-run', () => approve(rec({ mode: 'dry-run' }), 'a', NOW)],
    ['approve refused', () => approve(rec({ mode: 'refused' }), 'a', NOW)],
    ['revert a restart', () => revert(markDone(rec({ mode: 'enforce', action: 'restart_haproxy', target: null, ttl_s: null }), NOW), 'a', NOW)],
    ['revert a notify', () => revert(markDone(rec({ mode: 'enforce', action: 'notify', target: null, ttl_s: null }), NOW), 'a', NOW)],
  ];
  for (const [name, fn] of bad) assert.throws(fn, PolicyTransitionError, name);
});

test('revert yields the inverse action, decided by the person', () => {
  const done = markDone(approve(rec(), 'alice', NOW), NOW);
  const { reverted, inverse } = revert(done, 'bob', NOW + 5);
  assert.equal(reverted.status, 'reverted');
  assert.equal(inverse.action, 'unblock_ip');
  assert.equal(inverse.target, '203.0.113.5');
  assert.equal(inverse.status, 'approved');
  assert.equal(inverse.decidedBy, 'person');
  assert.equal(inverse.actor, 'bob');
  assert.equal(inverse.revertsId, done.id);
  assert.equal(inverse.ttlS, null);

  const pairs: [Decision['action'], Decision['action'] | null][] = [
    ['block_ip', 'unblock_ip'],
    ['unblock_ip', 'block_ip'],
    ['trust_ip', 'untrust_ip'],
    ['untrust_ip', 'trust_ip'],
    ['disable_server', 'enable_server'],
    ['drain_server', 'enable_server'],
    ['enable_server', null],
    ['reload_haproxy', null],
    ['restart_haproxy', null],
    ['notify', null],
  ];
  for (const [a, b] of pairs) assert.equal(inverseOf(a), b, a);
  // Reverting an unblock re-blocks with a TTL (1h by default, or as the person says).
  const unb = markDone(rec({ mode: 'enforce', action: 'unblock_ip', ttl_s: null }), NOW);
  assert.equal(revert(unb, 'a', NOW).inverse.ttlS, 3600);
  assert.equal(revert(unb, 'a', NOW, { ttlS: null }).inverse.ttlS, null);
});

test('recheck: a person may approve an LLM trust, but not a protected block', () => {
  const ctx: PolicyContext = { now: NOW, recentActions: [], currentBlocks: 0, isProtected: () => false };
  assert.equal(recheck(approve(rec({ action: 'trust_ip', ttl_s: null }), 'a', NOW), ctx), null);
  assert.match(recheck(approve(rec({ target: '127.0.0.1' }), 'a', NOW), ctx) ?? '', /protected/);
  assert.match(recheck(approve(rec(), 'a', NOW), { ...ctx, currentBlocks: 5, limits: { maxConcurrentBlocks: 5 } }) ?? '', /cap_blocks/);
});

test('the actions table SQL runs and enforces its checks', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE incidents (id INTEGER PRIMARY KEY)');
  db.exec(ACTIONS_TABLE_SQL);
  db.exec(ACTIONS_TABLE_SQL); // idempotent
  const ins = db.prepare(
    `INSERT INTO actions (created_at, updated_at, incident_id, action, target, ttl_s, decided_by, actor, mode, status, reason)
     VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  ins.run(NOW, NOW, 'block_ip', '203.0.113.5', 3600, 'rule', 'block-clear-attackers', 'enforce', 'approved', 'r');
  ins.run(NOW, NOW, 'block_ip', '203.0.113.6', null, 'person', 'alice', 'enforce', 'approved', 'permanent by a person');
  assert.throws(() => ins.run(NOW, NOW, 'block_ip', '203.0.113.7', null, 'rule', 'x', 'enforce', 'approved', 'r'), /CHECK/);
  assert.throws(() => ins.run(NOW, NOW, 'drop_db', null, null, 'rule', 'x', 'enforce', 'approved', 'r'), /CHECK/);
  assert.throws(() => ins.run(NOW, NOW, 'notify', null, null, 'rule', 'x', 'enforce', 'maybe', 'r'), /CHECK/);
  assert.equal((db.prepare('SELECT count(*) AS n FROM actions').get() as { n: number }).n, 2);
  db.close();
});
