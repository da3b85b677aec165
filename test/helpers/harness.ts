/**
 * Test harness: a real daemon (in-process) with a real managed HAProxy on free
 * loopback ports, real backend HTTP servers, and a client that can send from
 * any 127.0.0.0/8 source address. Each daemon lives in its own temp directory.
 */
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger, type Level, type Logger } from '../../src/log.js';
import { checkAnswer } from './contract.js';
import { socketClient, type SocketClient } from '../../src/haproxy/runtime/index.js';
import { freePort, retryOnPortClash } from './ports.js';

/** Both HAProxy versions every integration test runs against. A missing one fails the suite: install with scripts/install.sh --test. */
export const HAPROXIES: { name: string; bin: string }[] = [
  { name: 'haproxy-2.6', bin: '/usr/sbin/haproxy' },
  { name: 'haproxy-3.0', bin: process.env.HAPROXY30_BIN ?? '/opt/haproxy-3.0/usr/sbin/haproxy' },
];
for (const h of HAPROXIES) {
  if (!existsSync(h.bin)) throw new Error(`${h.name} is not installed at ${h.bin}; run scripts/install.sh --test`);
}

export { freePort };

export interface Backend {
  name: string;
  port: number;
  /** Requests this backend has received, with their headers. */
  seen: { path: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A real HTTP server answering `{server, path, headers}` as JSON. */
export async function startBackend(name: string): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ server: name, path: req.url, headers: req.headers }));
  });
  srv.keepAliveTimeout = 1000;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const a = srv.address();
  return {
    name,
    port: typeof a === 'object' && a ? a.port : 0,
    seen,
    close: () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      }),
  };
}

export interface HttpResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  json<T = unknown>(): T;
}

export function httpRequest(opts: {
  port: number;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  localAddress?: string;
  timeoutMs?: number;
  /** Over TLS with this SNI (any certificate accepted: the tests check what HAProxy serves elsewhere). */
  tls?: { servername: string };
}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = (opts.tls ? https : http).request(
      {
        ...(opts.tls ? { servername: opts.tls.servername, rejectUnauthorized: false } : {}),
        host: '127.0.0.1',
        port: opts.port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: opts.body === undefined ? opts.headers : { 'content-length': String(Buffer.byteLength(opts.body)), ...opts.headers },
        localAddress: opts.localAddress,
        agent: false,
        // Idle time, not a deadline: with the whole suite on 2 cores a fleet node once needed more than 10 s.
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, json: <T>() => JSON.parse(body) as T }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * HAProxy's stats socket, raw, for tests that read what HAProxy holds
 * independently of the daemon's typed client (and its reply parsing).
 */
export const rawStats = (t: TestDaemon): SocketClient => socketClient(t.daemon.cfg.paths.statsSocket, 10_000);

export interface TestDaemon {
  daemon: Daemon;
  dir: string;
  httpPort: number;
  apiPort: number;
  /** The key the daemon requires (configured or generated at start); null under api.auth: none. */
  apiKey: string | null;
  /** Calls the management API with JSON. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  /** A request through HAProxy's HTTP listener. */
  get(host: string, path?: string, opts?: { localAddress?: string; headers?: Record<string, string> }): Promise<HttpResult>;
  /** Lines the daemon logged. */
  logs: string[];
  /** The same lines with their level (journald priority). */
  entries: { level: Level; line: string }[];
  stop(): Promise<void>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

export interface TestDaemonOptions {
  /** Settings merged over the harness's defaults (same shape as the YAML file). */
  config?: Record<string, unknown>;
  /** YAML text merged at the top level (as `config`). */
  yaml?: string;
  /** YAML lines that belong under `haproxy:`, indented by two spaces. */
  haproxyYaml?: string;
  env?: NodeJS.ProcessEnv;
  /** Reuse a state directory (kept on stop) and, with it, fixed ports. */
  dir?: string;
  httpPort?: number;
  statsPort?: number;
}

export async function startTestDaemon(bin: string, opts: TestDaemonOptions = {}): Promise<TestDaemon> {
  // A port handed out by freePort() can be taken by a parallel test before HAProxy binds it:
  // with ports of its own choosing, a start that lost that race is tried again on new ones.
  // (A caller's own ports are its to choose again.)
  return opts.httpPort !== undefined ? startTestDaemonOnce(bin, opts) : retryOnPortClash(() => startTestDaemonOnce(bin, opts));
}

/**
 * State directories of the test daemons still running in this process.
 * HAProxy outlives its manager by design (it keeps serving while the daemon
 * restarts), so a test process killed by the runner's timeout would leave
 * its HAProxy behind, taking a core from every later test (seen: one spun
 * for half an hour). On exit, and on SIGTERM or SIGINT, every process whose
 * command line names one of these directories is killed.
 */
const liveStateDirs = new Set<string>();
function killLeftBehind(): void {
  if (liveStateDirs.size === 0) return;
  let ps = '';
  try {
    ps = execFileSync('ps', ['-eo', 'pid=,args=']).toString();
  } catch {
    return;
  }
  for (const line of ps.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m === null || Number(m[1]) === process.pid) continue;
    if ([...liveStateDirs].some((d) => (m[2] as string).includes(`${d}/`))) {
      try {
        process.kill(Number(m[1]), 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}
process.on('exit', killLeftBehind);
for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
  process.once(sig, () => {
    killLeftBehind();
    process.exit(code);
  });
}

async function startTestDaemonOnce(bin: string, opts: TestDaemonOptions): Promise<TestDaemon> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hm-test-'));
  liveStateDirs.add(`${dir}/state`);
  const httpPort = opts.httpPort ?? (await freePort());
  const statsPort = opts.statsPort ?? (await freePort());
  let settings: Record<string, unknown> = {
    mode: 'managed',
    state_dir: `${dir}/state`,
    haproxy: {
      binary: bin,
      bind_address: '127.0.0.1',
      http_port: httpPort,
      stats_port: statsPort,
      noreuseport: true,
      supervise_interval: '500ms',
      command_timeout: '10s',
    },
    api: { listen: '127.0.0.1', port: 0 },
    acme: { challenge_port: await freePort() },
    // No syslog listener unless a test asks for one (each daemon would bind the same default port).
    monitor: { syslog: null },
  };
  if (opts.haproxyYaml) settings = deepMerge(settings, { haproxy: parseYaml(opts.haproxyYaml.replace(/^ {2}/gm, '')) as Record<string, unknown> });
  if (opts.yaml) settings = deepMerge(settings, (parseYaml(opts.yaml) ?? {}) as Record<string, unknown>);
  if (opts.config) settings = deepMerge(settings, opts.config);
  const yaml = stringifyYaml(settings);
  writeFileSync(join(dir, 'config.yaml'), yaml);
  const cfg = parseConfig(yaml, join(dir, 'config.yaml'), { env: opts.env ?? {} });
  const logs: string[] = [];
  const entries: { level: Level; line: string }[] = [];
  const log: Logger = createLogger({
    level: 'debug',
    format: 'text',
    priorityPrefix: false,
    write: (level, line) => {
      logs.push(line);
      entries.push({ level, line });
    },
  });
  const daemon = await startDaemon(cfg, { log });
  const apiPort = daemon.apiPort;
  // The running daemon's key: the configured one or the one it generated at start.
  const key = daemon.cfg.apiKey;
  return {
    daemon,
    dir,
    httpPort,
    apiPort,
    apiKey: key,
    logs,
    entries,
    // Every answer is checked against its route's declared contract (helpers/contract.ts).
    api: async (method, path, body, headers = {}) => {
      const r = await httpRequest({
        port: apiPort,
        path,
        method,
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      checkAnswer(method, path, r.status, String(r.headers['content-type'] ?? ''), r.body);
      return r;
    },
    get: (host, path = '/', o = {}) => httpRequest({ port: httpPort, path, headers: { host, ...(o.headers ?? {}) }, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }),
    async stop() {
      await daemon.stop();
      liveStateDirs.delete(`${dir}/state`);
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true or `ms` pass. */
export async function waitFor(fn: () => Promise<boolean> | boolean, ms = 10_000, step = 100): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(step);
  }
  return false;
}

/** A domain body in the original API's shape. */
export function domainBody(domain: string, backend: string, ports: number[], extra: Record<string, unknown> = {}) {
  return { domain, backend_name: backend, servers: ports.map((p, i) => ({ name: `s${i + 1}`, address: '127.0.0.1', port: p, check: false })), ...extra };
}

/** How many HAProxy masters serve `socket`: the matching processes whose parent is not itself a match (workers are the master's children). */
export function mastersFor(socket: string): number {
  const procs = execFileSync('ps', ['-eo', 'pid=,ppid=,args='])
    .toString()
    .split('\n')
    .filter((l) => l.includes(`-S ${socket}`))
    .map((l) => l.trim().split(/\s+/).slice(0, 2).map(Number) as [number, number]);
  const pids = new Set(procs.map((p) => p[0]));
  return procs.filter((p) => !pids.has(p[1])).length;
}

/**
 * Notification settings with one webhook channel ("hook") to a port where
 * nothing listens: every delivery fails and is retried fast, so outbox
 * counters move. Writes the channel's secret file (0600) into `dir`.
 */
export function deadWebhookNotifications(dir: string, deadPort: number): Record<string, unknown> {
  writeFileSync(join(dir, 'hook-secret'), 'whsec-dead-hook-0123456789', { mode: 0o600 });
  return {
    channels: { hook: { type: 'webhook', url: `http://127.0.0.1:${deadPort}/hook`, secret_file: join(dir, 'hook-secret'), timeout: '1s' } },
    outbox: { poll_interval: '200ms', backoff_base: '200ms', backoff_max: '1s', give_up_after: '1h' },
  };
}
