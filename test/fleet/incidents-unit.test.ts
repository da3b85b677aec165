/**
 * The fleet incidents unit (src/fleet/incidents.ts) between two nodes' real
 * SQLite databases and a real PostgreSQL: who tells what. The first node to
 * open a condition tells "opened" and its "acted"; the other attaches (the
 * link recorded on its incident) and tells nothing, except "escalated" when
 * its sight raises the fleet incident; the last node to resolve tells
 * "resolved". PostgreSQL stopped: a node tells its new incidents itself, and
 * the notifier its resolve, while an attached node stays silent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPostgres } from '../helpers/postgres.js';
import { makeIncident } from '../helpers/incident.js';
import { openDatabase } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { createLogger } from '../../src/log.js';
import { createFleetIncidents, type FleetIncidents } from '../../src/fleet/incidents.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';

test('fleet incidents unit: one node tells, the other attaches; an outage makes each node tell its own', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_incidents_unit');
  const dir = mkdtempSync(join(tmpdir(), 'hm-fleet-inc-unit-'));
  const log = createLogger({ level: 'error', format: 'text', write: () => undefined });
  const made: { unit: FleetIncidents; close(): void }[] = [];
  t.after(async () => {
    for (const m of made) {
      await m.unit.stop();
      m.close();
    }
    pgc.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const node = (name: string) => {
    const { writer, reader } = openDatabase(join(dir, `${name}.db`));
    const unit = createFleetIncidents({ settings: { nodeName: name, databaseUrl: url, host: '127.0.0.1', tls: { enabled: false, verify: true, caFile: null }, peers: [], secretKey: null }, db: writer, log, windowMs: 600_000 });
    unit.start();
    made.push({ unit, close: () => (reader.close(), writer !== reader && writer.close()) });
    const told: string[] = [];
    /** Stores an incident as the monitor does (with this node's name) and returns it with its id. */
    const store = (over: Partial<Incident>): Incident => {
      const inc = makeIncident({ id: 0, ...over });
      inc.id = incidents.write(writer, [inc], name)[0]!;
      return inc;
    };
    const on = (kind: 'opened' | 'escalated' | 'resolved', inc: Incident) => unit.incident(kind, inc, (k) => told.push(`${k} ${inc.subject.value}`));
    const acted = (inc: Incident) => unit.acted(inc.id, () => told.push(`acted ${inc.subject.value}`));
    return { name, writer, unit, told, store, on, acted };
  };
  const a = node('node-a');
  const b = node('node-b');
  const settled = () => Promise.all([a.unit.settled(), b.unit.settled()]);

  // A sees it first and tells it; B attaches and tells nothing, its acted round included.
  const X = '203.0.113.50';
  const ia = a.store({ subject: { type: 'ip', value: X } });
  a.on('opened', ia);
  a.acted(ia);
  await settled();
  const ib = b.store({ subject: { type: 'ip', value: X } });
  b.on('opened', ib);
  b.acted(ib);
  await settled();
  assert.deepEqual(a.told, [`opened ${X}`, `acted ${X}`]);
  assert.deepEqual(b.told, []);
  const la = incidents.get(a.writer, ia.id)!;
  const lb = incidents.get(b.writer, ib.id)!;
  assert.deepEqual([la.node, la.fleet_notifier, lb.node, lb.fleet_notifier], ['node-a', 'node-a', 'node-b', 'node-a']);
  assert.equal(la.fleet_incident_id, lb.fleet_incident_id);
  assert.ok(la.fleet_incident_id! > 0);

  // B's sight rises to high: B tells "escalated", once; A rising to the same severity tells nothing.
  ib.severity = 'high';
  b.on('escalated', ib);
  await settled();
  ia.severity = 'high';
  a.on('escalated', ia);
  await settled();
  assert.deepEqual(b.told, [`escalated ${X}`]);
  assert.deepEqual(a.told, [`opened ${X}`, `acted ${X}`]);

  // A's incident ends first: nothing told; B's is the last: B tells "resolved".
  ia.status = 'resolved';
  a.on('resolved', ia);
  await settled();
  assert.deepEqual(a.told, [`opened ${X}`, `acted ${X}`]);
  ib.status = 'resolved';
  b.on('resolved', ib);
  await settled();
  assert.deepEqual(b.told, [`escalated ${X}`, `resolved ${X}`]);

  // Another condition opened by A and joined by B, then PostgreSQL stops.
  const Y = '203.0.113.51';
  const ya = a.store({ subject: { type: 'ip', value: Y } });
  a.on('opened', ya);
  await settled();
  const yb = b.store({ subject: { type: 'ip', value: Y } });
  b.on('opened', yb);
  await settled();
  pgc.stop();
  // New incidents are told by each node itself (the fleet cannot be asked).
  const Z = '203.0.113.52';
  const za = a.store({ subject: { type: 'ip', value: Z } });
  const zb = b.store({ subject: { type: 'ip', value: Z } });
  a.on('opened', za);
  b.on('opened', zb);
  await settled();
  assert.deepEqual(a.told.slice(-1), [`opened ${Z}`]);
  assert.deepEqual(b.told.slice(-1), [`opened ${Z}`]);
  assert.equal(incidents.get(a.writer, za.id)!.fleet_incident_id, null, 'not part of a fleet incident');
  // Ends during the outage: the attached node says nothing, the notifier tells it.
  yb.status = 'resolved';
  b.on('resolved', yb);
  ya.status = 'resolved';
  a.on('resolved', ya);
  await settled();
  assert.deepEqual(b.told.slice(-1), [`opened ${Z}`], 'B (attached) tells no resolve');
  assert.deepEqual(a.told.slice(-1), [`resolved ${Y}`], 'A (the notifier) tells it');
  pgc.start();
});
