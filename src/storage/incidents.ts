/** Incidents and source positions: the only place their SQL lives. */
import type { Db } from './db.js';
import { stmt } from './statements.js';

const iso = (ms: number) => new Date(ms).toISOString();

export interface IncidentRow {
  id: number;
  rule: string;
  category: string;
  severity: string;
  subject: { type: string; value: string };
  status: string;
  first_seen: string;
  last_seen: string;
  count: number;
  escalate: boolean;
  actions: unknown[];
  samples: string[];
  resolved_at: string | null;
  /** The fleet node that saw it (fleet.node_name); null on a single node. */
  node: string | null;
  /** The fleet incident it is part of and the node that notifies for it; null on a single node or until the fleet was asked. */
  fleet_incident_id: number | null;
  fleet_notifier: string | null;
}

/**
 * What is stored of an incident (pipeline/incidents/group.ts Incident has this
 * shape); declared here so storage does not import the pipeline. `id` 0 means
 * not stored yet. Times are ms since the epoch.
 */
export interface IncidentFacts {
  readonly id: number;
  readonly rule: string;
  readonly category: string;
  readonly severity: string;
  readonly subject: { readonly type: string; readonly value: string };
  readonly status: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  readonly escalate: boolean;
  readonly actions: readonly unknown[];
  readonly samples: readonly string[];
  readonly resolvedAt: number | null;
}

type Sql = Omit<IncidentRow, 'subject' | 'escalate' | 'actions' | 'samples'> & { subject_type: string; subject_value: string; escalate: number; actions: string; samples: string };

const toRow = (r: Sql): IncidentRow => ({
  id: r.id,
  rule: r.rule,
  category: r.category,
  severity: r.severity,
  subject: { type: r.subject_type, value: r.subject_value },
  status: r.status,
  first_seen: r.first_seen,
  last_seen: r.last_seen,
  count: r.count,
  escalate: r.escalate === 1,
  actions: JSON.parse(r.actions) as unknown[],
  samples: JSON.parse(r.samples) as string[],
  resolved_at: r.resolved_at,
  node: r.node,
  fleet_incident_id: r.fleet_incident_id,
  fleet_notifier: r.fleet_notifier,
});

export const incidents = {
  /**
   * Writes incidents in one transaction: id 0 is inserted, any other id
   * updated. Returns each incident's id, in the order given (the new id for an
   * inserted one); the objects passed in are not changed. `node`: the fleet
   * node seeing them, stored with a new incident (null on a single node).
   */
  write(db: Db, list: readonly IncidentFacts[], node: string | null = null): number[] {
    if (list.length === 0) return [];
    // A single node leaves `node` to its default (null): the same statement as before migration 14.
    const ins = stmt(db, 
      node === null
        ? `INSERT INTO incidents (rule, category, severity, subject_type, subject_value, status, first_seen, last_seen, count, escalate, actions, samples, resolved_at)
       VALUES (@rule, @category, @severity, @subject_type, @subject_value, @status, @first_seen, @last_seen, @count, @escalate, @actions, @samples, @resolved_at)`
        : `INSERT INTO incidents (rule, category, severity, subject_type, subject_value, status, first_seen, last_seen, count, escalate, actions, samples, resolved_at, node)
       VALUES (@rule, @category, @severity, @subject_type, @subject_value, @status, @first_seen, @last_seen, @count, @escalate, @actions, @samples, @resolved_at, @node)`,
    );
    const upd = stmt(db, 
      `UPDATE incidents SET severity = @severity, status = @status, last_seen = @last_seen, count = @count, escalate = @escalate, samples = @samples,
         resolved_at = @resolved_at, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = @id`,
    );
    return db.transaction((): number[] =>
      list.map((i) => {
        const row = {
          id: i.id,
          rule: i.rule,
          category: i.category,
          severity: i.severity,
          subject_type: i.subject.type,
          subject_value: i.subject.value,
          status: i.status,
          first_seen: iso(i.firstSeen),
          last_seen: iso(i.lastSeen),
          count: i.count,
          escalate: i.escalate ? 1 : 0,
          actions: JSON.stringify(i.actions),
          samples: JSON.stringify(i.samples),
          resolved_at: i.resolvedAt === null ? null : iso(i.resolvedAt),
          ...(node === null ? {} : { node }),
        };
        if (i.id === 0) return Number(ins.run(row).lastInsertRowid);
        upd.run(row);
        return i.id;
      }),
    )();
  },
  list(db: Db, opts: { status?: string; limit: number; before?: number; severity?: string; rule?: string; subject?: string }): IncidentRow[] {
    return (
      stmt(db, 
          `SELECT * FROM incidents WHERE (@status IS NULL OR status = @status) AND (@before IS NULL OR id < @before)
             AND (@severity IS NULL OR severity = @severity) AND (@rule IS NULL OR rule = @rule)
             AND (@subject IS NULL OR subject_value = @subject) ORDER BY id DESC LIMIT @limit`,
        )
        .all({ status: opts.status ?? null, before: opts.before ?? null, severity: opts.severity ?? null, rule: opts.rule ?? null, subject: opts.subject ?? null, limit: opts.limit }) as Sql[]
    ).map(toRow);
  },
  get(db: Db, id: number): IncidentRow | null {
    const r = stmt(db, 'SELECT * FROM incidents WHERE id = ?').get(id) as Sql | undefined;
    return r ? toRow(r) : null;
  },
  counts(db: Db): Record<string, number> {
    const rows = stmt(db, 'SELECT status, COUNT(*) AS n FROM incidents GROUP BY status').all() as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  },
  /** Records the fleet incident an incident is part of and the node that notifies for it (fleet/incidents.ts). */
  setFleetLink(db: Db, id: number, fleetId: number, notifier: string): void {
    stmt(db, 'UPDATE incidents SET fleet_incident_id = ?, fleet_notifier = ? WHERE id = ?').run(fleetId, notifier, id);
  },
  /** The fleet incident an incident is part of, if the fleet was asked. */
  fleetLink(db: Db, id: number): { fleetId: number; notifier: string } | null {
    const r = stmt(db, 'SELECT fleet_incident_id AS fleetId, fleet_notifier AS notifier FROM incidents WHERE id = ? AND fleet_incident_id IS NOT NULL').get(id) as { fleetId: number; notifier: string } | undefined;
    return r ?? null;
  },
  /** Open incidents that are part of a fleet incident, with their last sight in ms (what a node pushes while it sees them). */
  openFleetLinks(db: Db): { fleetId: number; lastSeen: number }[] {
    const rows = stmt(db, `SELECT fleet_incident_id AS fleetId, last_seen AS lastSeen FROM incidents WHERE status = 'open' AND fleet_incident_id IS NOT NULL`).all() as { fleetId: number; lastSeen: string }[];
    return rows.map((r) => ({ fleetId: r.fleetId, lastSeen: Date.parse(r.lastSeen) }));
  },
  /** Every open incident, oldest activity first: what a restart picks up again (monitor.ts). */
  open(db: Db): IncidentRow[] {
    return (stmt(db, `SELECT * FROM incidents WHERE status = 'open' ORDER BY last_seen, id`).all() as Sql[]).map(toRow);
  },
};

/** Source positions (file offsets, journald cursors), keyed by source. */
export const positions = {
  get(db: Db, key: string): string | null {
    return (stmt(db, 'SELECT value FROM source_positions WHERE key = ?').get(key) as { value: string } | undefined)?.value ?? null;
  },
  set(db: Db, key: string, value: string): void {
    stmt(db, `INSERT INTO source_positions (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`).run(key, value);
  },
};
