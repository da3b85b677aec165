/**
 * Fleet incidents (issue 17): detection stays local (each node's monitor
 * reads its own logs and keeps its own incidents, stored with its node name),
 * but one condition seen by several nodes is one fleet incident with one
 * notification, not one per node. This unit stands between an incident's
 * state changes and the notifier:
 *
 * - opened: the fleet is asked (storage/pg/incidents.ts claimIncident, under
 *   an advisory lock): the first node to see the rule and subject within the
 *   incident window opens the fleet incident and notifies; a node seeing it
 *   later attaches (recorded on its incident: fleet_incident_id,
 *   fleet_notifier) and sends nothing, unless its sight raised the fleet
 *   incident's severity (then it sends "escalated").
 * - escalated: sent by the node whose change raised the fleet incident.
 * - resolved: sent by the node whose incident was the last one open.
 * - acted (a remediation round): sent unless the incident is attached to
 *   another node's notification (its actions are in that node's API and
 *   audit; a block reaches every node through the fleet sync anyway).
 *
 * PostgreSQL unreachable: this node notifies as a single node would (a
 * duplicate page is better than a missed one), except a "resolved" of an
 * incident another node notifies for. Events of one incident are handled in
 * order (a chain per incident), so an "acted" waits for its "opened" claim.
 * While it sees an incident, the node pushes its last sight to PostgreSQL
 * (every TOUCH_MS at most), so the window is judged from the latest sight.
 */
import pg from 'pg';
import type { FleetSettings } from '../config/fleet.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { Unit } from '../units.js';
import type { Incident } from '../pipeline/incidents/group.js';
import { describe } from '../errors.js';
import { incidents } from '../storage/incidents.js';
import { migratePg } from '../storage/pg/schema.js';
import { claimIncident, leaveIncident, raiseIncident, touchIncidents } from '../storage/pg/incidents.js';
import { pgConfig } from './connection.js';

export type IncidentKind = 'opened' | 'escalated' | 'resolved';

export interface FleetIncidents extends Unit {
  /** An incident state change (stored, so it has an id); `send(kind)` is called when this node is the one to tell it. */
  incident(kind: IncidentKind, inc: Incident, send: (kind: IncidentKind) => void): void;
  /** A remediation round for a local incident; `send()` unless another node notifies for it. */
  acted(incidentId: number | null, send: () => void): void;
  /** Resolves once every decision asked for so far is made (tests). */
  settled(): Promise<void>;
  /** The fleet incident a local incident is part of, once the decisions asked for it so far are made (null: not part of one, or the database was unreachable). */
  linked(incidentId: number): Promise<{ fleetId: number; notifier: string } | null>;
}

export interface FleetIncidentsDeps {
  settings: FleetSettings;
  db: Db;
  log: Logger;
  /** monitor.incident_quiet: one condition is one fleet incident while seen within this of its last sight. */
  windowMs: number;
}

const TOUCH_MS = 10_000;

export function createFleetIncidents(d: FleetIncidentsDeps): FleetIncidents {
  const { db, log, windowMs } = d;
  const node = d.settings.nodeName;
  let pool: pg.Pool | null = null;
  let schema: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const chains = new Map<number, Promise<void>>();

  /** A pooled connection's pool, the schema brought up to date once (a node may be asked before its sync connected). */
  async function ready(): Promise<pg.Pool> {
    const p = pool;
    if (!p) throw new Error('the fleet incidents unit is not started');
    schema ??= (async () => {
      const c = await p.connect();
      // A checked-out client's 'error' needs a listener (the pool's is off while it is out); the query rejects anyway.
      let broken: Error | undefined;
      const onError = (e: Error) => (broken = e);
      c.on('error', onError);
      try {
        await migratePg(c);
      } finally {
        c.removeListener('error', onError);
        c.release(broken);
      }
    })().catch((e) => {
      schema = null;
      throw e;
    });
    await schema;
    return p;
  }

  /** Runs `op` after the incident's earlier events; failures are logged (op handles its own fallbacks). */
  function chain(id: number, op: () => Promise<void>): void {
    const prev = chains.get(id) ?? Promise.resolve();
    const next = prev.then(op).catch((e) => log.error('fleet incident handling failed', { incident_id: id, error: describe(e) }));
    chains.set(id, next);
    void next.finally(() => {
      if (chains.get(id) === next) chains.delete(id);
    });
  }

  async function opened(inc: Incident, send: (kind: IncidentKind) => void): Promise<void> {
    let c;
    try {
      c = await claimIncident(await ready(), {
        node,
        rule: inc.rule,
        subjectType: inc.subject.type,
        subjectValue: inc.subject.value,
        severity: inc.severity,
        escalate: inc.escalate,
        firstSeen: inc.firstSeen,
        lastSeen: inc.lastSeen,
        windowMs,
      });
    } catch (e) {
      log.warn('fleet database unreachable: this node notifies the incident itself (other nodes may too)', { incident_id: inc.id, error: describe(e) });
      send('opened');
      return;
    }
    incidents.setFleetLink(db, inc.id, c.id, c.notifier);
    if (c.opened) {
      log.debug('fleet incident opened; this node notifies', { incident_id: inc.id, fleet_incident: c.id });
      send('opened');
      return;
    }
    log.info('incident attached to a fleet incident another node notifies', { incident_id: inc.id, fleet_incident: c.id, notifier: c.notifier, raised: c.raised });
    if (c.raised) send('escalated');
  }

  async function escalated(inc: Incident, send: (kind: IncidentKind) => void): Promise<void> {
    const link = incidents.fleetLink(db, inc.id);
    if (!link) return send('escalated');
    try {
      if (await raiseIncident(await ready(), link.fleetId, inc.severity, inc.escalate)) send('escalated');
    } catch (e) {
      log.warn('fleet database unreachable: this node notifies the escalation itself', { incident_id: inc.id, error: describe(e) });
      send('escalated');
    }
  }

  async function resolved(inc: Incident, send: (kind: IncidentKind) => void): Promise<void> {
    const link = incidents.fleetLink(db, inc.id);
    if (!link) return send('resolved');
    try {
      if (await leaveIncident(await ready(), link.fleetId, node, inc.lastSeen)) send('resolved');
    } catch (e) {
      // Only the notifier tells an outage-time resolve: an attached node's would announce the end of another's page.
      log.warn('fleet database unreachable at an incident\'s end', { incident_id: inc.id, notifies: link.notifier === node, error: describe(e) });
      if (link.notifier === node) send('resolved');
    }
  }

  async function touch(): Promise<void> {
    const p = pool;
    if (!p) return;
    const seen = incidents.openFleetLinks(db).map((l) => ({ id: l.fleetId, lastSeen: l.lastSeen }));
    try {
      await touchIncidents(p, seen);
    } catch (e) {
      log.debug('could not push the open incidents\' last sight to the fleet', { error: describe(e) });
    }
  }

  return {
    name: 'fleet-incidents',
    start() {
      pool = new pg.Pool({ ...pgConfig(d.settings), max: 2, idleTimeoutMillis: 30_000 });
      pool.on('error', (e) => log.debug('fleet incidents pool connection lost', { error: describe(e) }));
      timer = setInterval(() => void touch(), Math.min(TOUCH_MS, Math.max(1000, Math.floor(windowMs / 3))));
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all([...chains.values()]);
      await pool?.end().catch(() => undefined);
      pool = null;
    },
    incident(kind, inc, send) {
      chain(inc.id, () => (kind === 'opened' ? opened(inc, send) : kind === 'escalated' ? escalated(inc, send) : resolved(inc, send)));
    },
    acted(incidentId, send) {
      if (incidentId === null) return send();
      chain(incidentId, async () => {
        const link = incidents.fleetLink(db, incidentId);
        if (link && link.notifier !== node) {
          log.debug('acted: not notified, another node notifies for this fleet incident', { incident_id: incidentId, notifier: link.notifier });
          return;
        }
        send();
      });
    },
    settled: async () => {
      while (chains.size) await Promise.all([...chains.values()]);
    },
    async linked(incidentId) {
      await chains.get(incidentId);
      return incidents.fleetLink(db, incidentId);
    },
  };
}
