/**
 * Migration 6 (src/storage/migrations/006-analyses.ts) on a real database file holding
 * version-5 data: the actions table is rebuilt (status 'expired' allowed)
 * with its rows, self-references and foreign keys intact, the file is backed
 * up first, and the new `analyses` table works through storage/analyses.ts.
 * Also actions.markExpired (src/storage/actions.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from '../../src/storage/migrations/index.js';
import { databaseAtVersion } from '../helpers/old-database.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { actions } from '../../src/storage/actions.js';
import { analyses } from '../../src/storage/analyses.js';
import { incidents } from '../../src/storage/incidents.js';
import type { ActionRecord } from '../../src/pipeline/policy/actions.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { makeIncident } from '../helpers/incident.js';

const root = mkdtempSync(join(tmpdir(), 'hm-migration6-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

const NOW = Date.UTC(2026, 10, 25, 15, 0, 0);

const incident = (over: Partial<Incident> = {}): Incident =>
  makeIncident({ id: 0, rule: 'sensitive-files', category: 'exposure', subject: { type: 'ip', value: '203.0.113.7' }, lastSeen: NOW - 1000, count: 3, samples: ['GET /.env HTTP/1.1'], ...over }, NOW);

function record(over: Partial<ActionRecord> = {}): ActionRecord {
  return {
    id: 0,
    createdAt: NOW - 3_600_000,
    updatedAt: NOW - 3_600_000,
    incidentId: null,
    action: 'block_ip',
    target: '203.0.113.7',
    ttlS: 3600,
    expiresAt: NOW,
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
}

/** A database file at schema version 5 (as an older daemon left it), with an incident and a block reverted by an unblock. */
function v5File(): { file: string; incidentId: number; blockId: number; unblockId: number } {
  const dir = join(root, `v5-${++seq}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'haproxy-manager.db');
  const db = databaseAtVersion(file, 5);
  assert.equal(db.pragma('user_version', { simple: true }), 5);
  const inc = incident();
  inc.id = incidents.write(db, [inc])[0]!;
  const block = actions.save(db, record({ incidentId: inc.id }));
  const unblock = actions.save(
    db,
    record({
      createdAt: NOW - 1_800_000,
      updatedAt: NOW - 1_800_000,
      incidentId: inc.id,
      action: 'unblock_ip',
      ttlS: null,
      expiresAt: null,
      decidedBy: 'person',
      actor: 'alice',
      reason: 'false positive: our monitoring',
      result: 'unblocked',
      revertsId: block.id,
    }),
  );
  db.prepare("UPDATE actions SET status = 'reverted', reviewed_by = 'alice' WHERE id = ?").run(block.id);
  // The version-5 table does not know 'expired' yet.
  assert.throws(() => db.prepare("UPDATE actions SET status = 'expired' WHERE id = ?").run(block.id), /CHECK constraint failed/);
  db.close();
  return { file, incidentId: inc.id, blockId: block.id, unblockId: unblock.id };
}

function open(file: string): { writer: Db; close(): void } {
  const { writer, reader } = openDatabase(file);
  return {
    writer,
    close() {
      if (reader !== writer) reader.close();
      writer.close();
    },
  };
}

test('migration 6 keeps the actions, their self-reference and foreign keys, and backs the file up', () => {
  const { file, incidentId, blockId, unblockId } = v5File();
  const db = open(file);
  try {
    const w = db.writer;
    assert.equal(w.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
    assert.ok(migrations.at(-1)!.version >= 6);

    // The backup is the version-5 file, with its data.
    const bak = `${file}.before-v6.bak`;
    assert.ok(existsSync(bak), `${bak} was not written`);
    const old = new Database(bak, { readonly: true });
    try {
      assert.equal(old.pragma('user_version', { simple: true }), 5);
      assert.equal((old.prepare('SELECT COUNT(*) AS n FROM actions').get() as { n: number }).n, 2);
      assert.equal(old.prepare("SELECT 1 FROM sqlite_master WHERE name = 'analyses'").get(), undefined);
    } finally {
      old.close();
    }

    // Rows intact, field by field.
    const block = actions.get(w, blockId);
    const unblock = actions.get(w, unblockId);
    assert.ok(block && unblock);
    assert.deepEqual(
      { ...block },
      record({ id: blockId, incidentId, status: 'reverted', reviewedBy: 'alice' }),
    );
    assert.equal(unblock.revertsId, blockId);
    assert.equal(unblock.action, 'unblock_ip');
    assert.equal(unblock.decidedBy, 'person');
    assert.equal(unblock.actor, 'alice');
    assert.equal(unblock.incidentId, incidentId);

    // Foreign keys: none broken, and the self-reference names the rebuilt table.
    assert.equal(w.pragma('foreign_keys', { simple: true }), 1);
    assert.deepEqual(w.pragma('foreign_key_check'), []);
    const fks = w.pragma('foreign_key_list(actions)') as { table: string; from: string; to: string | null }[];
    assert.deepEqual(fks.map((f) => `${f.from}->${f.table}`).sort(), ['incident_id->incidents', 'reverts_id->actions']);
    assert.equal(w.prepare("SELECT 1 FROM sqlite_master WHERE name = 'actions_v6'").get(), undefined);
    assert.doesNotMatch((w.prepare("SELECT sql FROM sqlite_master WHERE name = 'actions'").get() as { sql: string }).sql, /actions_v6/);
    // The rebuilt table's indexes are there (migration 15's fleet indexes come later and are its own).
    const idx = (w.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'actions' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'actions_fleet%'").all() as { name: string }[]).map((r) => r.name).sort();
    assert.deepEqual(idx, ['actions_by_target', 'actions_created', 'actions_expiry', 'actions_incident', 'actions_reverts', 'actions_status', 'actions_target', 'actions_unlinked']);

    // 'expired' is a status now; anything else still is not.
    const fresh = actions.save(w, record({ incidentId, target: '203.0.113.8', createdAt: NOW, updatedAt: NOW, expiresAt: NOW + 3_600_000 }));
    assert.ok(fresh.id > unblockId, 'new ids continue after the migrated ones');
    actions.save(w, { ...fresh, status: 'expired', updatedAt: NOW + 1 });
    assert.equal(actions.get(w, fresh.id)?.status, 'expired');
    assert.throws(() => w.prepare("UPDATE actions SET status = 'bogus' WHERE id = ?").run(fresh.id), /CHECK constraint failed/);
    // The other checks survived the rebuild: a daemon-made block without a TTL is refused.
    assert.throws(() => actions.save(w, record({ ttlS: null, expiresAt: null })), /CHECK constraint failed/);
    // A reference to a missing action or incident is refused.
    assert.throws(() => actions.save(w, record({ revertsId: 999_999 })), /FOREIGN KEY constraint failed/);
    assert.throws(() => actions.save(w, record({ incidentId: 999_999 })), /FOREIGN KEY constraint failed/);

    // ON DELETE SET NULL still works on the self-reference.
    w.prepare('DELETE FROM actions WHERE id = ?').run(blockId);
    assert.equal(actions.get(w, unblockId)?.revertsId, null);
    assert.deepEqual(w.pragma('foreign_key_check'), []);
  } finally {
    db.close();
  }
});

test('after migration 6, analyses are saved and read back through storage/analyses.ts', () => {
  const { file, incidentId } = v5File();
  const db = open(file);
  try {
    const w = db.writer;
    const a1 = analyses.save(w, {
      incident_id: incidentId,
      created_at: NOW,
      status: 'analysed',
      reason: null,
      trigger: 'rule-asks',
      model: 'claude-haiku-4-5',
      cached: false,
      strong_model: true,
      summary: 'a scanner probing for secrets',
      likely_cause: 'automated scanner',
      severity: 'medium',
      confidence: 0.85,
      recommendations: [{ type: 'block_ip', target: '203.0.113.7', ttl_s: 3600 }],
      dropped: [{ type: 'trust_ip', target: '10.0.0.0/8', why: 'protected' }],
    });
    const a2 = analyses.save(w, {
      incident_id: incidentId,
      created_at: NOW + 1000,
      status: 'skipped',
      reason: 'budget_calls',
      trigger: 'severe-availability',
      model: null,
      cached: true,
      strong_model: false,
      summary: null,
      likely_cause: null,
      severity: null,
      confidence: null,
      recommendations: [],
      dropped: [],
    });
    assert.ok(a2.id > a1.id);
    const rows = analyses.forIncident(w, incidentId);
    assert.deepEqual(rows, [a2, a1]);
    assert.equal(rows[1]!.cached, false);
    assert.equal(rows[1]!.strong_model, true);
    assert.deepEqual(rows[1]!.recommendations, [{ type: 'block_ip', target: '203.0.113.7', ttl_s: 3600 }]);
    assert.deepEqual(analyses.counts(w), { analysed: 1, skipped: 1 });
    assert.deepEqual(analyses.forIncident(w, incidentId + 1), []);
    // Checked columns and references.
    assert.throws(() => analyses.save(w, { ...a1, status: 'pending' as 'analysed' }), /CHECK constraint failed/);
    assert.throws(() => analyses.save(w, { ...a1, incident_id: 999_999 }), /FOREIGN KEY constraint failed/);
    // Deleting the incident deletes its analyses and unlinks its actions.
    w.prepare('DELETE FROM incidents WHERE id = ?').run(incidentId);
    assert.deepEqual(analyses.forIncident(w, incidentId), []);
    assert.equal((w.prepare('SELECT COUNT(*) AS n FROM actions WHERE incident_id IS NULL').get() as { n: number }).n, 2);
    assert.deepEqual(w.pragma('foreign_key_check'), []);
  } finally {
    db.close();
  }
});

test('a new database gets every migration and no backup', () => {
  const dir = join(root, `new-${++seq}`);
  const file = join(dir, 'hm.db');
  const db = open(file);
  try {
    assert.equal(db.writer.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
    assert.ok(db.writer.prepare("SELECT 1 FROM sqlite_master WHERE name = 'analyses'").get());
    assert.equal(existsSync(`${file}.before-v6.bak`), false);
    assert.equal(existsSync(`${file}.before-v1.bak`), false);
  } finally {
    db.close();
  }
  // Opening it again applies nothing.
  const again = open(file);
  again.close();
  assert.equal(existsSync(`${file}.before-v6.bak`), false);
});

test('actions.markExpired: only done blocks on the given IPs whose time is up (within 1 s) become expired', () => {
  const { writer: db, reader } = openDatabase(':memory:');
  try {
    const inc = incident();
    inc.id = incidents.write(db, [inc])[0]!;
    const ip = '203.0.113.7';
    const save = (over: Partial<ActionRecord>) => actions.save(db, record({ incidentId: inc.id, ...over }));
    const past = save({ expiresAt: NOW - 5000 });
    const almost = save({ expiresAt: NOW + 900 }); // within the second: lifted in the same sweep
    const atNow = save({ expiresAt: NOW, result: null });
    const later = save({ expiresAt: NOW + 5000 });
    const otherIp = save({ target: '203.0.113.8', expiresAt: NOW - 5000 });
    const notListed = save({ target: '198.51.100.20', expiresAt: NOW - 5000 });
    const reverted = save({ expiresAt: NOW - 5000, status: 'reverted' });
    const recorded = save({ mode: 'dry-run', status: 'recorded', expiresAt: NOW - 5000 });
    const failed = save({ status: 'failed', expiresAt: NOW - 5000 });
    const permanent = save({ decidedBy: 'person', actor: 'alice', ttlS: null, expiresAt: null });
    const unblock = save({ action: 'unblock_ip', ttlS: null, expiresAt: NOW - 5000, decidedBy: 'person' });
    const before = new Map(
      [later, otherIp, notListed, reverted, recorded, failed, permanent, unblock].map((r) => [r.id, actions.get(db, r.id)]),
    );

    const changed = actions.markExpired(db, [ip, '203.0.113.8'], NOW);
    assert.deepEqual(changed.map((r) => r.id).sort((a, b) => a - b), [past.id, almost.id, atNow.id, otherIp.id]);
    for (const r of changed) {
      assert.equal(r.status, 'expired');
      assert.equal(r.updatedAt, NOW);
      const stored = actions.get(db, r.id);
      assert.deepEqual(stored, r, 'the returned record is what was stored');
      assert.match(stored!.result!, /lifted at 2026-11-25T15:00:00\.000Z \(expired\)$/);
    }
    assert.match(actions.get(db, past.id)!.result!, /^blocked; lifted at/);
    assert.match(actions.get(db, atNow.id)!.result!, /^blocked; lifted at/);
    // Everything else untouched, byte for byte.
    for (const [id, rec] of before) {
      if (id === otherIp.id) continue;
      assert.deepEqual(actions.get(db, id), rec, `action ${id} changed`);
    }
    // A second sweep changes nothing; no IPs, nothing.
    assert.deepEqual(actions.markExpired(db, [ip, '203.0.113.8'], NOW), []);
    assert.deepEqual(actions.markExpired(db, [], NOW + 86_400_000), []);
    assert.equal(actions.get(db, later.id)?.status, 'done');
    // Its time comes later.
    assert.deepEqual(actions.markExpired(db, [ip], NOW + 4000).map((r) => r.id), [later.id]);
  } finally {
    if (reader !== db) reader.close();
    db.close();
  }
});
