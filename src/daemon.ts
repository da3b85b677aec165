/**
 * The composition root: config -> database -> HAProxy control -> applier ->
 * schedules -> API, started in that order and stopped in reverse. Nothing
 * else wires units together.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import cron from 'node-cron';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './log.js';
import { openDatabase } from './storage/db.js';
import { detectHaproxy, protections } from './haproxy/version.js';
import { createControl, type HaproxyControl } from './haproxy/process.js';
import { createApplier, type Applier } from './haproxy/apply.js';
import { createApp } from './api/app.js';
import { clearExpired } from './ops/ip-lists.js';
import { blocked } from './storage/ip-lists.js';
import { actions as actionStore } from './storage/actions.js';
import { describe } from './errors.js';
import type { Db } from './storage/db.js';
import { startResponder } from './certs/responder.js';
import { createAcme, directoryUrl } from './certs/acme.js';
import { createAri } from './certs/ari.js';
import { createCertService, type CertService } from './certs/service.js';
import { scheduleRenewal } from './certs/renewal.js';
import { createMonitor, protectedAddresses, type Monitor } from './pipeline/monitor.js';
import { loadPolicy, SHIPPED_POLICY_FILE } from './pipeline/policy/load.js';
import { createRemediation } from './ops/remediation.js';
import { createEscalation } from './ops/escalation.js';
import { actedEvent } from './notify/acted.js';

import { createNotifier } from './systemd/notify.js';
import { createWatchdog, type Watchdog } from './haproxy/watchdog.js';
import { createNotifications } from './notify/service.js';
import { hostname } from 'node:os';

export interface Daemon {
  cfg: Config;
  log: Logger;
  applier: Applier;
  control: HaproxyControl;
  db: { writer: Db; reader: Db };
  certs: CertService;
  monitor: Monitor;
  watchdog: Watchdog;
  /** The API's bound port (useful when configured as 0). */
  apiPort: number;
  stop(opts?: { leaveHaproxyRunning?: boolean }): Promise<void>;
}

export async function startDaemon(cfg: Config, opts: { log?: Logger } = {}): Promise<Daemon> {
  const log = opts.log ?? createLogger({ level: cfg.log.level, format: cfg.log.format });
  log.info('haproxy-manager starting', { mode: cfg.mode, config: cfg.source ?? '(defaults)', state_dir: cfg.paths.stateDir });
  for (const d of [cfg.paths.stateDir, cfg.paths.runDir, cfg.paths.lkgDir]) mkdirSync(d, { recursive: true, mode: 0o700 });

  const info = await detectHaproxy(cfg.haproxy.binary);
  const inactive = protections(info).filter((p) => !p.active);
  log.info('HAProxy detected', { version: info.version, binary: info.binary, ...(inactive.length ? { inactive: inactive.map((p) => p.name).join(',') } : {}) });

  const db = openDatabase(cfg.paths.database);
  // What start-up opened, undone in reverse if a later step fails (a failed start leaves nothing running).
  const undo: (() => unknown)[] = [() => db.reader.close(), () => db.writer !== db.reader && db.writer.close()];
  try {
    const control = createControl(cfg, log.child({ unit: 'haproxy' }));
    const applier = createApplier({ cfg, db: db.writer, log: log.child({ unit: 'apply' }), control, info });
    const ops = { cfg, applier };

    const responder = await startResponder(cfg.acme.challenge_port);
    undo.push(() => responder.close());
    const acme = createAcme({ cfg, log: log.child({ unit: 'acme' }), responder });
    const ari = createAri(directoryUrl(cfg), log.child({ unit: 'acme' }));
    const certs = createCertService({ cfg, log: log.child({ unit: 'certs' }), db: db.writer, reader: db.reader, applier, acme, ari });
    await certs.ensureSelfSigned();

    const prep = await applier.prepareStart();
    if (!prep.fromDatabase) log.warn('HAProxy runs the last-known-good configuration until the database renders a valid one', { error: prep.error });
    const wasRunning = (await control.status()).masterPid !== undefined;
    undo.push(() => control.stop());
    await control.start();
    if (wasRunning) {
      // An adopted master (managed) or haproxy.service (systemd) still runs the old files.
      try {
        await applier.reloadLive('daemon');
      } catch (e) {
        log.error('could not reload HAProxy with the rendered configuration', { error: describe(e) });
      }
    }

    // Blocks are lifted on time: a cheap indexed check every second (the
    // operator's expiry_schedule also runs the job). The daemon's own block
    // actions on lifted addresses are marked expired.
    let expiring = false;
    const expireJob = async () => {
      if (expiring || blocked.expired(db.reader, new Date().toISOString()).length === 0) return;
      expiring = true;
      try {
        const r = await clearExpired(ops, 'scheduler');
        const marked = actionStore.markExpired(db.writer, r.result, Date.now());
        log.info('expired blocks removed', { count: r.result.length, ips: r.result.slice(0, 20).join(','), ...(marked.length ? { actions: marked.map((a) => a.id).join(',') } : {}) });
      } catch (e) {
        log.error('removing expired blocks failed', { error: describe(e) });
      } finally {
        expiring = false;
      }
    };
    await expireJob();
    const task = cron.schedule(cfg.blocks.expiry_schedule, () => void expireJob(), { noOverlap: true });
    const expiryTimer = setInterval(() => void expireJob(), 1000);
    expiryTimer.unref();
    undo.push(() => clearInterval(expiryTimer));
    const renewal = scheduleRenewal(cfg, log.child({ unit: 'renewal' }), certs);
    undo.push(() => task.stop(), () => renewal.stop());

    const notifications = createNotifications({ db: db.writer, config: cfg.notifications, log, source: hostname() });
    notifications.start();
    undo.push(() => notifications.stop());
    const policy = loadPolicy({ file: SHIPPED_POLICY_FILE, operatorFile: cfg.monitor.policy_file });
    log.info('remediation policy loaded', { file: policy.path, rules: policy.policy.rules.length, simulation: policy.policy.simulation });
    const remediation = createRemediation({
      cfg,
      log: log.child({ unit: 'actions' }),
      writer: db.writer,
      reader: db.reader,
      ops,
      control,
      policy: policy.policy,
      isProtected: protectedAddresses(cfg, db.reader),
      onActed: (round) => notifications.notifier.notify(actedEvent(round, db.reader), { db: db.writer }),
    });
    const escalation = createEscalation({ cfg, log: log.child({ unit: 'analysis' }), writer: db.writer, reader: db.reader, policy: policy.policy, remediation, control });
    undo.push(() => escalation.stop());
    log.info('LLM analysis', { enabled: cfg.analysis.enabled, ...(cfg.analysis.enabled ? { model: cfg.analysis.fast.model, strong: cfg.analysis.strong?.model ?? 'none', triggers: policy.policy.analyse.filter((a) => a.enabled).map((a) => a.name).join(',') } : {}) });
    const monitor = createMonitor({
      cfg,
      log: log.child({ unit: 'monitor' }),
      writer: db.writer,
      reader: db.reader,
      onStateChange: (kind, inc) => {
        notifications.notifier.incident(kind, inc, { db: db.writer });
        if (kind !== 'resolved') void remediation.onIncident(inc);
        escalation.onIncident(kind, inc);
      },
    });
    undo.push(() => monitor.stop());
    await monitor.start();

    // A HAProxy the supervisor had to bring back is one incident (and one notification), not a storm.
    control.onRecovered((r) =>
      monitor.report({
        rule: 'haproxy-died',
        category: 'lifecycle',
        severity: 'critical',
        subject: { type: 'server', value: 'haproxy' },
        time: Date.now(),
        count: 1,
        actions: [{ type: 'notify' }],
        escalate: false,
        sample: `${r.reason}; serving again after ${r.downMs} ms`,
      }),
    );
    const watchdog = createWatchdog({ cfg, log: log.child({ unit: 'watchdog' }), control, report: (f) => monitor.report(f), reload: () => applier.reloadLive('watchdog') });
    watchdog.start();
    undo.push(() => watchdog.stop());

    const app = createApp({ cfg, reader: db.reader, applier, control, info, log, ops, certs, monitor, notifications, remediation, escalation });
    const server: Server = await new Promise((resolve, reject) => {
      const s = app.listen(cfg.api.port, cfg.api.listen, () => resolve(s));
      s.on('error', reject);
    });
    server.requestTimeout = 120_000;
    const addr = server.address();
    const apiPort = typeof addr === 'object' && addr ? addr.port : cfg.api.port;
    log.info('management API listening', { address: cfg.api.listen, port: apiPort, auth: cfg.apiKey ? 'api key' : 'none (loopback only)' });

    // systemd (Type=notify): ready once everything serves; the watchdog is petted while the event loop runs.
    const notifier = createNotifier(process.env, (e) => log.warn('sd_notify failed', { error: e.message }));
    notifier.ready(`HAProxy ${info.version}, API on ${cfg.api.listen}:${apiPort}`);
    const petEvery = notifier.startWatchdog();
    if (petEvery) log.debug('systemd watchdog petted', { every_ms: petEvery });

    let stopped = false;
    return {
      cfg,
      log,
      applier,
      control,
      db,
      certs,
      monitor,
      watchdog,
      apiPort,
      async stop(o = {}) {
        if (stopped) return;
        stopped = true;
        log.info('haproxy-manager stopping');
        notifier.stopping();
        await task.stop();
        clearInterval(expiryTimer);
        await renewal.stop();
        watchdog.stop();
        await monitor.stop();
        await escalation.stop();
        await notifications.stop();
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        await applier.lock.run(() => undefined);
        await control.stop({ leaveRunning: o.leaveHaproxyRunning ?? false });
        await responder.close();
        notifier.close();
        db.reader.close();
        if (db.writer !== db.reader) db.writer.close();
        log.info('haproxy-manager stopped');
      },
    };
  } catch (e) {
    for (const u of undo.reverse()) {
      try {
        await u();
      } catch {
        // Best effort: the start-up error is what the caller needs.
      }
    }
    throw e;
  }
}
