/**
 * Backup benchmark: a database with 1,000,000 incidents, copied with the
 * `backup` command's own function (storage/backup.ts: SQLite's online backup
 * in one step, the copy made standalone, integrity_check, row counts, fsync,
 * rename), restored with `restore`'s, and pruned by the retention unit.
 * Prints figures; asserts nothing about timings.
 *
 *   npm run bench:backup       (node --import tsx scripts/bench/backup.ts)
 *   BENCH_ROWS=200000 npm run bench:backup
 *
 * Rows: incidents as the monitor writes them (a rule, a subject, two samples
 * of a log line), resolved 100 days ago, inserted 50,000 per transaction;
 * one audit entry per 100 incidents. The backup's time includes its checks
 * (integrity_check and a COUNT(*) per table read the whole copy again), so
 * its MB/s is the command's; the row above it is the page copy alone (the
 * read transaction held on the live database). The prune row is the
 * retention unit's first run over that backlog with its defaults (1,000 rows
 * per transaction, 200,000 per table per run), repeated until it is empty.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/storage/db.js';
import { backupDatabase, restoreDatabase } from '../../src/storage/backup.js';
import { lockStateDir } from '../../src/storage/state-lock.js';
import { parseConfig } from '../../src/config/load.js';
import { createRetention } from '../../src/retention/unit.js';
import { silentLogger } from '../../src/log.js';
import { t, int, secs, table, printFindings, progressClock } from './stats.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PER_TX = 50_000;
const DAY = 86_400_000;

const dir = mkdtempSync(join(tmpdir(), 'hm-bench-backup-'));
const { elapsed, progress } = progressClock('backup');
const findings: string[] = [];
try {
  const cfg = parseConfig(`state_dir: ${dir}/state\n`, join(dir, 'config.yaml'), { env: {} });
  const { writer, reader } = openDatabase(cfg.paths.database);
  const resolvedAt = new Date(Date.now() - 100 * DAY).toISOString();
  const ins = writer.prepare(
    `INSERT INTO incidents (rule, category, severity, subject_type, subject_value, status, first_seen, last_seen, count, escalate, actions, samples, resolved_at)
     VALUES (?, 'recon', 'medium', 'ip', ?, 'resolved', ?, ?, ?, 0, '[]', ?, ?)`,
  );
  const audit = writer.prepare("INSERT INTO audit_log (at, actor, action, target, result) VALUES (?, 'bench', 'blocked_ip.add', ?, 'ok')");
  const fillStart = t();
  for (let base = 0; base < ROWS; base += PER_TX) {
    writer.transaction(() => {
      for (let i = base; i < Math.min(ROWS, base + PER_TX); i++) {
        const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const sample = `${ip}:51234 [25/Nov/2026:10:00:00.123] web app/s1 0/0/1/2/3 404 512 - - ---- 1/1/0/0/0 0/0 "GET /wp-login.php?i=${i} HTTP/1.1"`;
        ins.run(`rule-${i % 20}`, ip, resolvedAt, resolvedAt, 1 + (i % 50), JSON.stringify([sample, sample]), resolvedAt);
        if (i % 100 === 0) audit.run(resolvedAt, ip);
      }
    })();
    if ((base / PER_TX) % 4 === 3) progress(`${int(base + PER_TX)} incidents written`);
  }
  writer.pragma('wal_checkpoint(TRUNCATE)');
  const fillMs = t() - fillStart;
  const dbBytes = statSync(cfg.paths.database).size;

  progress('backing up');
  const out = join(dir, 'backup.db');
  const b0 = t();
  const rep = await backupDatabase(cfg.paths.database, out);
  const backupMs = t() - b0;
  const rows = Object.values(rep.tables).reduce((a, c) => a + c, 0);
  reader.close();
  writer.close();

  progress('restoring');
  const lock = lockStateDir(cfg.paths.stateDir);
  const r0 = t();
  const restored = restoreDatabase(out, cfg.paths.database);
  const restoreMs = t() - r0;
  lock.release();
  rmSync(restored.previous!, { force: true });

  progress('pruning');
  const db = openDatabase(cfg.paths.database);
  const unit = createRetention({ cfg, log: silentLogger, db: db.writer });
  const p0 = t();
  let pruned = 0;
  let runs = 0;
  for (;;) {
    const r = await unit.run();
    runs++;
    pruned += r.incidents + r.audit;
    if (r.more.length === 0) break;
  }
  const pruneMs = t() - p0;
  db.reader.close();
  db.writer.close();

  const mb = (n: number) => (n / 1_048_576).toFixed(1);
  console.log(`\nBackup of a database with ${int(ROWS)} incidents (${int(rows)} rows in all, ${mb(dbBytes)} MB)\n`);
  console.log(
    table(
      ['step', 'rows', 'MB', 'seconds', 'MB/s', 'rows/s'],
      [
        ['fill (50,000 per transaction)', int(rows), mb(dbBytes), secs(fillMs), (dbBytes / 1_048_576 / (fillMs / 1000)).toFixed(0), int(Math.round(rows / (fillMs / 1000)))],
        ['backup: the page copy alone', int(rows), mb(rep.bytes), secs(rep.copy_ms), (rep.bytes / 1_048_576 / (rep.copy_ms / 1000)).toFixed(0), int(Math.round(rows / (rep.copy_ms / 1000)))],
        ['backup (copy, checks, fsync)', int(rows), mb(rep.bytes), secs(backupMs), (rep.bytes / 1_048_576 / (backupMs / 1000)).toFixed(0), int(Math.round(rows / (backupMs / 1000)))],
        ['restore (copy, checks, swap)', int(rows), mb(restored.bytes), secs(restoreMs), (restored.bytes / 1_048_576 / (restoreMs / 1000)).toFixed(0), int(Math.round(rows / (restoreMs / 1000)))],
        [`retention prune (${runs} runs)`, int(pruned), '-', secs(pruneMs), '-', int(Math.round(pruned / (pruneMs / 1000)))],
      ],
    ),
  );
  if (rep.bytes !== dbBytes) findings.push(`the backup is ${mb(rep.bytes)} MB against ${mb(dbBytes)} MB live (free pages are copied as they are)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
printFindings(findings, elapsed());
