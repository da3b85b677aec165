/**
 * Migration 7 (src/storage/migrations/007-action-names.ts) on a real database file
 * holding version-6 data: the actions table is rebuilt without the CHECK on
 * action names (the registry checks them in code), with its rows,
 * self-references, other checks, indexes and foreign keys intact, and the
 * file backed up first.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrations } from '../../src/storage/migrations/index.js';
import { databaseAtVersion } from '../helpers/old-database.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { actions } from '../../src/storage/actions.js';
import { incidents } from '../../src/storage/incidents.js';
import type { ActionRecord } from '../../src/pipeline/policy/actions.js';
import { makeIncident } from '../helpers/incident.js';
import { makeActionRecord } from '../helpers/action-record.js';

const root = mkdtempSync(join(tmpdir(), 'hm-migration7-'));
after(() => rmSync(root, { recursive: true, force: true }));

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);

const record = (over: Partial<ActionRecord> = {}) => makeActionRecord(over, NOW);

/** A database file at schema version 6, with an incident, an expired block, a block reverted by an unblock. */
function v6File() {
  const dir = join(root, 'v6');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'haproxy-manager.db');
  const db = databaseAtVersion(file, 6);
  assert.equal(db.pragma('user_version', { simple: true }), 6);
  const inc = makeIncident({ id: 0, rule: 'sensitive-files', category: 'exposure', subject: { type: 'ip', value: '203.0.113.7' }, lastSeen: NOW - 1000, count: 3, samples: ['GET /.env HTTP/1.1'] }, NOW);
  inc.id = incidents.write(db, [inc])[0]!;
  const expired = actions.save(db, record({ incidentId: inc.id, target: '203.0.113.9', status: 'expired' }));
  const block = actions.save(db, record({ incidentId: inc.id, status: 'reverted', reviewedBy: 'alice' }));
  const unblock = actions.save(
    db,
    record({ incidentId: inc.id, action: 'unblock_ip', ttlS: null, expiresAt: null, decidedBy: 'person', actor: 'alice', reason: 'false positive', result: 'unblocked', revertsId: block.id }),
  );
  // The version-6 table only knows the ten names of its CHECK.
  assert.throws(() => db.prepare("UPDATE actions SET action = 'rate_limit_ip' WHERE id = ?").run(unblock.id), /CHECK constraint failed/);
  const before = db.prepare('SELECT * FROM actions ORDER BY id').all();
  db.close();
  return { file, incidentId: inc.id, blockId: block.id, unblockId: unblock.id, expiredId: expired.id, before };
}

function open(file: string): { w: Db; close(): void } {
  const { writer, reader } = openDatabase(file);
  return {
    w: writer,
    close() {
      if (reader !== writer) reader.close();
      writer.close();
    },
  };
}

test('migration 7 drops the CHECK on action names and keeps rows, references, other checks and indexes', () => {
  const { file, incidentId, blockId, unblockId, before } = v6File();
  const db = open(file);
  try {
    const w = db.w;
    assert.equal(w.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
    assert.ok(existsSync(`${file}.before-v7.bak`), 'the version-6 file was backed up');

    // Rows intact, column by column, and the self-reference kept.
    // (The columns the version-6 table had: later migrations add their own, e.g. 17's fleet columns.)
    const columns = Object.keys(before[0] as object);
    const now = (w.prepare('SELECT * FROM actions ORDER BY id').all() as Record<string, unknown>[]).map((r) => Object.fromEntries(columns.map((c) => [c, r[c]])));
    assert.deepEqual(now, before);
    assert.equal(actions.get(w, unblockId)?.revertsId, blockId);
    assert.equal(actions.get(w, blockId)?.incidentId, incidentId);

    // Foreign keys: none broken; both references point at the right tables.
    assert.equal(w.pragma('foreign_keys', { simple: true }), 1);
    assert.deepEqual(w.pragma('foreign_key_check'), []);
    const fks = w.pragma('foreign_key_list(actions)') as { table: string; from: string }[];
    assert.deepEqual(fks.map((f) => `${f.from}->${f.table}`).sort(), ['incident_id->incidents', 'reverts_id->actions']);
    const sql = (w.prepare("SELECT sql FROM sqlite_master WHERE name = 'actions'").get() as { sql: string }).sql;
    assert.doesNotMatch(sql, /actions_v7/);
    assert.doesNotMatch(sql, /action\s+IN/, 'no CHECK on action names');
    assert.equal(w.prepare("SELECT 1 FROM sqlite_master WHERE name = 'actions_v7'").get(), undefined);
    const idx = (w.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'actions' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'actions_fleet%'").all() as { name: string }[]).map((r) => r.name).sort();
    assert.deepEqual(idx, ['actions_by_target', 'actions_created', 'actions_expiry', 'actions_incident', 'actions_reverts', 'actions_status', 'actions_target', 'actions_unlinked']);

    // A name the old CHECK did not know can be stored now (the registry is the check).
    const fresh = actions.save(w, record({ incidentId, action: 'rate_limit_ip' as ActionRecord['action'], createdAt: NOW, updatedAt: NOW, ttlS: null, expiresAt: null }));
    assert.ok(fresh.id > unblockId, 'new ids continue after the migrated ones');
    assert.equal(actions.get(w, fresh.id)?.action, 'rate_limit_ip');

    // Every other check survived.
    assert.throws(() => w.prepare("UPDATE actions SET status = 'bogus' WHERE id = ?").run(fresh.id), /CHECK constraint failed/);
    assert.throws(() => w.prepare("UPDATE actions SET mode = 'maybe' WHERE id = ?").run(fresh.id), /CHECK constraint failed/);
    assert.throws(() => actions.save(w, record({ decidedBy: 'cron' as ActionRecord['decidedBy'] })), /CHECK constraint failed/);
    assert.throws(() => actions.save(w, record({ ttlS: 0 })), /CHECK constraint failed/);
    assert.throws(() => actions.save(w, record({ ttlS: null, expiresAt: null })), /CHECK constraint failed/, 'a daemon-made block still needs a TTL');
    assert.throws(() => w.prepare('INSERT INTO actions (created_at, updated_at, decided_by, mode, status, reason) VALUES (1, 1, ?, ?, ?, ?)').run('rule', 'enforce', 'done', 'x'), /NOT NULL constraint failed: actions.action/);
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
