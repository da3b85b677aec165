/**
 * The HAProxy watchdog on real HAProxy 2.6 and 3.0: frozen workers (SIGSTOP:
 * the kernel still accepts connections, nothing answers) are detected by the
 * deep check, reported as an incident once confirmed, and HAProxy is
 * restarted by the shipped policy (a recorded action): serving again, with
 * one master.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor, mastersFor } from './helpers/harness.js';

for (const h of HAPROXIES) {
  test(`${h.name}: frozen workers are detected and HAProxy is restarted`, async () => {
    const be = await startBackend('a');
    const t = await startTestDaemon(h.bin, { config: { haproxy: { watchdog_interval: '300ms' } } });
    const frozen: number[] = [];
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('wd.test', 'wd', [be.port]))).status, 201);
      assert.deepEqual(await t.daemon.control.check(), { ok: true, failures: [] });
      const before = (await t.daemon.control.master.showProc())!;
      for (const w of before.workers) {
        process.kill(w.pid, 'SIGSTOP');
        frozen.push(w.pid);
      }
      const recovered = await waitFor(async () => {
        const p = await t.daemon.control.master.showProc().catch(() => null);
        if (!p || p.masterPid === before.masterPid) return false;
        return (await t.get('wd.test').catch(() => ({ status: 0 }))).status === 200;
      }, 40_000, 250);
      assert.ok(recovered, `recovered; log:\n${t.logs.filter((l) => /watchdog|restart/i.test(l)).join('\n')}`);
      assert.equal(mastersFor(t.daemon.cfg.paths.masterSocket), 1);
      assert.ok(t.logs.some((l) => /HAProxy watchdog: HAProxy is not serving .*stats/.test(l)));
      const incidents = (await t.api('GET', '/api/incidents')).json<{ rule: string; severity: string }[]>();
      assert.ok(incidents.some((i) => i.rule === 'haproxy-not-serving' && i.severity === 'critical'), JSON.stringify(incidents));
      assert.ok(await waitFor(() => t.daemon.watchdog.status().failing === 0, 10_000, 200), 'the watchdog sees HAProxy serving again');
      // The restart was the policy's, on the confirmed failure: a recorded action.
      const actions = (await t.api('GET', '/api/actions')).json<{ action: string; status: string; actor: string }[]>();
      assert.ok(actions.some((a) => a.action === 'restart_haproxy' && a.status === 'done' && a.actor === 'watchdog-restart'), JSON.stringify(actions));
    } finally {
      for (const pid of frozen) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* killed by the restart */
        }
      }
      await t.stop();
      await be.close();
    }
  });
}
