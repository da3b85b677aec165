/**
 * The notifications unit running live (real timers, the poll loop): an
 * incident's state changes reach a signed webhook receiver that is down at
 * first, once each, and the unit stops cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { notificationsSchema } from '../../src/config/notifications.js';
import { createNotifications } from '../../src/pipeline/notify/service.js';
import { freePort, incident, openTestDb, startReceiver } from './helpers.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('live: opened, acted, resolved reach a receiver that comes up late, once each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-notify-live-'));
  writeFileSync(join(dir, 'secret'), 'live-secret\n');
  const port = await freePort();
  const config = notificationsSchema.parse({
    channels: { hook: { type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret_file: join(dir, 'secret'), timeout: '1s' } },
    routes: [{ min_severity: 'medium', channels: ['hook'] }],
    outbox: { concurrency: 2, poll_interval: '50ms', backoff_base: '50ms', backoff_max: '200ms', give_up_after: '1h' },
  });
  const { writer: db, close } = openTestDb();
  const unit = createNotifications({ db, config, log: silentLogger, source: 'edge-1' });
  unit.start();
  let rx: Awaited<ReturnType<typeof startReceiver>> | null = null;
  try {
    const inc = incident({ id: 11 });
    // In the caller's transaction, as the incident store would do it.
    db.transaction(() => unit.notifier.incident('opened', inc, { db }))();
    unit.notifier.incident('acted', inc, { detail: 'blocked 203.0.113.7 for 1h' });
    unit.notifier.incident('resolved', { ...inc, status: 'resolved', resolvedAt: Date.now() });
    unit.notifier.incident('opened', incident({ id: 12, severity: 'low' })); // not routed
    await until(() => unit.stats().failedAttempts >= 3);
    rx = await startReceiver({ secret: 'live-secret', port });
    await until(() => unit.stats().delivered === 3);
    assert.equal(rx.all.length, 3);
    assert.deepEqual(rx.all.map((r) => (r.body as { kind: string }).kind).sort(), ['acted', 'opened', 'resolved']);
    assert.equal(rx.rejected.length, 0);
    assert.equal(unit.stats().pending, 0);
  } finally {
    await unit.stop();
    await rx?.close();
    close();
    rmSync(dir, { recursive: true, force: true });
  }
});
