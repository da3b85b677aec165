/**
 * Shared certificates between nodes (src/fleet/shared-certs.ts) against a
 * real PostgreSQL, with each node's certificate store in memory: what one
 * node publishes another installs with the key as issued; the newer copy of
 * a name wins whichever node holds it; a certificate held before joining is
 * published; a removal removes exactly the serial it names, and is not
 * followed (once, not every run) while a domain on the node still uses it;
 * a node with another fleet key refuses the certificate and audits it; a
 * removal made while the database is down is kept in SQLite and sent on
 * return (after a restart too), and the certificate does not come back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestPostgres } from '../helpers/postgres.js';
import { createLogger } from '../../src/log.js';
import { openDatabase } from '../../src/storage/db.js';
import { listAudit } from '../../src/storage/audit.js';
import { migratePg } from '../../src/storage/pg/schema.js';
import type { CertificateRow, Challenge } from '../../src/storage/certificates.js';
import { createSelfSigned } from '../../src/certs/store.js';
import { inspect } from '../../src/certs/pem.js';
import { createSharedCerts, type LocalCerts } from '../../src/fleet/shared-certs.js';
import { pendingCertRemovals } from '../../src/storage/fleet-cert-removals.js';

interface Held {
  row: CertificateRow;
  chain: string;
  key: string;
}

/** A node's certificates in memory, as the certificate service would hold them. */
function memoryCerts(inUse: Set<string> = new Set()) {
  const held = new Map<string, Held>();
  const calls: string[] = [];
  const put = (name: string, names: string[], chain: string, key: string, challenge: Challenge) => {
    const info = inspect(chain);
    const row = { name, names, file: `/x/${name}.pem`, serial: info.serial, not_before: info.notBefore, not_after: info.notAfter, challenge, order_url: null } as unknown as CertificateRow;
    held.set(name, { row, chain, key });
  };
  const local: LocalCerts = {
    list: () => [...held.values()].map((h) => h.row),
    readParts: (c) => ({ chain: held.get(c.name)!.chain, key: held.get(c.name)!.key }),
    async installShared(c) {
      calls.push(`install ${c.name}`);
      put(c.name, c.names, c.chain, c.key, c.challenge);
    },
    async removeShared(name) {
      calls.push(`remove ${name}`);
      if (inUse.has(name)) return false;
      held.delete(name);
      return true;
    },
  };
  return { local, held, calls, put };
}

const cert = async (name: string) => {
  const { chain, key } = await createSelfSigned(name);
  return { chain, key, info: inspect(chain) };
};

test('certificates travel between nodes: newest wins, removals by serial, another key refused', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_shared_certs');
  const pool = new pg.Pool({ connectionString: url });
  pool.on('error', () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'hm-shared-certs-'));
  t.after(async () => {
    await pool.end();
    pgc.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await pool.connect();
  await migratePg(c);
  c.release();
  const key = randomBytes(32);
  const log = createLogger({ level: 'error', format: 'text', priorityPrefix: false, write: () => undefined });
  const node = (name: string, k = key, inUse?: Set<string>) => {
    const mem = memoryCerts(inUse);
    const db = openDatabase(join(dir, `${name}.db`)).writer;
    const s = createSharedCerts({ pool, key: k, node: name, db, log, certs: () => mem.local });
    return { ...mem, s, db };
  };

  // A publishes what it issued; B installs it with the key as issued.
  const a = node('a');
  const b = node('b');
  const one = await cert('one.test');
  a.put('one.test', ['one.test'], one.chain, one.key, 'http-01');
  await a.s.published({ name: 'one.test', names: ['one.test'], chain: one.chain, key: one.key, challenge: 'http-01', orderUrl: null, serial: one.info.serial, notBefore: one.info.notBefore, notAfter: one.info.notAfter });
  await b.s.settled();
  assert.equal(b.held.get('one.test')?.key, one.key);
  assert.equal(b.held.get('one.test')?.row.serial, one.info.serial);
  await b.s.settled();
  assert.deepEqual(b.calls, ['install one.test'], 'installed once, not again on the next run');

  // B holds a newer certificate of another name from before it joined: it publishes it, A installs it.
  await new Promise((r) => setTimeout(r, 1100)); // notBefore has a one-second resolution
  const two = await cert('two.test');
  b.put('two.test', ['two.test'], two.chain, two.key, 'dns-01');
  await b.s.settled();
  await a.s.settled();
  assert.equal(a.held.get('two.test')?.row.serial, two.info.serial);
  assert.equal(a.held.get('two.test')?.row.challenge, 'dns-01');

  // A newer one.test on B (renewed while the database was away) beats the shared older one.
  const one2 = await cert('one.test');
  b.put('one.test', ['one.test'], one2.chain, one2.key, 'http-01');
  await b.s.settled();
  await a.s.settled();
  assert.equal(a.held.get('one.test')?.row.serial, one2.info.serial, 'the newer copy wins on A');
  assert.equal(b.held.get('one.test')?.row.serial, one2.info.serial, 'and B kept its own');

  // A removal names a serial: an older serial's tombstone does not remove the newer certificate.
  await a.s.removed('one.test', one.info.serial);
  await b.s.settled();
  assert.ok(b.held.has('one.test'), 'a stale removal removes nothing');
  // The current serial removed on A: B removes it; C, whose domain still uses it, keeps it (and asks once).
  const c3 = node('c', key, new Set(['one.test']));
  await c3.s.settled();
  assert.equal(c3.held.get('one.test')?.row.serial, one2.info.serial);
  a.held.delete('one.test');
  await a.s.removed('one.test', one2.info.serial);
  await b.s.settled();
  assert.ok(!b.held.has('one.test'), 'B removed it');
  await c3.s.settled();
  await c3.s.settled();
  assert.ok(c3.held.has('one.test'), 'C keeps it: a domain there uses it');
  assert.equal(c3.calls.filter((x) => x === 'remove one.test').length, 1, 'asked once, not on every run');
  await a.s.settled();
  assert.ok(!a.held.has('one.test'), 'A does not get it back');

  // A node with another key refuses, audits, and keeps what it has.
  const d = node('d', randomBytes(32));
  await d.s.settled();
  assert.equal(d.held.has('two.test'), false);
  const refused = listAudit(d.db, { limit: 10, action: 'fleet.certificate_refused' });
  assert.equal(refused.length, 1);
  assert.match(refused[0]!.error ?? '', /sealed with another fleet key/);
  assert.doesNotMatch(JSON.stringify(refused), /PRIVATE KEY/);
  await d.s.settled();
  assert.equal(listAudit(d.db, { limit: 10, action: 'fleet.certificate_refused' }).length, 1, 'audited once');
});

test('a removal made while PostgreSQL is down is kept, sent on return (also after a restart), and the certificate does not come back', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_cert_removals');
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 2000 });
  pool.on('error', () => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'hm-cert-removals-'));
  t.after(async () => {
    await pool.end();
    pgc.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await pool.connect();
  await migratePg(c);
  c.release();
  const key = randomBytes(32);
  const log = createLogger({ level: 'error', format: 'text', priorityPrefix: false, write: () => undefined });
  const dbs = new Map<string, ReturnType<typeof openDatabase>['writer']>();
  const node = (name: string, mem = memoryCerts()) => {
    const db = dbs.get(name) ?? openDatabase(join(dir, `${name}.db`)).writer;
    dbs.set(name, db);
    return { ...mem, mem, db, s: createSharedCerts({ pool, key, node: name, db, log, certs: () => mem.local }) };
  };
  const a = node('a');
  const b = node('b');
  const one = await cert('one.test');
  a.put('one.test', ['one.test'], one.chain, one.key, 'http-01');
  await a.s.settled();
  await b.s.settled();
  assert.equal(b.held.get('one.test')?.row.serial, one.info.serial, 'B has it');

  // PostgreSQL goes away; B removes the certificate (its domain went).
  pgc.stop();
  b.held.delete('one.test');
  await b.s.removed('one.test', one.info.serial);
  assert.deepEqual(pendingCertRemovals.list(b.db), [{ name: 'one.test', serial: one.info.serial }], 'kept on B');
  await b.s.settled(); // fails quietly: nothing to compare with

  // B restarts while the database is still away (a new unit over the same SQLite), then the database returns.
  const b2 = node('b', b.mem);
  pgc.start();
  await b2.s.settled();
  assert.ok(!b2.held.has('one.test'), 'the removed certificate did not come back to B');
  assert.deepEqual(b2.calls, ['install one.test'], 'installed once (before the removal), never again');
  assert.deepEqual(pendingCertRemovals.list(b.db), [], 'sent, and no longer kept');
  const row = (await pool.query<{ removed: boolean; serial: string; node: string }>('SELECT removed, serial, node FROM fleet_certificates WHERE name = $1', ['one.test'])).rows[0]!;
  assert.deepEqual(row, { removed: true, serial: one.info.serial, node: 'b' });
  await b2.s.settled();
  assert.ok(!b2.held.has('one.test'), 'still gone on the next run');

  // The removal reaches A like any other (no domain there uses it).
  await a.s.settled();
  assert.ok(!a.held.has('one.test'), 'A removed it too');

  // A newer certificate of that name issued later is a new certificate: it is shared and installed.
  await new Promise((r) => setTimeout(r, 1100)); // notBefore has a one-second resolution
  const one2 = await cert('one.test');
  a.put('one.test', ['one.test'], one2.chain, one2.key, 'http-01');
  await a.s.published({ name: 'one.test', names: ['one.test'], chain: one2.chain, key: one2.key, challenge: 'http-01', orderUrl: null, serial: one2.info.serial, notBefore: one2.info.notBefore, notAfter: one2.info.notAfter });
  await b2.s.settled();
  assert.equal(b2.held.get('one.test')?.row.serial, one2.info.serial);
});
