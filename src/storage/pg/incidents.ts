/**
 * Fleet incidents in PostgreSQL: the only place their SQL lives. One
 * condition (rule and subject) seen by several nodes within the incident
 * window is one row, and one node (the `notifier`, the first to see it)
 * sends its notifications; the others attach to it.
 *
 * Contract:
 * - claim(): under an advisory lock on (rule, subject) for its transaction,
 *   attaches to the open fleet incident of that rule and subject last seen
 *   no longer than the window before this node's first sight, or opens one
 *   with this node as notifier. Two nodes claiming at once get one row.
 * - raise(): the severity only rises (and escalate only turns on); the call
 *   that raises it is told so (its node sends "escalated", once).
 * - leave(): the node's local incident resolved; the call that leaves no
 *   node open resolves the fleet incident and is told so (it sends
 *   "resolved", once).
 * - touch(): nodes push their open incidents' last_seen while they see them,
 *   so the window of a long condition is measured from its latest sight and
 *   a fleet incident whose nodes went away stops matching after the window.
 */
import type pg from 'pg';
import { inTransaction } from './transaction.js';

/** pg_advisory_xact_lock(key1, key2): key1 "hm19" in ASCII, key2 a hash of the rule and subject. */
export const INCIDENT_LOCK = 0x686d3139;

const SEVERITY_ORDER = `ARRAY['info','low','medium','high','critical']`;

export interface IncidentClaim {
  node: string;
  rule: string;
  subjectType: string;
  subjectValue: string;
  severity: string;
  escalate: boolean;
  /** ms since the epoch (log time). */
  firstSeen: number;
  lastSeen: number;
  windowMs: number;
}

export interface Claimed {
  id: number;
  notifier: string;
  /** This call opened the fleet incident (this node notifies "opened"). */
  opened: boolean;
  /** Attached, and this node's severity or escalation raised the fleet incident's (this node notifies "escalated"). */
  raised: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function claimIncident(pool: pg.Pool, c: IncidentClaim): Promise<Claimed> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [INCIDENT_LOCK, `${c.rule}\u0001${c.subjectType}\u0001${c.subjectValue}`]);
    const found = await client.query<{ id: string; notifier: string }>(
      `SELECT id, notifier FROM fleet_incidents
        WHERE rule = $1 AND subject_type = $2 AND subject_value = $3 AND resolved_at IS NULL
          AND last_seen >= $4::timestamptz - make_interval(secs => $5::double precision / 1000)
        ORDER BY id DESC LIMIT 1`,
      [c.rule, c.subjectType, c.subjectValue, iso(c.firstSeen), c.windowMs],
    );
    let out: Claimed;
    const row = found.rows[0];
    if (row) {
      const up = await client.query<{ raised: boolean }>(
        `WITH old AS (SELECT severity, escalate FROM fleet_incidents WHERE id = $1)
         UPDATE fleet_incidents f SET
           nodes = CASE WHEN $2 = ANY(f.nodes) THEN f.nodes ELSE array_append(f.nodes, $2) END,
           open_nodes = CASE WHEN $2 = ANY(f.open_nodes) THEN f.open_nodes ELSE array_append(f.open_nodes, $2) END,
           last_seen = greatest(f.last_seen, $3::timestamptz),
           first_seen = least(f.first_seen, $4::timestamptz),
           severity = CASE WHEN array_position(${SEVERITY_ORDER}, $5) > array_position(${SEVERITY_ORDER}, f.severity) THEN $5 ELSE f.severity END,
           escalate = f.escalate OR $6
         FROM old WHERE f.id = $1
         RETURNING (array_position(${SEVERITY_ORDER}, $5) > array_position(${SEVERITY_ORDER}, old.severity) OR ($6 AND NOT old.escalate)) AS raised`,
        [row.id, c.node, iso(c.lastSeen), iso(c.firstSeen), c.severity, c.escalate],
      );
      out = { id: Number(row.id), notifier: row.notifier, opened: false, raised: up.rows[0]?.raised === true };
    } else {
      const ins = await client.query<{ id: string }>(
        `INSERT INTO fleet_incidents (rule, subject_type, subject_value, severity, escalate, first_seen, last_seen, notifier, nodes, open_nodes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ARRAY[$8], ARRAY[$8]) RETURNING id`,
        [c.rule, c.subjectType, c.subjectValue, c.severity, c.escalate, iso(c.firstSeen), iso(c.lastSeen), c.node],
      );
      out = { id: Number(ins.rows[0]!.id), notifier: c.node, opened: true, raised: false };
    }
    return out;
  });
}

/** Raises the fleet incident's severity / escalation; true when this call raised it. */
export async function raiseIncident(pool: pg.Pool, id: number, severity: string, escalate: boolean): Promise<boolean> {
  const r = await pool.query(
    `UPDATE fleet_incidents SET
       severity = CASE WHEN array_position(${SEVERITY_ORDER}, $2) > array_position(${SEVERITY_ORDER}, severity) THEN $2 ELSE severity END,
       escalate = escalate OR $3
     WHERE id = $1 AND (array_position(${SEVERITY_ORDER}, $2) > array_position(${SEVERITY_ORDER}, severity) OR ($3 AND NOT escalate))
     RETURNING id`,
    [id, severity, escalate],
  );
  return (r.rowCount ?? 0) > 0;
}

/** This node's incident resolved; true when it was the last one open (the fleet incident is resolved now). */
export async function leaveIncident(pool: pg.Pool, id: number, node: string, lastSeen: number): Promise<boolean> {
  const r = await pool.query<{ resolved: boolean }>(
    `UPDATE fleet_incidents SET
       open_nodes = array_remove(open_nodes, $2),
       last_seen = greatest(last_seen, $3::timestamptz),
       resolved_at = CASE WHEN cardinality(array_remove(open_nodes, $2)) = 0 THEN now() END
     WHERE id = $1 AND resolved_at IS NULL AND $2 = ANY(open_nodes)
     RETURNING resolved_at IS NOT NULL AS resolved`,
    [id, node, iso(lastSeen)],
  );
  return r.rows[0]?.resolved === true;
}

/** Pushes the last sight of this node's open incidents (id, ms). */
export async function touchIncidents(pool: pg.Pool, seen: readonly { id: number; lastSeen: number }[]): Promise<void> {
  if (!seen.length) return;
  await pool.query(
    `UPDATE fleet_incidents f SET last_seen = greatest(f.last_seen, s.last_seen)
       FROM unnest($1::bigint[], $2::timestamptz[]) AS s(id, last_seen)
      WHERE f.id = s.id AND f.resolved_at IS NULL`,
    [seen.map((s) => s.id), seen.map((s) => iso(s.lastSeen))],
  );
}

export interface FleetIncidentRow {
  id: number;
  rule: string;
  subjectValue: string;
  severity: string;
  notifier: string;
  nodes: string[];
  openNodes: string[];
  resolved: boolean;
}

/** Every fleet incident, oldest first (tests, diagnostics). */
export async function listFleetIncidents(pool: pg.Pool): Promise<FleetIncidentRow[]> {
  const r = await pool.query<{ id: string; rule: string; subject_value: string; severity: string; notifier: string; nodes: string[]; open_nodes: string[]; resolved: boolean }>(
    'SELECT id, rule, subject_value, severity, notifier, nodes, open_nodes, resolved_at IS NOT NULL AS resolved FROM fleet_incidents ORDER BY id',
  );
  return r.rows.map((x) => ({ id: Number(x.id), rule: x.rule, subjectValue: x.subject_value, severity: x.severity, notifier: x.notifier, nodes: x.nodes, openNodes: x.open_nodes, resolved: x.resolved }));
}
