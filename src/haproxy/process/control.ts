/**
 * HAProxy process control, in two modes.
 *
 * - managed: the daemon runs `haproxy -W -S <master socket> -f <cfg>` itself,
 *   supervises it (restarts it with backoff when it dies) and never starts a
 *   second master: a master that already answers on the socket is adopted.
 * - systemd: the distribution's haproxy.service runs HAProxy; reloads go
 *   through its master socket, or `systemctl reload` when configured so.
 *
 * Reloads are verified, never assumed: 3.0's master answers `Success=1|0`;
 * 2.6 reloads asynchronously, so `show proc`'s reload and failure counters are
 * polled until one moves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { AppError, timeoutError } from '../../errors.js';
import { durationMs } from '../../util/duration.js';
import { run } from '../../util/exec.js';
import { childEnv } from '../../util/child-env.js';
import { createMaster, createRuntime, socketClient, type Master, type ProcInfo, type Runtime } from '../runtime/index.js';

export interface ServingStatus {
  serving: boolean;
  reason?: string;
  masterPid?: number;
  workers?: number;
  reloads?: number;
}

export interface HaproxyControl {
  /** The master CLI, typed (`show proc`, `reload`). */
  readonly master: Master;
  /** The stats socket, typed: maps, servers, ssl, tables, stats. */
  readonly runtime: Runtime;
  /** Starts (managed) or finds (systemd) HAProxy; resolves once it serves. */
  start(): Promise<void>;
  /** Reloads and verifies the reload took; throws AppError('runtime') with HAProxy's text otherwise. */
  reload(): Promise<{ durationMs: number; masterPid: number }>;
  status(): Promise<ServingStatus>;
  /**
   * A deep check for the watchdog: the master answers, workers run, the stats
   * socket answers, every listener accepts a connection, and the stats page
   * answers an HTTP request (a frozen worker still accepts in the kernel).
   */
  check(): Promise<{ ok: boolean; failures: string[] }>;
  /** Kills HAProxy (master and workers) and starts it again (managed), or `systemctl restart` (systemd). */
  restart(): Promise<void>;
  /** Stops supervising; in managed mode also stops HAProxy unless `leaveRunning`. */
  stop(opts?: { leaveRunning?: boolean }): Promise<void>;
  /** True while the supervisor or a restart is bringing HAProxy back (the watchdog then waits). */
  recovering(): boolean;
  /**
   * Told once each time the supervisor brought back a HAProxy that died or
   * wedged (managed mode), with what happened and how long it was down.
   */
  onRecovered(fn: (r: { reason: string; downMs: number }) => void): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tcpAccepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

function httpAnswers(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host, port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) > 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export function createControl(cfg: Config, log: Logger): HaproxyControl {
  const timeoutMs = durationMs(cfg.haproxy.command_timeout);
  const master = createMaster(socketClient(cfg.paths.masterSocket, timeoutMs));
  const stats = socketClient(cfg.paths.statsSocket, timeoutMs);
  const runtime = createRuntime(stats);
  const managed = cfg.mode === 'managed';
  let child: ChildProcess | null = null;
  let stopping = false;
  let superviseTimer: NodeJS.Timeout | null = null;
  let restartBackoff = 1000;
  let restarting: Promise<void> | null = null;
  let recoveredListener: ((r: { reason: string; downMs: number }) => void) | null = null;
  /** Why and since when HAProxy is down, while the supervisor brings it back. */
  let down: { reason: string; since: number } | null = null;
  /** The master we adopted instead of starting (managed mode, after a daemon restart). */
  let adoptedPid: number | null = null;
  /** The master's recent output: 2.6 reports a failed reload's reason only there. */
  const recent: string[] = [];

  const showProc = async (): Promise<ProcInfo | null> => {
    try {
      return await master.showProc({ timeoutMs: Math.min(timeoutMs, 5000) });
    } catch {
      return null;
    }
  };

  const waitServing = async (deadlineMs: number): Promise<ProcInfo> => {
    const end = Date.now() + deadlineMs;
    let last: ProcInfo | null = null;
    while (Date.now() < end) {
      last = await showProc();
      if (last && last.workers.length > 0) return last;
      if (managed && child === null) break;
      await sleep(50);
    }
    throw new AppError('unavailable', `HAProxy did not come up: ${recent.filter((l) => /ALERT/.test(l)).slice(-5).join(' | ') || 'no master answering'}`);
  };

  const spawnMaster = async (): Promise<void> => {
    const existing = await showProc();
    if (existing) {
      log.info('adopting the HAProxy master already running', { pid: existing.masterPid });
      adoptedPid = existing.masterPid;
      return;
    }
    mkdirSync(cfg.paths.runDir, { recursive: true, mode: 0o700 });
    rmSync(cfg.paths.masterSocket, { force: true });
    const args = ['-W', '-S', `${cfg.paths.masterSocket},mode,600`, '-f', cfg.paths.configPath, '-p', cfg.paths.pidFile];
    log.info('starting HAProxy', { binary: cfg.haproxy.binary, config: cfg.paths.configPath });
    const c = spawn(cfg.haproxy.binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    child = c;
    const onLine = (stream: string) => (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        recent.push(line);
        if (recent.length > 200) recent.shift();
        // HAProxy's own [ALERT] and [WARNING] lines are worth a look (journald: warning); [NOTICE] and the rest are detail.
        if (/\[(ALERT|WARNING)\]/.test(line)) log.warn(`haproxy: ${line}`, { stream });
        else log.debug(`haproxy: ${line}`, { stream });
      }
    };
    c.stdout?.on('data', onLine('stdout'));
    c.stderr?.on('data', onLine('stderr'));
    c.on('exit', (code, signal) => {
      if (child === c) child = null;
      if (!stopping) {
        log.error('HAProxy master exited', { code, signal });
        if (!reloading) down ??= { reason: `the HAProxy master exited (${signal ? `signal ${signal}` : `code ${code}`})`, since: Date.now() };
        void supervise();
      }
    });
    c.on('error', (e) => log.error('cannot start HAProxy', { error: e.message }));
    await waitServing(timeoutMs);
  };

  /** True while a reload is in flight: the master re-executes itself and may not answer for a moment. */
  let reloading = false;
  /** Consecutive checks in which a master we did not start (or a live child) did not answer. */
  let silentChecks = 0;

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  /**
   * One supervision step, never two at once. Restarts HAProxy when our child
   * exited, when an adopted master's process is gone, or when a master stays
   * silent for several checks in a row (wedged). A reload in flight is left alone.
   */
  const supervise = (): Promise<void> => {
    if (stopping || !managed || reloading) return Promise.resolve();
    if (restarting) return restarting;
    restarting = (async () => {
      try {
        const proc = await showProc();
        if (proc && proc.workers.length > 0) {
          silentChecks = 0;
          adoptedPid = child ? null : proc.masterPid;
          restartBackoff = 1000;
          down = null;
          return;
        }
        const childAlive = child !== null && child.exitCode === null && child.signalCode === null;
        const adoptedAlive = child === null && adoptedPid !== null && alive(adoptedPid);
        if (childAlive || adoptedAlive) {
          // Alive but not answering, or answering without a worker: give it a few checks.
          if (++silentChecks < 5) return;
          log.error('HAProxy master is not answering; killing it', { checks: silentChecks });
          down ??= { reason: `the HAProxy master stopped answering (${silentChecks} checks)`, since: Date.now() };
          try {
            process.kill(childAlive ? child!.pid! : adoptedPid!, 'SIGKILL');
          } catch {
            /* gone already */
          }
          await sleep(100);
        }
        silentChecks = 0;
        child = null;
        adoptedPid = null;
        log.warn('HAProxy is not running; restarting it', { backoff_ms: restartBackoff });
        down ??= { reason: 'HAProxy was not running', since: Date.now() };
        await spawnMaster();
        const was = down;
        down = null;
        log.warn('HAProxy restarted by the supervisor', { reason: was.reason, down_ms: Date.now() - was.since });
        restartBackoff = 1000;
        try {
          recoveredListener?.({ reason: was.reason, downMs: Date.now() - was.since });
        } catch (e) {
          log.error('recovery listener failed', { error: (e as Error).message });
        }
      } catch (e) {
        log.error('HAProxy restart failed', { error: (e as Error).message, next_try_ms: restartBackoff });
        await sleep(restartBackoff);
        restartBackoff = Math.min(restartBackoff * 2, 30_000);
      } finally {
        restarting = null;
      }
    })();
    return restarting;
  };

  const reloadViaMaster = async (): Promise<{ durationMs: number; masterPid: number }> => {
    const t0 = Date.now();
    const before = await showProc();
    if (!before) throw new AppError('unavailable', `HAProxy's master socket ${cfg.paths.masterSocket} does not answer`);
    recent.length = 0;
    const reply = await master.reload();
    if (reply.outcome === 'ok') {
      const after = await waitServing(timeoutMs);
      return { durationMs: Date.now() - t0, masterPid: after.masterPid };
    }
    if (reply.outcome === 'failed') {
      const why = reply.why;
      throw new AppError('runtime', `HAProxy refused the reload${why ? `:\n${why}` : ''}`, { detail: { output: reply.output.slice(0, 4000) } });
    }
    // 2.6: asynchronous. Poll the counters.
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      await sleep(20);
      const p = await showProc();
      if (!p) continue;
      if (p.failedReloads > before.failedReloads) {
        const why = recent.filter((l) => /ALERT/.test(l)).slice(0, 10).join('\n');
        throw new AppError('runtime', `HAProxy refused the reload${why ? `:\n${why}` : ''}`);
      }
      const fresh = p.workers.some((w) => w.reloads === 0 && !before.workers.some((b) => b.pid === w.pid));
      if (p.reloads > before.reloads && fresh) return { durationMs: Date.now() - t0, masterPid: p.masterPid };
    }
    throw new AppError('timeout', `HAProxy did not confirm the reload within ${timeoutMs} ms`);
  };

  /** Kills HAProxy (master and workers) and starts it again; systemd mode: systemctl restart. */
  const doRestart = async (): Promise<void> => {
    if (!managed) {
      const r = await run('systemctl', ['restart', cfg.haproxy.systemd_unit], { timeoutMs });
      if (r.timedOut) throw timeoutError(`systemctl restart ${cfg.haproxy.systemd_unit}`, timeoutMs);
      if (r.code !== 0) throw new AppError('runtime', `systemctl restart ${cfg.haproxy.systemd_unit} failed: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
      return;
    }
    // Hold the supervisor off while HAProxy is down on purpose.
    reloading = true;
    try {
      const p = await showProc();
      const pids = new Set<number>([...(p ? [p.masterPid, ...p.workers.map((w) => w.pid)] : []), ...(child?.pid ? [child.pid] : []), ...(adoptedPid ? [adoptedPid] : [])]);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const end = Date.now() + 5000;
      while ([...pids].some(alive) && Date.now() < end) await sleep(20);
      child = null;
      adoptedPid = null;
      log.warn('HAProxy killed for a restart', { pids: [...pids].join(',') });
      await spawnMaster();
      log.info('HAProxy restarted');
    } finally {
      reloading = false;
      down = null;
    }
  };
  let restartInFlight: Promise<void> | null = null;

  return {
    master,
    runtime,
    async start() {
      stopping = false;
      if (managed) {
        await spawnMaster();
        superviseTimer = setInterval(() => void supervise(), durationMs(cfg.haproxy.supervise_interval));
        superviseTimer.unref();
      } else {
        const p = await showProc();
        if (!p && cfg.haproxy.reload_via === 'master_socket') {
          log.warn('the HAProxy master socket does not answer; is haproxy.service running with -S?', { socket: cfg.paths.masterSocket });
        }
      }
    },
    async reload() {
      if (!managed && cfg.haproxy.reload_via === 'systemctl') {
        const t0 = Date.now();
        const r = await run('systemctl', ['reload', cfg.haproxy.systemd_unit], { timeoutMs });
        if (r.timedOut) throw timeoutError(`systemctl reload ${cfg.haproxy.systemd_unit}`, timeoutMs);
        if (r.code !== 0) throw new AppError('runtime', `systemctl reload ${cfg.haproxy.systemd_unit} failed: ${(r.stderr || r.stdout).trim().slice(0, 1000)}`);
        return { durationMs: Date.now() - t0, masterPid: 0 };
      }
      reloading = true;
      try {
        return await reloadViaMaster();
      } finally {
        reloading = false;
      }
    },
    async status() {
      const p = await showProc();
      if (!p) return { serving: false, reason: `HAProxy's master socket ${cfg.paths.masterSocket} does not answer` };
      if (p.workers.length === 0) return { serving: false, reason: 'HAProxy has no worker running', masterPid: p.masterPid };
      const accepts = await tcpAccepts(cfg.haproxy.bind_address === '0.0.0.0' || cfg.haproxy.bind_address === '::' ? '127.0.0.1' : cfg.haproxy.bind_address, cfg.haproxy.http_port, 2000);
      if (!accepts) return { serving: false, reason: `nothing accepts connections on ${cfg.haproxy.bind_address}:${cfg.haproxy.http_port}`, masterPid: p.masterPid, workers: p.workers.length };
      return { serving: true, masterPid: p.masterPid, workers: p.workers.length, reloads: p.reloads };
    },
    async check() {
      const failures: string[] = [];
      const p = await showProc();
      if (!p) failures.push('the master socket does not answer');
      else if (p.workers.length === 0) failures.push('no worker is running');
      try {
        const info = await runtime.stats.info({ timeoutMs: 3000 });
        if (info.Name !== 'HAProxy') failures.push(`the stats socket names itself ${info.Name}, not HAProxy`);
      } catch (e) {
        failures.push(`the stats socket does not answer: ${(e as Error).message}`);
      }
      const host = cfg.haproxy.bind_address === '0.0.0.0' || cfg.haproxy.bind_address === '::' ? '127.0.0.1' : cfg.haproxy.bind_address;
      const listeners: [string, string, number | null][] = [
        ['http', host, cfg.haproxy.http_port],
        ['https', host, cfg.haproxy.https_port],
        ['stats', '127.0.0.1', cfg.haproxy.stats_port],
      ];
      for (const [name, h, port] of listeners) {
        if (port !== null && !(await tcpAccepts(h, port, 2000))) failures.push(`the ${name} listener ${h}:${port} accepts no connection`);
      }
      if (cfg.haproxy.stats_port !== null && !(await httpAnswers('127.0.0.1', cfg.haproxy.stats_port, '/stats;csv', 3000))) {
        failures.push('the stats page does not answer (workers frozen?)');
      }
      return { ok: failures.length === 0, failures };
    },
    recovering: () => restarting !== null || restartInFlight !== null || down !== null,
    onRecovered(fn) {
      recoveredListener = fn;
    },
    restart() {
      // One restart at a time: the watchdog and the remediation policy may both ask for one.
      restartInFlight ??= doRestart().finally(() => {
        restartInFlight = null;
      });
      return restartInFlight;
    },
    async stop(opts = {}) {
      stopping = true;
      if (superviseTimer) clearInterval(superviseTimer);
      superviseTimer = null;
      if (!managed || opts.leaveRunning) return;
      const p = await showProc();
      const c = child;
      if (c) {
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGUSR1'); // soft stop: finish serving current connections
        await Promise.race([exited, sleep(5000)]);
        if (c.exitCode === null && c.signalCode === null) {
          c.kill('SIGTERM');
          await Promise.race([exited, sleep(2000)]);
        }
      } else if (p) {
        try {
          process.kill(p.masterPid, 'SIGUSR1');
        } catch {
          /* already gone */
        }
      }
      child = null;
      if (existsSync(cfg.paths.masterSocket)) rmSync(cfg.paths.masterSocket, { force: true });
    },
  };
}
