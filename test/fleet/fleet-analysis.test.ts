/**
 * One LLM analysis per fleet incident (src/fleet/analysis.ts,
 * src/storage/pg/analyses.ts) between nodes with their own real SQLite and
 * a real PostgreSQL. `local` stands for a node's own analyser (a model call):
 * the test counts how often it runs.
 *
 * - Claims: of many nodes claiming one fleet incident at once, exactly one
 *   gets it; a verdict is never claimed again; a stale claim is taken over.
 * - Three nodes that see one condition at once: one model call, and each
 *   node's outcome is that verdict (the others' marked with who made it),
 *   checked with each reader's own target limits.
 * - A malformed verdict (a node or a database writing garbage) is refused,
 *   audited, and the node analyses itself; a well-formed one that would let
 *   traffic in stays an untrusted recommendation marked so, and this node's
 *   target limits drop what they drop for a model's reply.
 * - The analysing node dies (its claim is not renewed): another node takes
 *   it over; the analysing node's call is skipped: the claim is released and
 *   another node calls. PostgreSQL stopped: each node analyses itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestPostgres } from '../helpers/postgres.js';
import { makeIncident } from '../helpers/incident.js';
import { openDatabase } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { listAudit } from '../../src/storage/audit.js';
import { createLogger } from '../../src/log.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import { createFleetIncidents } from '../../src/fleet/incidents.js';
import { createFleetAnalysis } from '../../src/fleet/analysis.js';
import { migratePg } from '../../src/storage/pg/schema.js';
import { claimAnalysis, getAnalysis, listFleetAnalyses, saveVerdict } from '../../src/storage/pg/analyses.js';
import { claimIncident } from '../../src/storage/pg/incidents.js';
import type { AnalysisOutcome } from '../../src/pipeline/analysis/analyser.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';

const log = createLogger({ level: 'error', format: 'text', write: () => undefined });

/** What a node's analyser answers: a block of the subject and of its /24 (within the default limit, /16; not within /25). */
function analysed(subject: string, summary: string): AnalysisOutcome {
  return {
    status: 'analysed',
    fingerprint: 'fp',
    cached: false,
    strongModel: false,
    result: {
      summary,
      likelyCause: 'a scanner',
      severity: 'high',
      confidence: 0.9,
      recommendations: [
        { type: 'block_ip', target: subject, ttl_s: 3600, reason: 'scanner', source: 'llm', model: 'fast-model', widensAccess: false },
        { type: 'block_ip', target: '203.0.113.0/24', reason: 'its range', source: 'llm', model: 'fast-model', widensAccess: false },
      ],
      dropped: [],
      needsStrongerModel: false,
      model: 'fast-model',
    },
  };
}

test('fleet analysis: one model call per fleet incident, shared and checked; refused when malformed; local when the analyser dies or PostgreSQL stops', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_analysis');
  const dir = mkdtempSync(join(tmpdir(), 'hm-fleet-analysis-'));
  const pool = new pg.Pool({ connectionString: url, max: 12 });
  pool.on('error', () => undefined);
  const stops: (() => Promise<void> | void)[] = [];
  t.after(async () => {
    for (const s of stops.reverse()) await s();
    await pool.end();
    pgc.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await pool.connect();
  await migratePg(c);
  c.release();

  const node = (name: string, analysis: Record<string, unknown> = {}, opts: { waitMs?: number; staleMs?: number } = {}) => {
    const { writer, reader } = openDatabase(join(dir, `${name}.db`));
    const settings = { nodeName: name, databaseUrl: url, host: '127.0.0.1', tls: { enabled: false, verify: true, caFile: null }, peers: [], secretKey: null };
    const fleetIncidents = createFleetIncidents({ settings, db: writer, log, windowMs: 600_000 });
    const fa = createFleetAnalysis({
      settings,
      db: writer,
      log,
      analysis: parseAnalysisConfig({ enabled: true, ...analysis }),
      linked: (id) => fleetIncidents.linked(id),
      waitMs: opts.waitMs ?? 30_000,
      staleMs: opts.staleMs ?? 15_000,
      pollMs: 50,
    });
    fleetIncidents.start();
    fa.start();
    stops.push(async () => {
      await fa.stop();
      await fleetIncidents.stop();
      reader.close();
      if (writer !== reader) writer.close();
    });
    let calls = 0;
    /** Opens an incident about `ip` as the monitor does, and has the fleet decide on it. */
    const open = async (ip: string): Promise<Incident> => {
      const inc = makeIncident({ id: 0, rule: 'sensitive-files', subject: { type: 'ip', value: ip } });
      inc.id = incidents.write(writer, [inc], name)[0]!;
      fleetIncidents.incident('opened', inc, () => undefined);
      await fleetIncidents.settled();
      return inc;
    };
    /** The analysis stage's call: `answer` is what this node's model call gives (after `delayMs`). */
    const share = (inc: Incident, answer: (inc: Incident) => AnalysisOutcome, delayMs = 0) =>
      fa.share(inc, async () => {
        calls++;
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        return answer(inc);
      });
    return { name, writer, open, share, calls: () => calls, stats: () => fa.stats(), fleetId: (inc: Incident) => incidents.fleetLink(writer, inc.id)?.fleetId ?? null };
  };

  // Claims at the database: twelve nodes at once, one gets it; a verdict is never claimed again.
  const f1 = await claimIncident(pool, { node: 'n0', rule: 'r', subjectType: 'ip', subjectValue: '192.0.2.1', severity: 'high', escalate: true, firstSeen: Date.now(), lastSeen: Date.now(), windowMs: 600_000 });
  const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => claimAnalysis(pool, f1.id, `n${i}`, 60_000)));
  assert.equal(claims.filter((x) => x.claimed).length, 1, 'one claim of twelve');
  const holder = (await getAnalysis(pool, f1.id))!.analyser;
  assert.ok(claims.every((x) => x.claimed || x.row?.analyser === holder), 'the others are told who holds it');
  assert.equal((await claimAnalysis(pool, f1.id, holder, 60_000)).claimed, true, 'the holder\'s own claim again');
  assert.equal(await saveVerdict(pool, f1.id, holder, { verdict: { summary: 'x' }, model: 'm', strongModel: false }), true);
  assert.equal(await saveVerdict(pool, f1.id, 'n99', { verdict: { summary: 'y' }, model: 'm', strongModel: false }), false, 'the first verdict wins');
  const again = await claimAnalysis(pool, f1.id, 'n99', 0);
  assert.equal(again.claimed, false, 'a verdict is never claimed again, stale or not');
  assert.equal(again.row?.status, 'analysed');

  const a = node('node-a');
  const b = node('node-b');
  // C allows CIDRs no broader than /25: the /24 the verdict recommends is dropped there.
  const cnode = node('node-c', { min_prefix_v4: 25 });

  // 1. Three nodes see one condition and ask at once: one model call, one verdict for all.
  const X = '203.0.113.70';
  const [ia, ib, ic] = [await a.open(X), await b.open(X), await cnode.open(X)];
  assert.ok(a.fleetId(ia) !== null && a.fleetId(ia) === b.fleetId(ib) && b.fleetId(ib) === cnode.fleetId(ic), 'one fleet incident');
  const outs = await Promise.all([a.share(ia, (i) => analysed(i.subject.value, 'seen by A'), 200), b.share(ib, (i) => analysed(i.subject.value, 'seen by B'), 200), cnode.share(ic, (i) => analysed(i.subject.value, 'seen by C'), 200)]);
  assert.equal(a.calls() + b.calls() + cnode.calls(), 1, 'one model call for the three nodes');
  assert.ok(outs.every((o) => o.status === 'analysed'), JSON.stringify(outs));
  const summaries = new Set(outs.map((o) => (o.status === 'analysed' ? o.result.summary : '')));
  assert.equal(summaries.size, 1, 'the same verdict on every node');
  const maker = [a, b, cnode].find((n) => n.calls() === 1)!;
  for (const [i, n] of [a, b, cnode].entries()) {
    const o: AnalysisOutcome = outs[i]!;
    assert.ok(o.status === 'analysed');
    if (n === maker) assert.equal(o.by, undefined, 'the analysing node\'s own outcome');
    else {
      assert.equal(o.by, maker.name, `${n.name} is told who analysed it`);
      assert.equal(o.cached, true);
      assert.ok(o.result.recommendations.every((r) => r.source === 'llm' && r.model === 'fast-model'), 'recommendations stay the model\'s: untrusted, for the policy');
    }
  }
  const targets = (o: AnalysisOutcome) => (o.status === 'analysed' ? o.result.recommendations.map((r) => r.target) : []);
  if (cnode !== maker) {
    assert.deepEqual(targets(outs[2]!), [X], 'C\'s own limit drops the /24');
    assert.equal(outs[2]!.status === 'analysed' && outs[2]!.result.dropped[0]?.why, 'CIDR too broad');
  }
  for (const [i, n] of [a, b].entries()) if (n !== maker) assert.deepEqual(targets(outs[i]!), [X, '203.0.113.0/24'], `${n.name} keeps what its limits allow`);
  // A node asking later (its incident escalated) takes the stored verdict: still one call.
  const later = await b.share(ib, (i) => analysed(i.subject.value, 'again'));
  assert.equal(later.status === 'analysed' && later.result.summary, [...summaries][0]);
  assert.equal(a.calls() + b.calls() + cnode.calls(), 1);

  // 2. A malformed verdict (an action outside the closed set; a broken model name): refused, audited, analysed here.
  const bad = async (ip: string, verdict: unknown, model: string, why: RegExp) => {
    const ia2 = await a.open(ip);
    const ib2 = await b.open(ip);
    await saveVerdict(pool, a.fleetId(ia2)!, 'node-a', { verdict, model, strongModel: false });
    const before = b.calls();
    const o = await b.share(ib2, (i) => analysed(i.subject.value, 'B\'s own'));
    assert.equal(b.calls(), before + 1, 'B calls its own model');
    assert.equal(o.status === 'analysed' && o.result.summary, 'B\'s own');
    assert.equal(o.status === 'analysed' && o.by, undefined);
    const audit = listAudit(b.writer, { limit: 1, action: 'fleet.analysis_refused' })[0];
    assert.ok(audit, 'audited');
    assert.equal(audit.target, `fleet_incident:${a.fleetId(ia2)}`);
    assert.equal(audit.actor, 'fleet:node-a');
    assert.match(audit.error ?? '', why);
  };
  await bad('203.0.113.71', { summary: 'run this', likely_cause: '', severity: 'high', confidence: 1, recommended_actions: [{ type: 'shell_exec', target: '', reason: 'x' }] }, 'fast-model', /recommended_actions\.0\.type/);
  await bad('203.0.113.72', { summary: 'ok', likely_cause: '', severity: 'high', confidence: 1, recommended_actions: [] }, 'model"; DROP', /model: not a model name/);
  await bad('203.0.113.73', 'a string', 'fast-model', /verdict: : /);
  assert.equal(b.stats().refused, 3);

  // A well-formed verdict that would let traffic in stays a recommendation marked as such: the policy's guardrails decide.
  {
    const U = '203.0.113.78';
    const ua = await a.open(U);
    const ub = await b.open(U);
    await saveVerdict(pool, a.fleetId(ua)!, 'node-a', { verdict: { summary: 'trust it', likely_cause: '', severity: 'low', confidence: 1, recommended_actions: [{ type: 'trust_ip', target: U, reason: 'the logs say so' }, { type: 'block_ip', target: '0.0.0.0/0', reason: 'everyone' }] }, model: 'fast-model', strongModel: false });
    const before = b.calls();
    const o = await b.share(ub, (i) => analysed(i.subject.value, 'not asked'));
    assert.equal(b.calls(), before, 'taken from the fleet');
    assert.ok(o.status === 'analysed');
    assert.deepEqual(o.result.recommendations.map((r) => [r.type, r.target, r.source, r.widensAccess]), [['trust_ip', U, 'llm', true]]);
    assert.deepEqual(o.result.dropped, [{ type: 'block_ip', target: '0.0.0.0/0', why: 'CIDR too broad' }], 'this node\'s limits apply to a shared verdict');
  }

  // 3. The analysing node died: its claim is not renewed; a node that waits takes it over.
  const d = node('node-d', {}, { staleMs: 400 });
  const Y = '203.0.113.74';
  const iy = await d.open(Y);
  await claimAnalysis(pool, d.fleetId(iy)!, 'node-dead', 400);
  const oy = await d.share(iy, (i) => analysed(i.subject.value, 'taken over by D'));
  assert.equal(d.calls(), 1, 'D called once the claim went stale');
  assert.equal(oy.status === 'analysed' && oy.by, undefined);
  const stored = (await listFleetAnalyses(pool)).find((r) => r.fleetIncidentId === d.fleetId(iy))!;
  assert.deepEqual([stored.status, stored.analysedBy, (stored.verdict as { summary: string }).summary], ['analysed', 'node-d', 'taken over by D']);

  // 4. The analysing node's call is skipped (budget, back-off): it releases the claim and the waiting node calls.
  const Z = '203.0.113.75';
  const [za, zb] = [await a.open(Z), await b.open(Z)];
  const aCalls = a.calls();
  const bCalls = b.calls();
  const first = a.share(za, () => ({ status: 'skipped', reason: 'budget_calls' }), 300);
  // A holds the claim (its call has started) before B asks.
  while (a.calls() === aCalls) await new Promise((r) => setTimeout(r, 10));
  const second = await b.share(zb, (i) => analysed(i.subject.value, 'B after A gave up'));
  assert.deepEqual((await first).status, 'skipped');
  assert.equal(second.status === 'analysed' && second.result.summary, 'B after A gave up');
  assert.deepEqual([a.calls() - aCalls, b.calls() - bCalls], [1, 1]);

  // 5. PostgreSQL stopped: each node analyses itself.
  const W = '203.0.113.76';
  const [wa, wb] = [await a.open(W), await b.open(W)];
  pgc.stop();
  const [oa, ob] = await Promise.all([a.share(wa, (i) => analysed(i.subject.value, 'A alone')), b.share(wb, (i) => analysed(i.subject.value, 'B alone'))]);
  assert.deepEqual([oa.status === 'analysed' && oa.result.summary, ob.status === 'analysed' && ob.result.summary], ['A alone', 'B alone']);
  // An incident opened during the outage has no fleet link: analysed here as well.
  const V = '203.0.113.77';
  const va = await a.open(V);
  assert.equal(a.fleetId(va), null);
  const ov = await a.share(va, (i) => analysed(i.subject.value, 'A, no link'));
  assert.equal(ov.status === 'analysed' && ov.result.summary, 'A, no link');
  pgc.start();
});
