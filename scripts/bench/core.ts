/**
 * Core benchmark: how fast configuration changes and blocks reach HAProxy,
 * and whether reloads drop requests. Prints figures for each installed
 * HAProxy version; asserts nothing about timings.
 *
 *   npm run bench        (node --import tsx scripts/bench/core.ts)
 *
 * Per HAProxy version, against a real in-process daemon and a real managed
 * HAProxy (test/helpers/harness.ts), loopback only:
 *   1. render + `haproxy -c` + reload for 10, 1,000 and 10,000 domains (rows
 *      inserted straight into the database), split into model read, pure
 *      render, check and reload; plus one POST /api/domain at 10,000 domains.
 *   2. block round trip: POST /api/blocked-ips -> first 403 for that source
 *      address (runtime map), against a block that goes live by a full reload
 *      (GET /api/regenerate); again with 10,000 entries in the blocked map.
 *   3. requests dropped while 20 forced reloads run back to back under load
 *      (wrk -c 50, or a Node keep-alive pool when wrk is missing), with a
 *      prober measuring any outage in time and a count of supervisor restarts.
 *
 * Timings are wall-clock on a shared machine: the load average is printed at
 * the start and the end so a noisy run can be told from a slow daemon.
 *
 * Environment knobs (all optional): BENCH_VERSIONS=2.6,3.0 to pick versions,
 * BENCH_LOAD=node to use the Node load generator instead of wrk.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { HAPROXIES, startBackend, startTestDaemon, domainBody, sleep, type Backend, type TestDaemon } from '../../test/helpers/harness.js';
import { upsertDomain, type DomainInput } from '../../src/storage/domains.js';
import { blocked } from '../../src/storage/ip-lists.js';
import { loadModel } from '../../src/haproxy/config/model.js';
import { render, renderList, FILES } from '../../src/haproxy/config/render.js';
import { detectHaproxy } from '../../src/haproxy/process/version.js';
import { socketClient } from '../../src/haproxy/runtime/client.js';
import { parseListDump } from '../../src/haproxy/runtime/maps.js';
import { parseShowProc } from '../../src/haproxy/runtime/proc.js';
import { describe } from '../../src/errors.js';
import { t, ms, int, loadAvg, quantile, median, p95, max, min, table, printFindings, selectedVersions, progressClock } from './stats.js';

// ---------------------------------------------------------------------------
// Bounds: every loop below is bounded by these counts and deadlines.
const DOMAIN_SIZES = [10, 1_000, 10_000];
const RUNTIME_BLOCKS = 50;
const RELOAD_BLOCKS = 20;
const RUNTIME_BLOCKS_10K = 50;
const RELOAD_BLOCKS_10K = 10;
const BIG_BLOCKED = 10_000;
const LOAD_RELOADS = 20;
const LOAD_CONNECTIONS = 50;
const BASELINE_SECONDS = 3;
const PROBE_DEADLINE_MS = 5_000;
const PROBE_MAX = 200;
const PHASE_DEADLINE_MS = 60_000;
const TOTAL_DEADLINE_MS = 9 * 60_000;


const { elapsed, progress } = progressClock('bench');

// ---------------------------------------------------------------------------
// Cleanup: daemons and children this script started, stopped on any exit path.
const live = new Set<{ stop(): Promise<void> }>();
const children = new Set<ReturnType<typeof spawn>>();
async function stopAll(): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([...live].map((x) => Promise.race([x.stop().catch(() => undefined), sleep(15_000)])));
  live.clear();
}
function track<T extends { stop(): Promise<void> }>(x: T): T {
  const orig = x.stop.bind(x);
  const wrapped = { stop: async () => { live.delete(wrapped); await orig(); } };
  live.add(wrapped);
  x.stop = wrapped.stop;
  return x;
}
const watchdog = setTimeout(() => {
  process.stderr.write(`benchmark exceeded ${TOTAL_DEADLINE_MS / 60000} minutes; stopping\n`);
  void stopAll().finally(() => process.exit(2));
}, TOTAL_DEADLINE_MS);
watchdog.unref();
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

/** Supervisor restarts of HAProxy seen in a daemon's log (kept across log trimming). */
const restartsTrimmed = new WeakMap<TestDaemon, number>();
const isRestart = (l: string) => /HAProxy is not running; restarting it/.test(l);
function restarts(td: TestDaemon): number {
  return (restartsTrimmed.get(td) ?? 0) + td.logs.filter(isRestart).length;
}

/** Backends' `seen` and the daemon's in-memory log grow per request: keep them short. */
function trimmer(be: Backend[], td: TestDaemon) {
  const i = setInterval(() => {
    for (const b of be) b.seen.length = 0;
    if (td.logs.length > 20_000) {
      const gone = td.logs.splice(0, td.logs.length - 5_000);
      restartsTrimmed.set(td, (restartsTrimmed.get(td) ?? 0) + gone.filter(isRestart).length);
    }
  }, 250);
  i.unref();
  return () => clearInterval(i);
}

/** The daemon's last log lines, without HAProxy's per-proxy stop chatter. */
function logTail(td: TestDaemon, n = 25): string {
  return td.logs
    .filter((l) => !/Proxy \S+ stopped/.test(l))
    .slice(-n)
    .map((l) => `      ${l.slice(0, 300)}`)
    .join('\n');
}

/**
 * The harness daemon (supervisor every 500ms, as the tests run it), with the
 * shipped command timeout (30s) instead of the harness's 10s so 10,000-domain
 * checks and reloads are measured, not cut off.
 */
const startBench = (bin: string) => startTestDaemon(bin, { config: { haproxy: { command_timeout: '30s' } } });

// ---------------------------------------------------------------------------
function domainInput(i: number, port: number): DomainInput {
  return {
    domain: `d${i}.bench.test`,
    isWildcard: false,
    backendName: `bench${i}`,
    kind: 'default',
    healthCheckPath: null,
    balance: 'roundrobin',
    servers: [{ name: 's1', address: '127.0.0.1', port, check: false, backup: false, weight: 100, maxconn: null, tls: false, tlsVerify: true, tlsCaFile: null, tlsSni: null }],
  };
}

/** One request through HAProxy from `localAddress`, fresh connection; status or -1 on error. */
function probe(port: number, host: string, localAddress: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, localAddress, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(-1));
    req.end();
  });
}

/** Probes until 403 (bounded); returns the time of the 403 and how many probes it took. */
async function until403(port: number, host: string, addr: string): Promise<{ at: number; probes: number } | null> {
  const end = Date.now() + PROBE_DEADLINE_MS;
  for (let n = 1; n <= PROBE_MAX && Date.now() < end; n++) {
    const s = await probe(port, host, addr);
    if (s === 403) return { at: t(), probes: n };
  }
  return null;
}

interface SizeRow {
  domains: number;
  insertMs: number;
  model: number[];
  render: number[];
  check: number[];
  reload: number[];
  regenerate: number[];
  cfgBytes: number;
  routed: string;
  /** One more reload with the master socket polled: its time and the longest span the master did not answer. */
  masterGap: { ms: number; gapMs: number; polls: number } | null;
}

interface BlockRow {
  label: string;
  changeMs: number[];
  roundTrip: number[];
  extraProbes: number;
  failed: number;
  fallbacks: number;
}

interface LoadResult {
  tool: string;
  seconds: number;
  requests: number;
  non2xx: number;
  connectErr: number;
  readErr: number;
  writeErr: number;
  timeoutErr: number;
  otherErr: string;
}

interface VersionResult {
  name: string;
  version: string;
  sizes: SizeRow[];
  /** Three POST /api/domain adds at the largest size (ms each) and the last status. */
  apiAdd: { ms: number[]; status: number } | null;
  blocks: BlockRow[];
  showMap: BlockCost[];
  regenBlocked10k: number | null;
  baseline: LoadResult | null;
  /** Reloads under load (one run; a list so variants can be added). */
  loadRuns: LoadRun[];
  /** Supervisor restarts of HAProxy during phases 1 and 2 (expected 0). */
  cleanRestarts: number;
  notes: string[];
}

interface BlockCost {
  entries: number;
  /** `show map` round trip, its parse, the database list and the map file render (ms each). */
  showMap: number[];
  parse: number[];
  dbList: number[];
  mapFile: number[];
}

interface Availability {
  probes: number;
  failed: number;
  /** Longest span from a failed probe to the next one that passed. */
  longestOutageMs: number;
}

interface LoadRun {
  label: string;
  load: LoadResult;
  reloadMs: number[];
  failures: number;
  /** Reloads that ended in "HAProxy did not confirm the reload" or similar, with their time. */
  failedMs: number[];
  restarts: number;
  workersAfter: number | null;
  errors: string[];
  availability: Availability | null;
}

// ---------------------------------------------------------------------------
// Phase 1: render + check + reload by number of domains.
async function phaseDomains(bin: string, r: VersionResult): Promise<void> {
  const be = await startBackend('bench');
  const td = track(await startBench(bin));
  const stopTrim = trimmer([be], td);
  try {
    const { daemon } = td;
    const info = await detectHaproxy(bin);
    r.version = info.version;
    let have = 0;
    for (const n of DOMAIN_SIZES) {
      progress(`${r.name}: ${int(n)} domains`);
      const t0 = t();
      await daemon.applier.lock.run(() => {
        daemon.db.writer.transaction(() => {
          for (let i = have; i < n; i++) upsertDomain(daemon.db.writer, domainInput(i, be.port));
        })();
      });
      const row: SizeRow = { domains: n, insertMs: t() - t0, model: [], render: [], check: [], reload: [], regenerate: [], cfgBytes: 0, routed: '', masterGap: null };
      have = n;
      const reps = n >= 10_000 ? 2 : 3;
      const deadline = Date.now() + PHASE_DEADLINE_MS;
      for (let k = 0; k < reps && Date.now() < deadline; k++) {
        const a = t();
        await daemon.applier.regenerate('bench', true);
        row.regenerate.push(t() - a);
      }
      for (let k = 0; k < reps && Date.now() < deadline; k++) {
        const a = t();
        const model = loadModel(daemon.db.reader, daemon.cfg);
        const b = t();
        render(daemon.cfg, info.features, model, daemon.cfg.paths.generatedDir);
        const c = t();
        row.model.push(b - a);
        row.render.push(c - b);
      }
      for (let k = 0; k < reps && Date.now() < deadline; k++) {
        const a = t();
        await daemon.applier.check(daemon.cfg.paths.configPath);
        row.check.push(t() - a);
      }
      for (let k = 0; k < reps && Date.now() < deadline; k++) {
        const a = t();
        await daemon.applier.lock.run(() => daemon.control.reload());
        row.reload.push(t() - a);
      }
      row.masterGap = await masterGap(td, () => daemon.applier.lock.run(() => daemon.control.reload()));
      row.cfgBytes = readFileSync(daemon.cfg.paths.configPath).length;
      // Correctness sanity (not timed): first and last domain route to the backend.
      const first = await td.get('d0.bench.test');
      const last = await td.get(`d${n - 1}.bench.test`);
      row.routed = first.status === 200 && last.status === 200 ? 'ok' : `FAILED (${first.status}/${last.status})`;
      r.sizes.push(row);
    }
    progress(`${r.name}: API domain add at ${int(have)} domains`);
    r.apiAdd = { ms: [], status: 0 };
    for (let k = 0; k < 3; k++) {
      const a = t();
      const res = await td.api('POST', '/api/domain', domainBody(`api-add${k}.bench.test`, `benchapi${k}`, [be.port]));
      r.apiAdd.ms.push(t() - a);
      r.apiAdd.status = res.status;
      if (res.status !== 201) r.notes.push(`POST /api/domain at ${int(have)} domains answered ${res.status}: ${res.body.slice(0, 200)}`);
    }
    r.cleanRestarts += restarts(td);
  } catch (e) {
    throw new Error(`${describe(e)}\n    daemon log tail:\n${logTail(td)}`);
  } finally {
    stopTrim();
    await td.stop();
    await be.close();
  }
}

// ---------------------------------------------------------------------------
// Phase 2 + 3: block round trips, reloads under load.
async function blockRuntime(td: TestDaemon, host: string, addrs: string[], label: string): Promise<BlockRow> {
  const row: BlockRow = { label, changeMs: [], roundTrip: [], extraProbes: 0, failed: 0, fallbacks: 0 };
  const deadline = Date.now() + PHASE_DEADLINE_MS;
  for (const ip of addrs) {
    if (Date.now() > deadline) break;
    const pre = await probe(td.httpPort, host, ip);
    if (pre !== 200) {
      row.failed++;
      continue;
    }
    const t0 = t();
    const res = await td.api('POST', '/api/blocked-ips', { ip_address: ip, reason: 'bench' });
    const t1 = t();
    if (res.status !== 201) {
      row.failed++;
      continue;
    }
    const body = res.json<{ runtime_map_updated?: boolean; reloaded?: boolean }>();
    if (body.reloaded || body.runtime_map_updated === false) row.fallbacks++;
    const hit = await until403(td.httpPort, host, ip);
    if (!hit) {
      row.failed++;
      continue;
    }
    row.changeMs.push(t1 - t0);
    row.roundTrip.push(hit.at - t0);
    row.extraProbes += hit.probes - 1;
  }
  return row;
}

async function blockReload(td: TestDaemon, host: string, addrs: string[], label: string): Promise<BlockRow> {
  const row: BlockRow = { label, changeMs: [], roundTrip: [], extraProbes: 0, failed: 0, fallbacks: 0 };
  const deadline = Date.now() + PHASE_DEADLINE_MS;
  const { daemon } = td;
  for (const ip of addrs) {
    if (Date.now() > deadline) break;
    const pre = await probe(td.httpPort, host, ip);
    if (pre !== 200) {
      row.failed++;
      continue;
    }
    const t0 = t();
    await daemon.applier.lock.run(() => blocked.insert(daemon.db.writer, { ip, reason: 'bench', blockedBy: 'bench', expiresAt: null }));
    const res = await td.api('GET', '/api/regenerate');
    const t1 = t();
    if (res.status !== 200) {
      row.failed++;
      continue;
    }
    const hit = await until403(td.httpPort, host, ip);
    if (!hit) {
      row.failed++;
      continue;
    }
    row.changeMs.push(t1 - t0);
    row.roundTrip.push(hit.at - t0);
    row.extraProbes += hit.probes - 1;
  }
  return row;
}

/** What one runtime block costs besides the socket round trips, at the current map size. */
async function blockCost(td: TestDaemon, reps: number): Promise<BlockCost> {
  const path = `${td.daemon.cfg.paths.generatedDir}/${FILES.blockedMap}`;
  const c: BlockCost = { entries: 0, showMap: [], parse: [], dbList: [], mapFile: [] };
  for (let k = 0; k < reps; k++) {
    const a = t();
    const reply = await socketClient(td.daemon.cfg.paths.statsSocket, 10_000).send(`show map ${path}`);
    const b = t();
    c.entries = parseListDump(reply).length;
    const d = t();
    const rows = blocked.list(td.daemon.db.reader);
    const e = t();
    renderList('blocked', rows.map((x) => x.ip_address));
    const f = t();
    c.showMap.push(b - a);
    c.parse.push(d - b);
    c.dbList.push(e - d);
    c.mapFile.push(f - e);
  }
  return c;
}

/**
 * Runs `fn` (a reload) while polling `show proc` on the master socket with a
 * client of our own, as the supervisor does; returns the longest span in which
 * the master did not answer: the window in which a supervisor check would
 * take HAProxy for dead (process.ts skips its checks while a reload runs).
 */
async function masterGap(td: TestDaemon, fn: () => Promise<unknown>): Promise<{ ms: number; gapMs: number; polls: number }> {
  const client = socketClient(td.daemon.cfg.paths.masterSocket, 2000);
  const marks: { at: number; ok: boolean }[] = [];
  let done = false;
  const poller = (async () => {
    for (let i = 0; i < 5000 && !done; i++) {
      const at = t();
      let ok = false;
      try {
        ok = parseShowProc(await client.send('show proc', { timeoutMs: 2000 })) !== null;
      } catch {
        ok = false;
      }
      marks.push({ at, ok });
      await sleep(5);
    }
  })();
  const a = t();
  await fn();
  const took = t() - a;
  await sleep(50);
  done = true;
  await poller;
  let gap = 0;
  let from: number | null = null;
  for (const m of marks) {
    if (!m.ok && from === null) from = m.at;
    if (m.ok && from !== null) {
      gap = Math.max(gap, m.at - from);
      from = null;
    }
  }
  if (from !== null) gap = Math.max(gap, t() - from);
  return { ms: took, gapMs: gap, polls: marks.length };
}

const addrRange = (from: number, n: number) => Array.from({ length: n }, (_, i) => `127.0.0.${from + i}`);

function parseWrk(out: string, tool: string): LoadResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const m = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  const unit = m?.[3] === 'ms' ? 0.001 : m?.[3] === 'm' ? 60 : 1;
  return {
    tool,
    seconds: m ? Number(m[2]) * unit : 0,
    requests: m ? Number(m[1]) : 0,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    connectErr: num(/Socket errors: connect (\d+)/),
    readErr: num(/Socket errors:.*read (\d+)/),
    writeErr: num(/Socket errors:.*write (\d+)/),
    timeoutErr: num(/Socket errors:.*timeout (\d+)/),
    otherErr: m ? '' : `unparsed wrk output: ${out.slice(0, 300)}`,
  };
}

/** A running load generator; `stop()` ends it and returns its counts. */
interface Load {
  stop(): Promise<LoadResult>;
}

const haveWrk = process.env.BENCH_LOAD !== 'node' && spawnSync('wrk', ['--version']).error === undefined;

function startWrk(port: number, host: string, maxSeconds: number): Load {
  const child = spawn('wrk', ['-t', '2', '-c', String(LOAD_CONNECTIONS), '-d', `${maxSeconds}s`, '--timeout', '5s', '-H', `Host: ${host}`, `http://127.0.0.1:${port}/`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    async stop() {
      // wrk prints its summary on SIGINT.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      children.delete(child);
      return parseWrk(out, 'wrk');
    },
  };
}

/** Node keep-alive pool: LOAD_CONNECTIONS loops, each one request at a time, bounded by `maxSeconds`. */
function startNodeLoad(port: number, host: string, maxSeconds: number): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOAD_CONNECTIONS });
  const res: LoadResult = { tool: 'node', seconds: 0, requests: 0, non2xx: 0, connectErr: 0, readErr: 0, writeErr: 0, timeoutErr: 0, otherErr: '' };
  const codes = new Map<string, number>();
  let stop = false;
  const end = Date.now() + maxSeconds * 1000;
  const t0 = t();
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 5000 }, (r) => {
        r.resume();
        r.on('end', () => {
          res.requests++;
          if ((r.statusCode ?? 0) >= 400) res.non2xx++;
          resolve();
        });
        r.on('error', (e: NodeJS.ErrnoException) => {
          codes.set(e.code ?? e.message, (codes.get(e.code ?? e.message) ?? 0) + 1);
          res.readErr++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => {
        const c = e.code ?? e.message;
        codes.set(c, (codes.get(c) ?? 0) + 1);
        if (c === 'ECONNREFUSED') res.connectErr++;
        else if (c === 'TIMEOUT') res.timeoutErr++;
        else res.readErr++;
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: LOAD_CONNECTIONS }, async () => {
    while (!stop && Date.now() < end) await one();
  });
  return {
    async stop() {
      stop = true;
      await Promise.race([Promise.all(loops), sleep(10_000)]);
      agent.destroy();
      res.seconds = (t() - t0) / 1000;
      res.otherErr = [...codes].map(([k, v]) => `${k}=${v}`).join(' ');
      return res;
    },
  };
}

/** A prober beside the load: one fresh-connection request at a time, every ~10ms, to measure outages in time. */
function startAvailability(port: number, host: string): { stop(): Promise<Availability> } {
  const marks: { at: number; ok: boolean }[] = [];
  let stop = false;
  const loop = (async () => {
    for (let i = 0; i < 50_000 && !stop; i++) {
      const at = t();
      const s = await probe(port, host, '127.0.0.250');
      marks.push({ at, ok: s === 200 });
      await sleep(10);
    }
  })();
  return {
    async stop() {
      stop = true;
      await Promise.race([loop, sleep(5000)]);
      let longest = 0;
      let from: number | null = null;
      for (const m of marks) {
        if (!m.ok && from === null) from = m.at;
        if (m.ok && from !== null) {
          longest = Math.max(longest, m.at - from);
          from = null;
        }
      }
      if (from !== null) longest = Math.max(longest, t() - from);
      return { probes: marks.length, failed: marks.filter((m) => !m.ok).length, longestOutageMs: longest };
    },
  };
}

const startLoad = (port: number, host: string, maxSeconds: number): Load => (haveWrk ? startWrk(port, host, maxSeconds) : startNodeLoad(port, host, maxSeconds));

/** LOAD_RELOADS forced reloads (regenerate) back to back while the load generator runs; bounded by `budgetMs`. */
async function reloadsUnderLoad(td: TestDaemon, host: string, label: string, budgetMs: number): Promise<LoadRun> {
  const run: LoadRun = { label, load: parseWrk('', 'none'), reloadMs: [], failures: 0, failedMs: [], restarts: 0, workersAfter: null, errors: [], availability: null };
  const before = restarts(td);
  const load = startLoad(td.httpPort, host, Math.ceil(budgetMs / 1000) + 40);
  const avail = startAvailability(td.httpPort, host);
  try {
    await sleep(1000);
    const deadline = Date.now() + budgetMs;
    for (let k = 0; k < LOAD_RELOADS && Date.now() < deadline; k++) {
      const a = t();
      try {
        await td.daemon.applier.regenerate('bench', true);
        run.reloadMs.push(t() - a);
      } catch (e) {
        run.failures++;
        run.failedMs.push(t() - a);
        if (run.errors.length < 3) run.errors.push(`reload ${k + 1}: ${describe(e).split('\n')[0]!.slice(0, 160)}`);
      }
    }
    await sleep(1000);
  } finally {
    run.availability = await avail.stop();
    run.load = await load.stop();
  }
  run.restarts = restarts(td) - before;
  const proc = await td.daemon.control.master.showProc().catch(() => null);
  run.workersAfter = proc ? proc.workers.length : null;
  return run;
}

async function phaseBlocksAndLoad(bin: string, r: VersionResult): Promise<void> {
  const be = await startBackend('bench');
  const td = track(await startBench(bin));
  const stopTrim = trimmer([be], td);
  const host = 'load.bench.test';
  try {
    const { daemon } = td;
    const add = await td.api('POST', '/api/domain', domainBody(host, 'benchload', [be.port]));
    if (add.status !== 201) throw new Error(`could not add ${host}: ${add.status} ${add.body.slice(0, 200)}`);

    progress(`${r.name}: ${RUNTIME_BLOCKS} runtime blocks`);
    const sm0 = await blockCost(td, 5);
    r.showMap.push(sm0);
    r.blocks.push(await blockRuntime(td, host, addrRange(10, RUNTIME_BLOCKS), `runtime map, ${sm0.entries} entries before`));
    progress(`${r.name}: ${RELOAD_BLOCKS} reload blocks`);
    r.blocks.push(await blockReload(td, host, addrRange(70, RELOAD_BLOCKS), 'full reload (GET /api/regenerate)'));

    // Phase 3: reloads under load.
    progress(`${r.name}: load baseline ${BASELINE_SECONDS}s`);
    const base = startLoad(td.httpPort, host, BASELINE_SECONDS);
    await sleep(BASELINE_SECONDS * 1000 + 200);
    r.baseline = await base.stop();
    progress(`${r.name}: ${LOAD_RELOADS} forced reloads under load`);
    r.loadRuns.push(await reloadsUnderLoad(td, host, 'supervisor every 500ms', 45_000));

    // Phase 2 again with a big blocked map.
    progress(`${r.name}: ${int(BIG_BLOCKED)} blocked entries`);
    await daemon.applier.lock.run(() => {
      daemon.db.writer.transaction(() => {
        for (let i = 0; i < BIG_BLOCKED; i++) {
          blocked.insert(daemon.db.writer, { ip: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, reason: 'bench', blockedBy: 'bench', expiresAt: null });
        }
      })();
    });
    const a = t();
    await daemon.applier.regenerate('bench', true);
    r.regenBlocked10k = t() - a;
    const sm = await blockCost(td, 5);
    r.showMap.push(sm);
    progress(`${r.name}: ${RUNTIME_BLOCKS_10K} runtime blocks with ${int(sm.entries)} entries`);
    r.blocks.push(await blockRuntime(td, host, addrRange(130, RUNTIME_BLOCKS_10K), `runtime map, ${int(sm.entries)} entries before`));
    progress(`${r.name}: ${RELOAD_BLOCKS_10K} reload blocks with ${int(sm.entries)} entries`);
    r.blocks.push(await blockReload(td, host, addrRange(190, RELOAD_BLOCKS_10K), `full reload, ${int(sm.entries)} entries before`));
    r.cleanRestarts += restarts(td);
  } catch (e) {
    throw new Error(`${describe(e)}\n    daemon log tail:\n${logTail(td)}`);
  } finally {
    stopTrim();
    await td.stop();
    await be.close();
  }
}

// ---------------------------------------------------------------------------
function loadRow(label: string, l: LoadResult | null): (string | number)[] {
  if (!l) return [label, '-', '-', '-', '-', '-', '-'];
  const errs = l.connectErr + l.readErr + l.writeErr + l.timeoutErr;
  return [
    label,
    l.seconds.toFixed(1),
    int(l.requests),
    int(Math.round(l.requests / (l.seconds || 1))),
    int(l.non2xx),
    int(errs),
    `${l.connectErr}/${l.readErr}/${l.writeErr}/${l.timeoutErr}${l.otherErr ? ` ${l.otherErr}` : ''}`,
  ];
}

function printVersion(r: VersionResult): void {
  console.log(`\n=== ${r.name} (HAProxy ${r.version}) ===`);
  console.log('\n1. Config apply by number of domains (ms; median of reps, [min-max] for regenerate)');
  console.log(
    table(
      ['domains', 'db insert', 'model', 'render', 'haproxy -c', 'reload', 'regenerate(force)', 'reps', 'cfg KiB', 'master CLI silent', 'routing'],
      r.sizes.map((s) => [
        int(s.domains),
        ms(s.insertMs),
        ms(median(s.model)),
        ms(median(s.render)),
        ms(median(s.check)),
        ms(median(s.reload)),
        `${ms(median(s.regenerate))} [${ms(min(s.regenerate))}-${ms(max(s.regenerate))}]`,
        s.regenerate.length,
        (s.cfgBytes / 1024).toFixed(0),
        s.masterGap ? `${ms(s.masterGap.gapMs)} of ${ms(s.masterGap.ms)}` : '-',
        s.routed,
      ]),
    ),
  );
  console.log('  (regenerate = model + one render (checked in staging, root swapped for live) + write + haproxy -c + reload + verify + keep LKG;');
  console.log('   master CLI silent = longest span `show proc` went unanswered during one reload, a window the supervisor must not act in)');
  if (r.apiAdd) console.log(`  POST /api/domain with ${int(DOMAIN_SIZES[DOMAIN_SIZES.length - 1]!)} domains present: median ${ms(median(r.apiAdd.ms))} ms of ${r.apiAdd.ms.map(ms).join(', ')} (HTTP ${r.apiAdd.status})`);

  console.log('\n2. Block round trip: change request -> first 403 from that source address (ms)');
  console.log(
    table(
      ['path', 'n', 'API call med', 'round trip med', 'p95', 'max', 'extra probes', 'failed', 'fallback'],
      r.blocks.map((b) => [b.label, b.roundTrip.length, ms(median(b.changeMs)), ms(median(b.roundTrip)), ms(p95(b.roundTrip)), ms(max(b.roundTrip)), b.extraProbes, b.failed, b.fallbacks]),
    ),
  );
  console.log('  (runtime: POST /api/blocked-ips; full reload: row inserted + GET /api/regenerate; extra probes = requests that still passed after the API answered)');
  for (const c of r.showMap) {
    console.log(
      `  runtime block work at ${int(c.entries)} map entries (medians): show map ${ms(median(c.showMap))} ms + parse ${ms(median(c.parse))} ms, twice per block (before, after); ` +
        `db list ${ms(median(c.dbList))} ms + map file render ${ms(median(c.mapFile))} ms, once; the file is then written twice (live, LKG)`,
    );
  }
  if (r.regenBlocked10k !== null) console.log(`  regenerate(force) with ${int(BIG_BLOCKED)} blocked entries: ${ms(r.regenBlocked10k)} ms`);

  console.log(`\n3. Reloads under load (${r.baseline?.tool ?? '-'}, ${LOAD_CONNECTIONS} keep-alive connections, ${LOAD_RELOADS} forced reloads back to back = regenerate(force))`);
  console.log(
    table(['run', 'seconds', 'requests', 'req/s', 'non-2xx', 'socket errors', 'connect/read/write/timeout'], [
      loadRow('baseline, no reloads', r.baseline),
      ...r.loadRuns.map((x) => loadRow(`${x.reloadMs.length + x.failures} reloads, ${x.label}`, x.load)),
    ]),
  );
  console.log(
    table(
      ['reloads', 'ok', 'reload med', 'p95', 'max', 'failed', 'failed after (ms)', 'HAProxy killed+restarted', 'workers after', 'probes failed', 'longest outage ms'],
      r.loadRuns.map((x) => [
        x.label,
        x.reloadMs.length,
        ms(median(x.reloadMs)),
        ms(p95(x.reloadMs)),
        ms(max(x.reloadMs)),
        x.failures,
        x.failedMs.map((v) => ms(v)).join(',') || '-',
        x.restarts,
        x.workersAfter ?? '-',
        x.availability ? `${x.availability.failed}/${x.availability.probes}` : '-',
        x.availability ? ms(x.availability.longestOutageMs) : '-',
      ]),
    ),
  );
  console.log('  (read errors: HAProxy closed a keep-alive connection with a request in flight; socket errors while HAProxy is down count wrk reconnect');
  console.log('   attempts, not users; probes: a fresh connection every ~10ms beside the load, giving the outage in time)');
  for (const x of r.loadRuns) for (const e of x.errors) console.log(`  ${x.label}: ${e}`);
  console.log(`  supervisor restarts of HAProxy during sections 1 and 2: ${r.cleanRestarts} (expected 0)`);
  for (const n of r.notes) console.log(`  note: ${n}`);
}

function dropped(l: LoadResult | null): number {
  return l ? l.non2xx + l.connectErr + l.readErr + l.writeErr + l.timeoutErr : NaN;
}

function printSummary(results: VersionResult[]): void {
  console.log('\n=== Summary ===');
  const big = DOMAIN_SIZES[DOMAIN_SIZES.length - 1]!;
  const rows: (string | number)[][] = [];
  const add = (label: string, f: (r: VersionResult) => string) => rows.push([label, ...results.map(f)]);
  add(`regenerate(force), 10 domains, ms`, (r) => ms(median(r.sizes[0]?.regenerate ?? [])));
  add(`regenerate(force), ${int(big)} domains, ms`, (r) => ms(median(r.sizes.at(-1)?.regenerate ?? [])));
  add(`  of which render / haproxy -c / reload`, (r) => {
    const s = r.sizes.at(-1);
    return s ? `${ms(median(s.render))} / ${ms(median(s.check))} / ${ms(median(s.reload))}` : '-';
  });
  add(`master CLI silent during a reload, ${int(big)} domains, ms`, (r) => {
    const g = r.sizes.at(-1)?.masterGap;
    return g ? ms(g.gapMs) : '-';
  });
  add(`POST /api/domain at ${int(big)} domains (median of 3), ms`, (r) => (r.apiAdd ? ms(median(r.apiAdd.ms)) : '-'));
  for (let i = 0; i < 4; i++) {
    const label = results[0]?.blocks[i]?.label ?? '';
    add(`block ${label}: med / p95 ms`, (r) => (r.blocks[i] ? `${ms(median(r.blocks[i]!.roundTrip))} / ${ms(p95(r.blocks[i]!.roundTrip))}` : '-'));
  }
  add(`dropped requests, baseline without reloads`, (r) => (r.baseline ? `${int(dropped(r.baseline))} of ${int(r.baseline.requests)}` : '-'));
  for (let i = 0; i < Math.max(0, ...results.map((r) => r.loadRuns.length)); i++) {
    const label = results[0]?.loadRuns[i]?.label ?? '';
    add(`dropped under ${LOAD_RELOADS} reloads, ${label} (target 0)`, (r) => {
      const x = r.loadRuns[i];
      return x ? `${int(dropped(x.load))} of ${int(x.load.requests)}` : '-';
    });
    add(`  reloads failed / HAProxy killed by supervisor / longest outage ms`, (r) => {
      const x = r.loadRuns[i];
      return x ? `${x.failures} / ${x.restarts} / ${x.availability ? ms(x.availability.longestOutageMs) : '-'}` : '-';
    });
  }
  console.log(table(['', ...results.map((r) => `${r.name} (${r.version})`)], rows));

  const findings: string[] = [];
  for (const r of results) {
    const b0 = r.blocks[0];
    const b10 = r.blocks[2];
    if (b0 && b10 && median(b10.roundTrip) > 3 * median(b0.roundTrip)) {
      const sm = r.showMap.at(-1);
      findings.push(
        `${r.name}: a runtime block takes ${ms(median(b10.roundTrip))} ms (p95 ${ms(p95(b10.roundTrip))}) with ${int(sm?.entries ?? 0)} map entries vs ${ms(median(b0.roundTrip))} ms with none; ` +
          `per block: 2 x (show map ${ms(median(sm?.showMap ?? []))} ms + parse ${ms(median(sm?.parse ?? []))} ms) read-back, db list ${ms(median(sm?.dbList ?? []))} ms, map file render ${ms(median(sm?.mapFile ?? []))} ms, 2 file writes.`,
      );
    }
    for (const x of r.loadRuns) {
      const d = dropped(x.load);
      if (d > 0) {
        findings.push(
          `${r.name}: ${int(d)} of ${int(x.load.requests)} requests failed during ${x.reloadMs.length + x.failures} reloads (${x.load.readErr} read errors: keep-alive connections closed by the ` +
            `old worker with a request in flight; baseline without reloads: ${int(dropped(r.baseline))}). HAProxy's soft-stop closes idle keep-alive connections at once unless \`option idle-close-on-response\` is set.`,
        );
      }
      if (x.restarts > 0 || x.failures > 0) {
        findings.push(
          `${r.name}, ${x.label}: the supervisor SIGKILLed and restarted HAProxy ${x.restarts} time(s) during reloads; ${x.failures} reload(s) failed ` +
            `(after ${x.failedMs.map((v) => ms(v)).join(', ')} ms) and were rolled back although the config was valid.`,
        );
      }
    }
    for (const b of r.blocks) {
      if (b.failed) findings.push(`${r.name}: ${b.failed} block(s) "${b.label}" never showed a 403 within ${PROBE_DEADLINE_MS} ms or failed.`);
      if (b.fallbacks) findings.push(`${r.name}: ${b.fallbacks} runtime block(s) fell back to a reload.`);
    }
    const gaps = r.sizes.filter((s) => s.masterGap && s.masterGap.gapMs > 0).map((s) => `${ms(s.masterGap!.gapMs)} ms at ${int(s.domains)} domains`);
    const killed = r.cleanRestarts + r.loadRuns.reduce((n, x) => n + x.restarts, 0);
    if (killed > 0) {
      findings.push(
        `${r.name}: the supervisor restarted HAProxy ${killed} time(s) while reloads ran; during a reload the master CLI does not answer \`show proc\` for ${gaps.join(', ') || '-'}, ` +
          `and a supervisor check in that window takes HAProxy for dead.`,
      );
    }
    const bigRow = r.sizes.at(-1);
    if (bigRow && bigRow.regenerate.length) {
      const once = median(bigRow.model) + median(bigRow.render);
      findings.push(
        `${r.name}: at ${int(bigRow.domains)} domains a regenerate takes ${ms(median(bigRow.regenerate))} ms: model + render ~${ms(once)} ms, ` +
          `haproxy -c ${ms(median(bigRow.check))} ms, reload ${ms(median(bigRow.reload))} ms, the rest file writes and verification.`,
      );
    }
    for (const s of r.sizes) if (s.routed !== 'ok') findings.push(`${r.name}: routing check at ${int(s.domains)} domains ${s.routed}.`);
  }
  printFindings(findings, elapsed());
}

async function main(): Promise<void> {
  const versions = selectedVersions(HAPROXIES);
  console.log(`haproxy-manager core benchmark: ${versions.map((v) => v.name).join(', ')}; load generator: ${haveWrk ? 'wrk' : 'node keep-alive pool'}; node ${process.version}; load average ${loadAvg()}`);
  const results: VersionResult[] = [];
  for (const h of versions) {
    const r: VersionResult = {
      name: h.name,
      version: '?',
      sizes: [],
      apiAdd: null,
      blocks: [],
      showMap: [],
      regenBlocked10k: null,
      baseline: null,
      loadRuns: [],
      cleanRestarts: 0,
      notes: [],
    };
    results.push(r);
    try {
      await phaseDomains(h.bin, r);
    } catch (e) {
      r.notes.push(`domain phase aborted: ${describe(e)}`);
    }
    try {
      await phaseBlocksAndLoad(h.bin, r);
    } catch (e) {
      r.notes.push(`block/load phase aborted: ${describe(e)}`);
    }
    printVersion(r);
  }
  printSummary(results);
}

main()
  .catch((e) => {
    console.error(`benchmark failed: ${describe(e)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    clearTimeout(watchdog);
  });
