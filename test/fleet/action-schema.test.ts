/**
 * The check a node applies to another node's action from PostgreSQL
 * (src/fleet/action-schema.ts): a well-formed row passes as it is; each
 * malformed one is refused with the field and the reason, never repaired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { actionBodySchema, checkStoredAction, toRemote } from '../../src/fleet/action-schema.js';
import { issueLines } from '../../src/util/zod-issues.js';
import type { StoredAction } from '../../src/storage/pg/actions.js';

const body = (over: Record<string, unknown> = {}) => ({
  createdAt: 1_765_000_000_000,
  updatedAt: 1_765_000_000_050,
  action: 'block_ip',
  target: '203.0.113.7',
  ttlS: 3600,
  expiresAt: 1_765_003_600_050,
  decidedBy: 'rule',
  actor: 'block-clear-attackers',
  mode: 'enforce',
  status: 'done',
  reason: 'block-clear-attackers: scanners that hit known secrets',
  analysisSummary: null,
  result: 'blocked until 2026-12-06T06:40:00.050Z (runtime: true)',
  reviewedBy: null,
  revertsFleetId: null,
  ...over,
});
const row = (over: Partial<Record<keyof StoredAction, unknown>> = {}, b: Record<string, unknown> = {}): StoredAction =>
  ({ fleetId: randomUUID(), node: 'node-b', localId: 12, version: 7, writtenBy: 'node-b', body: body(b), ...over }) as StoredAction;

/** The reasons a row is refused, as the audit entry words them. */
const refusal = (s: StoredAction): string => {
  const r = checkStoredAction(s);
  assert.equal(r.success, false, 'refused');
  return issueLines(r.error!.issues, s).join('; ');
};

test('a well-formed action passes unchanged', () => {
  const s = row();
  const r = checkStoredAction(s);
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.deepEqual(r.data, s);
  assert.deepEqual(toRemote(r.data), { fleetId: s.fleetId, node: 'node-b', version: 7, ...body() });
  // Free text may hold line breaks (a model's summary); a person's permanent block has no TTL; targets of each kind.
  for (const b of [
    { analysisSummary: 'line one\nline two', decidedBy: 'llm' },
    { decidedBy: 'person', actor: 'alice', ttlS: null, expiresAt: null },
    { action: 'unblock_ip', target: '2001:db8::/48', ttlS: null, expiresAt: null, decidedBy: 'person', actor: 'api', revertsFleetId: randomUUID() },
    { action: 'disable_server', target: 'shop/s1', ttlS: null, expiresAt: null },
    { action: 'notify', target: null, ttlS: null, expiresAt: null },
    // A refused record keeps what was refused, as text.
    { mode: 'refused', status: 'refused', target: 'not an address', ttlS: null },
  ]) {
    const r2 = actionBodySchema.safeParse(body(b));
    assert.ok(r2.success, `${JSON.stringify(b)}: ${JSON.stringify(r2.error?.issues)}`);
  }
});

test('malformed actions are refused with the field and the reason', () => {
  const cases: [StoredAction, RegExp][] = [
    [row({}, { target: '203.0.113.007' }), /body\.target: not a canonical address or network for block_ip/],
    [row({}, { target: '10.0.0.1/8' }), /body\.target: not a canonical address or network/],
    [row({}, { action: 'drop_table' }), /body\.action: /],
    [row({}, { action: 'disable_server', target: 'shop', ttlS: null }), /body\.target: not a backend\/server for disable_server/],
    [row({}, { action: 'notify', target: '203.0.113.7', ttlS: null }), /body\.target: notify has no target/],
    [row({}, { ttlS: null, expiresAt: null }), /body\.ttlS: a block the daemon made always has a TTL/],
    [row({}, { actor: 'rule\nname' }), /body\.actor: contains a control character \(U\+000A\)/],
    [row({}, { reason: 'pay\u202eload' }), /body\.reason: contains a bidirectional control character \(U\+202E\)/],
    [row({}, { result: 'x'.repeat(2001) }), /body\.result: /],
    [row({}, { status: 'exploded' }), /body\.status: /],
    [row({}, { createdAt: '2026-12-01T10:00:00Z' }), /body\.createdAt: /],
    [row({}, { revertsFleetId: 'seven' }), /body\.revertsFleetId: /],
    [row({}, { extra: 1 }), /body: unknown key "extra"/],
    [row({ fleetId: 'not-a-uuid' }), /fleetId: /],
    [row({ node: 'Node B' }), /node: lower-case letters/],
    [row({ writtenBy: '' }), /writtenBy: /],
    [row({ localId: 0 }), /localId: /],
    [row({ body: null }), /body: /],
  ];
  for (const [s, want] of cases) assert.match(refusal(s), want, JSON.stringify(s.body));
});
