/** An Incident for tests that need one without running the pipeline: a medium recon incident on one address, open. */
import type { Incident } from '../../src/pipeline/incidents/group.js';

export function makeIncident(over: Partial<Incident> = {}, now = Date.UTC(2026, 10, 25, 12, 0, 0)): Incident {
  return {
    id: 1,
    rule: 'path-enumeration',
    category: 'recon',
    severity: 'medium',
    subject: { type: 'ip', value: '203.0.113.50' },
    status: 'open',
    firstSeen: now - 60_000,
    lastSeen: now,
    count: 1,
    escalate: false,
    actions: [{ type: 'block_ip', ttl_s: 3600 }],
    samples: ['GET /admin.php HTTP/1.1'],
    resolvedAt: null,
    ...over,
  };
}
