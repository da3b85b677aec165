/**
 * The `acted` notification of one remediation round: the incident as stored,
 * the actions done, proposed or failed (one message for the round, not one
 * per action), and the analysis that led to them when there was one.
 */
import type { Db } from '../../storage/db.js';
import { incidents } from '../../storage/incidents.js';
import type { ActedRound } from '../remediation/executor.js';
import type { ActedAction, IncidentSummary, NotifyEvent } from './types.js';
import type { Severity } from '../types.js';

function storedIncident(db: Db, id: number | null): IncidentSummary | undefined {
  const row = id ? incidents.get(db, id) : null;
  if (!row) return undefined;
  const ms = (s: string | null) => (s ? Date.parse(s) : null);
  return {
    id: row.id,
    rule: row.rule,
    category: row.category,
    severity: row.severity as Severity,
    subject: row.subject,
    status: row.status === 'resolved' ? 'resolved' : 'open',
    firstSeen: ms(row.first_seen) ?? 0,
    lastSeen: ms(row.last_seen) ?? 0,
    count: row.count,
    resolvedAt: ms(row.resolved_at),
    samples: row.samples.slice(0, 3),
  };
}

/** One line for chat formats: "block_ip 203.0.113.7 done (until ...); trust_ip 10.1.2.3 proposed". */
function line(actions: ActedAction[]): string {
  return actions
    .map((a) => `${a.action}${a.target ? ` ${a.target}` : ''} ${a.status}${a.expiresAt ? ` until ${new Date(a.expiresAt).toISOString()}` : ''}`)
    .join('; ');
}

export function actedEvent(round: ActedRound, db: Db, now = Date.now()): NotifyEvent {
  const actions: ActedAction[] = round.records.map((r) => ({
    id: r.id,
    action: r.action,
    target: r.target,
    status: r.status,
    mode: r.mode,
    decidedBy: r.decidedBy,
    expiresAt: r.expiresAt,
    result: r.result,
  }));
  const incident = storedIncident(db, round.incidentId);
  const a = round.analysis;
  return {
    kind: 'acted',
    at: now,
    ...(incident ? { incident } : {}),
    detail: line(actions),
    actions,
    ...(a ? { analysis: { summary: a.summary, ...(a.likely_cause ? { likelyCause: a.likely_cause } : {}), ...(a.severity ? { severity: a.severity } : {}), confidence: a.confidence } } : {}),
  };
}
