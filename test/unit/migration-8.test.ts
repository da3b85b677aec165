/**
 * Migration 8 (src/storage/migrations/008-strong-model.ts) on a real database
 * file holding version-7 data: `analyses.escalated` becomes `strong_model`,
 * values kept, and the repository reads it under its new name.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrations } from '../../src/storage/migrations/index.js';
import { databaseAtVersion } from '../helpers/old-database.js';
import { openDatabase } from '../../src/storage/db.js';
import { analyses } from '../../src/storage/analyses.js';
import { incidents } from '../../src/storage/incidents.js';
import { makeIncident } from '../helpers/incident.js';

const root = mkdtempSync(join(tmpdir(), 'hm-migration8-'));
after(() => rmSync(root, { recursive: true, force: true }));

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);

test('migration 8 renames analyses.escalated to strong_model and keeps every value', () => {
  const file = join(root, 'haproxy-manager.db');
  const old = databaseAtVersion(file, 7);
  const inc = makeIncident({ id: 0, lastSeen: NOW }, NOW);
  const incidentId = incidents.write(old, [inc])[0]!;
  const insert = old.prepare(
    `INSERT INTO analyses (incident_id, created_at, status, reason, trigger, model, cached, escalated, summary, likely_cause, severity, confidence, recommendations, dropped)
     VALUES (?, ?, 'analysed', NULL, 'rule-asks', 'm', 0, ?, 's', NULL, NULL, NULL, '[]', '[]')`,
  );
  insert.run(incidentId, NOW, 1);
  insert.run(incidentId, NOW + 1, 0);
  old.close();

  const { writer, reader } = openDatabase(file);
  try {
    assert.equal(writer.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
    assert.ok(existsSync(`${file}.before-v8.bak`), 'the version-7 file was backed up');
    const cols = (writer.pragma('table_info(analyses)') as { name: string }[]).map((c) => c.name);
    assert.ok(cols.includes('strong_model') && !cols.includes('escalated'), cols.join(','));
    const rows = analyses.forIncident(writer, incidentId);
    assert.deepEqual(rows.map((r) => [r.created_at, r.strong_model]), [
      [NOW + 1, false],
      [NOW, true],
    ]);
  } finally {
    if (reader !== writer) reader.close();
    writer.close();
  }
});
