/**
 * The `acted` notification (src/pipeline/notify/acted.ts) built from a remediation
 * round against a real database, rendered through the real templates
 * (src/pipeline/notify/render.ts), and routing (src/pipeline/notify/routing.ts) with and
 * without routes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { actions } from '../../src/storage/actions.js';
import { actedEvent } from '../../src/pipeline/notify/acted.js';
import { renderEmail, renderWebhookBody } from '../../src/pipeline/notify/render.js';
import { toWire } from '../../src/util/wire.js';
import { routeEvent } from '../../src/pipeline/notify/routing.js';
import { EVENT_KINDS } from '../../src/config/notifications.js';
import type { NotifyEvent } from '../../src/pipeline/notify/types.js';
import type { RouteConfig } from '../../src/config/notifications.js';
import type { ActionRecord } from '../../src/pipeline/policy/actions.js';
import type { Analysis } from '../../src/pipeline/policy/types.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';

const NOW = Date.UTC(2026, 10, 25, 16, 0, 0);
let db: Db;
let close: () => void;
let inc: Incident;

before(() => {
  const o = openDatabase(':memory:');
  db = o.writer;
  close = () => o.writer.close();
  inc = {
    id: 0,
    rule: 'sql-injection',
    category: 'injection',
    severity: 'high',
    subject: { type: 'ip', value: '203.0.113.66' },
    status: 'open',
    firstSeen: NOW - 120_000,
    lastSeen: NOW - 5000,
    count: 12,
    escalate: true,
    actions: [{ type: 'block_ip', ttl_s: 3600 }],
    samples: ["GET /?id=1' OR '1'='1", 'GET /?id=2 UNION SELECT', 'GET /?id=3;--', 'GET /?id=4 sleep(5)'],
    resolvedAt: null,
  };
  inc.id = incidents.write(db, [inc])[0]!;
});
after(() => close());

function record(over: Partial<ActionRecord>): ActionRecord {
  const r: ActionRecord = {
    id: 0,
    createdAt: NOW,
    updatedAt: NOW,
    incidentId: inc.id,
    action: 'block_ip',
    target: '203.0.113.66',
    ttlS: 3600,
    expiresAt: NOW + 3_600_000,
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
  return actions.save(db, r);
}

const analysis = (over: Partial<Analysis> = {}): Analysis => ({
  source: 'llm',
  summary: 'SQL injection probes from one address, automated',
  likely_cause: 'a vulnerability scanner',
  severity: 'high',
  confidence: 0.92,
  recommended_actions: [{ type: 'block_ip', target: '203.0.113.66' }, { type: 'trust_ip', target: '198.51.100.4' }],
  ...over,
});

const render = (ev: NotifyEvent) => ({ messageId: 'msg-acted-1', source: 'edge-1', payload: { kind: 'acted' as const, events: [ev] } });

test('actedEvent: one acted event with the stored incident, every record as an action, a one-line detail', () => {
  const block = record({});
  const proposed = record({
    action: 'trust_ip',
    target: '198.51.100.4',
    ttlS: null,
    expiresAt: null,
    decidedBy: 'llm',
    actor: 'llm-widening-proposed',
    mode: 'propose',
    status: 'proposed',
    result: null,
  });
  const failed = record({ action: 'disable_server', target: 'web/s1', ttlS: null, expiresAt: null, decidedBy: 'llm', status: 'failed', result: 'runtime API: no such server' });
  const ev = actedEvent({ incidentId: inc.id, records: [block, proposed, failed] }, db, NOW + 10);

  assert.equal(ev.kind, 'acted');
  assert.equal(ev.at, NOW + 10);
  // The incident as stored (its row, not the caller's object): three samples at most.
  assert.deepEqual(ev.incident, {
    id: inc.id,
    rule: 'sql-injection',
    category: 'injection',
    severity: 'high',
    subject: { type: 'ip', value: '203.0.113.66' },
    status: 'open',
    firstSeen: inc.firstSeen,
    lastSeen: inc.lastSeen,
    count: 12,
    resolvedAt: null,
    samples: inc.samples.slice(0, 3),
  });
  assert.deepEqual(ev.actions, [
    { id: block.id, action: 'block_ip', target: '203.0.113.66', status: 'done', mode: 'enforce', decidedBy: 'rule', expiresAt: NOW + 3_600_000, result: 'blocked' },
    { id: proposed.id, action: 'trust_ip', target: '198.51.100.4', status: 'proposed', mode: 'propose', decidedBy: 'llm', expiresAt: null, result: null },
    { id: failed.id, action: 'disable_server', target: 'web/s1', status: 'failed', mode: 'enforce', decidedBy: 'llm', expiresAt: null, result: 'runtime API: no such server' },
  ]);
  assert.equal(
    ev.detail,
    `block_ip 203.0.113.66 done until ${new Date(NOW + 3_600_000).toISOString()}; trust_ip 198.51.100.4 proposed; disable_server web/s1 failed`,
  );
  assert.doesNotMatch(ev.detail!, /[\r\n]/);
  assert.equal(ev.analysis, undefined, 'no analysis given: none in the event');
  // Plain JSON (it sits in the outbox).
  assert.deepEqual(JSON.parse(JSON.stringify(ev)), ev);
});

test('actedEvent: the incident as stored now, not as it was when the round began', () => {
  const later = { ...inc, status: 'resolved' as const, resolvedAt: NOW + 60_000, count: 20 };
  const db2 = openDatabase(':memory:').writer;
  try {
    const fresh = { ...inc, id: 0 };
    fresh.id = incidents.write(db2, [fresh])[0]!;
    incidents.write(db2, [{ ...later, id: fresh.id }]);
    const ev = actedEvent({ incidentId: fresh.id, records: [] }, db2, NOW);
    assert.equal(ev.incident?.status, 'resolved');
    assert.equal(ev.incident?.resolvedAt, NOW + 60_000);
    assert.equal(ev.incident?.count, 20);
    assert.deepEqual(ev.actions, []);
    assert.equal(ev.detail, '');
  } finally {
    db2.close();
  }
});

test('actedEvent: the analysis when given (summary, cause, severity, confidence)', () => {
  const ev = actedEvent({ incidentId: inc.id, records: [record({})], analysis: analysis() }, db, NOW);
  assert.deepEqual(ev.analysis, { summary: 'SQL injection probes from one address, automated', likelyCause: 'a vulnerability scanner', severity: 'high', confidence: 0.92 });
  // Optional fields absent stay absent.
  const bare = actedEvent({ incidentId: inc.id, records: [], analysis: analysis({ likely_cause: undefined, severity: undefined, confidence: 0 }) }, db, NOW);
  assert.deepEqual(bare.analysis, { summary: 'SQL injection probes from one address, automated', confidence: 0 });
});

test('actedEvent: an unknown incident id gives an event without incident', () => {
  const ev = actedEvent({ incidentId: 987_654, records: [] }, db, NOW);
  assert.equal(ev.incident, undefined);
  assert.equal('incident' in ev, false);
  const none = actedEvent({ incidentId: null, records: [] }, db, NOW);
  assert.equal('incident' in none, false);
});

test('rendered: the email shows the analysis and how to approve a proposed action; the JSON webhook carries both', () => {
  const done = record({});
  const proposed = record({ action: 'trust_ip', target: '198.51.100.4', ttlS: null, expiresAt: null, decidedBy: 'llm', actor: 'llm-widening-proposed', mode: 'propose', status: 'proposed', result: null });
  const ev = actedEvent({ incidentId: inc.id, records: [done, proposed], analysis: analysis() }, db, NOW);
  const mail = renderEmail(render(ev));
  assert.match(mail.subject, /^\[haproxy-manager\] HIGH acted: sql-injection ip=203\.0\.113\.66$/);
  const lines = mail.text.split('\n');
  assert.ok(lines.includes(`Acted at ${new Date(NOW).toISOString()}: incident #${inc.id} (high, injection)`), mail.text);
  assert.ok(lines.includes('  analysis: [model-written] SQL injection probes from one address, automated (confidence 0.92)'), mail.text);
  assert.ok(lines.includes('  cause:    [model-written] a vulnerability scanner'), mail.text);
  const approveLine = lines.find((l) => l.startsWith(`  action:   #${proposed.id} `));
  assert.equal(approveLine, `  action:   #${proposed.id} trust_ip 198.51.100.4: proposed (approve or reject: POST /api/actions/${proposed.id}/approve|reject) [llm, propose]`);
  const doneLine = lines.find((l) => l.startsWith(`  action:   #${done.id} `));
  assert.equal(doneLine, `  action:   #${done.id} block_ip 203.0.113.66: done until ${new Date(NOW + 3_600_000).toISOString()} [rule, enforce]`);
  assert.doesNotMatch(doneLine!, /approve/, 'only a proposed action gets the approve hint');
  assert.equal(lines.filter((l) => l.startsWith('  sample:   ')).length, 3);

  const body = renderWebhookBody('json', render(ev));
  const json = JSON.parse(body) as { message_id: string; kind: string; events: NotifyEvent[] };
  assert.equal(json.message_id, 'msg-acted-1');
  assert.equal(json.kind, 'acted');
  // The wire shape: snake_case keys, ISO times.
  assert.deepEqual(json.events[0], JSON.parse(JSON.stringify(toWire(ev))));
  assert.equal((json.events[0] as unknown as { at: string }).at, new Date(ev.at).toISOString());
  assert.equal((json.events[0] as unknown as { actions: { expires_at: string | null }[] }).actions.find((a) => a.expires_at !== null)?.expires_at, new Date(NOW + 3_600_000).toISOString());
  assert.equal(json.events[0]!.analysis?.summary, 'SQL injection probes from one address, automated');
  assert.equal(json.events[0]!.actions?.find((a) => a.id === proposed.id)?.status, 'proposed');
});

test('rendered: attacker text in the analysis stays on one line (no forged action or sample lines)', () => {
  const forged = `looks benign\n  action:   #999 trust_ip 0.0.0.0/0: done [person, enforce]\r\n  sample:   "ok"\tEOF`;
  const ev = actedEvent(
    { incidentId: inc.id, records: [record({})], analysis: analysis({ summary: forged, likely_cause: 'x\n  status:   resolved' }) },
    db,
    NOW,
  );
  const mail = renderEmail(render(ev));
  const lines = mail.text.split('\n');
  assert.equal(lines.filter((l) => l.includes('#999')).length, 1);
  const a = lines.find((l) => l.startsWith('  analysis: '));
  assert.ok(a?.includes('#999 trust_ip 0.0.0.0/0'), 'the summary is shown, on its own line');
  assert.ok(!lines.some((l) => l.startsWith('  action:   #999')), 'a forged action line');
  assert.equal(lines.filter((l) => l.startsWith('  sample:   ')).length, 3, 'a forged sample line');
  assert.equal(lines.filter((l) => l.startsWith('  status:   ')).length, 1, 'a forged status line');
  assert.ok(lines.some((l) => l.startsWith('  cause:    [model-written] x ')));
  // Bounded too.
  const long = actedEvent({ incidentId: inc.id, records: [], analysis: analysis({ summary: 'A'.repeat(5000) }) }, db, NOW);
  const longLine = renderEmail(render(long)).text.split('\n').find((l) => l.startsWith('  analysis: '))!;
  assert.ok(longLine.length < 700, `analysis line of ${longLine.length} characters`);
  // The JSON webhook keeps the text as data, exactly but for control characters (the CR shows as U+FFFD; tab and line feed stay data).
  const json = JSON.parse(renderWebhookBody('json', render(ev))) as { events: NotifyEvent[]; untrusted: { model_written: string[] } };
  assert.equal(json.events[0]!.analysis?.summary, forged.replace('\r', '\ufffd'));
  assert.ok(json.untrusted.model_written.includes('analysis.summary'), 'the body says which fields the model wrote');
  // Slack and Discord bodies are valid JSON with the event.
  for (const f of ['slack', 'discord'] as const) {
    const b = JSON.parse(renderWebhookBody(f, render(ev))) as { text?: string; content?: string };
    assert.match(b.text ?? b.content ?? '', /acted/);
  }
});

const channels = ['mail', 'hook', 'chat'];

test('routeEvent: no routes sends every event kind to every channel', () => {
  for (const kind of EVENT_KINDS) {
    if (kind === 'test') continue;
    assert.deepEqual(routeEvent([], channels, { kind, severity: 'info', category: 'recon' }), channels);
    assert.deepEqual(routeEvent([], channels, { kind }), channels);
  }
  // A test event naming a channel still goes there alone; an unknown one nowhere.
  assert.deepEqual(routeEvent([], channels, { kind: 'test', channel: 'hook' }), ['hook']);
  assert.deepEqual(routeEvent([], channels, { kind: 'test', channel: 'nope' }), []);
  assert.deepEqual(routeEvent([], [], { kind: 'acted', severity: 'critical' }), []);
  // The result is a copy, not the caller's list.
  const out = routeEvent([], channels, { kind: 'acted' });
  out.push('x');
  assert.deepEqual(channels, ['mail', 'hook', 'chat']);
});

test('routeEvent: with routes, only as routed', () => {
  const routes: RouteConfig[] = [
    { kinds: ['acted'], channels: ['chat'], stop: false },
    { min_severity: 'critical', channels: ['mail'], stop: true },
    { categories: ['injection'], min_severity: 'medium', channels: ['hook', 'chat'], stop: false },
  ];
  assert.deepEqual(routeEvent(routes, channels, { kind: 'acted', severity: 'low', category: 'recon' }), ['chat']);
  assert.deepEqual(routeEvent(routes, channels, { kind: 'acted', severity: 'high', category: 'injection' }), ['chat', 'hook']);
  // stop: later routes are not consulted.
  assert.deepEqual(routeEvent(routes, channels, { kind: 'opened', severity: 'critical', category: 'injection' }), ['mail']);
  assert.deepEqual(routeEvent(routes, channels, { kind: 'opened', severity: 'low', category: 'injection' }), []);
  // min_severity does not match an event without one.
  assert.deepEqual(routeEvent(routes, channels, { kind: 'opened', category: 'injection' }), []);
  // A channel a route names but that is not configured is left out.
  assert.deepEqual(routeEvent([{ channels: ['gone', 'hook'], stop: false }], channels, { kind: 'resolved' }), ['hook']);
});

test('an acted round without an incident (a person acting on their own) renders without empty incident fields', () => {
  const ev = actedEvent({ incidentId: null, records: [record({ id: 41, incidentId: null, action: 'unblock_ip', target: '203.0.113.9', ttlS: null, expiresAt: null, decidedBy: 'person', status: 'done' })] }, db, NOW);
  assert.equal(ev.incident, undefined);
  const mail = renderEmail(render(ev));
  assert.equal(mail.subject, '[haproxy-manager] acted: unblock_ip 203.0.113.9 done');
  assert.doesNotMatch(mail.text, /incident #|rule:|subject:/);
  assert.match(mail.text, /action: {3}#41 unblock_ip 203\.0\.113\.9: done \[person, enforce\]/);
  for (const f of ['slack', 'discord'] as const) assert.doesNotMatch(renderWebhookBody(f, render(ev)), /incident #|undefined/);
});
