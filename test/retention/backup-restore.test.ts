/**
 * `haproxy-manager backup` and `restore` as an operator runs them (the CLI in
 * a child process) on a real SQLite file: a backup taken while another
 * process writes without pause is a clean, consistent snapshot; the
 * destination is 0600, replaced only with --force; restore refuses what is
 * not a haproxy-manager database it can run on, with exit code 2 and nothing
 * changed, and swaps in a good one keeping the old database aside. Restore
 * under a running daemon, and the restored daemon serving, are in
 * backup-restore-e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase, SCHEMA_VERSION } from '../../src/storage/db.js';
import { waitFor } from '../helpers/harness.js';
import { cli, type CliRun } from '../helpers/cli.js';
import { loadConfig } from '../../src/config/load.js';
import { runBackup, runRestore } from '../../src/cli/backup.js';

const SQLITE = createRequire(import.meta.url).resolve('better-sqlite3');

type Run = CliRun;

/** The commands' own functions, in this process (a child process costs seconds of start-up each). */
function sink() {
  let text = '';
  return { stream: { write: (c: string) => ((text += c), true) } as unknown as NodeJS.WritableStream, text: () => text };
}
async function inProcess(args: ['backup' | 'restore', string, string, ...string[]]): Promise<Run> {
  const [cmd, file, config, ...flags] = args;
  const out = sink();
  const err = sink();
  const cfg = loadConfig(config, { env: {} });
  const o = { json: flags.includes('--json'), force: flags.includes('--force') };
  const code = cmd === 'backup' ? await runBackup(cfg, file, o, out.stream, err.stream) : runRestore(cfg, file, o, out.stream, err.stream);
  return { code, stdout: out.text(), stderr: err.text() };
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'hm-backup-'));
  writeFileSync(join(dir, 'config.yaml'), `state_dir: ${dir}/state\n`);
  const db = join(dir, 'state', 'haproxy-manager.db');
  const { writer, reader } = openDatabase(db);
  return { dir, db, config: join(dir, 'config.yaml'), writer, reader, done: () => rmSync(dir, { recursive: true, force: true }) };
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const count = (db: Database.Database, sql: string, ...p: unknown[]) => (db.prepare(sql).get(...p) as { n: number }).n;

test('a backup taken while another process writes without pause opens cleanly, passes integrity_check and holds a consistent snapshot', async () => {
  const s = setup();
  // Some bulk, so the copy is not a single page.
  const fill = s.writer.prepare("INSERT INTO audit_log (actor, action, detail, result) VALUES ('fill', 'fill', ?, 'ok')");
  s.writer.transaction(() => {
    for (let i = 0; i < 20_000; i++) fill.run(JSON.stringify({ i, pad: 'x'.repeat(1000) }));
  })();
  s.reader.close();
  s.writer.close();

  // Each transaction of the writer adds one incident and one audit entry with the same sequence number.
  const code = `
    import Database from ${JSON.stringify(SQLITE)};
    const db = new Database(${JSON.stringify(s.db)});
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    const inc = db.prepare("INSERT INTO incidents (rule, category, severity, subject_type, subject_value, status, first_seen, last_seen, count) VALUES ('pair-writer', 'test', 'info', 'seq', ?, 'resolved', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1)");
    const aud = db.prepare("INSERT INTO audit_log (actor, action, target, result) VALUES ('pair-writer', 'pair', ?, 'ok')");
    const pair = db.transaction((n) => { inc.run(String(n)); aud.run(String(n)); });
    for (let n = 1; ; n++) pair(n);
  `;
  const writer = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
  let writerErr = '';
  writer.stderr.on('data', (d: Buffer) => (writerErr += d.toString()));
  const watch = new Database(s.db, { readonly: true });
  watch.pragma('busy_timeout = 5000');
  const written = () => count(watch, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'pair'");
  try {
    assert.ok(await waitFor(() => written() >= 200, 30_000), `the writer wrote: ${writerErr}`);
    const out = join(s.dir, 'snap.db');
    const r = await cli(['backup', out, '-c', s.config, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const seenAfter = written();
    // The writer kept writing after the backup: it ran through it.
    assert.ok(await waitFor(() => written() > seenAfter + 100, 30_000), `the writer went on: ${writerErr}`);

    const report = JSON.parse(r.stdout) as { status: string; file: string; bytes: number; tables: Record<string, number>; rows: number; schema_version: number; duration_ms: number };
    assert.equal(report.status, 'ok');
    assert.equal(report.file, out);
    assert.equal(report.bytes, statSync(out).size);
    assert.equal(report.schema_version, SCHEMA_VERSION);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(existsSync(`${out}-wal`), false);
    assert.deepEqual(readdirSync(s.dir).filter((f) => f.includes('snap.db')), ['snap.db'], 'no temporary file left');

    const snap = new Database(out, { readonly: true });
    try {
      assert.equal(snap.pragma('integrity_check', { simple: true }), 'ok');
      assert.equal(snap.pragma('journal_mode', { simple: true }), 'delete', 'a standalone file');
      const incidents = count(snap, "SELECT COUNT(*) AS n FROM incidents WHERE rule = 'pair-writer'");
      const audits = count(snap, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'pair'");
      assert.ok(incidents >= 200, `pairs in the snapshot: ${incidents}`);
      // Consistent: every transaction entirely in or entirely out, and none missing in between.
      assert.equal(audits, incidents);
      assert.equal(count(snap, "SELECT MAX(CAST(subject_value AS INTEGER)) AS n FROM incidents WHERE rule = 'pair-writer'"), incidents);
      assert.equal(count(snap, "SELECT MAX(CAST(target AS INTEGER)) AS n FROM audit_log WHERE action = 'pair'"), incidents);
      assert.equal(count(snap, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'fill'"), 20_000);
      // The report counts the snapshot's rows.
      assert.equal(report.tables.incidents, incidents);
      assert.equal(report.tables.audit_log, audits + 20_000);
      assert.equal(report.rows, Object.values(report.tables).reduce((a, b) => a + b, 0));
    } finally {
      snap.close();
    }
  } finally {
    writer.kill('SIGKILL');
    await new Promise((r) => (writer.exitCode !== null || writer.signalCode !== null ? r(null) : writer.once('exit', r)));
    watch.close();
    s.done();
  }
});

test('backup: an existing file is replaced only with --force; a missing directory or database is a clear error', async () => {
  const s = setup();
  s.reader.close();
  s.writer.close();
  try {
    const out = join(s.dir, 'b.db');
    writeFileSync(out, 'keep me');
    const refused = await cli(['backup', out, '-c', s.config]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /b\.db exists; --force replaces it/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');

    const forced = await cli(['backup', out, '-c', s.config, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^backed up .* to .*b\.db: [\d.]+ MB, \d+ tables, \d+ rows, schema version \d+, in [\d.]+ s\n$/);
    assert.equal(statSync(out).mode & 0o777, 0o600);

    const noDir = await inProcess(['backup', join(s.dir, 'nowhere', 'b.db'), s.config, '--json']);
    assert.equal(noDir.code, 2);
    assert.deepEqual(JSON.parse(noDir.stdout), { status: 'error', error: 'validation', message: `the directory of ${join(s.dir, 'nowhere', 'b.db')} does not exist` });

    writeFileSync(join(s.dir, 'empty.yaml'), `state_dir: ${s.dir}/empty-state\n`);
    const noDb = await inProcess(['backup', join(s.dir, 'c.db'), join(s.dir, 'empty.yaml')]);
    assert.equal(noDb.code, 1);
    assert.match(noDb.stderr, /no database at .*empty-state\/haproxy-manager\.db/);
    assert.equal(existsSync(join(s.dir, 'c.db')), false);
  } finally {
    s.done();
  }
});

test('restore: bad input is refused with exit code 2 and nothing changed; a good backup is swapped in, the old database kept aside', async () => {
  const s = setup();
  s.writer.prepare("INSERT INTO domains (domain) VALUES ('before.example.test')").run();
  s.reader.close();
  s.writer.close();
  const stateDir = join(s.dir, 'state');
  try {
    const good = join(s.dir, 'good.db');
    assert.equal((await inProcess(['backup', good, s.config])).code, 0);
    const live = sha(s.db);
    // daemon.lock: the lock restore takes (the daemon's own) is made at the first try.
    const listing = () => readdirSync(stateDir).filter((x) => x !== 'daemon.lock').sort();
    const before = listing();

    // Bad input, each with its message.
    writeFileSync(join(s.dir, 'text.db'), 'this is not a database\n'.repeat(200));
    const foreign = join(s.dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    f.close();
    const newer = join(s.dir, 'newer.db');
    const n = new Database(good);
    await n.backup(newer);
    n.close();
    const nw = new Database(newer);
    nw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    nw.close();
    const partial = join(s.dir, 'partial.db');
    const p = new Database(good);
    await p.backup(partial);
    p.close();
    const pw = new Database(partial);
    pw.exec('DROP TABLE audit_log');
    pw.close();
    mkdirSync(join(s.dir, 'a-dir'));
    const cases: [string, RegExp][] = [
      [join(s.dir, 'missing.db'), /no file at .*missing\.db/],
      [join(s.dir, 'a-dir'), /a-dir is not a regular file/],
      [join(s.dir, 'text.db'), /text\.db is not a SQLite database \(file is not a database\)/],
      [foreign, /foreign\.db is not a haproxy-manager database \(it has no schema version\)/],
      [newer, new RegExp(`newer\\.db has schema version ${SCHEMA_VERSION + 1}, newer than this build's ${SCHEMA_VERSION}`)],
      [partial, new RegExp(`partial\\.db is not a haproxy-manager database of schema version ${SCHEMA_VERSION}: it lacks table audit_log`)],
      [s.db, /is the live database itself/],
    ];
    for (const [file, message] of cases) {
      const r = await inProcess(['restore', file, s.config, '--json']);
      assert.equal(r.code, 2, `${file}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal((JSON.parse(r.stdout) as { error: string }).error, 'validation');
      assert.equal(sha(s.db), live, `${file}: the database is unchanged`);
      assert.deepEqual(listing(), before, `${file}: nothing added or left in the state directory`);
    }

    // A good one: the live database changes after the backup, then the backup comes back.
    const w = new Database(s.db);
    w.prepare("INSERT INTO domains (domain) VALUES ('after.example.test')").run();
    w.close();
    const r = await cli(['restore', good, '-c', s.config, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { status: string; database: string; previous: string; schema_version: number; tables: Record<string, number> };
    assert.equal(rep.status, 'ok');
    assert.equal(rep.database, s.db);
    assert.equal(rep.schema_version, SCHEMA_VERSION);
    assert.equal(rep.tables.domains, 1);
    assert.match(rep.previous, /haproxy-manager\.db\.before-restore-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    assert.equal(statSync(s.db).mode & 0o777, 0o600);
    const restored = new Database(s.db, { readonly: true });
    assert.deepEqual(restored.prepare('SELECT domain FROM domains ORDER BY domain').pluck().all(), ['before.example.test']);
    restored.close();
    const previous = new Database(rep.previous, { readonly: true });
    assert.deepEqual(previous.prepare('SELECT domain FROM domains ORDER BY domain').pluck().all(), ['after.example.test', 'before.example.test']);
    previous.close();
    assert.deepEqual(readdirSync(stateDir).filter((x) => x.startsWith('.')), [], 'no staged file left');
  } finally {
    s.done();
  }
});
