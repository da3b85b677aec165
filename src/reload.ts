/**
 * A reload (SIGHUP, `systemctl reload`): the configuration file, the rules,
 * the policy and the templates are read again, and the daemon's units start
 * again on them in this process. HAProxy is never restarted: a managed
 * master is left running and adopted again, and reloaded (gracefully) only
 * when the rendered files changed.
 *
 * Contract:
 * - Nothing is stopped until the new configuration passed every check start-up
 *   and `config check` make (the schema, the state directory, `haproxy -c` on
 *   what it renders, the rules, the policy, the channels' secrets). An invalid
 *   one is logged at err with its reasons and the running daemon goes on as it
 *   was.
 * - What only a restart can change (the mode and the paths: state_dir, the
 *   database, HAProxy's sockets and files) keeps its running value and is
 *   named at warning.
 * - The management API and the log intake pause for the time of the swap
 *   (HAProxy's ring holds its lines meanwhile); open incidents carry over
 *   (monitor.ts takes them back).
 * - If the new configuration passes the checks and still fails to start, the
 *   previous one is started again; if that fails too, the error is thrown
 *   (the caller exits and systemd restarts the service).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config/schema.js';
import { startDaemon, type Daemon } from './daemon.js';
import { describe } from './errors.js';
import { checkConfigIo } from './cli/config-check.js';
import { ConfigError } from './config/errors.js';

export interface ReloadOutcome {
  daemon: Daemon;
  /** True when the daemon now runs the new configuration. */
  applied: boolean;
  /** Top-level settings that changed and were applied. */
  changed: string[];
  /** Settings that changed in the file but need a restart (kept as they run). */
  kept: string[];
  /** Why the new configuration was refused (nothing changed). */
  errors: string[];
}

/** Settings whose change only a restart applies: the running value is kept. */
const RESTART_ONLY: readonly (keyof Config)[] = ['mode', 'paths'];

/** The top-level sections that differ between two configurations (the derived `paths`, `source` and the resolved API key aside). */
export function changedSections(a: Config, b: Config): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof Config)[]);
  return [...keys].filter((k) => k !== 'source' && k !== 'apiKey' && !RESTART_ONLY.includes(k) && !isDeepStrictEqual(a[k], b[k])).sort();
}

export async function reloadDaemon(current: Daemon, load: () => Config): Promise<ReloadOutcome> {
  const log = current.log;
  log.notice('reload requested: reading the configuration, rules, policy and templates again');
  let next: Config;
  try {
    next = load();
  } catch (e) {
    const errors = e instanceof ConfigError ? e.lines : [describe(e)];
    log.error('reload refused: the configuration is invalid; the running one stays', { errors: errors.join(' | ') });
    return { daemon: current, applied: false, changed: [], kept: [], errors };
  }
  const kept = RESTART_ONLY.filter((k) => !isDeepStrictEqual(current.cfg[k], next[k]));
  const effective: Config = { ...next, mode: current.cfg.mode, paths: current.cfg.paths };
  const report = await checkConfigIo(effective);
  if (!report.ok) {
    log.error('reload refused: the new configuration does not pass the checks; the running one stays', { errors: report.errors.join(' | ') });
    return { daemon: current, applied: false, changed: [], kept: [], errors: report.errors };
  }
  if (kept.length) log.warn('reload: these settings changed but only a restart applies them; they keep their running values', { settings: kept.join(',') });
  const changed = changedSections(current.cfg, effective);
  await current.stop({ leaveHaproxyRunning: true, reloading: true });
  try {
    const daemon = await startDaemon(effective, { reloading: true });
    daemon.log.notice('reload done', { changed: changed.join(',') || 'nothing in the file (rules, policy and templates read again)', ...(kept.length ? { restart_needed: kept.join(',') } : {}) });
    return { daemon, applied: true, changed, kept, errors: [] };
  } catch (e) {
    log.error('reload failed: the new configuration passed the checks but did not start; starting the previous one again', { error: describe(e) });
    const daemon = await startDaemon(current.cfg, { reloading: true });
    daemon.log.warn('running the previous configuration after a failed reload');
    return { daemon, applied: false, changed: [], kept, errors: [describe(e)] };
  }
}
