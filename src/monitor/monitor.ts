/**
 * The log monitor as a daemon unit: builds the sources the config declares
 * (plus the syslog listener HAProxy logs to), feeds their batches through the
 * pipeline, and every second writes the incidents that changed to SQLite and
 * resolves the quiet ones.
 *
 * Contract: the constructor stores; `start()` loads and compiles the rules (a
 * bad rule rejects with its file and reason) and starts the sources; `stop()`
 * stops the sources (saving their positions) and writes what is pending. A
 * source's error is logged (at most once a minute per message, the sources'
 * own contract) and never stops the others.
 */
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/files.js';
import { createRedactor } from '../pipeline/redact/text.js';
import type { TriageSnapshot } from '../pipeline/triage/engine.js';
import type { Config } from '../config/schema.js';
import type { Level, Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import { incidents as incidentStore, positions } from '../storage/incidents.js';
import { blocked, proxies, trusted } from '../storage/ip-lists.js';
import { serverAddresses } from '../storage/domains.js';
import { ipInRange, parseIp } from '../validate/ip.js';
import { pipelineFromConfig, type Pipeline } from './pipeline.js';
import type { LogSource, PositionStore, SourceError } from '../pipeline/sources/source.js';
import { FileSource } from '../pipeline/sources/file-source.js';
import { JournaldSource } from '../pipeline/sources/journald-source.js';
import { SyslogSource } from '../pipeline/sources/syslog-source.js';
import { SocketSource } from '../pipeline/sources/socket-source.js';
import { createIntakeHealth } from './intake-health.js';
import { durationMs } from '../util/duration.js';
import { SEVERITIES, type Finding, type RawLine, type Severity, type Subject, type SuggestedAction } from '../pipeline/types.js';
import type { Incident } from '../pipeline/incidents/group.js';
import { createTransitionTracker } from '../pipeline/notify/transitions.js';
import { describe } from '../errors.js';
import type { ProtectedAddresses } from '../pipeline/policy/types.js';

export const SHIPPED_RULES_DIR = fileURLToPath(new URL('../../config/rules', import.meta.url));

/**
 * Addresses that are never the subject of a block: local ranges, the
 * configured protected ones, trusted addresses, trusted proxies and backend
 * servers given as IP addresses (a hostname's addresses are not resolved
 * here) (loopback always, in the engine). The lists are read from the
 * database every few seconds; answers are cached per address. `self()` is
 * the daemon's own path: the API's and HAProxy's listen addresses when they
 * are specific ones (loopback is built into the guardrails).
 */
export function protectedAddresses(cfg: Config, reader: Db): ProtectedAddresses {
  let ranges: string[] = [];
  let loadedAt = 0;
  const cache = new Map<string, boolean>();
  const refresh = () => {
    ranges = [
      ...cfg.network.local_ranges,
      ...cfg.remediation.protected,
      ...trusted.list(reader).map((t) => t.ip_address),
      ...proxies.list(reader).map((p) => p.cidr),
      ...serverAddresses(reader).filter((a) => parseIp(a) !== null),
    ];
    loadedAt = Date.now();
    cache.clear();
  };
  const isProtected = (ip: string): boolean => {
    if (Date.now() - loadedAt > 5000) refresh();
    let v = cache.get(ip);
    if (v === undefined) {
      const p = parseIp(ip);
      v = p !== null && ranges.some((r) => ipInRange(p.text, r));
      if (cache.size > 100_000) cache.clear();
      cache.set(ip, v);
    }
    return v;
  };
  /** The ranges behind the answers, read afresh (a decision about to act wants the current lists). */
  const current = (): readonly string[] => {
    refresh();
    return ranges;
  };
  const own = [cfg.api.listen, cfg.haproxy.bind_address].filter((a) => {
    const p = parseIp(a);
    // 0.0.0.0 and :: are "every address", not one the daemon connects from.
    return p !== null && p.text !== '0.0.0.0' && p.text !== '::';
  });
  return Object.assign(isProtected, { ranges: current, self: (): readonly string[] => own });
}

export interface MonitorDeps {
  cfg: Config;
  log: Logger;
  writer: Db;
  reader: Db;
  /** Told of every incident state change (opened, escalated, resolved) once it is stored. */
  onStateChange?: (kind: 'opened' | 'escalated' | 'resolved', inc: Incident) => void;
}

/** The journal priority of an opened incident, from its severity. */
const INCIDENT_LEVEL: Record<Incident['severity'], Level> = { critical: 'crit', high: 'error', medium: 'warn', low: 'notice', info: 'info' };

export function createMonitor(deps: MonitorDeps) {
  const { cfg, log } = deps;
  const sources: LogSource[] = [];
  let pipeline: Pipeline | null = null;
  let timer: NodeJS.Timeout | null = null;
  let ruleCount = 0;
  const transitions = createTransitionTracker();
  const store: PositionStore = { get: (k) => positions.get(deps.writer, k), set: (k, v) => positions.set(deps.writer, k, v) };

  // An incident that opens or rises is written and acted on at once (a
  // block must not wait for the one-second timer); plain count updates wait.
  let soon = false;
  const onLines = (batch: RawLine[]) => {
    const p = pipeline;
    if (!p) return;
    const before = p.incidents.stats();
    for (const line of batch) p.process(line);
    const after = p.incidents.stats();
    if (after.opened !== before.opened || after.raised !== before.raised) flushSoon();
  };
  const flushSoon = () => {
    if (soon) return;
    soon = true;
    setImmediate(() => {
      soon = false;
      flush();
    });
  };
  const lastError = new Map<string, { at: number; message: string }>();
  const onError = (e: SourceError) => {
    lastError.set(e.source, { at: Date.now(), message: e.message });
    log.warn(e.message, { source: e.source, code: e.code });
  };
  let intake: SocketSource | null = null;
  /** Lines on the UDP listener while HAProxy logs to the intake: forged, counted, dropped. */
  let forged = 0;
  let forgedWarnedAt = 0;
  const intakeHealth = createIntakeHealth(durationMs(cfg.monitor.intake_silence));

  const flush = () => {
    const p = pipeline;
    if (!p) return;
    // Live, an incident also resolves when its logs simply stop: the clock is the later of log time and wall time.
    p.tick(Math.max(p.clock(), Date.now()));
    const changed = p.incidents.drainChanged();
    if (!changed.length) return;
    try {
      p.incidents.recordIds(changed, incidentStore.write(deps.writer, changed, cfg.fleetSettings?.nodeName ?? null));
    } catch (e) {
      log.error('could not store incidents', { error: describe(e), count: changed.length });
      return;
    }
    for (const i of changed) {
      const kind = transitions.observe(i);
      if (kind && deps.onStateChange) {
        try {
          deps.onStateChange(kind, i);
        } catch (e) {
          log.error('incident state change handler failed', { incident_id: i.id, error: describe(e) });
        }
      }
    }
    for (const i of changed) {
      if (i.count === 1 && i.status === 'open') {
        log[INCIDENT_LEVEL[i.severity]](`incident opened: ${i.rule}`, { incident_id: i.id, severity: i.severity, subject: `${i.subject.type}:${i.subject.value}` });
      }
    }
  };

  /**
   * Takes back the incidents a previous run left open, so one continuing
   * condition stays one incident (and one page) across a restart or a
   * reload: a later finding joins it; one quiet for incident_quiet resolves
   * on the first tick (at its last finding plus the quiet time) and is told
   * as resolved. A stored row the registry cannot take (an unknown severity,
   * more than it holds) is resolved now.
   */
  const restoreOpen = (p: Pipeline) => {
    const rows = incidentStore.open(deps.writer);
    const dropped: Incident[] = [];
    let restored = 0;
    for (const r of rows) {
      const inc: Incident = {
        id: r.id,
        rule: r.rule,
        category: r.category,
        severity: r.severity as Severity,
        subject: r.subject as Subject,
        status: 'open',
        firstSeen: Date.parse(r.first_seen),
        lastSeen: Date.parse(r.last_seen),
        count: r.count,
        escalate: r.escalate,
        actions: r.actions as SuggestedAction[],
        samples: r.samples,
        resolvedAt: null,
      };
      if (SEVERITIES.includes(inc.severity) && Number.isFinite(inc.lastSeen) && p.incidents.restore(inc)) {
        transitions.know(inc);
        restored++;
      } else dropped.push({ ...inc, status: 'resolved', resolvedAt: Date.now() });
    }
    if (dropped.length) incidentStore.write(deps.writer, dropped);
    if (rows.length) log.info('incidents left open by the previous run taken back', { restored, resolved: dropped.length });
  };

  /**
   * The rules' windows and once_per holds, kept across a restart or a reload
   * in a file of the state directory (0600): so a reload does not hand a
   * client a fresh count, nor repeat a report once_per held back. Written at
   * stop, read and removed at start; a rule whose definition changed starts
   * afresh. Subjects the redactor would change (a token in a path, say) are
   * not written down.
   */
  const windowsFile = join(cfg.paths.stateDir, 'triage-windows.json');
  const redactKey = createRedactor({ extraKeys: cfg.redaction.extra_secret_keys });
  const saveWindows = (p: Pipeline) => {
    try {
      const snap = p.triageSnapshot((key, type) => type === 'ip' || redactKey(key) === key);
      writeFileAtomic(windowsFile, JSON.stringify(snap), 0o600);
    } catch (e) {
      log.warn('could not save the rules\' windows; they start afresh next time', { error: describe(e) });
    }
  };
  const restoreWindows = (p: Pipeline) => {
    if (!existsSync(windowsFile)) return;
    try {
      const snap = JSON.parse(readFileSync(windowsFile, 'utf8')) as TriageSnapshot;
      if (snap?.version === 1 && typeof snap.at === 'number' && snap.rules && typeof snap.rules === 'object') {
        const n = p.triageRestore(snap);
        if (n) log.info('rule windows taken back from the previous run', { subjects: n });
      }
    } catch (e) {
      log.warn('the saved rule windows could not be read; they start afresh', { error: describe(e) });
    } finally {
      rmSync(windowsFile, { force: true });
    }
  };

  return {
    async start(): Promise<void> {
      if (!cfg.monitor.enabled) return;
      const built = pipelineFromConfig(cfg, { shippedRulesDir: SHIPPED_RULES_DIR, isProtected: protectedAddresses(cfg, deps.reader) });
      pipeline = built.pipeline;
      ruleCount = built.rules;
      restoreOpen(pipeline);
      restoreWindows(pipeline);
      const sd = { onLines, onError, positions: store };
      if (cfg.intake) {
        intake = new SocketSource({ name: 'haproxy', path: cfg.intake.socket, group: cfg.intake.group, format: 'haproxy', onRecovered: (m) => log.info(m) }, sd);
        sources.push(intake);
      }
      if (cfg.monitor.syslog) {
        // With the intake on, HAProxy never logs to UDP: whatever arrives there claiming to be
        // HAProxy was written by someone else (any local user can send a datagram). Counted and
        // dropped, never parsed or acted on. Without an intake the listener is HAProxy's path
        // (monitor.intake: null), with the risk the README states.
        const forgedSink = (batch: RawLine[]) => {
          forged += batch.length;
          const now = Date.now();
          if (now - forgedWarnedAt > 60_000) {
            forgedWarnedAt = now;
            log.warn('lines on the UDP listener ignored: HAProxy logs to the intake socket, so these were sent by someone else', { count: forged, port: cfg.monitor.syslog!.port });
          }
        };
        sources.push(new SyslogSource({ name: cfg.intake ? 'syslog' : 'haproxy', host: cfg.monitor.syslog.address, port: cfg.monitor.syslog.port, format: 'haproxy' }, cfg.intake ? { ...sd, onLines: forgedSink } : sd));
      }
      for (const s of cfg.monitor.sources) {
        if (s.type === 'file') sources.push(new FileSource({ name: s.name, path: s.path!, format: s.format, startAt: s.start_at }, sd));
        else sources.push(new JournaldSource({ name: s.name, format: s.format, ...(s.units ? { units: s.units } : {}), startAt: s.start_at }, sd));
      }
      for (const s of sources) await s.start();
      timer = setInterval(flush, 1000);
      timer.unref();
      log.info('log monitor started', { rules: ruleCount, sources: sources.map((s) => s.name).join(',') });
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      for (const s of sources) await s.stop().catch((e) => log.warn('source stop failed', { source: s.name, error: describe(e) }));
      flush();
      if (pipeline) saveWindows(pipeline);
    },

    /** Reports a finding from outside the log pipeline (the HAProxy watchdog). */
    report(f: Finding) {
      if (!pipeline) return;
      pipeline.incidents.add(f);
      flushSoon();
    },

    /** Writes pending incident changes now (tests; the timer does it every second). */
    flush,

    /**
     * Why the monitor cannot be trusted to see what happens, for /health:
     * the intake is not listening; a source's last error is newer than its
     * last line (and under 10 minutes old); HAProxy served requests while no
     * line of its reached the daemon for monitor.intake_silence.
     * `servedRequests`: HAProxy's CumReq now (null when unknown).
     */
    degraded(servedRequests: number | null, now = Date.now()): string[] {
      if (!cfg.monitor.enabled) return [];
      const out: string[] = [];
      if (intake) {
        const l = intake.listening();
        if (!l.ok) out.push(l.reason);
      }
      for (const s of sources) {
        if (s === intake) continue; // its own reason above
        const e = lastError.get(s.name);
        if (!e || now - e.at > 600_000) continue;
        const last = s.stats().last_line_at;
        if (last === null || last < e.at) out.push(`log source ${s.name} is failing: ${e.message}`);
      }
      const haproxySource = sources.find((s) => s.name === 'haproxy');
      if (haproxySource) {
        const silent = intakeHealth.check(haproxySource.stats().last_line_at, servedRequests, now);
        if (silent) out.push(silent);
      }
      return out;
    },

    /** Triage's counters per rule; null before start or with the monitor off. */
    triageStats() {
      return pipeline ? pipeline.triageStats() : null;
    },
    status() {
      const p = pipeline;
      return {
        enabled: cfg.monitor.enabled,
        rules: ruleCount,
        intake: cfg.intake ? { socket: cfg.intake.socket, listening: intake?.listening().ok ?? false, forged_lines: forged } : null,
        sources: sources.map((s) => ({ name: s.name, ...s.stats() })),
        pipeline: p ? p.stats() : null,
        incidents: { ...(p ? p.incidents.stats() : {}), stored: incidentStore.counts(deps.reader) },
        blocked_ips: blocked.count(deps.reader),
      };
    },
  };
}

export type Monitor = ReturnType<typeof createMonitor>;
