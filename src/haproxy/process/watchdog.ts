/**
 * The HAProxy watchdog: every `haproxy.watchdog_interval` it runs the deep
 * check (master, workers, stats socket, every listener, an HTTP answer). A
 * failure is logged at error level; the second in a row (confirmed, so one
 * slow answer restarts nothing) is reported as a `haproxy-not-serving`
 * incident, on which the remediation policy acts (the shipped one restarts
 * HAProxy: a recorded action). Failures after that are the watchdog's own
 * to handle: a reload, then restarts (through systemd in production, directly
 * in managed mode, never a second master), with a doubling backoff between
 * actions. The supervisor in process.ts already restarts a master that died
 * (the watchdog waits while it does); this catches the rest (a frozen worker,
 * a listener gone, a socket that stopped answering). A master the supervisor
 * had to bring back is reported too, as one `haproxy-died` incident (one
 * notification, not a storm).
 */
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Finding } from '../../pipeline/types.js';
import { describe } from '../../errors.js';
import { durationMs } from '../../util/duration.js';
import { exponentialDelay } from '../../util/backoff.js';
import type { HaproxyControl } from './control.js';

export interface WatchdogDeps {
  cfg: Config;
  log: Logger;
  control: HaproxyControl;
  /** Opens or updates the watchdog's incident. */
  report: (f: Finding) => void;
  /** A validated reload (the applier's). */
  reload: () => Promise<unknown>;
}

/** The finding for a HAProxy the supervisor brought back. */
export function diedFinding(r: { reason: string; downMs: number }, now = Date.now()): Finding {
  return {
    rule: 'haproxy-died',
    category: 'lifecycle',
    severity: 'critical',
    subject: { type: 'server', value: 'haproxy' },
    time: now,
    count: 1,
    actions: [{ type: 'notify' }],
    escalate: false,
    sample: `${r.reason}; serving again after ${r.downMs} ms`,
  };
}

export function createWatchdog(d: WatchdogDeps) {
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  let failing = 0;
  let actions = 0;
  let nextActionAt = 0;
  let lastFailures: string[] = [];

  const tick = async () => {
    // The supervisor is already bringing HAProxy back: its report is the incident.
    if (running || d.control.recovering()) return;
    running = true;
    try {
      const r = await d.control.check();
      if (r.ok) {
        if (failing) d.log.info('HAProxy serving again', { after_checks: failing, actions });
        failing = 0;
        actions = 0;
        nextActionAt = 0;
        lastFailures = [];
        return;
      }
      failing++;
      lastFailures = r.failures;
      d.log.error('HAProxy watchdog: HAProxy is not serving', { failures: r.failures.join('; '), consecutive: failing });
      if (failing < 2) return;
      d.report({
        rule: 'haproxy-not-serving',
        category: 'watchdog',
        severity: 'critical',
        subject: { type: 'server', value: 'haproxy' },
        time: Date.now(),
        count: failing,
        actions: [{ type: 'notify' }],
        escalate: false,
        sample: r.failures.join('; '),
      });
      // The policy had the confirmed failure; from the next one on, the watchdog acts itself.
      if (failing < 3 || Date.now() < nextActionAt) return;
      const backoff = exponentialDelay(actions + 1, { baseMs: 5000, maxMs: 300_000 });
      nextActionAt = Date.now() + backoff;
      actions++;
      try {
        if (actions === 1 && !r.failures.some((f) => /master socket|no worker/.test(f))) {
          d.log.warn('HAProxy watchdog: reloading', { next_action_after_ms: backoff });
          await d.reload();
        } else {
          d.log.warn('HAProxy watchdog: restarting HAProxy', { next_action_after_ms: backoff });
          await d.control.restart();
        }
      } catch (e) {
        d.log.error('HAProxy watchdog action failed', { error: describe(e) });
      }
    } catch (e) {
      d.log.error('HAProxy watchdog check failed', { error: describe(e) });
    } finally {
      running = false;
    }
  };

  return {
    start() {
      d.control.onRecovered((r) => d.report(diedFinding(r)));
      timer = setInterval(() => void tick(), durationMs(d.cfg.haproxy.watchdog_interval));
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    tick,
    status: () => ({ failing, actions, failures: lastFailures }),
  };
}

export type Watchdog = ReturnType<typeof createWatchdog>;
