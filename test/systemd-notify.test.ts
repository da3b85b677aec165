/**
 * The sd_notify protocol against a real unix datagram socket standing in for
 * systemd's (systemd itself cannot run here): READY, WATCHDOG at half the
 * interval, STATUS, STOPPING; nothing at all without NOTIFY_SOCKET.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSdNotify } from '../src/systemd/notify.js';

const require = createRequire(import.meta.url);
const unix = require('unix-dgram') as { createSocket(t: 'unix_dgram', cb: (msg: Buffer) => void): { bind(p: string): void; close(): void; on(e: string, cb: () => void): void } };

test('READY, WATCHDOG at half the interval, STATUS and STOPPING reach the notify socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-notify-'));
  const path = join(dir, 'notify.sock');
  const got: string[] = [];
  const server = unix.createSocket('unix_dgram', (m) => got.push(m.toString()));
  server.bind(path);
  try {
    const n = createSdNotify({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) });
    assert.equal(n.enabled, true);
    n.ready('serving');
    assert.equal(n.startWatchdog(), 100);
    await new Promise((r) => setTimeout(r, 350));
    n.status('3 incidents open');
    n.stopping();
    await new Promise((r) => setTimeout(r, 50));
    n.close();
    assert.match(got[0]!, /^READY=1\nMAINPID=\d+\nSTATUS=serving$/);
    const pets = got.filter((m) => m === 'WATCHDOG=1').length;
    assert.ok(pets >= 3 && pets <= 6, `pets: ${pets}`);
    assert.ok(got.includes('STATUS=3 incidents open'));
    // Pets may still land until close(); nothing else follows STOPPING.
    assert.equal(got.filter((m) => m !== 'WATCHDOG=1').at(-1), 'STOPPING=1');
    // A watchdog meant for another process is not petted.
    const other = createSdNotify({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' });
    assert.equal(other.startWatchdog(), null);
    other.close();
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without NOTIFY_SOCKET nothing is sent and nothing fails', () => {
  const n = createSdNotify({});
  assert.equal(n.enabled, false);
  n.ready();
  n.stopping();
  assert.equal(n.startWatchdog(), null);
});
