/**
 * Retention (issue 14) on a real SQLite file: a run deletes exactly what is
 * past its time and keeps the rest (open incidents, incidents and actions
 * still in effect, pending notifications, the newest certificate backups of
 * each file), in bounded batches that let the event loop run between them,
 * each selection searching an index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { actions } from '../../src/storage/actions.js';
import { analyses } from '../../src/storage/analyses.js';
import { retention, PRUNE_QUERIES } from '../../src/storage/retention.js';
import { createRetention } from '../../src/retention/unit.js';
import { pruneCertBackups } from '../../src/certs/backups.js';
import { createLogger } from '../../src/log.js';
import { makeIncident } from '../helpers/incident.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { makeActionRecord } from '../helpers/action-record.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function setup(yaml = '') {
  const dir = mkdtempSync(join(tmpdir(), 'hm-retention-'));
  const cfg = parseConfig(`state_dir: ${dir}/state\n${yaml}`, join(dir, 'config.yaml'), { env: {} });
  const { writer, reader } = openDatabase(cfg.paths.database);
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (_l, line) => lines.push(line) });
  return {
    dir,
    cfg,
    db: writer,
    lines,
    log,
    close() {
      reader.close();
      writer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ids = (db: Db, table: string) => (db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as { id: number }[]).map((r) => r.id);

function audit(db: Db, at: number, action: string): number {
  return Number(db.prepare("INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'test', ?, 'ok')").run(iso(at), action).lastInsertRowid);
}

function incident(db: Db, over: Parameters<typeof makeIncident>[0]): number {
  return incidents.write(db, [makeIncident({ id: 0, ...over }, NOW)])[0]!;
}

const resolved = (daysAgo: number, value: string): Partial<Incident> => ({
  status: 'resolved',
  subject: { type: 'ip', value },
  firstSeen: NOW - (daysAgo + 1) * DAY,
  lastSeen: NOW - daysAgo * DAY,
  resolvedAt: NOW - daysAgo * DAY,
});

function action(db: Db, over: Parameters<typeof makeActionRecord>[0]): number {
  return actions.save(db, makeActionRecord(over, NOW)).id;
}

function analysis(db: Db, incidentId: number, at: number): number {
  return analyses.save(db, {
    incident_id: incidentId,
    created_at: at,
    status: 'analysed',
    reason: null,
    trigger: 'test',
    model: 'm',
    cached: false,
    strong_model: false,
    summary: 's',
    likely_cause: null,
    severity: null,
    confidence: null,
    recommendations: [],
    dropped: [],
  }).id;
}

function outboxRow(db: Db, id: string, createdAt: number, state: 'delivered' | 'dead' | 'pending'): void {
  db.prepare('INSERT INTO outbox (message_id, channel, kind, payload, attempts, next_attempt_at, delivered_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    id,
    'ops',
    'incident',
    '{}',
    1,
    state === 'pending' ? createdAt + 1000 : null,
    state === 'delivered' ? createdAt + 10 : null,
    createdAt,
  );
}

test('a run deletes exactly what is past retention and keeps the rest', async () => {
  const s = setup();
  const { db } = s;
  try {
    // Audit: 90 days by default.
    const oldAudit = [audit(db, NOW - 100 * DAY, 'a'), audit(db, NOW - 91 * DAY, 'b')];
    const newAudit = [audit(db, NOW - 89 * DAY, 'c'), audit(db, NOW - DAY, 'd')];

    // Incidents resolved 100 days ago, with and without actions in effect.
    const bare = incident(db, resolved(100, '198.51.100.1'));
    const bareAnalyses = [analysis(db, bare, NOW - 100 * DAY), analysis(db, bare, NOW - 50 * DAY)];
    const lapsed = incident(db, resolved(100, '198.51.100.2'));
    const lapsedActions = [
      action(db, { incidentId: lapsed, target: '198.51.100.2', createdAt: NOW - 101 * DAY, expiresAt: NOW - 100 * DAY, status: 'expired' }),
      action(db, { incidentId: lapsed, action: 'notify', target: null, ttlS: null, expiresAt: null, createdAt: NOW - 101 * DAY }),
      // Done, timed, its time up but not marked yet: lapsed all the same.
      action(db, { incidentId: lapsed, target: '198.51.100.2', createdAt: NOW - 101 * DAY, expiresAt: NOW - 100 * DAY, status: 'done' }),
      action(db, { incidentId: lapsed, target: '198.51.100.2', createdAt: NOW - 101 * DAY, status: 'reverted' }),
      action(db, { incidentId: lapsed, target: '198.51.100.2', createdAt: NOW - 101 * DAY, status: 'rejected', mode: 'propose' }),
    ];
    const permanent = incident(db, resolved(100, '198.51.100.3'));
    const permanentBlock = action(db, { incidentId: permanent, target: '198.51.100.3', decidedBy: 'person', ttlS: null, expiresAt: null, createdAt: NOW - 101 * DAY });
    const permanentNotify = action(db, { incidentId: permanent, action: 'notify', target: null, ttlS: null, expiresAt: null, createdAt: NOW - 101 * DAY });
    const running = incident(db, resolved(100, '198.51.100.4'));
    const runningBlock = action(db, { incidentId: running, target: '198.51.100.4', ttlS: 200 * 86_400, expiresAt: NOW + DAY, createdAt: NOW - 101 * DAY });
    const waiting = incident(db, resolved(100, '198.51.100.5'));
    const proposal = action(db, { incidentId: waiting, target: '198.51.100.5', mode: 'propose', status: 'proposed', expiresAt: null, createdAt: NOW - 101 * DAY });
    const recent = incident(db, resolved(10, '198.51.100.6'));
    const recentAction = action(db, { incidentId: recent, action: 'notify', target: null, ttlS: null, expiresAt: null, createdAt: NOW - 11 * DAY });
    const open = incident(db, { status: 'open', subject: { type: 'ip', value: '198.51.100.7' }, firstSeen: NOW - 200 * DAY, lastSeen: NOW - 150 * DAY });
    analysis(db, open, NOW - 100 * DAY);
    const openNew = analysis(db, open, NOW - DAY);
    const openAction = action(db, { incidentId: open, action: 'notify', target: null, ttlS: null, expiresAt: null, createdAt: NOW - 150 * DAY });

    // Actions without an incident (a person's).
    const loneOld = [
      action(db, { action: 'notify', target: null, ttlS: null, expiresAt: null, createdAt: NOW - 100 * DAY }),
      action(db, { action: 'reload_haproxy', target: null, ttlS: null, expiresAt: null, decidedBy: 'person', createdAt: NOW - 100 * DAY }),
      action(db, { target: '192.0.2.9', status: 'expired', expiresAt: NOW - 99 * DAY, createdAt: NOW - 100 * DAY }),
      action(db, { target: '192.0.2.10', status: 'failed', expiresAt: null, createdAt: NOW - 100 * DAY }),
    ];
    const loneKept = [
      action(db, { target: '192.0.2.11', decidedBy: 'person', ttlS: null, expiresAt: null, createdAt: NOW - 100 * DAY }),
      action(db, { action: 'unblock_ip', target: '192.0.2.12', decidedBy: 'person', ttlS: null, expiresAt: null, createdAt: NOW - 100 * DAY }),
      action(db, { action: 'drain_server', target: 'app/s1', decidedBy: 'person', ttlS: null, expiresAt: null, createdAt: NOW - 100 * DAY }),
      action(db, { action: 'notify', target: null, ttlS: null, expiresAt: null, createdAt: NOW - 89 * DAY }),
    ];
    // A kept record that reverted a pruned one: the link is cleared, the record stays.
    const reverter = action(db, { action: 'unblock_ip', target: '192.0.2.9', decidedBy: 'person', ttlS: null, expiresAt: null, revertsId: loneOld[2]!, createdAt: NOW - DAY });

    // Outbox: delivered and dead after notifications.outbox.keep (7d); pending never.
    outboxRow(db, 'old-delivered', NOW - 8 * DAY, 'delivered');
    outboxRow(db, 'old-dead', NOW - 8 * DAY, 'dead');
    outboxRow(db, 'old-pending', NOW - 8 * DAY, 'pending');
    outboxRow(db, 'new-delivered', NOW - 6 * DAY, 'delivered');

    // Certificate backups: the newest three of each file stay.
    const backups = s.cfg.paths.certBackupDir;
    mkdirSync(backups, { recursive: true });
    const app = ['2026-01-01T00-00-00-000Z', '2026-02-01T00-00-00-000Z', '2026-03-01T00-00-00-000Z', '2026-04-01T00-00-00-000Z'].map((t) => `app.example.com.pem.${t}`);
    app.push('app.example.com.pem.retired.2026-05-01T00-00-00-000Z');
    const wild = ['_wildcard_.example.com.pem.2026-01-01T00-00-00-000Z', '_wildcard_.example.com.pem.2026-01-02T00-00-00-000Z'];
    for (const f of [...app, ...wild, 'notes.txt']) writeFileSync(join(backups, f), 'x', { mode: 0o600 });

    const unit = createRetention({ cfg: s.cfg, log: s.log, db, now: () => NOW });
    const rep = await unit.run();

    assert.deepEqual(ids(db, 'audit_log'), newAudit);
    assert.deepEqual(ids(db, 'incidents'), [permanent, running, waiting, recent, open]);
    assert.deepEqual(
      ids(db, 'actions'),
      [permanentBlock, permanentNotify, runningBlock, proposal, recentAction, openAction, ...loneKept, reverter].sort((a, b) => a - b),
    );
    assert.equal(actions.get(db, reverter)!.revertsId, null);
    assert.deepEqual(ids(db, 'analyses'), [openNew]);
    assert.deepEqual((db.prepare('SELECT message_id FROM outbox ORDER BY id').all() as { message_id: string }[]).map((r) => r.message_id), ['old-pending', 'new-delivered']);
    assert.deepEqual(readdirSync(backups).sort(), [...app.slice(2), ...wild, 'notes.txt'].sort());

    assert.deepEqual(rep, {
      audit: oldAudit.length,
      incidents: 2,
      actions: lapsedActions.length + loneOld.length,
      analyses: bareAnalyses.length + 1,
      outbox: 2,
      cert_backups: 2,
      more: [],
      ms: 0,
    });
    const line = s.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'retention: history pruned');
    assert.equal(line.length, 1);
    assert.equal(line[0]!.level, 'info');
    assert.equal(line[0]!.incidents, 2);
    assert.equal(line[0]!.cert_backups, 2);

    // A second run finds nothing more.
    const again = await unit.run();
    assert.deepEqual({ ...again, ms: 0 }, { audit: 0, incidents: 0, actions: 0, analyses: 0, outbox: 0, cert_backups: 0, more: [], ms: 0 });
  } finally {
    s.close();
  }
});

test('null keeps forever; cert_backups: 0 keeps none', async () => {
  const s = setup('retention:\n  audit: null\n  incidents: null\n  actions: null\n  analyses: null\n  cert_backups: 0\nnotifications:\n  outbox: { keep: 30d }\n');
  try {
    audit(s.db, NOW - 1000 * DAY, 'old');
    const inc = incident(s.db, resolved(1000, '198.51.100.1'));
    analysis(s.db, inc, NOW - 1000 * DAY);
    action(s.db, { action: 'notify', target: null, ttlS: null, expiresAt: null, createdAt: NOW - 1000 * DAY });
    outboxRow(s.db, 'm', NOW - 8 * DAY, 'delivered');
    mkdirSync(s.cfg.paths.certBackupDir, { recursive: true });
    writeFileSync(join(s.cfg.paths.certBackupDir, 'a.pem.2026-01-01T00-00-00-000Z'), 'x');
    const rep = await createRetention({ cfg: s.cfg, log: s.log, db: s.db, now: () => NOW }).run();
    assert.deepEqual({ ...rep, ms: 0 }, { audit: 0, incidents: 0, actions: 0, analyses: 0, outbox: 0, cert_backups: 1, more: [], ms: 0 });
    assert.equal(existsSync(join(s.cfg.paths.certBackupDir, 'a.pem.2026-01-01T00-00-00-000Z')), false);
  } finally {
    s.close();
  }
});

test('batches are bounded: batch_size rows per transaction, max_rows_per_run per run, the event loop runs between batches', async () => {
  const s = setup('retention:\n  batch_size: 100\n  max_rows_per_run: 1000\n');
  try {
    const insert = s.db.prepare("INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'test', 'x', 'ok')");
    s.db.transaction(() => {
      for (let i = 0; i < 1250; i++) insert.run(iso(NOW - 100 * DAY + i));
      for (let i = 0; i < 10; i++) insert.run(iso(NOW - DAY + i));
    })();
    const count = () => (s.db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;

    // One call of the store deletes at most its limit.
    assert.equal(retention.audit(s.db, iso(NOW - 90 * DAY), 100), 100);
    assert.equal(count(), 1160);

    // Between batches the event loop runs: a ticker sees every intermediate count, none open in a transaction.
    const seen: number[] = [];
    let ticking = true;
    const tick = () => {
      assert.equal(s.db.inTransaction, false);
      seen.push(count());
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const unit = createRetention({ cfg: s.cfg, log: s.log, db: s.db, now: () => NOW });
    const first = await unit.run();
    ticking = false;
    assert.equal(first.audit, 1000);
    assert.deepEqual(first.more, ['audit']);
    assert.equal(count(), 160);
    const distinct = [...new Set(seen)];
    for (const n of [1060, 960, 560, 260]) assert.ok(distinct.includes(n), `count ${n} seen between batches: ${distinct.join(',')}`);

    const second = await unit.run();
    assert.equal(second.audit, 150);
    assert.deepEqual(second.more, []);
    assert.equal(count(), 10);
  } finally {
    s.close();
  }
});

test('start() does not wait for the run; stop() ends it after the batch going on', async () => {
  const s = setup('retention:\n  batch_size: 100\n');
  try {
    const insert = s.db.prepare("INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'test', 'x', 'ok')");
    s.db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(iso(NOW - 100 * DAY + i));
    })();
    const unit = createRetention({ cfg: s.cfg, log: s.log, db: s.db, now: () => NOW });
    unit.start();
    await unit.stop();
    assert.equal((s.db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n, 4900, 'one batch went, then the run stopped');
    const line = s.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'retention: history pruned');
    assert.equal(line?.audit, 100);
  } finally {
    s.close();
  }
});

test('every prune selection searches its index (EXPLAIN QUERY PLAN), and so does the lookup deleting an action makes', () => {
  const s = setup();
  try {
    const params = { before: 'x', now: 1, lasting: '[]', limit: 10 };
    const want: Record<keyof typeof PRUNE_QUERIES, string> = {
      audit: 'audit_log_at',
      incidents: 'incidents_resolved',
      actions: 'actions_unlinked',
      analyses: 'analyses_created',
      outbox: 'outbox_finished',
    };
    for (const [name, sql] of Object.entries(PRUNE_QUERIES) as [keyof typeof PRUNE_QUERIES, string][]) {
      const used = Object.fromEntries(Object.entries(params).filter(([k]) => sql.includes(`@${k}`)));
      const plan = retention.plan(s.db, sql, used);
      assert.match(plan[0]!, new RegExp(`^SEARCH \\w+ USING (COVERING )?INDEX ${want[name]} \\(\\w+<\\?\\)$`), `${name}: ${plan.join(' | ')}`);
      assert.ok(!plan.some((p) => /^SCAN (?!json_each)/.test(p)), `${name} scans a table: ${plan.join(' | ')}`);
      assert.ok(!plan.some((p) => /TEMP B-TREE/.test(p)), `${name} sorts: ${plan.join(' | ')}`);
    }
    // An incident's actions in effect are looked up by incident; deleting an action looks up the records reverting it.
    assert.ok(retention.plan(s.db, PRUNE_QUERIES.incidents, { before: 'x', now: 1, lasting: '[]', limit: 1 }).some((p) => p.includes('actions_incident')));
    assert.ok(retention.plan(s.db, 'DELETE FROM actions WHERE id = 1', {}).some((p) => p.includes('actions_reverts')));
  } finally {
    s.close();
  }
});

test('certificate backups: newest kept per file, retired copies counted, other files and a missing directory left alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-cert-backups-'));
  try {
    assert.deepEqual(pruneCertBackups(join(dir, 'missing'), 3), []);
    const files = [
      'a.example.pem.2026-01-01T00-00-00-000Z',
      'a.example.pem.2026-01-01T00-00-00-001Z',
      'a.example.pem.retired.2026-01-01T00-00-00-002Z',
      'b.example.pem.2025-12-31T23-59-59-999Z',
      'a.example.pem',
      'a.example.pem.2026-01-01',
    ];
    for (const f of files) writeFileSync(join(dir, f), 'x');
    assert.deepEqual(pruneCertBackups(dir, 1), ['a.example.pem.2026-01-01T00-00-00-000Z', 'a.example.pem.2026-01-01T00-00-00-001Z']);
    assert.deepEqual(readdirSync(dir).sort(), ['a.example.pem', 'a.example.pem.2026-01-01', 'a.example.pem.retired.2026-01-01T00-00-00-002Z', 'b.example.pem.2025-12-31T23-59-59-999Z']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('retention settings: defaults, null, and what is refused', () => {
  const d = parseConfig('', null, { env: {} }).retention;
  assert.deepEqual(d, { audit: '90d', incidents: '90d', actions: '90d', analyses: '90d', cert_backups: 3, schedule: '41 * * * *', batch_size: 1000, max_rows_per_run: 200_000 });
  assert.equal(parseConfig('retention: { audit: null, incidents: 365d }', null, { env: {} }).retention.audit, null);
  const refused = (yaml: string, line: RegExp) => {
    assert.throws(() => parseConfig(yaml, null, { env: {} }), (e: unknown) => e instanceof ConfigError && e.lines.some((l) => line.test(l)), yaml);
  };
  refused('retention: { audit: 12h }', /^retention\.audit: at least 1d/);
  refused('retention: { incidents: 3 weeks }', /^retention\.incidents: a duration/);
  refused('retention: { schedule: "every hour" }', /^retention\.schedule: a node-cron schedule/);
  refused('retention: { batch_size: 0 }', /^retention\.batch_size/);
  refused('retention: { keep_forever: true }', /^retention/);
});
