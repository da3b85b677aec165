/**
 * The composition root: the only place units are built and wired. Start-up
 * takes the state directory's lock before touching anything, detects HAProxy
 * and opens the database; then the units below start in order and stop in
 * reverse (units.ts), through one teardown path whether start-up failed half
 * way or the daemon is stopped. Incident events reach their listeners
 * (notifications, remediation, analysis) through the event bus, each one
 * isolated from the others.
 */
import type Koa from 'koa';
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './log.js';
import { describe } from './errors.js';
import { createEventBus } from './events.js';
import { createMetrics } from './metrics/metrics.js';
import { startUnits, type Unit } from './units.js';
import { createFleetSync, type FleetSync } from './fleet/sync.js';
import { createFleetActions, type FleetActions } from './fleet/actions-sync.js';
import { createFleetJobs, type FleetJobs } from './fleet/jobs.js';
import { createFleetIncidents, type FleetIncidents } from './fleet/incidents.js';
import type { Ops } from './haproxy/changes/ip-lists.js';
import { lockStateDir, type StateLock } from './storage/state-lock.js';
import { ensureApiKey, ensureMetricsToken, ensureViewerKey } from './config/api-key.js';
import { registerSecretEnv } from './util/child-env.js';
import { openDatabase, type Db } from './storage/db.js';
import { detectHaproxy, protections, type HaproxyInfo } from './haproxy/process/version.js';
import { createControl, type HaproxyControl } from './haproxy/process/control.js';
import { createApplier, type Applier } from './haproxy/config/apply.js';
import { createWatchdog, type Watchdog } from './haproxy/process/watchdog.js';
import { createApp } from './api/app.js';
import { consoleMiddleware } from './console/console.js';
import { createSessions } from './api/sessions.js';
import { createTrafficHistory, type TrafficHistory } from './metrics/traffic.js';
import { durationMs } from './util/duration.js';
import { createBlockExpiry } from './haproxy/changes/block-expiry.js';
import { createRetention } from './retention/unit.js';
import { startResponder, type Responder } from './certs/responder.js';
import { createAcme, directoryUrl } from './certs/acme.js';
import { createAri } from './certs/ari.js';
import { createCertService, type CertService } from './certs/service.js';
import { scheduleRenewal } from './certs/renewal.js';
import { createMonitor, protectedAddresses, type Monitor } from './monitor/monitor.js';
import type { Incident } from './pipeline/incidents/group.js';
import { loadPolicy, SHIPPED_POLICY_FILE } from './pipeline/policy/load.js';
import { createRemediation, type Remediation } from './pipeline/remediation/executor.js';
import { actionDeps } from './haproxy/adapters/action-deps.js';
import { createAnalysisStage } from './pipeline/analysis/stage.js';
import { createFleetAnalysis, fleetAnalysisWaitMs } from './fleet/analysis.js';
import { backendHealthFrom } from './haproxy/adapters/backend-health.js';
import { actedEvent } from './pipeline/notify/acted.js';
import { createNotifications, type Notifications } from './pipeline/notify/service.js';
import { createSdNotify } from './systemd/notify.js';

export interface Daemon {
  cfg: Config;
  log: Logger;
  applier: Applier;
  control: HaproxyControl;
  db: { writer: Db; reader: Db };
  certs: CertService;
  monitor: Monitor;
  watchdog: Watchdog;
  notifications: Notifications;
  /** The remediation stage (decisions, the executor): what the API's action routes use. */
  remediation: Remediation;
  /** The API's bound port (useful when configured as 0). */
  apiPort: number;
  /** The last hour of HTTP traffic the console charts. */
  traffic: TrafficHistory;
  /** The fleet sync unit (fleet/sync.ts); null on a single node. */
  fleet: FleetSync | null;
  /** The fleet's shared actions (fleet/actions-sync.ts); null on a single node. */
  fleetActions: FleetActions | null;
  /** The fleet's leader election and shared certificates (fleet/jobs.ts); null on a single node. */
  fleetJobs: FleetJobs | null;
  /** Which node notifies an incident seen by several (fleet/incidents.ts); null on a single node. */
  fleetIncidents: FleetIncidents | null;
  /**
   * Stops every unit and closes the resources. `leaveHaproxyRunning`: a
   * managed HAProxy keeps serving (a reload or a restart of the daemon adopts
   * it); `reloading`: systemd is told RELOADING=1, not STOPPING=1.
   */
  stop(opts?: { leaveHaproxyRunning?: boolean; reloading?: boolean }): Promise<void>;
}

/** What happens on the daemon's bus. */
export interface DaemonEvents extends Record<string, unknown> {
  /** An incident changed state; it is stored when this is emitted. */
  incident: { kind: 'opened' | 'escalated' | 'resolved'; incident: Incident };
}

/**
 * `reloading`: started by a reload (SIGHUP) after the previous daemon stopped
 * and left HAProxy running: HAProxy is reloaded only when the rendered files
 * changed, never restarted.
 */
export async function startDaemon(given: Config, opts: { log?: Logger; reloading?: boolean } = {}): Promise<Daemon> {
  let cfg = given;
  const log = opts.log ?? createLogger({ level: cfg.log.level, format: cfg.log.format });
  log.info('haproxy-manager starting', { mode: cfg.mode, config: cfg.source ?? '(defaults)', state_dir: cfg.paths.stateDir });

  // Resources opened before any wiring, closed last. Nothing is touched
  // before the state directory is ours: a second daemon stops here.
  const lock: StateLock = lockStateDir(cfg.paths.stateDir);
  let db: { writer: Db; reader: Db } | null = null;
  let responder: Responder | null = null;
  const closeResources = async () => {
    await responder?.close();
    db?.reader.close();
    if (db && db.writer !== db.reader) db.writer.close();
    lock.release();
  };
  let info: HaproxyInfo;
  let metricsToken: string | null = null;
  let viewerKey: string | null = null;
  try {
    for (const d of [cfg.paths.stateDir, cfg.paths.runDir, cfg.paths.lkgDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const key = ensureApiKey(cfg.apiKey, cfg.api.auth, cfg.paths.apiKeyFile);
    if (key.created) log.info('created an API key for the management API', { file: cfg.paths.apiKeyFile });
    cfg = { ...cfg, apiKey: key.key };
    metricsToken = ensureMetricsToken(cfg, cfg.paths.metricsTokenFile);
    viewerKey = ensureViewerKey(cfg, cfg.paths.viewerKeyFile);
    registerSecretEnv(cfg.analysis.api_key_env);
    info = await detectHaproxy(cfg.haproxy.binary);
    const inactive = protections(info).filter((p) => !p.active);
    log.info('HAProxy detected', { version: info.version, binary: info.binary, ...(inactive.length ? { inactive: inactive.map((p) => p.name).join(',') } : {}) });
    db = openDatabase(cfg.paths.database, { onTxLeak: (m) => log.error(m) });
    // In a fleet, a token another node's order shared is answered here too (fleet/challenges.ts).
    responder = await startResponder(cfg.acme.challenge_port, '127.0.0.1', cfg.fleetSettings ? (t) => fleetJobs!.lookupChallenge(t) : undefined);
  } catch (e) {
    await closeResources();
    throw e;
  }
  const { writer, reader } = db;

  const bus = createEventBus<DaemonEvents>(log.child({ unit: 'events' }));
  const control = createControl(cfg, log.child({ unit: 'haproxy' }));
  const applier = createApplier({ cfg, db: writer, log: log.child({ unit: 'apply' }), control, info });
  // In a fleet, local changes to shared state (addresses, proxies, domains, TCP services, server admin states) are recorded for the other nodes; theirs are applied with the plain ops (no echo).
  const fleet = cfg.fleetSettings ? createFleetSync({ settings: cfg.fleetSettings, db: writer, ops: { cfg, applier }, log: log.child({ unit: 'fleet' }) }) : null;
  const ops: Ops = fleet ? { cfg, applier, record: (db, change) => fleet.record(db, change) } : { cfg, applier };
  // In a fleet, remediation action records are shared too (each node lists every node's).
  const fleetActions = cfg.fleetSettings ? createFleetActions({ settings: cfg.fleetSettings, db: writer, log: log.child({ unit: 'fleet' }) }) : null;
  // In a fleet, ACME orders and renewals run on the leader only, and certificates reach every node (fleet/jobs.ts).
  const fleetJobs: FleetJobs | null = cfg.fleetSettings
    ? createFleetJobs({ settings: cfg.fleetSettings, db: writer, log: log.child({ unit: 'fleet-leader' }), certs: () => certs, onLeads: (leads) => leads && renewal?.runSoon() })
    : null;
  const acme = createAcme({ cfg, log: log.child({ unit: 'acme' }), responder: fleetJobs ? fleetJobs.responder(responder) : responder, account: fleetJobs?.acmeAccount ?? null });
  const ari = createAri(directoryUrl(cfg), log.child({ unit: 'acme' }));
  const certs = createCertService({ cfg, log: log.child({ unit: 'certs' }), db: writer, reader, applier, acme, ari, fleet: fleetJobs?.certFleet ?? null });
  // In a fleet, messages name the node; one condition seen by several nodes is notified by one of them (fleet/incidents.ts).
  const notifications = createNotifications({ db: writer, config: cfg.notifications, log, source: cfg.fleetSettings?.nodeName ?? hostname() });
  const fleetIncidents = cfg.fleetSettings ? createFleetIncidents({ settings: cfg.fleetSettings, db: writer, log: log.child({ unit: 'fleet' }), windowMs: durationMs(cfg.monitor.incident_quiet) }) : null;
  const policy = loadPolicy({ file: SHIPPED_POLICY_FILE, operatorFile: cfg.monitor.policy_file });
  const isProtected = protectedAddresses(cfg, reader);
  const remediation = createRemediation({
    cfg,
    log: log.child({ unit: 'actions' }),
    db: writer,
    actions: actionDeps(ops, control),
    policy: policy.policy,
    isProtected,
    ...(fleetActions ? { fleet: fleetActions } : {}),
    onActed: (round) => {
      const send = () => void notifications.notifier.notify(actedEvent(round, reader), { db: writer });
      if (fleetIncidents) fleetIncidents.acted(round.incidentId, send);
      else send();
    },
    onBlockSpike: (sp) =>
      notifications.notifier.notify(
        { kind: 'acted', at: Date.now(), standalone: true, detail: `block rate spike: ${sp.lastMinute} addresses blocked in the last minute (more than ${sp.threshold}); ${sp.live} blocks live; ranges filling up are proposed as range blocks` },
        { db: writer },
      ),
  });
  // In a fleet, one node calls the model per fleet incident and the others take its verdict (fleet/analysis.ts).
  const fleetAnalysis = fleetIncidents && cfg.fleetSettings && cfg.analysis.enabled ? createFleetAnalysis({ settings: cfg.fleetSettings, db: writer, log: log.child({ unit: 'fleet' }), analysis: cfg.analysis, linked: (id) => fleetIncidents.linked(id), waitMs: fleetAnalysisWaitMs(cfg.analysis) }) : null;
  const analysis = createAnalysisStage({ cfg, log: log.child({ unit: 'analysis' }), writer, reader, policy: policy.policy, remediation, backendHealth: backendHealthFrom(control.runtime), ...(fleetAnalysis ? { share: fleetAnalysis.share } : {}) });
  const monitor = createMonitor({ cfg, log: log.child({ unit: 'monitor' }), writer, reader, onStateChange: (kind, incident) => bus.emit('incident', { kind, incident }) });
  const watchdog = createWatchdog({ cfg, log: log.child({ unit: 'watchdog' }), control, report: (f) => monitor.report(f), reload: () => applier.reloadLive('watchdog') });
  const expiry = createBlockExpiry({ cfg, log, db: writer, ops });
  const metrics = createMetrics({ reader, applier, control, info, monitor, notifications, analysis });

  bus.on('incident', 'notify', ({ kind, incident }) => {
    if (fleetIncidents) fleetIncidents.incident(kind, incident, (k) => void notifications.notifier.incident(k, incident, { db: writer }));
    else notifications.notifier.incident(kind, incident, { db: writer });
  });
  bus.on('incident', 'remediation', ({ kind, incident }) => (kind === 'resolved' ? undefined : remediation.onIncident(incident)));
  bus.on('incident', 'analysis', ({ kind, incident }) => analysis.onIncident(kind, incident));

  let server: Server | null = null;
  let apiPort = cfg.api.port;
  const sd = createSdNotify(process.env, (e) => log.warn('sd_notify failed', { error: e.message }));
  let renewal: { stop(): Promise<void>; runSoon(): void } | null = null;
  let leaveHaproxyRunning = false;
  let reloading = false;

  const sessions = createSessions({ ttlMs: durationMs(cfg.api.session_ttl), idleMs: durationMs(cfg.api.session_idle) });
  const traffic = createTrafficHistory({ read: () => control.runtime.servers.frontendCounters(), skip: (f) => f === 'hm-stats' });
  const units: Unit[] = [
    { name: 'certificates', start: () => certs.ensureSelfSigned(), stop: () => undefined },
    // A node back from an outage (or new) renders the fleet's state, not its old copy: a bounded wait (fleet/sync.ts).
    ...(fleet ? [{ name: 'fleet-catch-up', start: async () => void (await fleet.catchUpBeforeServing()), stop: () => undefined }] : []),
    {
      name: 'haproxy',
      async start() {
        const prep = await applier.prepareStart();
        if (!prep.fromDatabase) log.warn('HAProxy runs the last-known-good configuration until the database renders a valid one', { error: prep.error });
        const wasRunning = (await control.status()).masterPid !== undefined;
        await control.start();
        if (wasRunning && opts.reloading && !prep.changed) {
          log.info('HAProxy already runs this configuration: not reloaded');
        } else if (wasRunning) {
          // An adopted master (managed) or haproxy.service (systemd) still runs the old files.
          try {
            await applier.reloadLive('daemon');
          } catch (e) {
            log.error('could not reload HAProxy with the rendered configuration', { error: describe(e) });
          }
        }
      },
      async stop() {
        await applier.lock.run(() => undefined);
        await control.stop({ leaveRunning: leaveHaproxyRunning });
      },
    },
    ...(fleet ? [fleet] : []),
    ...(fleetActions ? [fleetActions] : []),
    ...(fleetJobs ? [fleetJobs] : []),
    ...(fleetIncidents ? [fleetIncidents] : []),
    ...(fleetAnalysis ? [fleetAnalysis] : []),
    expiry,
    createRetention({ cfg, log: log.child({ unit: 'retention' }), db: writer }),
    {
      name: 'renewal',
      start: () => {
        renewal = scheduleRenewal(cfg, log.child({ unit: 'renewal' }), certs, fleetJobs ? () => fleetJobs.leads() : undefined);
      },
      stop: () => renewal?.stop(),
    },
    { name: 'notifications', start: () => notifications.start(), stop: () => notifications.stop() },
    {
      name: 'analysis',
      start: () => {
        log.info('remediation policy loaded', { file: policy.path, rules: policy.policy.rules.length, simulation: policy.policy.simulation });
        log.info('LLM analysis', { enabled: cfg.analysis.enabled, ...(cfg.analysis.enabled ? { model: cfg.analysis.fast.model, strong: cfg.analysis.strong?.model ?? 'none', triggers: policy.policy.analyse.filter((a) => a.enabled).map((a) => a.name).join(','), settled: policy.policy.settled.filter((a) => a.enabled).map((a) => a.name).join(',') || 'none' } : {}) });
      },
      stop: () => analysis.stop(),
    },
    { name: 'monitor', start: () => monitor.start(), stop: () => monitor.stop() },
    { name: 'traffic', start: () => traffic.start(), stop: () => traffic.stop() },
    { name: 'watchdog', start: () => watchdog.start(), stop: () => watchdog.stop() },
    {
      name: 'api',
      async start() {
        const deps = { cfg, reader, applier, control, info, log, ops, certs, monitor, notifications, remediation, analysis, isProtected, metrics, metricsToken, viewerKey, sessions, traffic, fleet, fleetActions, fleetJobs };
        // The console answers its own paths first and reads the API through the app's own handler.
        const front = (a: Koa) => {
          let handler: ReturnType<Koa['callback']> | null = null;
          return consoleMiddleware({ api: deps, sessions, viewerKey, handler: () => (handler ??= a.callback()) });
        };
        const app = createApp(deps, cfg.api.console ? { front } : {});
        const s: Server = await new Promise((resolve, reject) => {
          const srv = app.listen(cfg.api.port, cfg.api.listen, () => resolve(srv));
          srv.on('error', reject);
        });
        server = s;
        s.requestTimeout = 120_000;
        const addr = s.address();
        apiPort = typeof addr === 'object' && addr ? addr.port : cfg.api.port;
        log.info('management API listening', { address: cfg.api.listen, port: apiPort, auth: cfg.apiKey ? 'api key' : 'none (api.auth: none, loopback only)' });
      },
      stop: () =>
        new Promise<void>((r) => {
          metrics.stop();
          if (!server) return r();
          server.close(() => r());
          server.closeAllConnections();
        }),
    },
    {
      // systemd (Type=notify): ready once everything serves; the watchdog is petted while the event loop runs.
      name: 'systemd',
      start() {
        sd.ready(`HAProxy ${info.version}, API on ${cfg.api.listen}:${apiPort}`);
        const petEvery = sd.startWatchdog();
        if (petEvery) log.debug('systemd watchdog petted', { every_ms: petEvery });
      },
      stop() {
        if (reloading) sd.reloading();
        else sd.stopping();
        sd.close();
      },
    },
  ];

  let running: { stop(): Promise<void> };
  try {
    running = await startUnits(units, log);
  } catch (e) {
    await closeResources();
    throw e;
  }

  let stopped = false;
  return {
    cfg,
    log,
    applier,
    control,
    db: { writer, reader },
    certs,
    monitor,
    watchdog,
    notifications,
    remediation,
    apiPort,
    traffic,
    fleet,
    fleetActions,
    fleetJobs,
    fleetIncidents,
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      log.info(o.reloading ? 'haproxy-manager stopping its units for a reload' : 'haproxy-manager stopping');
      leaveHaproxyRunning = o.leaveHaproxyRunning ?? false;
      reloading = o.reloading ?? false;
      await running.stop();
      await closeResources();
      log.info('haproxy-manager stopped');
    },
  };
}
