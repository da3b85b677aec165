/**
 * Real traffic through a real HAProxy (2.6 and 3.0) managed by a real daemon:
 * routing, the default page, blocks at runtime without a reload, the real
 * client IP from trusted proxies only, rate limits that spoofed headers
 * cannot escape, server state, and the daemon bringing a killed HAProxy back.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor, mastersFor, type TestDaemon, type Backend } from './helpers/harness.js';

async function reloads(t: TestDaemon): Promise<number> {
  const p = (await t.daemon.control.master.showProc());
  assert.ok(p, 'show proc answers');
  return p.reloads;
}

for (const h of HAPROXIES) {
  describe(`${h.name}: routing and blocking`, () => {
    let t: TestDaemon;
    let a: Backend;
    let b: Backend;
    let w: Backend;
    before(async () => {
      [a, b, w] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('wild')]);
      t = await startTestDaemon(h.bin);
      for (const body of [
        domainBody('app.example.test', 'app', [a.port, b.port]),
        domainBody('*.example.test', 'wild', [w.port]),
        domainBody('deep.sub.example.test', 'deep', [b.port]),
      ]) {
        const r = await t.api('POST', '/api/domain', body);
        assert.equal(r.status, 201, r.body);
      }
    });
    after(async () => {
      await t.stop();
      await Promise.all([a.close(), b.close(), w.close()]);
    });

    test('exact hosts route to their servers, round robin, with or without a port in Host', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add((await t.get('app.example.test')).json<{ server: string }>().server);
      assert.deepEqual([...seen].sort(), ['a', 'b']);
      const withPort = await t.get(`APP.example.test:${t.httpPort}`);
      assert.equal(withPort.status, 200);
      assert.ok(['a', 'b'].includes(withPort.json<{ server: string }>().server));
    });

    test('wildcards match subdomains but not the apex, and exact hosts win', async () => {
      assert.equal((await t.get('x.example.test')).json<{ server: string }>().server, 'wild');
      assert.equal((await t.get('a.b.example.test')).json<{ server: string }>().server, 'wild');
      assert.equal((await t.get('deep.sub.example.test')).json<{ server: string }>().server, 'b');
      const apex = await t.get('example.test');
      assert.equal(apex.status, 404, 'a host no domain serves');
      assert.match(apex.body, /Site not configured/);
    });

    test('unknown hosts get the default page served by HAProxy, with 404 (haproxy.default_page.status)', async () => {
      const r = await t.get('nobody.invalid');
      assert.equal(r.status, 404);
      assert.match(r.headers['content-type'] ?? '', /text\/html/);
      assert.match(r.body, /Site not configured/);
    });

    test('servers receive the real client IP in headers HAProxy set, never the client\'s own', async () => {
      a.seen.length = 0;
      b.seen.length = 0;
      await t.get('app.example.test', '/h', { localAddress: '127.0.0.11', headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Client-IP': '6.6.6.6', 'X-Real-IP': '6.6.6.6', Forwarded: 'for=6.6.6.6', 'True-Client-IP': '6.6.6.6' } });
      const req = [...a.seen, ...b.seen].find((s) => s.path === '/h');
      assert.ok(req);
      assert.equal(req.headers['x-forwarded-for'], '127.0.0.11');
      assert.equal(req.headers['x-real-ip'], '127.0.0.11');
      assert.equal(req.headers['x-client-ip'], '127.0.0.11');
      assert.equal(req.headers['forwarded'], undefined);
      assert.equal(req.headers['true-client-ip'], undefined);
      assert.equal(req.headers['x-forwarded-proto'], 'http');
      assert.match(String(req.headers['x-request-reference']), /^[0-9a-f-]{36}$/);
    });

    // Loopback is never blocked (guardrail): the blocked clients here are public addresses behind a trusted proxy.
    test('a blocked client gets 403 at once with no reload, and is served again once unblocked', async () => {
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.12' })).status, 201);
      const as = (ip: string) => t.get('app.example.test', '/', { localAddress: '127.0.0.12', headers: { 'X-Forwarded-For': ip } });
      const r0 = await reloads(t);
      const add = await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.5', reason: 'test' });
      assert.equal(add.status, 201, add.body);
      assert.equal(add.json<{ runtime_map_updated: boolean }>().runtime_map_updated, true);
      const blocked = await as('203.0.113.5');
      assert.equal(blocked.status, 403);
      assert.match(blocked.body, /Access denied/);
      assert.equal((await as('203.0.113.6')).status, 200);
      assert.equal(await reloads(t), r0, 'no reload happened');
      // The block survives a reload (it is in the map file too).
      assert.equal((await t.api('GET', '/api/regenerate')).status, 200);
      assert.equal((await as('203.0.113.5')).status, 403);
      const dup = await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.5' });
      assert.equal(dup.status, 409);
      const del = await t.api('DELETE', '/api/blocked-ips', { ip_address: '203.0.113.5' });
      assert.equal(del.status, 200, del.body);
      assert.equal((await as('203.0.113.5')).status, 200);
      assert.equal((await t.api('DELETE', '/api/blocked-ips', { ip_address: '203.0.113.5' })).status, 404);
      // A loopback source cannot be blocked at all.
      const lo = await t.api('POST', '/api/blocked-ips', { ip_address: '127.0.0.5', force: true });
      assert.equal(lo.status, 403, lo.body);
      assert.equal((await t.get('app.example.test', '/', { localAddress: '127.0.0.5' })).status, 200);
      assert.equal((await t.api('DELETE', '/api/trusted-proxies', { cidr: '127.0.0.12' })).status, 200);
    });

    test('a CIDR block covers its range; one written with host bits is refused, not reduced', async () => {
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.12' })).status, 201);
      const as = (ip: string) => t.get('app.example.test', '/', { localAddress: '127.0.0.12', headers: { 'X-Forwarded-For': ip } });
      assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.114.0/24' })).status, 201);
      assert.equal((await as('203.0.114.77')).status, 403);
      assert.equal((await as('203.0.115.77')).status, 200);
      // A host-bits CIDR is refused when blocking (not reduced), and canonicalised when unblocking.
      assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.114.5/24' })).status, 400);
      assert.equal((await t.api('DELETE', '/api/blocked-ips', { ip_address: '203.0.114.5/24' })).status, 200, 'canonicalised to 203.0.114.0/24');
      assert.equal((await as('203.0.114.77')).status, 200);
      assert.equal((await t.api('DELETE', '/api/trusted-proxies', { cidr: '127.0.0.12' })).status, 200);
    });

    test('proxy headers count only from trusted proxies; X-Forwarded-For is walked from the right', async () => {
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10', note: 'lb' })).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.9' })).status, 201);
      assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.7' })).status, 201);
      assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '2001:db8::7' })).status, 201);
      const via = (localAddress: string, headers: Record<string, string>) => t.get('app.example.test', '/', { localAddress, headers });
      // From the trusted proxy: the right-most address is the client.
      assert.equal((await via('127.0.0.10', { 'X-Forwarded-For': '1.1.1.1, 203.0.113.7' })).status, 403);
      // The left-most is client-controlled: it must not be believed.
      assert.equal((await via('127.0.0.10', { 'X-Forwarded-For': '203.0.113.7, 1.1.1.1' })).status, 200);
      // A chain of trusted proxies is skipped.
      assert.equal((await via('127.0.0.10', { 'X-Forwarded-For': '203.0.113.7, 127.0.0.9' })).status, 403);
      // IPv6 clients behind a proxy are matched too.
      assert.equal((await via('127.0.0.10', { 'X-Forwarded-For': '2001:db8::7' })).status, 403);
      assert.equal((await via('127.0.0.10', { 'CF-Connecting-IP': '203.0.113.7' })).status, 403);
      assert.equal((await via('127.0.0.10', { 'X-Real-IP': '203.0.113.7' })).status, 403);
      // An unparsable right-most element falls back to the peer, never to what stands left of it.
      assert.equal((await via('127.0.0.10', { 'X-Forwarded-For': '203.0.113.7, garbage' })).status, 200);
      // The same headers from an untrusted peer are deleted.
      assert.equal((await via('127.0.0.11', { 'X-Forwarded-For': '203.0.113.7' })).status, 200);
      assert.equal((await via('127.0.0.11', { 'CF-Connecting-IP': '203.0.113.7' })).status, 200);
      const proxyReq = a.seen.concat(b.seen).at(-1);
      assert.equal(proxyReq?.headers['x-forwarded-for'], '127.0.0.11');
    });

    test('server state: maint takes a server out at once and stays out after a reload', async () => {
      const r = await t.api('POST', '/api/servers/state', { backend: 'app', server: 's1', state: 'maint' });
      assert.equal(r.status, 200, r.body);
      const servers = new Set<string>();
      for (let i = 0; i < 6; i++) servers.add((await t.get('app.example.test')).json<{ server: string }>().server);
      assert.deepEqual([...servers], ['b']);
      assert.equal((await t.api('GET', '/api/regenerate')).status, 200);
      for (let i = 0; i < 4; i++) assert.equal((await t.get('app.example.test')).json<{ server: string }>().server, 'b');
      assert.equal((await t.api('POST', '/api/servers/state', { backend: 'app', server: 's1', state: 'ready' })).status, 200);
      servers.clear();
      for (let i = 0; i < 6; i++) servers.add((await t.get('app.example.test')).json<{ server: string }>().server);
      assert.deepEqual([...servers].sort(), ['a', 'b']);
      assert.equal((await t.api('POST', '/api/servers/state', { backend: 'app', server: 'nope', state: 'drain' })).status, 404);
    });

    test('removing a domain serves the default page', async () => {
      assert.equal((await t.api('POST', '/api/domain', domainBody('gone.test', 'gone', [a.port]))).status, 201);
      assert.equal((await t.get('gone.test')).json<{ server: string }>().server, 'a');
      const d = await t.api('DELETE', '/api/domain', { domain: 'gone.test' });
      assert.equal(d.status, 200, d.body);
      assert.match((await t.get('gone.test')).body, /Site not configured/);
      assert.equal((await t.api('DELETE', '/api/domain', { domain: 'gone.test' })).status, 404);
    });

    test('a burst of changes is coalesced into fewer reloads, and every change lands', async () => {
      const r0 = await reloads(t);
      const res = await Promise.all(Array.from({ length: 10 }, (_, i) => t.api('POST', '/api/domain', domainBody(`burst${i}.test`, `burst${i}`, [a.port]))));
      for (const r of res) assert.equal(r.status, 201, r.body);
      const used = (await reloads(t)) - r0;
      assert.ok(used < 10, `10 changes took ${used} reloads`);
      for (let i = 0; i < 10; i++) assert.equal((await t.get(`burst${i}.test`)).status, 200);
    });

    test('an unresolvable server hostname does not stop HAProxy', async () => {
      const r = await t.api('POST', '/api/domain', { domain: 'dns.test', backend_name: 'dns', servers: [{ name: 's1', address: 'no-such-host.invalid', port: 80 }] });
      assert.equal(r.status, 201, r.body);
      assert.equal((await t.api('GET', '/health')).status, 200);
      assert.equal((await t.get('dns.test')).status, 503);
      assert.equal((await t.get('app.example.test')).status, 200);
    });

    test('/api/security/stats reports the tracked counters of real clients', async () => {
      for (let i = 0; i < 3; i++) await t.get('app.example.test', '/', { localAddress: '127.0.0.42' });
      const r = await t.api('GET', '/api/security/stats?min_req_rate=1&limit=100');
      assert.equal(r.status, 200, r.body);
      const s = r.json<{ sources: { ip: string; http_req_rate: number }[] }>().sources.find((x) => x.ip === '127.0.0.42');
      assert.ok(s, r.body);
      assert.ok(s.http_req_rate >= 3);
      assert.equal((await t.api('GET', '/api/security/stats?limit=0')).status, 400);
    });
  });

  describe(`${h.name}: rate limits and expiry`, () => {
    let t: TestDaemon;
    let a: Backend;
    before(async () => {
      a = await startBackend('a');
      t = await startTestDaemon(h.bin, {
        yaml: [
          'network:',
          '  local_ranges: ["192.0.2.0/24"]',
          'blocks:',
          '  expiry_schedule: "* * * * * *"',
        ].join('\n'),
      });
      // Thresholds are settings; lower them for the test through the config file's schema.
      assert.equal((await t.api('POST', '/api/domain', domainBody('rl.test', 'rl', [a.port]))).status, 201);
    });
    after(async () => {
      await t.stop();
      await a.close();
    });

    test('temporary blocks expire on schedule, at runtime and in the files; they never shorten or downgrade a block', async () => {
      // Loopback is never blocked: the clients are public addresses behind a trusted proxy.
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.52' })).status, 201);
      const as = (ip: string) => t.get('rl.test', '/', { localAddress: '127.0.0.52', headers: { 'X-Forwarded-For': ip } });
      const r = await t.api('POST', '/api/security/temporary-block', { ip_address: '203.0.113.50', duration_minutes: 5 });
      assert.equal(r.status, 201, r.body);
      assert.equal(r.json<{ created: boolean }>().created, true);
      assert.equal((await as('203.0.113.50')).status, 403);
      // Make it due: move its expiry into the past (the clock is the database's).
      t.daemon.db.writer.prepare(`UPDATE blocked_ips SET expires_at = '2000-01-01T00:00:00.000Z' WHERE ip_address = '203.0.113.50'`).run();
      assert.ok(await waitFor(async () => (await as('203.0.113.50')).status === 200, 5000), 'expired block removed by the scheduler');
      const list = (await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string }[]>();
      assert.equal(list.some((b) => b.ip_address === '203.0.113.50'), false);
      // A permanent block stays permanent when a temporary block is asked for.
      assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.51' })).status, 201);
      const tmp = await t.api('POST', '/api/security/temporary-block', { ip_address: '203.0.113.51', duration_minutes: 1 });
      assert.equal(tmp.status, 200, 'an existing block is kept (extended at most), not created');
      assert.deepEqual(tmp.json<{ permanent: boolean; created: boolean }>(), { ...tmp.json<object>(), permanent: true, created: false });
      const rows = (await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string; expires_at: string | null; blocked_by: string }[]>();
      const row = rows.find((b) => b.ip_address === '203.0.113.51');
      assert.equal(row?.expires_at, null);
    });

    test('a killed HAProxy makes /health fail, and the daemon brings it back without a second master', async () => {
      const before = (await t.daemon.control.master.showProc());
      assert.ok(before);
      process.kill(before.masterPid, 'SIGKILL');
      for (const w of before.workers) {
        try {
          process.kill(w.pid, 'SIGKILL');
        } catch {
          /* gone with the master */
        }
      }
      const down = await waitFor(async () => (await t.api('GET', '/health')).status === 503, 5000, 20);
      const back = await waitFor(async () => (await t.api('GET', '/health')).status === 200, 15000);
      assert.ok(back, 'HAProxy came back');
      assert.ok(down || back, 'health reflected the outage or recovered first');
      assert.equal((await t.get('rl.test')).status, 200);
      assert.equal(mastersFor(t.daemon.cfg.paths.masterSocket), 1, 'one master');
      assert.ok(t.logs.some((l) => /HAProxy master exited|not running; restarting/.test(l)));
    });
  });

  test(`${h.name}: rate limits apply per real client IP, v4 and v6, and spoofed headers do not escape them`, async () => {
    const a = await startBackend('a');
    const t = await startTestDaemon(h.bin, {
      haproxyYaml: ['  rate_limits:', '    tarpit_requests_10s: 20', '    deny_requests_10s: 20'].join('\n'),
      yaml: ['network:', '  local_ranges: ["192.0.2.0/24"]'].join('\n'),
    });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('rl.test', 'rl', [a.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) {
        statuses.push((await t.get('rl.test', '/', { localAddress: '127.0.0.60', headers: { 'X-Forwarded-For': `10.9.8.${i}` } })).status);
      }
      assert.ok(statuses.slice(0, 20).every((s) => s === 200), statuses.join(','));
      assert.ok(statuses.slice(21).every((s) => s === 429), statuses.join(','));
      // Another client is not affected.
      assert.equal((await t.get('rl.test', '/', { localAddress: '127.0.0.61' })).status, 200);
      // An IPv6 client behind the trusted proxy is tracked and limited too.
      const v6: number[] = [];
      for (let i = 0; i < 25; i++) v6.push((await t.get('rl.test', '/', { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '2001:db8::99' } })).status);
      assert.ok(v6.slice(21).every((s) => s === 429), v6.join(','));
      // A trusted address is exempt.
      assert.equal((await t.api('POST', '/api/trusted-ips', { ip_address: '2001:db8::99' })).status, 201);
      assert.equal((await t.get('rl.test', '/', { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '2001:db8::99' } })).status, 200);
    } finally {
      await t.stop();
      await a.close();
    }
  });
}
