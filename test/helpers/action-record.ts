/** An ActionRecord for tests that store one without deciding it: a rule's done, timed block of 203.0.113.7 made an hour before `now`. */
import type { ActionRecord } from '../../src/pipeline/policy/actions.js';

export function makeActionRecord(over: Partial<ActionRecord> = {}, now = Date.UTC(2026, 10, 25, 12, 0, 0)): ActionRecord {
  return {
    id: 0,
    createdAt: now - 3_600_000,
    updatedAt: now - 3_600_000,
    incidentId: null,
    action: 'block_ip',
    target: '203.0.113.7',
    ttlS: 3600,
    expiresAt: now,
    decidedBy: 'rule',
    actor: 'block-clear-attackers',
    mode: 'enforce',
    status: 'done',
    reason: 'policy rule block-clear-attackers',
    analysisSummary: null,
    result: 'blocked',
    reviewedBy: null,
    revertsId: null,
    ...over,
  };
}
