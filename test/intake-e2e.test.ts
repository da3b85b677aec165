/**
 * HAProxy's log intake, end to end on real HAProxy (2.6 and 3.0). Issue 10:
 * one UDP datagram from user `nobody` with a forged HAProxy line
 * (rip=198.51.100.77, a scanner's request) got that address blocked for an
 * hour. Now HAProxy's lines arrive through a ring forwarding to a unix
 * socket only the daemon's user can reach: real attacks are still seen and
 * blocked, forged lines (UDP, or a connection attempt by another user) are
 * never acted on, and /health says when the intake is broken.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, lstatSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor, sleep } from './helpers/harness.js';

const isRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
    if (input !== undefined) c.stdin?.end(input);
  });
}

/** The line an attacker would forge: HAProxy's format, a public address probing /.env with a scanner's UA. */
function forgedLine(ip: string, path: string): string {
  const now = new Date();
  const ts = `${String(now.getUTCDate()).padStart(2, '0')}/${now.toLocaleString('en', { month: 'short', timeZone: 'UTC' })}/${now.getUTCFullYear()}:${now.toISOString().slice(11, 23)}`;
  return `<134>1 ${now.toISOString()} - haproxy 4242 - - 127.0.0.1:40000 [${ts}] web shop/s1 0/0/0/1/1 404 120 - - ---- 1/1/0/0/0 0/0 {shop.test|sqlmap/1.7} {} "GET ${path} HTTP/1.1" rip=${ip} rid=x`;
}

function sendUdp(port: number, line: string): Promise<void> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.send(line, port, '127.0.0.1', () => {
      s.close();
      resolve();
    });
  });
}

for (const h of HAPROXIES) {
  test(`${h.name}: HAProxy's lines arrive on the owner-only socket and real attacks are blocked; forged lines on UDP and from another user never are`, async () => {
    const be = await startBackend('app');
    const udpPort = await freePort();
    // The UDP listener is configured too: with the intake on, whatever arrives there is forged.
    const t = await startTestDaemon(h.bin, { config: { monitor: { syslog: { address: '127.0.0.1', port: udpPort } } } });
    try {
      const socket = t.daemon.cfg.intake!.socket;
      assert.ok(lstatSync(socket).isSocket(), 'the intake socket exists');
      assert.equal(statSync(socket).mode & 0o777, 0o600);
      assert.equal(statSync(dirname(socket)).mode & 0o777, 0o700);
      const cfgText = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      assert.match(cfgText, /log ring@hm_intake /);
      assert.doesNotMatch(cfgText, /log 127\.0\.0\.1:\d+/, 'HAProxy does not log to UDP');

      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const viaProxy = (path: string, ip: string) => t.get('shop.test', path, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ip } });
      const blocked = async () => (await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string }[]>().map((b) => b.ip_address);

      // Forged: the same probe as a line, over UDP (any local user can), and straight to the socket as nobody.
      for (const path of ['/.env', '/.git/config', '/backup.sql', '/.aws/credentials']) await sendUdp(udpPort, forgedLine('198.51.100.77', path));
      if (isRoot) {
        const lines = ['/.env', '/.git/config', '/backup.sql'].map((p) => forgedLine('198.51.100.78', p)).join('\n') + '\n';
        const r = await run('runuser', ['-u', 'nobody', '--', 'socat', '-u', 'STDIN', `UNIX-CONNECT:${socket}`], lines);
        assert.notEqual(r.code, 0, `nobody could connect to the intake: ${r.out}`);
        assert.match(r.out, /Permission denied/);
      }

      // Real: the same probe through HAProxy reaches the rules through the intake and is blocked.
      assert.equal((await viaProxy('/', '198.51.100.23')).status, 200);
      for (const path of ['/.env', '/.git/config', '/backup.sql']) await viaProxy(path, '198.51.100.23');
      assert.ok(await waitFor(async () => (await viaProxy('/', '198.51.100.23')).status === 403, 10_000, 100), 'the real attacker is refused');

      type Status = { intake: { listening: boolean; forged_lines: number }; sources: { name: string; lines: number }[] };
      let status = (await t.api('GET', '/api/monitor/status')).json<Status>();
      // The block can come from the first probe's line, before HAProxy's lines of the later requests have arrived: wait for them.
      await waitFor(async () => {
        status = (await t.api('GET', '/api/monitor/status')).json<Status>();
        return status.sources.find((s) => s.name === 'haproxy')!.lines >= 4 && status.intake.forged_lines >= 4;
      }, 10_000, 100);
      assert.equal(status.intake.listening, true);
      assert.ok(status.intake.forged_lines >= 4, `forged lines counted: ${JSON.stringify(status.intake)}`);
      assert.ok(status.sources.find((s) => s.name === 'haproxy')!.lines >= 4, 'HAProxy lines arrived on the intake');
      await sleep(500);
      const list = await blocked();
      assert.ok(list.includes('198.51.100.23'), list.join(','));
      assert.ok(!list.includes('198.51.100.77') && !list.includes('198.51.100.78'), `a forged line got an address blocked: ${list.join(',')}`);
      const incidents = (await t.api('GET', '/api/incidents')).body;
      assert.doesNotMatch(incidents, /198\.51\.100\.7[78]/, 'forged lines open no incident');
      assert.ok(t.logs.some((l) => l.includes('lines on the UDP listener ignored')));
    } finally {
      await t.stop();
      await be.close();
    }
  });
}

test('the default daemon opens no UDP port: HAProxy lines arrive on the intake and /health is healthy', async () => {
  const be = await startBackend('app');
  const t = await startTestDaemon(HAPROXIES[0]!.bin);
  try {
    assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
    for (let i = 0; i < 5; i++) assert.equal((await t.get('shop.test', `/page-${i}`)).status, 200);
    assert.ok(
      await waitFor(async () => ((await t.api('GET', '/api/monitor/status')).json<{ sources: { name: string; lines: number }[] }>().sources.find((s) => s.name === 'haproxy')?.lines ?? 0) >= 5, 5000),
      'lines arrive',
    );
    assert.equal((await t.api('GET', '/health')).json<{ status: string }>().status, 'healthy');
    const status = (await t.api('GET', '/api/monitor/status')).json<{ sources: { name: string }[] }>();
    assert.deepEqual(status.sources.map((s) => s.name), ['haproxy'], 'no UDP listener unless configured');
  } finally {
    await t.stop();
    await be.close();
  }
});

test('/health is degraded while the intake cannot listen or a source fails, and recovers (logged)', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'hm-intake-'));
  const blocker = join(dir, 'not-a-dir');
  writeFileSync(blocker, 'x'); // the socket's directory cannot be created: a file is in the way
  const appLog = join(dir, 'app.log');
  mkdirSync(appLog); // the application's log is a directory: every read fails
  const t = await startTestDaemon(HAPROXIES[0]!.bin, {
    config: { monitor: { intake: { socket: join(blocker, 'haproxy.sock') }, sources: [{ name: 'app', type: 'file', path: appLog, format: 'text' }] } },
  });
  try {
    const health = async () => (await t.api('GET', '/health')).json<{ status: string; degraded?: string[] }>();
    const h1 = await health();
    assert.equal(h1.status, 'degraded', JSON.stringify(h1));
    assert.ok(h1.degraded!.some((r) => /cannot prepare the log intake .*not-a-dir/.test(r)), JSON.stringify(h1.degraded));
    assert.ok(h1.degraded!.some((r) => /log source app is failing/.test(r)), JSON.stringify(h1.degraded));
    assert.equal((await t.api('GET', '/health')).status, 200, 'degraded is still 200: HAProxy serves');
    // Fix both: the directory can be made, the file appears and gets a line.
    rmSync(blocker);
    rmSync(appLog, { recursive: true });
    writeFileSync(appLog, 'started\n');
    assert.ok(await waitFor(async () => (await health()).status === 'healthy', 15_000, 250), JSON.stringify(await health()));
    assert.ok(t.logs.some((l) => /log intake .* is listening again/.test(l)), 'the recovery is logged');
    assert.ok(existsSync(join(blocker, 'haproxy.sock')));
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
