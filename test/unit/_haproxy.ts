/**
 * Shared helpers for the unit tests that need a real HAProxy: the two
 * binaries, writing a render to disk, `haproxy -c`, and starting a throw-away
 * HAProxy (master-worker) in a temp directory. Not a test file itself.
 */
import { DEFAULT_SITE_OPTIONS } from '../../src/storage/site-options.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import type { Rendered } from '../../src/haproxy/config/render.js';
import type { Backend, Server } from '../../src/storage/domains.js';

/** The same two binaries as the integration harness (which fails loudly when one is missing). */
import { sleep } from '../helpers/harness.js';
export { HAPROXIES as BINARIES, freePort, sleep } from '../helpers/harness.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Writes a render's generated files under `root` and haproxy.cfg at `cfgFile`. */
export function writeRendered(r: Rendered, root: string, cfgFile: string): void {
  for (const [rel, text] of r.files) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  mkdirSync(dirname(cfgFile), { recursive: true });
  writeFileSync(cfgFile, r.config);
}

export interface CheckResult extends ExecResult {
  /** [WARNING] lines (any), and the ones that are not about an unresolvable address. */
  warnings: string[];
  unexpectedWarnings: string[];
  alerts: string[];
}

export async function haproxyCheck(bin: string, cfgFile: string): Promise<CheckResult> {
  const r = await exec(bin, ['-c', '-f', cfgFile]);
  const lines = (r.stdout + '\n' + r.stderr).split('\n');
  const warnings = lines.filter((l) => /\[WARNING\]/.test(l));
  return {
    ...r,
    warnings,
    unexpectedWarnings: warnings.filter((l) => !/could not resolve address/.test(l)),
    alerts: lines.filter((l) => /\[ALERT\]/.test(l)),
  };
}

/** Resolves once a unix socket or TCP port accepts connections. */
export async function waitConnectable(target: { path: string } | { port: number; host?: string }, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = 'path' in target ? createConnection({ path: target.path }) : createConnection({ port: target.port, host: target.host ?? '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${JSON.stringify(target)} did not become connectable within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface RunningHaproxy {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts `haproxy -W -db [-S master] -f cfg` and waits for `waitFor` sockets.
 * Stopped by its own pid (SIGTERM, then SIGKILL).
 */
export async function startHaproxy(bin: string, cfgFile: string, opts: { masterSocket?: string; waitFor: ({ path: string } | { port: number })[] }): Promise<RunningHaproxy> {
  const args = ['-W', '-db', ...(opts.masterSocket ? ['-S', opts.masterSocket] : []), '-f', cfgFile];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    for (const w of opts.waitFor) await waitConnectable(w);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}; haproxy said: ${out}`);
  }
  return { child, output: () => out, stop };
}

/**
 * Writes `<dir>/haproxy.cfg` (an admin stats socket at `<dir>/run/stats.sock`,
 * HTTP defaults with 5 s timeouts, then `sections`) and starts it with a master
 * socket at `<dir>/run/master.sock`, waiting for both sockets and `port`.
 */
export async function startWithSockets(bin: string, dir: string, port: number, sections: string[]): Promise<RunningHaproxy> {
  mkdirSync(join(dir, 'run'), { recursive: true });
  const cfgFile = join(dir, 'haproxy.cfg');
  const stats = join(dir, 'run', 'stats.sock');
  const master = join(dir, 'run', 'master.sock');
  const head = ['global', `  stats socket ${stats} mode 600 level admin`, 'defaults', '  mode http', '  timeout client 5s', '  timeout server 5s', '  timeout connect 5s'];
  writeFileSync(cfgFile, [...head, ...sections, ''].join('\n'));
  return startHaproxy(bin, cfgFile, { masterSocket: master, waitFor: [{ path: master }, { path: stats }, { port }] });
}

/** A server with no options at all. */
export function server(name: string, address: string, port: number, extra: Partial<Server> = {}): Server {
  return {
    name,
    address,
    port,
    check: false,
    backup: false,
    weight: 100,
    maxconn: null,
    tls: false,
    tlsVerify: false,
    tlsCaFile: null,
    tlsSni: null,
    state: 'ready',
    ...extra,
  };
}

export function backend(name: string, domains: string[], servers: Server[], extra: Partial<Backend> = {}): Backend {
  return { name, kind: 'default', healthCheckPath: null, balance: 'roundrobin', servers, domains, site: DEFAULT_SITE_OPTIONS, ...extra };
}
