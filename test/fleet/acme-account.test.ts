/**
 * The fleet's one ACME account (src/fleet/acme-account.ts) against a real
 * PostgreSQL: the first node to store its account makes it the fleet's (a
 * later one gets the stored account back, not its own); another node with
 * the same fleet key opens it; the database holds the key sealed only; a
 * node with another fleet key refuses it (audited once, no key material in
 * the message) instead of using an account of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import acme from 'acme-client';
import { startTestPostgres } from '../helpers/postgres.js';
import { createLogger } from '../../src/log.js';
import { openDatabase } from '../../src/storage/db.js';
import { listAudit } from '../../src/storage/audit.js';
import { migratePg } from '../../src/storage/pg/schema.js';
import { createSharedAccount } from '../../src/fleet/acme-account.js';

test('one ACME account for the fleet: first stored wins, sealed, another fleet key refused and audited', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_acme_account');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'hm-acme-account-'));
  t.after(async () => {
    await pool.end();
    pgc.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await pool.connect();
  await migratePg(c);
  c.release();
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', format: 'text', priorityPrefix: false, write: (_l, line) => logs.push(line) });
  const key = randomBytes(32);
  const store = (node: string, k = key) => {
    const db = openDatabase(join(dir, `${node}.db`)).writer;
    return { db, s: createSharedAccount({ pool, key: k, node, db, log }) };
  };
  const directory = 'https://127.0.0.1:14000/dir';
  const k1 = await acme.crypto.createPrivateEcdsaKey('P-256');
  const k2 = await acme.crypto.createPrivateEcdsaKey('P-256');

  const a = store('a');
  assert.equal(await a.s.load(directory), null, 'none stored yet');
  const savedA = await a.s.save(directory, { key: k1, url: 'https://ca/acct/1' });
  assert.deepEqual([savedA.key.toString(), savedA.url], [k1.toString(), 'https://ca/acct/1']);

  // Sealed in the database, bound to the directory.
  const rows = (await pool.query<{ directory: string; key_sealed: string; account_url: string; node: string }>('SELECT * FROM fleet_acme_account')).rows;
  assert.equal(rows.length, 1);
  assert.deepEqual([rows[0]!.directory, rows[0]!.account_url, rows[0]!.node], [directory, 'https://ca/acct/1', 'a']);
  assert.match(rows[0]!.key_sealed, /^hm1:[0-9a-f]{16}:/);
  assert.doesNotMatch(rows[0]!.key_sealed, /PRIVATE KEY/);

  // Another node with the fleet key opens it; one that registered its own in a race gets the stored one back.
  const b = store('b');
  const loaded = await b.s.load(directory);
  assert.deepEqual([loaded?.key.toString(), loaded?.url], [k1.toString(), 'https://ca/acct/1']);
  const lost = await b.s.save(directory, { key: k2, url: 'https://ca/acct/2' });
  assert.deepEqual([lost.key.toString(), lost.url], [k1.toString(), 'https://ca/acct/1']);
  assert.equal((await pool.query('SELECT count(*)::int AS n FROM fleet_acme_account')).rows[0].n, 1);
  // Another directory is another account.
  assert.equal(await b.s.load('https://other/dir'), null);

  // Another fleet key: refused, audited once, no key material anywhere.
  const d = store('d', randomBytes(32));
  await assert.rejects(d.s.load(directory), (e: Error & { kind?: string }) => e.kind === 'acme' && /cannot be opened on this node.*sealed with another fleet key/.test(e.message) && !/PRIVATE KEY/.test(e.message));
  await assert.rejects(d.s.load(directory));
  const audit = listAudit(d.db, { limit: 10, action: 'fleet.acme_account_refused' });
  assert.equal(audit.length, 1, 'audited once');
  assert.equal(audit[0]!.target, directory);
  assert.doesNotMatch(JSON.stringify(audit), /PRIVATE KEY/);
  assert.ok(!logs.some((l) => /PRIVATE KEY/.test(l)), 'no key in the logs');
  // A sealed key moved to another directory's row does not open (bound to its directory).
  await pool.query(`INSERT INTO fleet_acme_account (directory, key_sealed, account_url, node) SELECT 'https://moved/dir', key_sealed, account_url, node FROM fleet_acme_account WHERE directory = $1`, [directory]);
  await assert.rejects(b.s.load('https://moved/dir'), /does not authenticate/);
});
