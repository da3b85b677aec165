/**
 * Applying changes to HAProxy: the only path by which the database and the
 * live HAProxy files change.
 *
 * Contract:
 * - One change at a time (a Lock). No SQLite transaction is ever open across
 *   an `await` (storage/db.ts): a change's mutation first runs inside a
 *   transaction that is rolled back at once, synchronously, only to read the
 *   candidate state (the render model, the list files; storage/transactions.ts
 *   holds these transaction shapes); the candidate is then
 *   rendered into the staging directory, checked with the real `haproxy -c`,
 *   the live files are swapped in as one unit, HAProxy reloads and the reload
 *   is verified; only then is the mutation run again and committed, in one
 *   short synchronous transaction. On any failure there is nothing in SQLite
 *   to undo, the previous files are back, HAProxy serves the previous config,
 *   and the caller gets HAProxy's own error text. Other units' writes are
 *   never part of a change's transaction. Every writer of the tables a change
 *   reads (domains, servers, lists, certificates) goes through this lock, so
 *   the mutation sees the same state both times.
 * - Config changes that arrive while one is applied are coalesced into one
 *   render and one reload. If that batch's check fails, each change is retried
 *   alone, so only the faulty one is refused.
 * - Runtime changes (blocks, trusted addresses, server state) take effect
 *   through the runtime API at once and are written to the files too, so a
 *   reload keeps them; when the runtime API cannot be used they fall back to a
 *   validated reload.
 * - The live files (maps, lists, pages, haproxy.cfg) are written as one unit
 *   (util/files.ts): all staged and fsynced beside their targets, then renamed;
 *   a full or read-only disk leaves every live file as it was and answers the
 *   `storage` error kind with the path.
 * - Every change is audited with its result, failures included; a change its
 *   mutation refuses as invalid input (a `validation` AppError, e.g. a route
 *   to a backend that does not exist) was never attempted and is not, like
 *   any other 400.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import type { Db } from '../../storage/db.js';
import type { Logger } from '../../log.js';
import { AppError, describe, ioError as toStorageError, isAppError } from '../../errors.js';
import { recordAudit } from '../../storage/audit.js';
import { commitNow, eachApart, speculate as speculateIn } from '../../storage/transactions.js';
import { durationMs } from '../../util/duration.js';
import { Lock } from '../../util/lock.js';
import { writeFileAtomic, writeFilesAsUnit, type UnitFile, type WrittenUnit } from '../../util/files.js';
import { run } from '../../util/exec.js';
import { render, type Rendered, type RenderModel } from './render.js';
import { loadModel } from './model.js';
import type { HaproxyControl } from '../process/control.js';
import type { HaproxyInfo } from '../process/version.js';

export interface ApplyResult {
  reloaded: boolean;
  /** False when the rendered files were already live (nothing to reload). */
  changed: boolean;
  reloadMs?: number;
  applyId: string;
  /** Set when HAProxy was not running: the files are valid and in place; it will start with them. */
  warning?: string;
}

export interface Change<T> {
  actor: string;
  action: string;
  target: string | null;
  detail?: unknown;
  /**
   * The database mutation: synchronous, and deterministic given the same
   * state, since it runs twice (once rolled back to build the candidate, once
   * committed after HAProxy took it). Throw an AppError to refuse the change.
   */
  mutate(db: Db): T;
}

interface Job {
  change: Change<unknown>;
  resolve: (v: { result: unknown; apply: ApplyResult }) => void;
  reject: (e: unknown) => void;
  result?: unknown;
}

export interface RuntimeChange<T> {
  actor: string;
  action: string;
  target: string | null;
  detail?: unknown;
  /** The database mutation; synchronous and deterministic (see Change.mutate). */
  mutate(db: Db): T;
  /** Map and list files to rewrite from the candidate database state: path relative to the generated directory -> text. */
  files(db: Db): Map<string, string>;
  /** The change shows in haproxy.cfg itself: render and check it, and write it without a reload. */
  rewritesConfig?: boolean;
  /** Runtime commands that make the change live at once, given mutate's result; they verify themselves. */
  runtime(control: HaproxyControl, result: T): Promise<void>;
  /**
   * A batch of like changes (blocks coalesced in a flood): the audit gets one
   * entry per item, with its own actor, target and detail, instead of one for
   * the change; the outcome (ok or the error) is the batch's.
   */
  each?: readonly { actor: string; target: string | null; detail?: unknown }[];
}

export interface RuntimeResult {
  /** True when the runtime API made the change live; false when a reload (or nothing, HAProxy being down) did. */
  runtimeApplied: boolean;
  reloaded: boolean;
  warning?: string;
}

export type ApplyPhase = 'check' | 'reload' | 'apply';
export type PhaseListener = (phase: ApplyPhase, ms: number, ok: boolean) => void;

export interface ApplierDeps {
  cfg: Config;
  db: Db;
  log: Logger;
  control: HaproxyControl;
  info: HaproxyInfo;
}

/**
 * A change refused because of what a client sent (bad input, a conflict, a
 * missing target, a candidate `haproxy -c` rejects): the client hears it as a
 * 4xx; the journal gets it at info, not as a failure of the daemon.
 */
function clientMistake(e: unknown): boolean {
  return isAppError(e) && ['validation', 'not_found', 'conflict', 'haproxy_check', 'policy_denied', 'forbidden'].includes(e.kind);
}

export class HaproxyCheckError extends AppError {
  constructor(output: string) {
    const alerts = output
      .split('\n')
      .filter((l) => /\[ALERT\]/.test(l))
      .map((l) => l.replace(/^\[ALERT\]\s+\(\d+\)\s*:\s*/, ''))
      .slice(0, 20);
    super('haproxy_check', `HAProxy rejected the configuration: ${alerts.join(' | ') || output.trim().slice(0, 1000)}`, { detail: { haproxy: alerts.length ? alerts : [output.trim().slice(0, 2000)] } });
  }
}

export function createApplier(deps: ApplierDeps) {
  const { cfg, db, log, control, info } = deps;
  const lock = new Lock();
  const timeoutMs = durationMs(cfg.haproxy.command_timeout);
  const pending: Job[] = [];
  let pumping = false;
  // Timings for the metrics page: each `haproxy -c`, reload and whole apply, with its outcome.
  const timings = new Set<PhaseListener>();
  const timed = async <T>(phase: ApplyPhase, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    let ok = false;
    try {
      const v = await fn();
      ok = true;
      return v;
    } finally {
      const ms = performance.now() - t0;
      for (const l of timings) {
        try {
          l(phase, ms, ok);
        } catch {
          // A listener is an observer; it never changes an apply's outcome.
        }
      }
    }
  };

  const livePath = (rel: string) => join(cfg.paths.generatedDir, rel);
  const lkgPath = (rel: string) => join(cfg.paths.lkgDir, 'files', rel);
  const lkgConfig = join(cfg.paths.lkgDir, 'haproxy.cfg');

  const speculate = <T>(fn: () => T): T => speculateIn(db, fn);
  const commit = <T>(fn: () => T): T => commitNow(db, fn);

  const modelNow = (): RenderModel => loadModel(db, cfg);
  const renderFor = (model: RenderModel, root: string): Rendered => render(cfg, info.features, model, root);

  /** `haproxy -c` on a file; throws HaproxyCheckError with HAProxy's own text. */
  const check = (file: string): Promise<void> =>
    timed('check', async () => {
      const r = await run(cfg.haproxy.binary, ['-c', '-f', file], { timeoutMs });
      if (r.timedOut) throw new AppError('timeout', `haproxy -c did not finish within ${timeoutMs} ms`);
      if (r.code !== 0) throw new HaproxyCheckError(r.stderr + r.stdout);
    });

  /** Renders a model into the staging directory and checks it; returns what the live files would be. */
  const stage = async (model: RenderModel): Promise<Rendered> => {
    const dir = cfg.paths.stagingDir;
    const stagedRoot = join(dir, 'files');
    const staged = renderFor(model, stagedRoot);
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      writeFilesAsUnit([...[...staged.files].map(([rel, text]) => ({ path: join(stagedRoot, rel), content: text })), { path: join(dir, 'haproxy.cfg'), content: staged.config }]).commit();
      ensureStatsFile();
    } catch (e) {
      throw ioError(e, 'staging the candidate configuration');
    }
    await check(join(dir, 'haproxy.cfg'));
    // The live config differs from the checked one only by the files' root: render once, swap the root.
    return { config: staged.config.split(`${stagedRoot}/`).join(`${cfg.paths.generatedDir}/`), files: staged.files };
  };

  const ensureStatsFile = () => {
    if (!info.features.statsFile) return;
    const f = join(cfg.paths.stateDir, 'haproxy-stats.dat');
    if (!existsSync(f)) writeFileAtomic(f, '');
  };

  const isLive = (r: Rendered): boolean => {
    const cur = existsSync(cfg.paths.configPath) ? readFileSync(cfg.paths.configPath, 'utf8') : null;
    if (cur !== r.config) return false;
    for (const [rel, text] of r.files) {
      const p = livePath(rel);
      if (!existsSync(p) || readFileSync(p, 'utf8') !== text) return false;
    }
    return true;
  };

  /** Writes files as one unit; file system failures become the `storage` kind. */
  /** A file system error as the `storage` kind, naming the file that failed (else what was being done). */
  const ioError = (e: unknown, what: string) => toStorageError(e, (e as NodeJS.ErrnoException | null)?.path ?? what);

  const writeUnit = (files: UnitFile[], what: string): WrittenUnit => {
    try {
      return writeFilesAsUnit(files);
    } catch (e) {
      throw ioError(e, what);
    }
  };

  const liveUnit = (r: Rendered): UnitFile[] => [...[...r.files].map(([rel, text]) => ({ path: livePath(rel), content: text })), { path: cfg.paths.configPath, content: r.config }];

  /** Keeps a configuration that runs as last-known-good. Best effort: HAProxy already runs it. */
  const saveLkg = (r: Rendered) => {
    try {
      writeFilesAsUnit([...[...r.files].map(([rel, text]) => ({ path: lkgPath(rel), content: text })), { path: lkgConfig, content: r.config }]).commit();
    } catch (e) {
      log.error('could not save the last-known-good configuration', { error: describe(ioError(e, 'saving the last-known-good configuration')) });
    }
  };

  const restoreLkg = (): boolean => {
    if (!existsSync(lkgConfig)) return false;
    const filesDir = join(cfg.paths.lkgDir, 'files');
    if (existsSync(filesDir)) {
      mkdirSync(cfg.paths.generatedDir, { recursive: true });
      cpSync(filesDir, cfg.paths.generatedDir, { recursive: true });
    }
    writeFileAtomic(cfg.paths.configPath, readFileSync(lkgConfig));
    return true;
  };

  /** Saves 3.0's counters so they survive the reload (stats-file). Best effort. */
  const dumpStats = async () => {
    if (!info.features.statsFile) return;
    try {
      writeFileAtomic(join(cfg.paths.stateDir, 'haproxy-stats.dat'), await control.runtime.stats.dumpStatsFile());
    } catch (e) {
      log.debug('could not dump the stats file', { error: describe(e) });
    }
  };

  /**
   * Reloads; on failure `restore` puts the previous files back (the unit's
   * rollback, or the last-known-good copy) and reloads them.
   */
  const reloadOrRestore = async (applyId: string, restore: () => boolean): Promise<{ reloaded: boolean; reloadMs?: number; warning?: string }> => {
    const st = await control.status();
    if (!st.serving && !st.masterPid) {
      return { reloaded: false, warning: `HAProxy is not running (${st.reason}); it will start with this configuration` };
    }
    await dumpStats();
    try {
      const r = await timed('reload', () => control.reload());
      log.notice('HAProxy reloaded', { apply_id: applyId, ms: r.durationMs });
      return { reloaded: true, reloadMs: r.durationMs };
    } catch (e) {
      log.error('HAProxy reload failed; restoring the last-known-good configuration', { apply_id: applyId, error: describe(e) });
      if (restore()) {
        try {
          await control.reload();
          log.warn('last-known-good configuration restored and reloaded', { apply_id: applyId });
        } catch (e2) {
          log.error('reloading the last-known-good configuration failed too', { apply_id: applyId, error: describe(e2) });
        }
      }
      throw e;
    }
  };

  /** Render, check, swap, reload, verify, keep as LKG. The caller holds the lock; no transaction is open. */
  const applyModel = (model: RenderModel, force: boolean): Promise<ApplyResult> => timed('apply', () => applyModelNow(model, force));
  const applyModelNow = async (model: RenderModel, force: boolean): Promise<ApplyResult> => {
    const applyId = randomUUID().slice(0, 8);
    const t0 = Date.now();
    const live = await stage(model);
    if (!force && isLive(live)) {
      log.debug('rendered configuration already live', { apply_id: applyId });
      return { reloaded: false, changed: false, applyId };
    }
    const unit = writeUnit(liveUnit(live), 'writing the live configuration');
    try {
      const r = await reloadOrRestore(applyId, () => {
        unit.rollback();
        return true;
      });
      unit.commit();
      saveLkg(live);
      log.info('configuration applied', { apply_id: applyId, ms: Date.now() - t0, reloaded: r.reloaded });
      return { changed: true, applyId, ...r };
    } catch (e) {
      unit.rollback();
      throw e;
    }
  };

  const audit = (c: { actor: string; action: string; target: string | null; detail?: unknown; each?: RuntimeChange<unknown>['each'] }, err: unknown | null) => {
    if (err instanceof AppError && err.kind === 'validation') return;
    const entry = (x: { actor: string; target: string | null; detail?: unknown }) =>
      recordAudit(db, { actor: x.actor, action: c.action, target: x.target, detail: x.detail, result: err ? 'failed' : 'ok', error: err ? describe(err) : null });
    try {
      if (c.each) db.transaction(() => c.each!.forEach(entry))();
      else entry(c);
    } catch (e) {
      log.error('could not write the audit log', { error: describe(e) });
    }
  };

  /** Applies a batch of config changes; the lock is held by the caller. */
  const applyBatch = async (batch: Job[]): Promise<void> => {
    const { ok, refused, model } = speculate(() => {
      const { ok, failed } = eachApart(db, batch, (job) => job.change.mutate(db));
      return { ok, refused: failed, model: ok.length ? modelNow() : null };
    });
    for (const r of refused) {
      audit(r.item.change, r.error);
      r.item.reject(r.error);
    }
    if (!model) return;
    let result: ApplyResult;
    try {
      result = await applyModel(model, false);
    } catch (e) {
      if (ok.length > 1 && isAppError(e) && e.kind === 'haproxy_check') {
        log.warn('a batch of changes failed the check; applying them one by one', { changes: ok.length });
        for (const job of ok) await applyBatch([job]);
        return;
      }
      for (const job of ok) {
        audit(job.change, e);
        job.reject(e);
      }
      log[clientMistake(e) ? 'info' : 'error']('change refused', { actions: ok.map((j) => j.change.action).join(','), error: describe(e) });
      return;
    }
    try {
      commit(() => {
        for (const job of ok) job.result = job.change.mutate(db);
      });
    } catch (e) {
      // Cannot happen while every writer of these tables holds the lock; if it
      // does, HAProxy runs a state the database does not hold: render the database again.
      log.error('committing an applied change failed; re-applying the stored state', { error: describe(e) });
      for (const job of ok) {
        audit(job.change, e);
        job.reject(ioError(e, 'storing the change'));
      }
      await applyModel(modelNow(), true).catch((e2) => log.error('re-applying the stored state failed', { error: describe(e2) }));
      return;
    }
    for (const job of ok) {
      audit(job.change, null);
      log.notice(`${job.change.action} applied`, { actor: job.change.actor, target: job.change.target ?? undefined, apply_id: result.applyId });
      job.resolve({ result: job.result, apply: result });
    }
  };

  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (pending.length) {
        const batch = pending.splice(0, pending.length);
        await lock.run(() => applyBatch(batch));
      }
    } finally {
      pumping = false;
    }
  };

  return {
    lock,

    /** A config change: committed only once HAProxy runs with it. */
    submit<T>(change: Change<T>): Promise<{ result: T; apply: ApplyResult }> {
      return new Promise((resolve, reject) => {
        pending.push({ change, resolve: resolve as Job['resolve'], reject });
        void pump();
      });
    },

    /** Renders from the database and applies, even when nothing changed (`force` reloads anyway). */
    regenerate(actor: string, force = false): Promise<ApplyResult> {
      return lock.run(async () => {
        const c = { actor, action: 'config.regenerate', target: null };
        try {
          const r = await applyModel(modelNow(), force);
          audit(c, null);
          return r;
        } catch (e) {
          audit(c, e);
          throw e;
        }
      });
    },

    /** A validated reload of the live files (the original's GET /api/reload, made safe). */
    reloadLive(actor: string): Promise<{ reloaded: boolean; reloadMs?: number; warning?: string }> {
      return lock.run(async () => {
        const c = { actor, action: 'haproxy.reload', target: null };
        try {
          await check(cfg.paths.configPath);
          const r = await reloadOrRestore(randomUUID().slice(0, 8), restoreLkg);
          audit(c, null);
          return r;
        } catch (e) {
          audit(c, e);
          throw e;
        }
      });
    },

    /** A runtime change (see RuntimeChange). */
    runtimeChange<T>(change: RuntimeChange<T>): Promise<{ result: T } & RuntimeResult> {
      return lock.run(async () => {
        let unit: WrittenUnit | null = null;
        try {
          const planned = speculate(() => ({
            result: change.mutate(db),
            files: change.files(db),
            model: change.rewritesConfig ? modelNow() : null,
          }));
          const writes: UnitFile[] = [];
          for (const [rel, text] of planned.files) writes.push({ path: livePath(rel), content: text }, { path: lkgPath(rel), content: text });
          if (planned.model) {
            const live = await stage(planned.model);
            writes.push({ path: cfg.paths.configPath, content: live.config }, { path: lkgConfig, content: live.config });
          }
          unit = writeUnit(writes, `writing the files of ${change.action}`);
          let runtimeApplied = false;
          let reloaded = false;
          let warning: string | undefined;
          const st = await control.status();
          if (st.masterPid) {
            try {
              await change.runtime(control, planned.result);
              runtimeApplied = true;
            } catch (e) {
              log.warn('runtime API change failed; falling back to a validated reload', { action: change.action, error: describe(e) });
              await check(cfg.paths.configPath);
              const u = unit;
              await reloadOrRestore(randomUUID().slice(0, 8), () => {
                u.rollback();
                return true;
              });
              reloaded = true;
            }
          } else {
            warning = `HAProxy is not running (${st.reason}); the change is in its files and takes effect when it starts`;
          }
          let result: T;
          try {
            result = commit(() => change.mutate(db));
          } catch (e) {
            throw ioError(e, `storing ${change.action}`);
          }
          unit.commit();
          audit(change, null);
          log.notice(`${change.action} applied`, { actor: change.actor, target: change.target ?? undefined, runtime: runtimeApplied, reloaded });
          return { result, runtimeApplied, reloaded, ...(warning ? { warning } : {}) };
        } catch (e) {
          unit?.rollback();
          audit(change, e);
          log[clientMistake(e) ? 'info' : 'error'](`${change.action} failed`, { actor: change.actor, target: change.target ?? undefined, error: describe(e) });
          throw e;
        }
      });
    },

    /**
     * At start: render from the database and make it live, falling back to the
     * last-known-good files when the render does not pass the check. Returns
     * whether the rendered config (true) or a fallback (false) is live.
     */
    async prepareStart(): Promise<{ fromDatabase: boolean; changed: boolean; error?: string }> {
      return lock.run(async () => {
        mkdirSync(dirname(cfg.paths.configPath), { recursive: true });
        try {
          const live = await stage(modelNow());
          const same = (path: string, text: string) => existsSync(path) && readFileSync(path, 'utf8') === text;
          const changed = !same(cfg.paths.configPath, live.config) || [...live.files].some(([rel, text]) => !same(livePath(rel), text));
          writeUnit(liveUnit(live), 'writing the live configuration').commit();
          saveLkg(live);
          return { fromDatabase: true, changed };
        } catch (e) {
          log.error('the configuration rendered from the database does not pass the check', { error: describe(e) });
          if (restoreLkg()) {
            log.warn('starting from the last-known-good configuration');
            return { fromDatabase: false, changed: true, error: describe(e) };
          }
          throw e;
        }
      });
    },

    /**
     * Renders what a change would produce, hands it to `inspect` and has
     * `haproxy -c` judge it: nothing is kept, nothing is reloaded, and no
     * transaction is open while the check runs.
     */
    dryRun<T>(mutate: (db: Db) => void, inspect: (rendered: Rendered) => T): Promise<{ value: T; check: { ok: boolean; haproxy?: string[] } }> {
      return lock.run(async () => {
        const { value, model } = speculate(() => {
          mutate(db);
          const model = modelNow();
          return { value: inspect(renderFor(model, cfg.paths.generatedDir)), model };
        });
        try {
          await stage(model);
          return { value, check: { ok: true } };
        } catch (e) {
          if (isAppError(e) && e.kind === 'storage') throw e;
          const lines = isAppError(e) && e.detail && typeof e.detail === 'object' && 'haproxy' in e.detail ? (e.detail as { haproxy: string[] }).haproxy : [describe(e)];
          return { value, check: { ok: false, haproxy: lines } };
        }
      });
    },

    /** Every live file beside its rendered counterpart, for previews and diffs. */
    liveFiles(): { config: string; files: Map<string, string> } {
      const files = new Map<string, string>();
      const r = renderFor(modelNow(), cfg.paths.generatedDir);
      for (const rel of r.files.keys()) {
        const p = livePath(rel);
        files.set(rel, existsSync(p) ? readFileSync(p, 'utf8') : '');
      }
      return { config: existsSync(cfg.paths.configPath) ? readFileSync(cfg.paths.configPath, 'utf8') : '', files };
    },

    /** For tests and the preview endpoint: what the database renders to now. */
    renderCurrent: (root = cfg.paths.generatedDir) => renderFor(modelNow(), root),
    check,
    /** Calls `listener` after each check, reload and apply with its duration and outcome; returns an unsubscribe. */
    observe(listener: PhaseListener): () => void {
      timings.add(listener);
      return () => timings.delete(listener);
    },
  };
}

export type Applier = ReturnType<typeof createApplier>;
