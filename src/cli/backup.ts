/**
 * `haproxy-manager backup <file>` and `haproxy-manager restore <file>`: the
 * database file, copied out while the daemon runs, and put back while it does
 * not (storage/backup.ts holds the contracts).
 *
 * Exit codes: 0 done; 1 failed (the daemon runs on the state directory, the
 * database or the disk failed); 2 bad usage or input (the destination exists
 * without --force or its directory does not; the file to restore is missing,
 * not a database, not haproxy-manager's or of a newer schema). Nothing is
 * changed on a non-zero exit. With --json the report (or the error, in the
 * API's error shape) is one JSON object on stdout; messages go to stderr.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { AppError, describe } from '../errors.js';
import { backupDatabase, restoreDatabase, type DatabaseSummary } from '../storage/backup.js';
import { lockStateDir } from '../storage/state-lock.js';

type Out = NodeJS.WritableStream;

const mb = (bytes: number) => (bytes / 1_048_576).toFixed(1);
const rows = (s: DatabaseSummary) => Object.values(s.tables).reduce((a, b) => a + b, 0);

function fail(e: unknown, usage: (e: AppError) => boolean, o: { json: boolean }, out: Out, err: Out): number {
  const app = e instanceof AppError ? e : null;
  const message = describe(e);
  err.write(`haproxy-manager: ${message}\n`);
  if (o.json) out.write(`${JSON.stringify({ status: 'error', error: app?.kind ?? 'internal', message })}\n`);
  return app && usage(app) ? 2 : 1;
}

export async function runBackup(cfg: Config, file: string, o: { force: boolean; json: boolean }, out: Out, err: Out): Promise<number> {
  try {
    const r = await backupDatabase(cfg.paths.database, file, { force: o.force });
    if (o.json) out.write(`${JSON.stringify({ status: 'ok', ...r, rows: rows(r) })}\n`);
    else out.write(`backed up ${r.source} to ${r.file}: ${mb(r.bytes)} MB, ${Object.keys(r.tables).length} tables, ${rows(r).toLocaleString('en-US')} rows, schema version ${r.schema_version}, in ${(r.duration_ms / 1000).toFixed(2)} s\n`);
    return 0;
  } catch (e) {
    return fail(e, (a) => a.kind === 'validation' || a.kind === 'conflict', o, out, err);
  }
}

export function runRestore(cfg: Config, file: string, o: { json: boolean }, out: Out, err: Out): number {
  try {
    // The daemon's own lock: held while it runs, so a restore under a running daemon stops here.
    const lock = lockStateDir(cfg.paths.stateDir);
    try {
      const r = restoreDatabase(file, cfg.paths.database);
      if (o.json) out.write(`${JSON.stringify({ status: 'ok', ...r, rows: rows(r) })}\n`);
      else {
        out.write(`restored ${r.database} from ${r.from}: ${Object.keys(r.tables).length} tables, ${rows(r).toLocaleString('en-US')} rows, schema version ${r.schema_version}\n`);
        out.write(r.previous ? `the database it replaced is kept as ${r.previous}\n` : 'there was no database before\n');
      }
      return 0;
    } finally {
      lock.release();
    }
  } catch (e) {
    return fail(e, (a) => a.kind === 'validation', o, out, err);
  }
}

/** Registers `backup` and `restore` on the program; `load` reads the configuration (exiting 2 when it is invalid). */
export function registerBackupCommands(program: Command, load: (file: string) => Config, configOpt: readonly [string, string, string]): void {
  program
    .command('backup')
    .description("copy the database to a file, consistent while the daemon runs (SQLite's online backup); the file is 0600")
    .argument('<file>', 'where to write the copy (its directory must exist)')
    .option(...configOpt)
    .option('--force', 'replace the file if it exists')
    .option('--json', 'print the report (size, rows per table, duration) as JSON')
    .action(async (file: string, o: { config: string; force?: boolean; json?: boolean }) => {
      process.exit(await runBackup(load(o.config), file, { force: o.force === true, json: o.json === true }, process.stdout, process.stderr));
    });
  program
    .command('restore')
    .description('replace the database with a backup; only while the daemon is stopped (the old database is kept as <db>.before-restore-<time>)')
    .argument('<file>', 'a file made by `haproxy-manager backup`')
    .option(...configOpt)
    .option('--json', 'print the report as JSON')
    .action((file: string, o: { config: string; json?: boolean }) => {
      process.exit(runRestore(load(o.config), file, { json: o.json === true }, process.stdout, process.stderr));
    });
}
