/**
 * The certificate request queue (src/storage/pg/cert-requests.ts,
 * src/fleet/cert-requests.ts) against a real PostgreSQL: the schema refuses
 * incoherent rows; a request is queued with a notification; two claimers
 * never get the same row; an outcome is recorded only by the term that runs
 * it; a row left running by a term whose lock is gone is queued again, one
 * whose term still holds the lock is not; the worker carries a request out
 * once, records failures, fails an invalid body without acting on it, runs
 * again a request a dead leader left running, and gives up on a request
 * started too often.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestPostgres } from '../helpers/postgres.js';
import { createLogger } from '../../src/log.js';
import { migratePg } from '../../src/storage/pg/schema.js';
import { LEADER_LOCK } from '../../src/storage/pg/leader.js';
import { REQUEST_CHANNEL, claimCertRequest, enqueueCertRequest, finishCertRequest, getCertRequest, requeueOrphans } from '../../src/storage/pg/cert-requests.js';
import { createCertRequests } from '../../src/fleet/cert-requests.js';
import type { CertRequest } from '../../src/certs/request.js';
import type { CertResult } from '../../src/certs/service.js';

test('certificate requests: schema, queue, claim, outcome by term, orphans, the worker', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_cert_requests');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  const lockHolder = new pg.Client({ connectionString: url });
  const listener = new pg.Client({ connectionString: url });
  t.after(async () => {
    await lockHolder.end().catch(() => undefined);
    await listener.end().catch(() => undefined);
    await pool.end();
    pgc.destroy();
  });
  const c = await pool.connect();
  await migratePg(c);
  c.release();

  // The schema refuses what no code path may write.
  const bad = async (sql: string) => assert.rejects(pool.query(sql), /violates check constraint/);
  await bad(`INSERT INTO fleet_cert_requests (kind, names, body, requested_node, requested_actor) VALUES ('revoke', '[]', '{}', 'a', 'api')`);
  await bad(`INSERT INTO fleet_cert_requests (kind, names, body, requested_node, requested_actor, state) VALUES ('order', '[]', '{}', 'a', 'api', 'paused')`);
  await bad(`INSERT INTO fleet_cert_requests (kind, names, body, requested_node, requested_actor, state) VALUES ('order', '[]', '{}', 'a', 'api', 'running')`);
  await bad(`INSERT INTO fleet_cert_requests (kind, names, body, requested_node, requested_actor, state) VALUES ('order', '[]', '{}', 'a', 'api', 'done')`);

  // Queued with a notification carrying its id.
  await listener.connect();
  const notes: string[] = [];
  listener.on('notification', (n) => n.channel === REQUEST_CHANNEL && notes.push(n.payload ?? ''));
  await listener.query(`LISTEN ${REQUEST_CHANNEL}`);
  const body: CertRequest = { op: 'request', domain: 'shop.test', include_www: false, force: false };
  const q1 = await enqueueCertRequest(pool, { kind: 'order', names: ['shop.test'], body, node: 'node-b', actor: 'api' });
  assert.deepEqual([q1.state, q1.kind, q1.names, q1.requestedNode, q1.requestedActor, q1.attempts, q1.startedAt], ['queued', 'order', ['shop.test'], 'node-b', 'api', 0, null]);
  assert.deepEqual((await getCertRequest(pool, q1.id))?.body, body);
  for (let i = 0; i < 100 && notes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(notes, [String(q1.id)]);

  // A live term: a session holding the leader lock.
  await lockHolder.connect();
  assert.equal((await lockHolder.query('SELECT pg_try_advisory_lock($1) AS ok', [LEADER_LOCK])).rows[0].ok, true);
  const live = (lockHolder as unknown as { processID: number }).processID;
  const dead = 999_999; // no session has this pid

  // Two claimers at once: one row, one winner.
  const claims = await Promise.all([claimCertRequest(pool, 'node-a', live), claimCertRequest(pool, 'node-a', live)]);
  assert.equal(claims.filter((x) => x !== null).length, 1);
  const mine = claims.find((x) => x !== null)!;
  assert.deepEqual([mine.id, mine.state, mine.runNode, mine.attempts], [q1.id, 'running', 'node-a', 1]);
  assert.equal(await claimCertRequest(pool, 'node-a', live), null, 'nothing else is queued');

  // Its term still holds the lock: not an orphan. Another term cannot record its outcome.
  assert.deepEqual(await requeueOrphans(pool), []);
  assert.equal(await finishCertRequest(pool, q1.id, dead, { state: 'done', result: [], error: null }), false);
  assert.equal(await finishCertRequest(pool, q1.id, live, { state: 'done', result: [{ domain: 'shop.test' }], error: null }), true);
  const f1 = (await getCertRequest(pool, q1.id))!;
  assert.deepEqual([f1.state, f1.error, f1.result], ['done', null, [{ domain: 'shop.test' }]]);
  assert.ok(f1.finishedAt);
  assert.equal(await finishCertRequest(pool, q1.id, live, { state: 'failed', result: null, error: 'x' }), false, 'a finished request stays finished');

  // A row running under a term whose lock is gone is queued again, and can be claimed again.
  const q2 = await enqueueCertRequest(pool, { kind: 'renew', names: [], body: { op: 'renew', force: true }, node: 'node-c', actor: 'api' });
  assert.equal((await claimCertRequest(pool, 'node-x', dead))?.id, q2.id);
  assert.deepEqual(await requeueOrphans(pool), [q2.id]);
  const r2 = (await getCertRequest(pool, q2.id))!;
  assert.deepEqual([r2.state, r2.runNode, r2.attempts], ['queued', null, 1]);
  assert.equal(await finishCertRequest(pool, q2.id, dead, { state: 'done', result: [], error: null }), false, 'the dead term cannot record over the queued row');
  assert.equal((await claimCertRequest(pool, 'node-a', live))?.attempts, 2);
  assert.equal(await finishCertRequest(pool, q2.id, live, { state: 'done', result: [], error: null }), true);

  // The worker, leading under the live term.
  const log = createLogger({ level: 'error', format: 'text', priorityPrefix: false, write: () => undefined });
  const ran: { req: CertRequest; actor: string }[] = [];
  let answer: (req: CertRequest) => CertResult[] = (req) => [{ domain: req.op === 'request' ? req.domain : '?', names: [], status: 'success', serial: '0A' }];
  let leads = true;
  const worker = createCertRequests({ pool, node: 'node-a', log, leads: () => leads, term: () => (leads ? live : null), leader: () => 'node-a', carryOut: async (req, actor) => (ran.push({ req, actor }), answer(req)) });
  const q3 = await worker.enqueue({ op: 'request', domain: 'one.test', include_www: true, force: false }, 'api-key');
  assert.deepEqual([q3.state, q3.leader], ['queued', 'node-a']);
  await worker.settled();
  assert.deepEqual(ran, [{ req: { op: 'request', domain: 'one.test', include_www: true, force: false }, actor: 'api-key@node-a' }]);
  const f3 = (await getCertRequest(pool, q3.id))!;
  assert.deepEqual([f3.state, f3.runNode, f3.attempts, f3.error], ['done', 'node-a', 1, null]);
  await worker.settled();
  assert.equal(ran.length, 1, 'carried out once');

  // A failed result fails the request, with each name's reason.
  answer = () => [{ domain: 'two.test', names: ['two.test'], status: 'failed', error: 'the CA refused' }];
  const q4 = await worker.enqueue({ op: 'request', domain: 'two.test', include_www: false, force: false }, 'api');
  await worker.settled();
  const f4 = (await getCertRequest(pool, q4.id))!;
  assert.deepEqual([f4.state, f4.error], ['failed', 'two.test: the CA refused']);

  // A body that is not a request is failed without acting on it.
  const q5 = await enqueueCertRequest(pool, { kind: 'order', names: ['x'], body: { op: 'request', domain: 'bad name!', include_www: false, force: false }, node: 'node-b', actor: 'api' });
  const before = ran.length;
  await worker.settled();
  const f5 = (await getCertRequest(pool, q5.id))!;
  assert.equal(f5.state, 'failed');
  assert.match(f5.error ?? '', /^not a request this node can carry out/);
  assert.equal(ran.length, before);

  // Started too often without an outcome: given up, not retried forever.
  const q6 = await enqueueCertRequest(pool, { kind: 'renew', names: [], body: { op: 'renew', force: false }, node: 'node-b', actor: 'api' });
  await pool.query('UPDATE fleet_cert_requests SET attempts = 3 WHERE id = $1', [q6.id]);
  await worker.settled();
  const f6 = (await getCertRequest(pool, q6.id))!;
  assert.equal(f6.state, 'failed');
  assert.match(f6.error ?? '', /^given up: started 3 times/);
  assert.equal(ran.length, before);

  // A request left running by a leader that died: the worker queues it again and carries it out (second start).
  answer = () => [{ domain: 'three.test', names: ['three.test'], status: 'success' }];
  const q8 = await enqueueCertRequest(pool, { kind: 'order', names: ['three.test'], body: { op: 'request', domain: 'three.test', include_www: false, force: false }, node: 'node-b', actor: 'api' });
  assert.equal((await claimCertRequest(pool, 'node-gone', dead))?.id, q8.id);
  await worker.settled();
  const f8 = (await getCertRequest(pool, q8.id))!;
  assert.deepEqual([f8.state, f8.runNode, f8.attempts], ['done', 'node-a', 2]);

  // A node that does not lead queues but does not carry out.
  leads = false;
  answer = () => [];
  const q7 = await worker.enqueue({ op: 'renew', force: false }, 'api');
  await worker.settled();
  assert.equal((await getCertRequest(pool, q7.id))?.state, 'queued');
  leads = true;
  await worker.settled();
  assert.equal((await getCertRequest(pool, q7.id))?.state, 'done');
});
