/**
 * The apply path under faults, on real HAProxy 2.6 and 3.0: a reload that
 * fails after the check passed, a hung `haproxy -c`, a database that renders
 * an invalid config at start, a daemon restart with HAProxy still running,
 * systemd mode against an HAProxy the daemon did not start, CRUD round trips
 * and authentication.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, httpRequest, waitFor, mastersFor } from './helpers/harness.js';
import { createMaster, socketClient } from '../src/haproxy/runtime/index.js';

for (const h of HAPROXIES) {
  test(`${h.name}: a reload that fails after the check passed puts the last-known-good config back`, async () => {
    const a = await startBackend('a');
    const t = await startTestDaemon(h.bin);
    const busy = createServer();
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('keep.test', 'keep', [a.port]))).status, 201);
      const good = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      // A port already taken: `haproxy -c` does not bind, so only the reload can fail.
      const port = await freePort();
      await new Promise<void>((r) => busy.listen(port, '127.0.0.1', () => r()));
      const original = t.daemon.cfg.haproxy.http_port;
      t.daemon.cfg.haproxy.http_port = port;
      const r = await t.api('GET', '/api/regenerate');
      t.daemon.cfg.haproxy.http_port = original;
      assert.equal(r.status, 500, r.body);
      assert.equal(r.json<{ error: string }>().error, 'runtime');
      assert.match(r.json<{ message: string }>().message, /reload/i);
      assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), good, 'live config is the last-known-good one');
      assert.equal((await t.get('keep.test')).status, 200, 'HAProxy still serves the previous config');
      assert.equal((await t.api('GET', '/health')).status, 200);
      assert.ok(t.logs.some((l) => /reload failed; restoring the last-known-good/.test(l)));
      // And the next change works normally.
      assert.equal((await t.api('POST', '/api/domain', domainBody('next.test', 'next', [a.port]))).status, 201);
      assert.equal((await t.get('next.test')).status, 200);
    } finally {
      busy.close();
      await t.stop();
      await a.close();
    }
  });

  test(`${h.name}: a hung haproxy -c times out, the change is refused, and the API keeps answering`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-hang-'));
    const flag = join(dir, 'hang');
    const wrapper = join(dir, 'haproxy');
    // Fault injection at the edge: the real binary, except that `-c` hangs while the flag file exists.
    writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = "-c" ] && [ -e ${flag} ]; then sleep 60; fi\nexec ${h.bin} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const t = await startTestDaemon(wrapper, { haproxyYaml: '  command_timeout: 2s' });
    try {
      writeFileSync(flag, '');
      const t0 = Date.now();
      const pending = t.api('POST', '/api/domain', domainBody('hang.test', 'hang', [9]));
      // Meanwhile the API answers reads and health.
      const health = await t.api('GET', '/health');
      assert.equal(health.status, 200);
      assert.equal((await t.api('GET', '/api/domains')).status, 200);
      const r = await pending;
      assert.ok(Date.now() - t0 < 8000, 'bounded by the command timeout');
      // A check that does not finish is the server's fault (a 5xx), not the client's.
      assert.equal(r.status, 504, r.body);
      assert.match(r.body, /did not finish/);
      assert.deepEqual((await t.api('GET', '/api/domains')).json(), []);
      rmSync(flag);
      assert.equal((await t.api('POST', '/api/domain', domainBody('hang.test', 'hang', [9]))).status, 201);
    } finally {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${h.name}: a daemon restart adopts the running HAProxy (no second master); a database that renders an invalid config falls back to the last-known-good`, async () => {
    const a = await startBackend('a');
    const dir = mkdtempSync(join(tmpdir(), 'hm-restart-'));
    const ports = { httpPort: await freePort(), statsPort: await freePort() };
    let t = await startTestDaemon(h.bin, { dir, ...ports });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('stay.test', 'stay', [a.port]))).status, 201);
      const socket = t.daemon.cfg.paths.masterSocket;
      const pid = (await t.daemon.control.master.showProc())!.masterPid;
      await t.daemon.stop({ leaveHaproxyRunning: true });
      // Poison the database behind the daemon's back: a CA file that does not exist.
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(join(dir, 'state', 'haproxy-manager.db'));
      db.prepare(`UPDATE servers SET tls = 1, tls_ca_file = '/nonexistent/ca.pem'`).run();
      db.close();
      t = await startTestDaemon(h.bin, { dir, ...ports });
      assert.equal((await t.daemon.control.master.showProc())!.masterPid, pid, 'the same master was adopted');
      assert.equal(mastersFor(socket), 1);
      assert.ok(t.logs.some((l) => /does not pass the check/.test(l)));
      assert.ok(t.logs.some((l) => /last-known-good/.test(l)));
      assert.equal((await t.get('stay.test')).status, 200, 'the last-known-good config serves');
      assert.equal((await t.api('GET', '/health')).status, 200);
    } finally {
      await t.stop();
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${h.name}: systemd mode manages an HAProxy it did not start, through its master socket`, async () => {
    const a = await startBackend('a');
    const dir = mkdtempSync(join(tmpdir(), 'hm-systemd-'));
    const etc = join(dir, 'etc');
    const run = join(dir, 'run');
    mkdirSync(etc, { recursive: true });
    mkdirSync(run, { recursive: true });
    const port = await freePort();
    // What haproxy.service would be running: a master with -S, on a config of its own.
    writeFileSync(join(etc, 'haproxy.cfg'), `global\n  stats socket ${run}/admin.sock mode 600 level admin\ndefaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\nfrontend old\n  bind 127.0.0.1:${port}\n  http-request return status 200 content-type text/plain string old\n`);
    const master = spawn(h.bin, ['-W', '-S', `${run}/master.sock`, '-f', join(etc, 'haproxy.cfg')], { stdio: 'ignore' });
    try {
      assert.ok(await waitFor(async () => {
        try {
          return (await createMaster(socketClient(`${run}/master.sock`, 1000)).showProc()) !== null;
        } catch {
          return false;
        }
      }, 5000));
      const t = await startTestDaemon(h.bin, {
        yaml: 'mode: systemd',
        haproxyYaml: [`  config_path: ${etc}/haproxy.cfg`, `  master_socket: ${run}/master.sock`, `  stats_socket: ${run}/admin.sock`].join('\n'),
      }).catch((e) => {
        throw e;
      });
      try {
        // The harness picks its own http_port; the daemon rendered and reloaded the external master with it.
        assert.equal((await t.api('POST', '/api/domain', domainBody('sd.test', 'sd', [a.port]))).status, 201);
        assert.equal((await t.get('sd.test')).json<{ server: string }>().server, 'a');
        // Loopback is never blocked: the blocked client is a public address behind a trusted proxy.
        assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.78' })).status, 201);
        assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.77' })).status, 201);
        assert.equal((await t.get('sd.test', '/', { localAddress: '127.0.0.78', headers: { 'X-Forwarded-For': '203.0.113.77' } })).status, 403);
        assert.match(readFileSync(join(etc, 'haproxy.cfg'), 'utf8'), /Generated by haproxy-manager/);
        assert.equal(mastersFor(`${run}/master.sock`), 1);
        await t.stop();
        // Stopping the daemon leaves haproxy.service's HAProxy running.
        assert.ok((await createMaster(socketClient(`${run}/master.sock`, 1000)).showProc()));
        const still = await httpRequest({ port: t.httpPort, headers: { host: 'sd.test' } });
        assert.equal(still.status, 200);
      } finally {
        await t.stop();
      }
    } finally {
      master.kill('SIGTERM');
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('CRUD round trip: create, update, re-create and delete a domain change what is served', async () => {
  const h = HAPROXIES[0]!;
  const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  const t = await startTestDaemon(h.bin);
  try {
    assert.equal((await t.api('POST', '/api/domain', domainBody('crud.test', 'crud', [a.port]))).status, 201);
    assert.equal((await t.get('crud.test')).json<{ server: string }>().server, 'a');
    const upd = await t.api('POST', '/api/domain', { ...domainBody('crud.test', 'crud2', [b.port]), kind: 'long_lived' });
    assert.equal(upd.status, 200, upd.body);
    assert.equal((await t.get('crud.test')).json<{ server: string }>().server, 'b');
    const list = (await t.api('GET', '/api/domains')).json<{ domain: string; backend_name: string; template_override: string }[]>();
    assert.deepEqual(list.map((d) => [d.domain, d.backend_name, d.template_override]), [['crud.test', 'crud2', 'longlived']]);
    assert.doesNotMatch(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), /backend crud-backend/);
    assert.equal((await t.api('DELETE', '/api/domain', { domain: 'crud.test' })).status, 200);
    assert.match((await t.get('crud.test')).body, /Site not configured/);
    assert.equal((await t.api('POST', '/api/domain', domainBody('crud.test', 'crud', [a.port]))).status, 201);
    assert.equal((await t.get('crud.test')).json<{ server: string }>().server, 'a');
    // Another domain cannot take a backend that serves someone else.
    const clash = await t.api('POST', '/api/domain', domainBody('other.test', 'crud', [a.port]));
    assert.equal(clash.status, 409, clash.body);
    const audit = (await t.api('GET', '/api/audit?limit=20')).json<{ action: string; result: string; target: string }[]>();
    assert.ok(audit.some((e) => e.action === 'domain.delete' && e.result === 'ok' && e.target === 'crud.test'));
    assert.ok(audit.some((e) => e.action === 'domain.upsert' && e.result === 'failed' && e.target === 'other.test'));
    // The dry run shows the diff and changes nothing.
    const dry = await t.api('POST', '/api/domain?dry_run=true', domainBody('dry.test', 'dry', [a.port]));
    assert.equal(dry.status, 200);
    assert.match(dry.json<{ diff: string }>().diff, /\+dry\.test dry-backend/);
    assert.equal((await t.api('GET', '/api/config/diff')).body, '');
    assert.equal((await t.api('GET', '/api/domains')).json<unknown[]>().length, 1);
  } finally {
    await t.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('with an API key, everything but /health needs it, and a wrong key is refused', async () => {
  const key = 'k'.repeat(20) + '-test-key';
  const t = await startTestDaemon(HAPROXIES[0]!.bin, { env: { HAPROXY_MANAGER_API_KEY: key } });
  try {
    const raw = (path: string, auth?: string) => httpRequest({ port: t.apiPort, path, ...(auth ? { headers: { authorization: auth } } : {}) });
    assert.equal((await raw('/health')).status, 200);
    assert.equal((await raw('/api/domains')).status, 401);
    assert.equal((await raw('/api/domains', `Bearer ${key}x`)).status, 401);
    assert.equal((await raw('/api/domains', `Bearer ${key.slice(0, -1)}`)).status, 401);
    assert.equal((await raw('/api/domains', key)).status, 401);
    assert.equal((await raw('/api/domains', `Bearer ${key}`)).status, 200);
    assert.equal((await raw('/api/regenerate')).status, 401);
    assert.ok(!t.logs.some((l) => l.includes(key)), 'the key never appears in the log');
  } finally {
    await t.stop();
  }
});
