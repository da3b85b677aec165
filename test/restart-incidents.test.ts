/**
 * A restart in the middle of an outage (issue 14): the incident the first
 * run opened is taken back by the next, the condition that goes on joins it,
 * and people are paged once. Before, a restart resolved every open incident
 * and the same outage paged again. Real HAProxy, real log intake, a real
 * webhook receiver; the daemon is stopped and started again on its state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXIES, startTestDaemon, domainBody, freePort, waitFor, type TestDaemon } from './helpers/harness.js';
import { startReceiver } from './notify/helpers.js';

const SECRET = 'restart-test-webhook-secret-0123456789';
const h = HAPROXIES[HAPROXIES.length - 1]!;

interface Row {
  id: number;
  rule: string;
  status: string;
  count: number;
}

test(`${h.name}: a restart during an outage keeps its incident open and pages once`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-restart-'));
  const hook = await startReceiver({ secret: SECRET });
  writeFileSync(join(dir, 'webhook-secret'), SECRET, { mode: 0o600 });
  // The application is failing: every answer a 503.
  const failing = http.createServer((_req, res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('down'));
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', () => r()));
  const failingPort = (failing.address() as { port: number }).port;
  const opts = {
    dir,
    httpPort: await freePort(),
    statsPort: await freePort(),
    config: {
      notifications: {
        channels: { hook: { type: 'webhook', url: hook.url, secret_file: join(dir, 'webhook-secret'), timeout: '3s' } },
        digest: { threshold: 100, window: '1m' },
        outbox: { concurrency: 2, poll_interval: '200ms', backoff_base: '200ms', backoff_max: '1s', give_up_after: '1h' },
      },
    },
  };
  const storm = async (t: TestDaemon) => {
    for (let i = 0; i < 60; i++) assert.equal((await t.get('down.test', `/page/${i}`)).status, 503);
  };
  const storms = async (t: TestDaemon) => (await t.api('GET', '/api/incidents?rule=backend-5xx-storm')).json<Row[]>();
  const opened = () =>
    [...hook.unique.values()].flatMap((r) => ((r.body as { events?: { kind: string; incident?: { id: number; rule: string } }[] }).events ?? [])).filter((e) => e.kind === 'opened' && e.incident?.rule === 'backend-5xx-storm');

  let t = await startTestDaemon(h.bin, opts);
  try {
    assert.equal((await t.api('POST', '/api/domain', domainBody('down.test', 'down', [failingPort]))).status, 201);
    await storm(t);
    assert.ok(await waitFor(async () => (await storms(t)).length === 1, 10_000), 'the storm opens an incident');
    const [first] = await storms(t);
    assert.ok(await waitFor(() => opened().length === 1, 10_000), 'and pages once');

    // Restart in the middle of it; the outage goes on.
    await t.daemon.stop();
    t = await startTestDaemon(h.bin, opts);
    assert.ok(t.logs.some((l) => /incidents left open by the previous run taken back/.test(l) && /restored=1/.test(l)), t.logs.join('\n'));
    // The rule's once_per hold and window came back too (a file in the state directory, 0600, removed once read).
    assert.ok(t.logs.some((l) => /rule windows taken back from the previous run/.test(l)), t.logs.join('\n'));
    assert.equal(existsSync(join(dir, 'state', 'triage-windows.json')), false);
    // once_per (10 minutes) holds the rule back: the storm goes on without a second report...
    await storm(t);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await storms(t))[0]!.count, first!.count, 'once_per still holds after the restart');
    // ...and the incident stays open (its quiet time has not passed) with no second page.
    const after = await storms(t);
    assert.equal(after.length, 1, 'one incident across the restart');
    assert.equal(after[0]!.id, first!.id);
    assert.equal(after[0]!.status, 'open');
    const mode = statSync(join(dir, 'state')).mode & 0o777;
    assert.equal(mode, 0o700);
    // Give the outbox time to send anything it would (it polls every 200 ms): still one page.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(opened().length, 1, 'one page across the restart');
    assert.deepEqual([...hook.unique.values()].flatMap((r) => ((r.body as { events?: { kind: string }[] }).events ?? []).map((e) => e.kind)).filter((k) => k === 'resolved'), [], 'never told resolved');
  } finally {
    await t.daemon.stop();
    await hook.close();
    failing.closeAllConnections();
    await new Promise((r) => failing.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
