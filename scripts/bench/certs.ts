/**
 * Certificate benchmark: how fast a certificate reaches HAProxy's TLS
 * listener, and what hot-loading many certificates costs next to a reload.
 * Prints figures for each installed HAProxy version; asserts nothing about
 * timings.
 *
 *   npm run bench:certs        (node --import tsx scripts/bench/certs.ts)
 *
 * Per HAProxy version, against a real in-process daemon and a real managed
 * HAProxy (test/helpers/harness.ts), loopback only:
 *   1. POST /api/ssl {domain} -> a TLS client (SNI = the domain) sees the
 *      serial the API reported. HTTP-01 through HAProxy against Debian's real
 *      pebble (test/helpers/pebble.ts, PEBBLE_VA_NOSLEEP=1) and a DNS server
 *      answering 127.0.0.1. One warm-up order (account registration), ~10
 *      names one after another (each probed over TLS every few ms from the
 *      moment of the call), then ~10 names at once. The API time is split
 *      into the ACME order and the install (lock wait, hot-load) by wrapping
 *      daemon.applier.runtimeChange from outside (nothing in src/ changes).
 *   2. 1,000 self-signed EC P-256 leaf certificates generated locally with
 *      openssl (no CA involved), installed through the daemon's own install
 *      path (store.publishPem, certificates.save, crt-list rewrite and
 *      hot-load.hotLoad inside applier.runtimeChange, as service.ts does):
 *      per-certificate cost and how it grows with the number loaded, runtime
 *      socket commands by kind, 100 renewals (set + commit of a known file),
 *      then forced reloads (applier.regenerate('bench', true)) and
 *      `haproxy -c` with 1,001 certificates against the same with one.
 *      A sample of certificates is checked over TLS after each step.
 *
 * Timings are wall-clock on a shared machine: the load average is printed at
 * the start and the end so a noisy run can be told from a slow daemon.
 *
 * Environment knobs (all optional): BENCH_VERSIONS=2.6,3.0 to pick versions,
 * BENCH_CERTS=1000 to change the bulk size (at most 1,000).
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { HAPROXIES, freePort, httpRequest, sleep, startTestDaemon, type TestDaemon } from '../../test/helpers/harness.js';
import { startDns, startPebble } from '../../test/helpers/pebble.js';
import type { Applier, RuntimeChange } from '../../src/haproxy/config/apply.js';
import { FILES } from '../../src/haproxy/config/render.js';
import { detectHaproxy } from '../../src/haproxy/process/version.js';
import { run } from '../../src/util/exec.js';
import { certificates } from '../../src/storage/certificates.js';
import type { Db } from '../../src/storage/db.js';
import { certFileName, publishPem } from '../../src/certs/store.js';
import { hotLoad } from '../../src/certs/hot-load.js';
import { describe } from '../../src/errors.js';
import { t, ms, secs, int, loadAvg, quantile, median, p95, max, min, sum, table, printFindings, selectedVersions, progressClock } from './stats.js';

const execFileP = promisify(execFile);

// ---------------------------------------------------------------------------
// Bounds: every loop below is bounded by these counts and deadlines.
const SEQ_NAMES = 10;
const CONC_NAMES = 10;
const ORDER_DEADLINE_MS = 30_000;
const ACME_PHASE_DEADLINE_MS = 60_000;
const PROBE_INTERVAL_MS = 3;
const PROBE_TIMEOUT_MS = 2_000;
const PROBE_MAX = 5_000;
const BULK = Math.min(1_000, Math.max(10, Number(process.env.BENCH_CERTS ?? 1_000) || 1_000));
const RENEW = Math.min(100, BULK);
const GEN_CONCURRENCY = 4;
const GEN_DEADLINE_MS = 90_000;
const LOAD_DEADLINE_MS = 90_000;
const RENEW_DEADLINE_MS = 30_000;
const RELOAD_REPS = 5;
const CHECK_REPS = 5;
const RELOAD_PHASE_DEADLINE_MS = 60_000;
const TOTAL_DEADLINE_MS = 7 * 60_000;


const { elapsed, progress } = progressClock('bench:certs');

// ---------------------------------------------------------------------------
// Cleanup: daemons, pebbles, DNS servers and temp dirs this script started, stopped on any exit path.
const live = new Set<{ stop(): Promise<void> }>();
const tempDirs = new Set<string>();
async function stopAll(): Promise<void> {
  await Promise.all([...live].map((x) => Promise.race([x.stop().catch(() => undefined), sleep(15_000)])));
  live.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}
function track<T extends { stop(): Promise<void> }>(x: T): T {
  const orig = x.stop.bind(x);
  const wrapped = { stop: async () => { live.delete(wrapped); await orig(); } };
  live.add(wrapped);
  x.stop = wrapped.stop;
  return x;
}
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}
const watchdog = setTimeout(() => {
  process.stderr.write(`benchmark exceeded ${TOTAL_DEADLINE_MS / 60000} minutes; stopping\n`);
  void stopAll().finally(() => process.exit(2));
}, TOTAL_DEADLINE_MS);
watchdog.unref();
process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

// ---------------------------------------------------------------------------
// TLS client: the serial HAProxy serves for a server name.
const normSerial = (s: string) => s.toUpperCase().replace(/[^0-9A-F]/g, '').replace(/^0+/, '');

/** One fresh TLS handshake to 127.0.0.1:port with SNI `servername`; the leaf's serial, or null on any failure. */
function tlsSerial(port: number, servername: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | null> {
  return new Promise((resolve) => {
    let done = false;
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    const finish = (v: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    s.once('secureConnect', () => finish(s.getPeerCertificate()?.serialNumber ?? null));
    s.once('error', () => finish(null));
  });
}

interface ServedCheck {
  label: string;
  ok: number;
  total: number;
  bad: string[];
}

async function checkServed(label: string, port: number, expect: { name: string; serial: string }[]): Promise<ServedCheck> {
  const bad: string[] = [];
  let ok = 0;
  for (const e of expect) {
    const got = await tlsSerial(port, e.name, 5_000);
    if (got && normSerial(got) === normSerial(e.serial)) ok++;
    else bad.push(`${e.name}: served ${got ?? 'nothing'}, expected ${e.serial}`);
  }
  return { label, ok, total: expect.length, bad };
}

// ---------------------------------------------------------------------------
// Instrumentation from outside: the applier's runtimeChange, the stats socket and control.status are wrapped on the
// daemon's own objects (service.ts and runtimeChange look them up at call time), nothing in src/ is changed.

interface InstallTiming {
  called: number;
  locked?: number;
  hotStart?: number;
  hotEnd?: number;
  done?: number;
  runtimeApplied?: boolean;
  reloaded?: boolean;
}

function instrumentInstalls(td: TestDaemon): Map<string, InstallTiming> {
  const seen = new Map<string, InstallTiming>();
  const applier = td.daemon.applier as { runtimeChange: Applier['runtimeChange'] };
  const orig = applier.runtimeChange;
  applier.runtimeChange = async <T>(change: RuntimeChange<T>) => {
    const rec: InstallTiming = { called: t() };
    if (change.action === 'certificate.install' && change.target) seen.set(change.target, rec);
    const res = await orig({
      ...change,
      mutate: (db: Db) => {
        rec.locked ??= t();
        return change.mutate(db);
      },
      runtime: async (control, result: T) => {
        rec.hotStart = t();
        try {
          await change.runtime(control, result);
        } finally {
          rec.hotEnd = t();
        }
      },
    });
    rec.done = t();
    rec.runtimeApplied = res.runtimeApplied;
    rec.reloaded = res.reloaded;
    return res;
  };
  return seen;
}

/** Runtime socket commands by kind: per-kind durations into `bucket`, per-certificate sums into `cur`. */
interface CmdMeter {
  bucket: Map<string, number[]> | null;
  cur: Map<string, number> | null;
  statusMs: number;
}

function cmdKind(cmd: string): string {
  if (cmd === 'show ssl cert') return 'show ssl cert (list)';
  if (cmd.startsWith('show ssl cert ')) return 'show ssl cert <file>';
  const m = /^(new|set|commit|abort|del) ssl cert/.exec(cmd);
  if (m) return `${m[1]} ssl cert`;
  if (cmd.startsWith('add ssl crt-list')) return 'add ssl crt-list';
  return cmd.split(' ').slice(0, 2).join(' ');
}

function instrumentSockets(td: TestDaemon): CmdMeter {
  const meter: CmdMeter = { bucket: null, cur: null, statusMs: 0 };
  td.daemon.control.runtime.observe((command, d) => {
    const k = cmdKind(command);
    if (meter.bucket) {
      const l = meter.bucket.get(k) ?? [];
      l.push(d);
      meter.bucket.set(k, l);
    }
    if (meter.cur) meter.cur.set(k, (meter.cur.get(k) ?? 0) + d);
  });
  const control = td.daemon.control as { status: TestDaemon['daemon']['control']['status'] };
  const origStatus = control.status.bind(control);
  control.status = async () => {
    const a = t();
    try {
      return await origStatus();
    } finally {
      meter.statusMs += t() - a;
    }
  };
  return meter;
}

async function workerRssKiB(td: TestDaemon): Promise<number | null> {
  try {
    const p = await td.daemon.control.master.showProc();
    const pid = p?.workers[0]?.pid;
    if (!pid) return null;
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Phase 1: POST /api/ssl -> served over TLS, against pebble.

interface AcmeRow {
  name: string;
  status: number;
  apiMs: number;
  /** From the call to the first TLS handshake showing the new serial; undefined when not probed or never seen. */
  serveMs?: number;
  /** serveMs - apiMs: negative when HAProxy served the certificate before the API answered. */
  afterApiMs?: number;
  installMs?: number;
  lockWaitMs?: number;
  hotMs?: number;
  probes: number;
  probeGapMs?: number;
  hotLoaded?: boolean;
  error?: string;
}

interface AcmeRun {
  label: string;
  rows: AcmeRow[];
  wallMs?: number;
  served?: ServedCheck;
}

async function postSsl(td: TestDaemon, domain: string): Promise<{ status: number; serial: string | null; error?: string }> {
  try {
    const res = await httpRequest({
      port: td.apiPort,
      path: '/api/ssl',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ domain }),
      timeoutMs: ORDER_DEADLINE_MS,
    });
    let b: { serial?: string; message?: string } = {};
    try {
      b = res.json();
    } catch {
      /* not JSON */
    }
    return { status: res.status, serial: b.serial ?? null, ...(b.serial ? {} : { error: `HTTP ${res.status}: ${(b.message ?? res.body).slice(0, 300)}` }) };
  } catch (e) {
    return { status: 0, serial: null, error: describe(e) };
  }
}

function fillInstall(row: AcmeRow, rec: InstallTiming | undefined): void {
  if (!rec || rec.done === undefined) return;
  row.installMs = rec.done - rec.called;
  row.lockWaitMs = rec.locked !== undefined ? rec.locked - rec.called : undefined;
  row.hotMs = rec.hotStart !== undefined && rec.hotEnd !== undefined ? rec.hotEnd - rec.hotStart : undefined;
  row.hotLoaded = rec.runtimeApplied;
}

/** One POST /api/ssl with a TLS prober running from the moment of the call. */
async function orderProbed(td: TestDaemon, httpsPort: number, name: string, installs: Map<string, InstallTiming>): Promise<AcmeRow> {
  const probes: { at: number; serial: string | null }[] = [];
  let api: { status: number; serial: string | null; error?: string; at: number } | undefined;
  const t0 = t();
  const call = postSsl(td, name).then((r) => {
    api = { ...r, at: t() };
  });
  const matches = (s: string | null) => api?.serial && s && normSerial(s) === normSerial(api.serial);
  const deadline = t0 + ORDER_DEADLINE_MS;
  for (let n = 0; n < PROBE_MAX && t() < deadline; n++) {
    const s = await tlsSerial(httpsPort, name);
    probes.push({ at: t(), serial: s });
    if (api && (!api.serial || probes.some((p) => matches(p.serial)))) break;
    if (api && t() - api.at > 10_000) break;
    await sleep(PROBE_INTERVAL_MS);
  }
  await call;
  const row: AcmeRow = { name, status: api!.status, apiMs: api!.at - t0, probes: probes.length, ...(api!.error ? { error: api!.error } : {}) };
  const first = probes.find((p) => matches(p.serial));
  if (first) {
    row.serveMs = first.at - t0;
    row.afterApiMs = first.at - api!.at;
  } else if (!row.error) row.error = `serial ${api!.serial} not seen over TLS within ${ORDER_DEADLINE_MS} ms (${probes.length} probes; last ${probes.at(-1)?.serial ?? 'none'})`;
  const gaps = probes.slice(1).map((p, i) => p.at - probes[i]!.at);
  row.probeGapMs = median(gaps);
  fillInstall(row, installs.get(name));
  return row;
}

async function phaseAcme(bin: string, r: VersionResult): Promise<void> {
  const phaseStart = t();
  const work = tempDir('hm-bench-certs-acme-');
  const httpPort = await freePort();
  let httpsPort = await freePort();
  while (httpsPort === httpPort) httpsPort = await freePort();
  const dns = track(await startDns());
  const pebble = track(await startPebble({ httpPort, dnsPort: dns.port }));
  const caFile = join(work, 'pebble-api-ca.pem');
  writeFileSync(caFile, pebble.caPem);
  progress(`${r.name}: pebble at ${pebble.directoryUrl}, HAProxy http ${httpPort} https ${httpsPort}`);
  const td = track(
    await startTestDaemon(bin, {
      httpPort,
      config: {
        haproxy: { https_port: httpsPort, command_timeout: '30s' },
        acme: { directory: pebble.directoryUrl, ca_file: caFile, renew_jitter: '0s' },
      },
    }),
  );
  try {
    const installs = instrumentInstalls(td);
    const tag = r.name.replace(/[^a-z0-9]/g, '');
    const left = () => ACME_PHASE_DEADLINE_MS - (t() - phaseStart);

    progress(`${r.name}: warm-up order (account registration)`);
    const warm = await orderProbed(td, httpsPort, `warm.${tag}.acme-bench.test`, installs);
    r.acme.push({ label: 'first order (+ account)', rows: [warm] });
    if (warm.error) {
      r.notes.push(`ACME warm-up failed: ${warm.error}\n      pebble: ${pebble.logs().split('\n').slice(-8).join('\n      pebble: ')}`);
      return;
    }

    progress(`${r.name}: ${SEQ_NAMES} orders one after another, each probed over TLS`);
    const seq: AcmeRun = { label: `one at a time (${SEQ_NAMES})`, rows: [] };
    r.acme.push(seq);
    for (let i = 0; i < SEQ_NAMES && left() > ORDER_DEADLINE_MS / 3; i++) {
      seq.rows.push(await orderProbed(td, httpsPort, `s${i}.${tag}.acme-bench.test`, installs));
    }
    if (seq.rows.length < SEQ_NAMES) r.notes.push(`sequential orders stopped at ${seq.rows.length} of ${SEQ_NAMES} (phase deadline ${ACME_PHASE_DEADLINE_MS} ms)`);

    if (left() > ORDER_DEADLINE_MS) {
      progress(`${r.name}: ${CONC_NAMES} orders at once`);
      const names = Array.from({ length: CONC_NAMES }, (_, i) => `c${i}.${tag}.acme-bench.test`);
      const conc: AcmeRun = { label: `${CONC_NAMES} at once`, rows: [] };
      r.acme.push(conc);
      const t0 = t();
      const results = await Promise.all(
        names.map(async (name) => {
          const a = t();
          const res = await postSsl(td, name);
          return { name, res, apiMs: t() - a };
        }),
      );
      conc.wallMs = t() - t0;
      for (const x of results) {
        const row: AcmeRow = { name: x.name, status: x.res.status, apiMs: x.apiMs, probes: 0, ...(x.res.error ? { error: x.res.error } : {}) };
        fillInstall(row, installs.get(x.name));
        conc.rows.push(row);
      }
      conc.served = await checkServed('10 at once, after all answered', httpsPort, results.filter((x) => x.res.serial).map((x) => ({ name: x.name, serial: x.res.serial! })));
    } else r.notes.push('concurrent orders skipped (phase deadline)');

    const reloads = [...installs.values()].filter((x) => x.reloaded).length;
    if (reloads) r.notes.push(`${reloads} ACME install(s) fell back to a reload instead of a hot-load`);
  } finally {
    await td.stop();
    await pebble.stop();
    await dns.stop();
  }
}

// ---------------------------------------------------------------------------
// Phase 2: 1,000 certificates through the install path, hot-load vs reload.

interface GenCert {
  name: string;
  chain: string;
  key: string;
  serial: string;
}

interface Generated {
  fresh: GenCert[];
  renewals: GenCert[];
  ms: number;
}

async function generate(): Promise<Generated> {
  const dir = tempDir('hm-bench-certs-gen-');
  const t0 = t();
  const jobs: { name: string; slot: 'fresh' | 'renew'; i: number }[] = [];
  for (let i = 0; i < BULK; i++) jobs.push({ name: `c${String(i).padStart(4, '0')}.bulk-bench.test`, slot: 'fresh', i });
  const step = Math.max(1, Math.floor(BULK / RENEW));
  for (let j = 0; j < RENEW; j++) jobs.push({ name: jobs[j * step]!.name, slot: 'renew', i: j });
  const fresh: GenCert[] = new Array(BULK);
  const renewals: GenCert[] = new Array(RENEW);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      if (t() - t0 > GEN_DEADLINE_MS) throw new Error(`certificate generation exceeded ${GEN_DEADLINE_MS} ms after ${next} of ${jobs.length}`);
      const j = jobs[next++]!;
      const k = join(dir, `${j.slot}-${j.i}.key`);
      const c = join(dir, `${j.slot}-${j.i}.crt`);
      await execFileP('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', k, '-out', c, '-days', '90', '-subj', `/CN=${j.name}`, '-addext', `subjectAltName=DNS:${j.name}`], { timeout: 10_000 });
      const chain = readFileSync(c, 'utf8');
      const g: GenCert = { name: j.name, chain, key: readFileSync(k, 'utf8'), serial: new X509Certificate(chain).serialNumber.toUpperCase() };
      rmSync(k);
      rmSync(c);
      if (j.slot === 'fresh') fresh[j.i] = g;
      else renewals[j.i] = g;
    }
  };
  await Promise.all(Array.from({ length: GEN_CONCURRENCY }, worker));
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
  return { fresh, renewals, ms: t() - t0 };
}

interface PerCert {
  total: number;
  publish: number;
  change: number;
  lockWait: number;
  files: number;
  hot: number;
  status: number;
  cmds: Map<string, number>;
  runtimeApplied: boolean;
  reloaded: boolean;
}

interface StepResult {
  label: string;
  wallMs: number;
  certs: PerCert[];
  cmds: Map<string, number[]>;
  failed: string[];
  stoppedAt?: number;
}

interface ReloadRow {
  label: string;
  certs: number;
  regenerate: number[];
  reload: number[];
  check: number[];
  checkFailed: string | null;
}

interface BulkResult {
  steps: StepResult[];
  reloads: ReloadRow[];
  served: ServedCheck[];
  loadedAfter: number | null;
  crtListLines: number | null;
  rss: { label: string; kib: number | null }[];
}

/** service.ts's crt-list files: every certificate's file, in the database's order. */
const crtListFiles = (db: Db) => {
  const files = certificates.list(db).map((c) => c.file);
  return new Map([[FILES.crtList, files.length ? files.join('\n') + '\n' : '']]);
};

/** The install service.ts does for an ACME result (publish, row, crt-list, hot-load), timed step by step. */
async function installLocal(td: TestDaemon, meter: CmdMeter, c: GenCert): Promise<PerCert> {
  const cfg = td.daemon.cfg;
  const crtListPath = join(cfg.paths.generatedDir, FILES.crtList);
  meter.cur = new Map();
  meter.statusMs = 0;
  const t0 = t();
  const published = publishPem(cfg.paths.certDir, cfg.paths.certBackupDir, certFileName(c.name), c.chain, c.key);
  const t1 = t();
  let locked = t1;
  let files = 0;
  let hot = 0;
  const r = await td.daemon.applier.runtimeChange({
    actor: 'bench',
    action: 'certificate.install',
    target: c.name,
    detail: { names: [c.name], serial: published.info.serial, not_after: published.info.notAfter },
    mutate: (db) => {
      locked = t();
      return certificates.save(db, {
        name: c.name,
        names: [c.name],
        file: published.file,
        issuer: published.info.issuer,
        serial: published.info.serial,
        notBefore: published.info.notBefore,
        notAfter: published.info.notAfter,
        keyType: cfg.acme.key_type,
        challenge: 'http-01',
        orderUrl: null,
      });
    },
    files: (db) => {
      const a = t();
      const m = crtListFiles(db);
      files = t() - a;
      return m;
    },
    runtime: async (control) => {
      const a = t();
      try {
        await hotLoad(control.runtime.ssl, crtListPath, published.file, published.pem, published.info.serial);
      } finally {
        hot = t() - a;
      }
    },
  });
  const t2 = t();
  const cmds = meter.cur;
  meter.cur = null;
  return { total: t2 - t0, publish: t1 - t0, change: t2 - t1, lockWait: locked - t1, files, hot, status: meter.statusMs, cmds, runtimeApplied: r.runtimeApplied, reloaded: r.reloaded };
}

async function installMany(td: TestDaemon, meter: CmdMeter, label: string, list: GenCert[], deadlineMs: number): Promise<StepResult> {
  const step: StepResult = { label, wallMs: 0, certs: [], cmds: new Map(), failed: [] };
  meter.bucket = step.cmds;
  const t0 = t();
  try {
    for (let i = 0; i < list.length; i++) {
      if (t() - t0 > deadlineMs) {
        step.stoppedAt = i;
        break;
      }
      try {
        step.certs.push(await installLocal(td, meter, list[i]!));
      } catch (e) {
        step.failed.push(`${list[i]!.name}: ${describe(e)}`);
        if (step.failed.length >= 5) {
          step.stoppedAt = i + 1;
          break;
        }
      }
      if ((i + 1) % 250 === 0) progress(`  ${label}: ${i + 1} of ${list.length} (${secs(t() - t0)} s)`);
    }
  } finally {
    step.wallMs = t() - t0;
    meter.bucket = null;
  }
  return step;
}

async function haproxyCheck(bin: string, file: string): Promise<{ ms: number; error: string | null }> {
  const a = t();
  const res = await run(bin, ['-c', '-f', file], { timeoutMs: 60_000 });
  const d = t() - a;
  return { ms: d, error: res.code === 0 ? null : res.timedOut ? 'timed out' : (res.stderr + res.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 300) };
}

async function measureReloads(td: TestDaemon, bin: string, label: string, certs: number): Promise<ReloadRow> {
  const row: ReloadRow = { label, certs, regenerate: [], reload: [], check: [], checkFailed: null };
  const t0 = t();
  for (let i = 0; i < RELOAD_REPS && t() - t0 < RELOAD_PHASE_DEADLINE_MS; i++) {
    const a = t();
    const res = await td.daemon.applier.regenerate('bench', true);
    row.regenerate.push(t() - a);
    if (res.reloadMs !== undefined) row.reload.push(res.reloadMs);
  }
  for (let i = 0; i < CHECK_REPS && t() - t0 < RELOAD_PHASE_DEADLINE_MS; i++) {
    const c = await haproxyCheck(bin, td.daemon.cfg.paths.configPath);
    row.check.push(c.ms);
    if (c.error) row.checkFailed = c.error;
  }
  return row;
}

async function phaseBulk(bin: string, r: VersionResult, gen: Generated): Promise<void> {
  const httpsPort = await freePort();
  const td = track(await startTestDaemon(bin, { config: { haproxy: { https_port: httpsPort, command_timeout: '30s' } } }));
  const b: BulkResult = { steps: [], reloads: [], served: [], loadedAfter: null, crtListLines: null, rss: [] };
  r.bulk = b;
  try {
    const meter = instrumentSockets(td);
    b.rss.push({ label: 'self-signed only', kib: await workerRssKiB(td) });
    progress(`${r.name}: forced reloads and haproxy -c with the self-signed certificate only`);
    b.reloads.push(await measureReloads(td, bin, 'self-signed only', 1));

    progress(`${r.name}: hot-loading ${int(gen.fresh.length)} new certificates one by one`);
    const load = await installMany(td, meter, `new, 1..${int(gen.fresh.length)}`, gen.fresh, LOAD_DEADLINE_MS);
    b.steps.push(load);
    const loaded = gen.fresh.slice(0, load.certs.length);
    b.loadedAfter = (await td.daemon.control.runtime.ssl.loaded()).size;
    b.rss.push({ label: `after ${int(loaded.length)} hot-loaded`, kib: await workerRssKiB(td) });
    const sampleIdx = [0, 1, Math.floor(loaded.length / 2), loaded.length - 2, loaded.length - 1].filter((i, k, a) => i >= 0 && a.indexOf(i) === k);
    b.served.push(await checkServed('after hot-load (first, middle, last)', httpsPort, sampleIdx.map((i) => ({ name: loaded[i]!.name, serial: loaded[i]!.serial }))));

    const renewable = gen.renewals.filter((c) => loaded.some((l) => l.name === c.name));
    progress(`${r.name}: renewing ${renewable.length} of them (set + commit of a known file)`);
    const renew = await installMany(td, meter, `renew ${renewable.length} of ${int(loaded.length)}`, renewable, RENEW_DEADLINE_MS);
    b.steps.push(renew);
    const renewed = renewable.slice(0, renew.certs.length);
    const rs = [0, Math.floor(renewed.length / 2), renewed.length - 1].filter((i, k, a) => i >= 0 && a.indexOf(i) === k).map((i) => renewed[i]!);
    b.served.push(await checkServed('after renewal (renewed ones)', httpsPort, rs.map((c) => ({ name: c.name, serial: c.serial }))));

    const current = new Map(loaded.map((c) => [c.name, c.serial]));
    for (const c of renewed) current.set(c.name, c.serial);
    const crtList = readFileSync(join(td.daemon.cfg.paths.generatedDir, FILES.crtList), 'utf8');
    b.crtListLines = crtList.split('\n').filter(Boolean).length;
    progress(`${r.name}: forced reloads and haproxy -c with ${int(b.crtListLines)} certificates in the crt-list`);
    b.reloads.push(await measureReloads(td, bin, `${int(b.crtListLines)} in crt-list`, b.crtListLines));
    b.rss.push({ label: `after reload with ${int(b.crtListLines)}`, kib: await workerRssKiB(td) });
    const after = [...sampleIdx.map((i) => loaded[i]!.name), ...rs.map((c) => c.name)].filter((n, k, a) => a.indexOf(n) === k);
    b.served.push(await checkServed('after the forced reloads', httpsPort, after.map((n) => ({ name: n, serial: current.get(n)! }))));
    const fallbacks = td.logs.filter((l) => /runtime API change failed; falling back/.test(l));
    if (fallbacks.length) r.notes.push(`${fallbacks.length} runtime change(s) fell back to a reload; first: ${fallbacks[0]!.slice(0, 300)}`);
  } finally {
    await td.stop();
  }
}

// ---------------------------------------------------------------------------
// Report.

interface VersionResult {
  name: string;
  version: string;
  acme: AcmeRun[];
  bulk: BulkResult | null;
  notes: string[];
}

const def = <T>(xs: (T | undefined)[]) => xs.filter((x): x is T => x !== undefined);

function acmeRow(run: AcmeRun): (string | number)[] {
  const ok = run.rows.filter((x) => !x.error);
  const api = ok.map((x) => x.apiMs);
  const install = def(ok.map((x) => x.installMs));
  const acmePart = def(ok.map((x) => (x.installMs !== undefined ? x.apiMs - x.installMs : undefined)));
  const serve = def(ok.map((x) => x.serveMs));
  const after = def(ok.map((x) => x.afterApiMs));
  const probed = run.rows.some((x) => x.probes > 0);
  return [
    run.label,
    ok.length,
    run.rows.length - ok.length,
    `${ms(median(api))} / ${ms(p95(api))} / ${ms(max(api))}`,
    ms(median(acmePart)),
    `${ms(median(install))} / ${ms(max(install))}`,
    ms(median(def(ok.map((x) => x.lockWaitMs)))),
    ms(median(def(ok.map((x) => x.hotMs)))),
    probed ? `${ms(median(serve))} / ${ms(p95(serve))} / ${ms(max(serve))}` : '-',
    probed ? `${ms(median(after))} [${ms(min(after))}..${ms(max(after))}]` : '-',
    probed ? ms(median(def(ok.map((x) => x.probeGapMs)))) : '-',
    run.wallMs !== undefined ? ms(run.wallMs) : '-',
  ];
}

function stepRow(s: StepResult): (string | number)[] {
  const c = s.certs;
  const other = c.map((x) => x.change - x.lockWait - x.files - x.hot - x.status);
  return [
    s.label,
    c.length,
    secs(s.wallMs),
    `${ms(median(c.map((x) => x.total)))} / ${ms(p95(c.map((x) => x.total)))} / ${ms(max(c.map((x) => x.total)))}`,
    ms(median(c.map((x) => x.publish))),
    ms(median(c.map((x) => x.files))),
    ms(median(c.map((x) => x.status))),
    ms(median(c.map((x) => x.hot))),
    ms(median(other)),
    c.filter((x) => x.reloaded).length,
    s.failed.length,
  ];
}

function printVersion(r: VersionResult): void {
  console.log(`\n=== ${r.name} (HAProxy ${r.version}) ===`);
  console.log('\n1. POST /api/ssl {domain} -> the new serial served over TLS (SNI = domain), HTTP-01 through HAProxy against pebble (ms)');
  console.log(
    table(
      ['run', 'ok', 'failed', 'API med/p95/max', 'ACME med', 'install med/max', 'lock wait', 'hot-load', 'first serve med/p95/max', 'serve - API med [min..max]', 'probe gap', 'wall'],
      r.acme.map(acmeRow),
    ),
  );
  console.log('  (API = POST /api/ssl until its answer; install = applier.runtimeChange for the certificate (lock wait + db row + crt-list');
  console.log('   files + control.status + hotLoad + audit), hot-load = hot-load.hotLoad alone; ACME = API - install (order, HTTP-01');
  console.log('   validation by pebble through HAProxy, finalize, download, publishPem, HTTP); first serve = from the call to the first');
  console.log(`   TLS handshake showing the API's serial, probing every ~${PROBE_INTERVAL_MS} ms + handshake (probe gap); serve - API < 0: served before the answer)`);
  for (const run of r.acme) {
    if (run.rows.length > 1) {
      const order = (f: (x: AcmeRow) => number | undefined) => def(run.rows.map(f)).sort((a, b) => a - b).map((v) => ms(v)).join(' ');
      console.log(`  ${run.label}, each API call sorted: ${order((x) => x.apiMs)}; each install: ${order((x) => x.installMs)}`);
    }
    for (const x of run.rows.filter((y) => y.error).slice(0, 3)) console.log(`  ${run.label} ${x.name}: ${x.error}`);
    if (run.served) console.log(`  ${run.label}: served over TLS afterwards ${run.served.ok}/${run.served.total}${run.served.bad.length ? `; ${run.served.bad.slice(0, 3).join('; ')}` : ''}`);
  }

  const b = r.bulk;
  if (b) {
    console.log(`\n2. ${int(BULK)} self-signed EC P-256 certificates through the install path: per certificate (ms)`);
    console.log(
      table(
        ['step', 'certs', 'total s', 'per cert med/p95/max', 'publishPem', 'crt-list files', 'status()', 'hotLoad', 'other', 'reloads', 'failed'],
        b.steps.map(stepRow),
      ),
    );
    console.log('  (per cert = publishPem + applier.runtimeChange { certificates.save, crt-list from certificates.list, write live + LKG,');
    console.log('   control.status(), hotLoad }; other = transaction, both file writes (fsync), audit, log; medians unless stated)');
    for (const s of b.steps) {
      if (s.stoppedAt !== undefined) console.log(`  ${s.label}: stopped at ${s.stoppedAt} (deadline or repeated failures)`);
      for (const f of s.failed.slice(0, 3)) console.log(`  ${s.label} failed: ${f}`);
    }

    const load = b.steps[0];
    if (load && load.certs.length >= 10) {
      const n = load.certs.length;
      const parts = 10;
      const rows: (string | number)[][] = [];
      for (let p = 0; p < parts; p++) {
        const from = Math.floor((p * n) / parts);
        const to = Math.floor(((p + 1) * n) / parts);
        const xs = load.certs.slice(from, to);
        const cmd = (k: string) => ms(median(xs.map((x) => x.cmds.get(k) ?? 0)));
        rows.push([
          `${from + 1}..${to}`,
          ms(median(xs.map((x) => x.total))),
          ms(median(xs.map((x) => x.hot))),
          cmd('show ssl cert (list)'),
          cmd('new ssl cert'),
          cmd('set ssl cert'),
          cmd('commit ssl cert'),
          cmd('add ssl crt-list'),
          cmd('show ssl cert <file>'),
          ms(median(xs.map((x) => x.files))),
          ms(median(xs.map((x) => x.change - x.lockWait - x.files - x.hot - x.status))),
        ]);
      }
      console.log(`\n   growth: medians by position in the ${int(n)} new certificates (ms)`);
      console.log(table(['certs', 'per cert', 'hotLoad', 'show ssl cert (list)', 'new', 'set', 'commit', 'add crt-list', 'show <file>', 'crt-list files', 'other'], rows));
    }

    console.log('\n   runtime socket commands by kind (ms)');
    const kinds = [...new Set(b.steps.flatMap((s) => [...s.cmds.keys()]))].sort();
    console.log(
      table(
        ['command', ...b.steps.map((s) => `${s.label}: n`), ...b.steps.map(() => 'med / p95 / max')],
        kinds.map((k) => [
          k,
          ...b.steps.map((s) => s.cmds.get(k)?.length ?? 0),
          ...b.steps.map((s) => {
            const xs = s.cmds.get(k) ?? [];
            return `${ms(median(xs))} / ${ms(p95(xs))} / ${ms(max(xs))}`;
          }),
        ]),
      ),
    );

    console.log('\n   reload instead: applier.regenerate(bench, force) (render, haproxy -c in staging, write, reload, verify, LKG) and haproxy -c alone (ms)');
    console.log(
      table(
        ['certificates', 'regenerate(force) med [min-max]', 'reps', 'of which reload med', 'haproxy -c med [min-max]', 'reps', 'check'],
        b.reloads.map((x) => [
          x.label,
          `${ms(median(x.regenerate))} [${ms(min(x.regenerate))}-${ms(max(x.regenerate))}]`,
          x.regenerate.length,
          ms(median(x.reload)),
          `${ms(median(x.check))} [${ms(min(x.check))}-${ms(max(x.check))}]`,
          x.check.length,
          x.checkFailed ?? 'ok',
        ]),
      ),
    );
    const big = b.reloads[1];
    const l = b.steps[0];
    const rn = b.steps[1];
    if (big && l && l.certs.length) {
      console.log(
        `   hot-loading ${int(l.certs.length)} one by one: ${secs(l.wallMs)} s = ${(l.wallMs / Math.max(1, median(big.regenerate))).toFixed(1)} forced reloads at that size; ` +
          `one new certificate: ${ms(median(l.certs.map((x) => x.total)))} ms; one renewal: ${rn && rn.certs.length ? ms(median(rn.certs.map((x) => x.total))) : '-'} ms; one forced reload: ${ms(median(big.regenerate))} ms`,
      );
    }
    console.log(`   HAProxy lists ${b.loadedAfter ?? '-'} certificates after the hot-loads (show ssl cert); crt-list lines: ${b.crtListLines ?? '-'}`);
    console.log(`   HAProxy worker RSS (KiB): ${b.rss.map((x) => `${x.label} ${x.kib ?? '-'}`).join('; ')}`);
    for (const s of b.served) console.log(`   served over TLS ${s.label}: ${s.ok}/${s.total}${s.bad.length ? ` -- ${s.bad.slice(0, 3).join('; ')}` : ''}`);
  }
  for (const n of r.notes) console.log(`  note: ${n}`);
}

function printSummary(results: VersionResult[], gen: Generated | null): void {
  console.log('\n=== Summary ===');
  const rows: (string | number)[][] = [];
  const add = (label: string, f: (r: VersionResult) => string) => rows.push([label, ...results.map(f)]);
  const seq = (r: VersionResult) => r.acme.find((x) => x.label.startsWith('one at a time'));
  add('POST /api/ssl, one at a time: API med / p95 ms', (r) => {
    const s = seq(r)?.rows.filter((x) => !x.error) ?? [];
    return `${ms(median(s.map((x) => x.apiMs)))} / ${ms(p95(s.map((x) => x.apiMs)))}`;
  });
  add('  of which install (hot-load) med ms', (r) => ms(median(def((seq(r)?.rows ?? []).map((x) => x.installMs)))));
  add('  call -> first served over TLS med / p95 ms', (r) => {
    const s = def((seq(r)?.rows ?? []).map((x) => x.serveMs));
    return `${ms(median(s))} / ${ms(p95(s))}`;
  });
  add(`${CONC_NAMES} at once: wall / API max ms`, (r) => {
    const c = r.acme.find((x) => x.label.endsWith('at once'));
    return c ? `${ms(c.wallMs)} / ${ms(max(c.rows.map((x) => x.apiMs)))}` : '-';
  });
  add(`hot-load ${int(BULK)} new: total s`, (r) => (r.bulk?.steps[0] ? `${secs(r.bulk.steps[0].wallMs)} (${r.bulk.steps[0].certs.length} done)` : '-'));
  add('  per cert med, first 100 / last 100 ms', (r) => {
    const c = r.bulk?.steps[0]?.certs ?? [];
    return c.length ? `${ms(median(c.slice(0, 100).map((x) => x.total)))} / ${ms(median(c.slice(-100).map((x) => x.total)))}` : '-';
  });
  add(`renew ${RENEW}: total s, per cert med ms`, (r) => {
    const s = r.bulk?.steps[1];
    return s ? `${secs(s.wallMs)}, ${ms(median(s.certs.map((x) => x.total)))}` : '-';
  });
  add('regenerate(force), self-signed only, med ms', (r) => ms(median(r.bulk?.reloads[0]?.regenerate ?? [])));
  add(`regenerate(force), ${int(BULK + 1)} certs, med ms`, (r) => ms(median(r.bulk?.reloads[1]?.regenerate ?? [])));
  add(`haproxy -c, 1 / ${int(BULK + 1)} certs, med ms`, (r) => `${ms(median(r.bulk?.reloads[0]?.check ?? []))} / ${ms(median(r.bulk?.reloads[1]?.check ?? []))}`);
  add('served checks ok', (r) => (r.bulk ? r.bulk.served.map((s) => `${s.ok}/${s.total}`).join(', ') : '-'));
  console.log(table(['', ...results.map((r) => `${r.name} (${r.version})`)], rows));
  if (gen) console.log(`  (${int(gen.fresh.length + gen.renewals.length)} certificates generated with openssl in ${secs(gen.ms)} s, not counted above)`);

  const findings: string[] = [];
  for (const r of results) {
    const c = r.bulk?.steps[0]?.certs ?? [];
    if (c.length >= 200) {
      const first = c.slice(0, 100);
      const last = c.slice(-100);
      const f = median(first.map((x) => x.total));
      const l = median(last.map((x) => x.total));
      if (l > 2 * f) {
        const parts: [string, (x: PerCert) => number][] = [
          ['hotLoad', (x) => x.hot],
          ['show ssl cert (list)', (x) => x.cmds.get('show ssl cert (list)') ?? 0],
          ['add ssl crt-list', (x) => x.cmds.get('add ssl crt-list') ?? 0],
          ['commit ssl cert', (x) => x.cmds.get('commit ssl cert') ?? 0],
          ['crt-list files', (x) => x.files],
          ['other (tx, writes, audit)', (x) => x.change - x.lockWait - x.files - x.hot - x.status],
          ['publishPem', (x) => x.publish],
        ];
        const growth = parts.map(([k, g]) => `${k} ${ms(median(first.map(g)))} -> ${ms(median(last.map(g)))}`).join(', ');
        findings.push(`${r.name}: a hot-load costs ${ms(f)} ms per certificate for the first 100 and ${ms(l)} ms for the last 100 (${growth}).`);
      }
    }
    if (c.length >= 200) {
      const f = median(c.slice(0, 100).map((x) => x.files));
      const l = median(c.slice(-100).map((x) => x.files));
      if (l > 3 * f) {
        findings.push(
          `${r.name}: every install rebuilds the whole crt-list from certificates.list() (${ms(f)} ms for the first 100, ${ms(l)} ms for the last 100) and writes it twice ` +
            `(live + LKG, fsync) -- also on a renewal, where its content does not change (renewal: crt-list files ${ms(median((r.bulk?.steps[1]?.certs ?? []).map((x) => x.files)))} ms, ` +
            `other ${ms(median((r.bulk?.steps[1]?.certs ?? []).map((x) => x.change - x.lockWait - x.files - x.hot - x.status)))} ms per certificate). Linear per install, quadratic over a bulk load.`,
        );
      }
    }
    const bulkNew = r.bulk?.steps[0];
    const bigReload = r.bulk?.reloads[1];
    if (bulkNew && bulkNew.certs.length && bigReload && bigReload.regenerate.length) {
      findings.push(
        `${r.name}: one hot-load at ~${int(bulkNew.certs.length)} certificates costs ${ms(median(bulkNew.certs.slice(-100).map((x) => x.total)))} ms against ${ms(median(bigReload.regenerate))} ms for one forced reload ` +
          `(haproxy -c alone ${ms(median(bigReload.check))} ms); hot-loading all ${int(bulkNew.certs.length)} one by one (${secs(bulkNew.wallMs)} s) costs as much as ${(bulkNew.wallMs / median(bigReload.regenerate)).toFixed(0)} reloads.`,
      );
    }
    const sq = r.acme.find((x) => x.label.startsWith('one at a time'))?.rows.filter((x) => !x.error) ?? [];
    if (sq.length >= 5 && max(sq.map((x) => x.apiMs)) > 2.5 * min(sq.map((x) => x.apiMs))) {
      findings.push(
        `${r.name}: POST /api/ssl times spread from ${ms(min(sq.map((x) => x.apiMs)))} to ${ms(max(sq.map((x) => x.apiMs)))} ms while the install part stays ` +
          `${ms(min(def(sq.map((x) => x.installMs))))}-${ms(max(def(sq.map((x) => x.installMs))))} ms: the spread is in the ACME exchange (acme-client polls a pending ` +
          `challenge/order again after its backoff, backoffMin 200 ms in src/certs/acme.ts).`,
      );
    }
    const steps = r.bulk?.steps ?? [];
    for (const s of steps) {
      const rl = s.certs.filter((x) => x.reloaded).length;
      if (rl) findings.push(`${r.name}: ${rl} of ${s.certs.length} installs in "${s.label}" fell back to a reload.`);
      if (s.failed.length) findings.push(`${r.name}: ${s.failed.length} installs in "${s.label}" failed: ${s.failed[0]}`);
      if (s.stoppedAt !== undefined) findings.push(`${r.name}: "${s.label}" stopped at ${s.stoppedAt} (deadline ${s.label.startsWith('new') ? LOAD_DEADLINE_MS : RENEW_DEADLINE_MS} ms or failures).`);
    }
    for (const s of r.bulk?.served ?? []) if (s.ok < s.total) findings.push(`${r.name}: ${s.total - s.ok} of ${s.total} certificates not served ${s.label}: ${s.bad[0]}`);
    for (const run of r.acme) {
      const bad = run.rows.filter((x) => x.error);
      if (bad.length) findings.push(`${r.name}: ${bad.length} of ${run.rows.length} orders in "${run.label}" failed or were not served: ${bad[0]!.error}`);
      const late = run.rows.filter((x) => x.afterApiMs !== undefined && x.afterApiMs > 50);
      if (late.length) findings.push(`${r.name}: ${late.length} certificate(s) in "${run.label}" were first served more than 50 ms after the API answered (max ${ms(max(late.map((x) => x.afterApiMs!)))} ms).`);
      const waits = def(run.rows.map((x) => x.lockWaitMs));
      if (waits.length && max(waits) > 1000) findings.push(`${r.name}: in "${run.label}" an install waited up to ${ms(max(waits))} ms for the applier lock.`);
    }
    for (const x of r.bulk?.reloads ?? []) if (x.checkFailed) findings.push(`${r.name}: haproxy -c on the live config failed with ${x.label}: ${x.checkFailed}`);
  }
  printFindings(findings, elapsed());
}

// ---------------------------------------------------------------------------
async function main(): Promise<void> {
  const versions = selectedVersions(HAPROXIES);
  console.log(`haproxy-manager certificate benchmark: ${versions.map((v) => v.name).join(', ')}; ${int(BULK)} bulk certificates; node ${process.version}; load average ${loadAvg()}`);
  progress(`generating ${int(BULK)} + ${RENEW} self-signed EC P-256 certificates with openssl`);
  let gen: Generated | null = null;
  try {
    gen = await generate();
    progress(`generated in ${secs(gen.ms)} s`);
  } catch (e) {
    console.log(`certificate generation failed: ${describe(e)}; the bulk phase is skipped`);
  }
  const results: VersionResult[] = [];
  for (const h of versions) {
    const r: VersionResult = { name: h.name, version: '?', acme: [], bulk: null, notes: [] };
    results.push(r);
    try {
      r.version = (await detectHaproxy(h.bin)).version;
    } catch (e) {
      r.notes.push(`version detection failed: ${describe(e)}`);
    }
    try {
      await phaseAcme(h.bin, r);
    } catch (e) {
      r.notes.push(`ACME phase aborted: ${describe(e)}`);
    }
    if (gen) {
      try {
        await phaseBulk(h.bin, r, gen);
      } catch (e) {
        r.notes.push(`bulk phase aborted: ${describe(e)}`);
      }
    }
    printVersion(r);
  }
  printSummary(results, gen);
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
