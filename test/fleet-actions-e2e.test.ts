/**
 * Fleet, shared remediation actions (issue 17): three real daemons, each with
 * its own managed HAProxy (2.6, 3.0, 2.6) and log monitor, sharing a real
 * PostgreSQL (a throwaway cluster). What a client sees through each node's
 * HAProxy is what counts; waits are bounded conditions, never timed assertions.
 *
 * - An attack seen only by B's logs: B's policy blocks the attacker, every
 *   node refuses it, and A's GET /api/actions lists B's action with node B.
 * - A person reverts it on A: A carries out the unblock with its own
 *   guardrails, B and C let the client in again, and the action shows
 *   reverted on B (and C), the inverse listed everywhere with node A.
 * - Another node's action is judged by this node's guardrails: reverting A's
 *   unblock on C, where the address is protected, is refused and changes nothing.
 * - PostgreSQL stopped: B's policy blocks another attacker (B refuses it at
 *   once), A and B both revert an earlier action of B's; on return the
 *   queued records are written once, every node lists B's new action, the
 *   twice-reverted action ends reverted everywhere and the second writer's
 *   overwrite is a conflict GET /api/fleet lists.
 * - A malformed row in PostgreSQL is refused and audited, the rows after it
 *   applied; another node's action on its own HAProxy (a server) gets no
 *   control on the console and a 409 from the API.
 * - A conflict (a stale write that overwrote another node's newer one) is
 *   listed by GET /api/fleet on every node, and shown on the console's
 *   overview, escaped (a hostile writer's name is text). That writer's
 *   action row, whose writer name fails the checks, is refused too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, httpRequest, waitFor, type TestDaemon } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { writeActions } from '../src/storage/pg/actions.js';
import { writeChanges } from '../src/storage/pg/changes.js';

const PROXY = '127.0.0.10';
const X = '198.51.100.23';

interface ActionRow {
  id: number;
  action: string;
  target: string | null;
  status: string;
  mode: string;
  node: string | null;
  fleet_id: string | null;
  reverts_id: number | null;
  decided_by: string;
  reviewed_by: string | null;
}

test('three nodes share remediation actions: listed with their node, reverted from any node, malformed rows refused, conflicts shown', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_actions');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  const be = await startBackend('shop');
  const names = ['node-a', 'node-b', 'node-c'];
  const nodes: TestDaemon[] = [];
  t.after(async () => {
    if (process.env.FLEET_TEST_LOGS) for (const n of nodes) console.log(n.logs.filter((l) => /fleet|action/.test(l)).join('\n'));
    for (const n of nodes) await n.stop();
    await pool.end();
    await be.close();
    pgc.destroy();
  });
  for (const [i, name] of names.entries()) {
    nodes.push(
      await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, {
        config: {
          fleet: { node_name: name, database_url: url, tls: { enabled: false } },
          monitor: { syslog: { address: '127.0.0.1', port: await freePort() } },
          // X is protected on C only: C's own guardrails judge what a person does there.
          ...(name === 'node-c' ? { remediation: { protected: [X] } } : {}),
        },
      }),
    );
  }
  const [a, b, c] = nodes as [TestDaemon, TestDaemon, TestDaemon];
  assert.ok(await waitFor(() => nodes.every((n) => n.daemon.fleet!.status().connected && n.daemon.fleetActions!.status().connected), 15_000), 'every node connects to PostgreSQL');
  // The domain and the trusted proxy are shared configuration: made on A, they reach B and C.
  assert.equal((await a.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
  assert.equal((await a.api('POST', '/api/trusted-proxies', { cidr: PROXY })).status, 201);
  const proxied = async (n: TestDaemon) => (await n.api('GET', '/api/trusted-proxies')).json<{ cidr: string }[]>().some((p) => p.cidr === PROXY);
  assert.ok(await waitFor(async () => (await Promise.all([b, c].map(async (n) => (await n.get('shop.test', '/')).status === 200 && (await proxied(n))))).every(Boolean), 15_000, 100), 'B and C have the domain and the proxy');

  const viaProxy = (n: TestDaemon, path: string, ip: string) => n.get('shop.test', path, { localAddress: PROXY, headers: { 'X-Forwarded-For': ip } });
  const statuses = async (list: TestDaemon[], ip: string) => Promise.all(list.map(async (n) => (await viaProxy(n, '/', ip)).status));
  const actionsOn = async (n: TestDaemon) => {
    const r = await n.api('GET', '/api/actions?limit=1000');
    assert.equal(r.status, 200, r.body);
    return r.json<ActionRow[]>();
  };
  // The enforced one (a second incident's block of the same address is refused by the cooldown and recorded too).
  const blockOf = (list: ActionRow[]) => list.find((x) => x.action === 'block_ip' && x.target === X && x.mode === 'enforce');

  assert.deepEqual(await statuses(nodes, X), [200, 200, 200], 'served everywhere before the attack');

  // The attack goes through B only: B's logs see it, B's policy blocks, every node refuses.
  for (const path of ['/.env', '/.git/config', '/backup.sql']) await viaProxy(b, path, X);
  assert.ok(await waitFor(async () => (await statuses(nodes, X)).every((s) => s === 403), 15_000, 100), 'the attacker B blocked is refused by A, B and C');

  // A lists B's action, with node B.
  assert.ok(await waitFor(async () => blockOf(await actionsOn(a))?.status === 'done', 10_000, 100), 'A lists the block B took');
  const onA = blockOf(await actionsOn(a))!;
  const onB = blockOf(await actionsOn(b))!;
  assert.equal(onA.node, 'node-b');
  assert.equal(onB.node, 'node-b', 'B names itself');
  assert.equal(onA.fleet_id, onB.fleet_id, 'one action, one fleet id');
  assert.equal(onA.decided_by, 'rule');
  assert.ok(!(await actionsOn(a)).some((x) => x.node === 'node-a' && x.action === 'block_ip'), 'A took no block itself');
  const one = await a.api('GET', `/api/actions/${onA.id}`);
  assert.equal(one.json<ActionRow>().node, 'node-b');

  // Undo on A: A unblocks (its own guardrails), B and C let the client in again.
  const rev = await a.api('POST', `/api/actions/${onA.id}/revert`);
  assert.equal(rev.status, 200, rev.body);
  const { reverted, inverse } = rev.json<{ reverted: ActionRow; inverse: ActionRow }>();
  assert.deepEqual([reverted.status, reverted.node, reverted.reviewed_by], ['reverted', 'node-b', 'api']);
  assert.deepEqual([inverse.action, inverse.status, inverse.node, inverse.reverts_id], ['unblock_ip', 'done', 'node-a', onA.id]);
  assert.equal((await viaProxy(a, '/', X)).status, 200, 'A lets the client in at once');
  assert.ok(await waitFor(async () => (await statuses([b, c], X)).every((s) => s === 200), 10_000, 50), 'B and C let the client in again');

  // The action shows reverted on B (and C); the inverse is listed there with node A, pointing at each node's own id of the block.
  for (const n of [b, c]) {
    assert.ok(await waitFor(async () => blockOf(await actionsOn(n))?.status === 'reverted', 10_000, 50), `${n === b ? 'B' : 'C'} shows the action reverted`);
    const list = await actionsOn(n);
    const inv = list.find((x) => x.fleet_id === inverse.fleet_id);
    assert.ok(inv, 'the inverse is listed');
    assert.deepEqual([inv.action, inv.node, inv.reverts_id], ['unblock_ip', 'node-a', blockOf(list)!.id]);
  }
  assert.equal((await b.api('POST', `/api/actions/${onB.id}/revert`)).status, 409, 'B cannot revert it again: it is reverted');

  // Reverting A's unblock on C would block X again: X is protected on C, so C's guardrails refuse, and nothing changes.
  const invOnC = (await actionsOn(c)).find((x) => x.fleet_id === inverse.fleet_id)!;
  const refused = await c.api('POST', `/api/actions/${invOnC.id}/revert`);
  assert.equal(refused.status, 403, refused.body);
  assert.match(refused.json<{ message: string }>().message, /protected/);
  assert.deepEqual(await statuses(nodes, X), [200, 200, 200], 'still served everywhere');
  assert.equal((await actionsOn(c)).find((x) => x.fleet_id === inverse.fleet_id)!.status, 'done');

  // An outage: a second attacker Y is blocked by B first, then PostgreSQL stops.
  const Y = '198.51.100.24';
  const blockOfY = (list: ActionRow[]) => list.find((x) => x.action === 'block_ip' && x.target === Y && x.mode === 'enforce');
  for (const path of ['/.env', '/.git/config', '/backup.sql']) await viaProxy(b, path, Y);
  assert.ok(await waitFor(async () => blockOfY(await actionsOn(a))?.status === 'done' && blockOfY(await actionsOn(c))?.status === 'done', 15_000, 100), 'A and C list B\'s block of Y');
  pgc.stop();
  assert.ok(await waitFor(() => nodes.every((n) => !n.daemon.fleetActions!.status().connected && !n.daemon.fleet!.status().connected), 15_000), 'the nodes notice the outage');
  // During it, B's policy blocks W (B refuses it at once: A has not heard of it) ...
  const W = '198.51.100.25';
  for (const path of ['/.env', '/.git/config', '/backup.sql']) await viaProxy(b, path, W);
  assert.ok(await waitFor(async () => (await viaProxy(b, '/', W)).status === 403, 15_000, 100), 'B blocks W alone');
  assert.equal((await viaProxy(a, '/', W)).status, 200);
  // ... and both A and B revert B's block of Y: each carries it out at once.
  const yOnA = blockOfY(await actionsOn(a))!;
  const yOnB = blockOfY(await actionsOn(b))!;
  assert.equal((await a.api('POST', `/api/actions/${yOnA.id}/revert`)).status, 200);
  assert.equal((await b.api('POST', `/api/actions/${yOnB.id}/revert`)).status, 200);
  assert.equal((await viaProxy(a, '/', Y)).status, 200);
  assert.equal((await viaProxy(b, '/', Y)).status, 200);
  assert.ok(a.daemon.fleetActions!.status().pending >= 2 && b.daemon.fleetActions!.status().pending >= 3, 'their records wait for PostgreSQL');
  const fleetOf = async (n: TestDaemon) => (await n.api('GET', '/api/fleet')).json<{ connected: boolean; actions_pending: number; conflicts: { key: string }[] }>();
  assert.ok((await fleetOf(a)).actions_pending >= 2, 'the operator sees them queued');
  pgc.start();
  const fleetsOf = () => Promise.all(nodes.map(fleetOf));
  assert.ok(await waitFor(async () => (await fleetsOf()).every((f, i) => f.connected && f.actions_pending === 0 && nodes[i]!.daemon.fleet!.status().outbox === 0), 20_000, 100), 'every queue is written');
  assert.ok(await waitFor(async () => (await statuses(nodes, W)).every((s) => s === 403), 15_000, 100), 'W, blocked by B during the outage, is refused everywhere');
  assert.deepEqual(await statuses(nodes, Y), [200, 200, 200]);
  for (const n of nodes) {
    assert.ok(await waitFor(async () => (await actionsOn(n)).some((x) => x.action === 'block_ip' && x.target === W && x.node === 'node-b' && x.status === 'done'), 10_000, 50), 'B\'s block of W is listed everywhere');
    assert.ok(await waitFor(async () => blockOfY(await actionsOn(n))?.status === 'reverted', 10_000, 50), 'Y\'s block ends reverted everywhere');
    const list = await actionsOn(n);
    assert.equal(list.filter((x) => x.fleet_id === yOnA.fleet_id).length, 1, 'listed once');
    assert.deepEqual(list.filter((x) => x.action === 'unblock_ip' && x.target === Y).map((x) => x.node).sort(), ['node-a', 'node-b'], 'both reverts are recorded, once each');
  }
  // Nothing is queued any more: once every node has read the same conflicts, that is all of them.
  const sameConflicts = async () => {
    const fs = await fleetsOf();
    return fs.every((f) => f.conflicts.length === fs[0]!.conflicts.length && f.conflicts.some((x) => x.key === `action:${yOnA.fleet_id}`));
  };
  assert.ok(await waitFor(sameConflicts, 10_000, 50), 'the second writer\'s overwrite of the action is a conflict every node lists');
  const conflictsBefore = (await fleetOf(a)).conflicts.length;

  // A malformed row in PostgreSQL (an address not in canonical form) is refused and audited; the row after it applies.
  const good = randomUUID();
  const bad = randomUUID();
  const server = randomUUID();
  const body = (target: string | null, action = 'notify') => ({
    createdAt: Date.now(),
    updatedAt: Date.now(),
    action,
    target,
    ttlS: action === 'block_ip' ? 600 : null,
    expiresAt: null,
    decidedBy: 'rule',
    actor: 'x-rule',
    mode: 'enforce',
    status: 'done',
    reason: 'written by hand',
    analysisSummary: null,
    result: null,
    reviewedBy: null,
    revertsFleetId: null,
  });
  await writeActions(pool, 'node-x', [
    { fleetId: bad, node: 'node-x', localId: 1, body: body('198.051.100.9', 'block_ip'), baseVersion: 0 },
    { fleetId: good, node: 'node-x', localId: 2, body: body(null), baseVersion: 0 },
    { fleetId: server, node: 'node-x', localId: 3, body: body('shop/s1', 'disable_server'), baseVersion: 0 },
  ]);
  for (const n of nodes) {
    assert.ok(await waitFor(async () => (await actionsOn(n)).some((x) => x.fleet_id === good && x.node === 'node-x'), 10_000, 50), 'the well-formed row is listed');
    assert.ok(!(await actionsOn(n)).some((x) => x.fleet_id === bad), 'the malformed one is not');
    const audit = (await n.api('GET', '/api/audit?limit=500&action=fleet.action_refused')).json<{ actor: string; target: string | null; result: string; error: string | null }[]>();
    assert.equal(audit.length, 1, JSON.stringify(audit));
    assert.deepEqual([audit[0]!.actor, audit[0]!.target, audit[0]!.result], ['fleet:node-x', bad, 'failed']);
    assert.match(audit[0]!.error ?? '', /body\.target: not a canonical address or network for block_ip/);
  }

  // A conflict: node-x writes a block of an address A had blocked after node-x last looked (a stale write: last writer wins).
  const Z = '203.0.113.9';
  assert.equal((await a.api('POST', '/api/blocked-ips', { ip_address: Z, reason: 'scanner' })).status, 201);
  await a.daemon.fleet!.settled();
  const w = await writeChanges(pool, 'node-x', [{ changeId: randomUUID(), change: { kind: 'block', ip: Z, reason: 'stale', blockedBy: null, expiresAt: null }, baseVersion: 0, madeAt: new Date().toISOString() }]);
  assert.equal(w.conflicts.length, 1);
  interface Fleet { conflicts: { key: string; winner_node: string; winner_version: number; loser_node: string; loser_version: number; at: string }[]; shared: string[]; actions_pending: number }
  for (const n of nodes) {
    assert.ok(await waitFor(async () => (await n.api('GET', '/api/fleet')).json<Fleet>().conflicts.length === conflictsBefore + 1, 10_000, 50), 'every node lists the conflict');
    const f = (await n.api('GET', '/api/fleet')).json<Fleet>();
    const cf = f.conflicts[0]!;
    assert.deepEqual([cf.key, cf.winner_node, cf.winner_version, cf.loser_node], [`blocked:${Z}`, 'node-x', w.conflicts[0]!.version, 'node-a']);
    assert.ok(cf.loser_version < cf.winner_version && Number.isFinite(Date.parse(cf.at)));
    assert.ok(f.shared.includes('actions'));
    assert.equal(f.actions_pending, 0);
  }

  // The console's overview shows the conflicts; what came from PostgreSQL is escaped.
  const HOSTILE = '<img src=x onerror=alert(1)>';
  const w2 = await writeActions(pool, HOSTILE, [{ fleetId: good, node: 'node-x', localId: 2, body: body(null), baseVersion: 0 }]);
  assert.equal(w2.conflicts.length, 1, 'it overwrote node-x\'s row without having seen it');
  assert.ok(await waitFor(async () => (await a.api('GET', '/api/fleet')).json<Fleet>().conflicts.length === conflictsBefore + 2, 10_000, 50));
  const origin = `http://127.0.0.1:${a.apiPort}`;
  const login = await httpRequest({ port: a.apiPort, path: '/login', method: 'POST', headers: { origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `key=${encodeURIComponent(a.apiKey!)}` });
  assert.equal(login.status, 302, login.body);
  const cookie = String(login.headers['set-cookie']?.find((x) => x.startsWith('hm_session=')) ?? '').split(';')[0]!;
  const page = await httpRequest({ port: a.apiPort, path: '/', headers: { cookie } });
  assert.equal(page.status, 200);
  const fleetPanel = /<section class="panel" id="fleet"[\s\S]*?<\/section>/.exec(page.body)?.[0] ?? '';
  assert.match(fleetPanel, /This node<\/dt><dd>node-a</);
  assert.match(fleetPanel, new RegExp(`blocked:${Z.replaceAll('.', '\\.')}</td><td>node-x v${w.conflicts[0]!.version}</td><td>node-a v`));
  assert.match(fleetPanel, new RegExp(`action:${good}</td><td>&lt;img src=x onerror=alert\\(1\\)&gt; v${w2.conflicts[0]!.version}</td><td>node-x v`));
  assert.ok(!page.body.includes(HOSTILE), 'never as markup');
  // The Actions page names the node that took each action; another node's block may be reverted here.
  const actionsPage = await httpRequest({ port: a.apiPort, path: '/actions', headers: { cookie } });
  assert.equal(actionsPage.status, 200);
  const items = actionsPage.body.split('<li class="action" ').slice(1);
  const wItem = items.find((x) => x.includes(`<span class="client-text">${W}</span>`) && x.includes('pill-done'));
  assert.ok(wItem, 'B\'s block of W is on A\'s Actions page');
  assert.match(wItem, /node <span class="action-node">node-b<\/span>/);
  assert.match(wItem, /data-api="POST \/api\/actions\/\d+\/revert"/);
  // node-x's server action acts on node-x's own HAProxy: no control here, and the API answers 409.
  const sItem = items.find((x) => x.includes('<strong>disable_server</strong>'));
  assert.ok(sItem);
  assert.doesNotMatch(sItem, /data-api=/);
  const sId = (await actionsOn(a)).find((x) => x.fleet_id === server)!.id;
  const s409 = await a.api('POST', `/api/actions/${sId}/revert`);
  assert.equal(s409.status, 409, s409.body);
  assert.match(s409.json<{ message: string }>().message, /node node-x took it/);
  // The hostile writer's row itself is refused on arrival (its writer is not a node name); the row stays as node-x wrote it here.
  assert.ok(await waitFor(async () => (await a.api('GET', '/api/audit?limit=500&action=fleet.action_refused')).json<unknown[]>().length === 2, 10_000, 50));
  const refusedAudit = (await a.api('GET', '/api/audit?limit=500&action=fleet.action_refused')).json<{ actor: string; error: string | null }[]>();
  assert.match(refusedAudit[0]!.error ?? '', /writtenBy: lower-case letters/);
  assert.equal(refusedAudit[0]!.actor, 'fleet:(not a node name)', 'the hostile name is not taken as an actor');
  assert.ok((await actionsOn(a)).some((x) => x.fleet_id === good && x.node === 'node-x'));
});
