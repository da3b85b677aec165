/**
 * A throwaway PostgreSQL cluster for fleet tests (Debian's postgresql 15):
 * initdb into a temp directory owned by `postgres` (initdb refuses root),
 * listening on 127.0.0.1 at a free port with its socket in that directory,
 * trust authentication for one superuser. `stop()`/`start()` simulate an
 * outage and a return on the same port and data; `kill()` an abrupt one;
 * `destroy()` removes everything. Each test file asks for its own database.
 */
import { mkdtempSync, rmSync, chownSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { freePort } from './harness.js';
import { migratePg } from '../../src/storage/pg/schema.js';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const USER = 'hm_test';

export interface TestPostgres {
  port: number;
  dir: string;
  /** A new empty database; its URL (no password: trust authentication on loopback). */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (clients are disconnected): the outage. */
  stop(): void;
  /** Start again on the same port and data: the return. */
  start(): void;
  /** SIGKILL the postmaster: an abrupt outage (start() recovers). */
  kill(): void;
  running(): boolean;
  /** Stops (if running) and removes the cluster. */
  destroy(): void;
}

function asPostgres(args: string[]): string {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  if (process.getuid?.() === uid) return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return execFileSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startTestPostgres(): Promise<TestPostgres> {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`PostgreSQL is not installed at ${PG_BIN}; run scripts/install.sh --test`);
  const dir = mkdtempSync(join(tmpdir(), 'hm-pg-'));
  const pgUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const pgGid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, pgUid, pgGid);
  const data = join(dir, 'data');
  asPostgres([join(PG_BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', USER, '--no-sync']);
  const port = await freePort();
  const ctl = (...a: string[]) => asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, ...a]);
  const start = () => {
    ctl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, '-l', join(dir, 'log'), '-w', 'start');
  };
  const running = () => existsSync(join(data, 'postmaster.pid'));
  start();
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: USER, database: 'postgres' });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    dir,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      return `postgres://${USER}@127.0.0.1:${port}/${name}`;
    },
    stop: () => {
      if (running()) ctl('-m', 'fast', '-w', 'stop');
    },
    start: () => {
      if (!running()) start();
    },
    kill() {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      // The children notice the postmaster is gone; wait until they have, so start() can begin.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        execFileSync('sleep', ['0.05']);
      }
      rmSync(join(data, 'postmaster.pid'), { force: true });
    },
    running,
    destroy() {
      try {
        if (running()) ctl('-m', 'immediate', '-w', 'stop');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A throwaway cluster with one database migrated to the fleet schema and a
 * pool on it (`max` connections when given), both gone when test `t` ends.
 */
export async function migratedPool(t: { after(fn: () => Promise<void>): void }, name: string, max?: number): Promise<{ pgc: TestPostgres; pool: pg.Pool }> {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase(name);
  const pool = new pg.Pool(max === undefined ? { connectionString: url } : { connectionString: url, max });
  pool.on('error', () => undefined);
  t.after(async () => {
    await pool.end();
    pgc.destroy();
  });
  const c = await pool.connect();
  await migratePg(c);
  c.release();
  return { pgc, pool };
}
