/**
 * Per-site options through real HAProxy 2.6 and 3.0, asserted on what a
 * client and the backends see (issue 13): path routes (exact first, the
 * longest prefix next, prefix stripping, the rest to the site's backend),
 * access by the real client IP (deny, allow, trusted only; both families),
 * basic auth (crypt hashes in a userlist, for some paths), redirect sites,
 * compression, maintenance mode switched at runtime without a reload, and
 * custom error pages. Hashes never leave the API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import http from 'node:http';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, type HttpResult } from './helpers/harness.js';

/** A raw request returning the body's bytes (compression is checked on them). */
function rawGet(port: number, host: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host, ...headers }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const pathSeen = (r: HttpResult) => r.json<{ server: string; path: string }>();

for (const h of HAPROXIES) {
  test(`${h.name}: path routes, access, basic auth, redirect sites, compression, maintenance and error pages, as clients see them`, async () => {
    const shop = await startBackend('shop');
    const api = await startBackend('api');
    const v2 = await startBackend('v2');
    const closed = await freePort();
    const t = await startTestDaemon(h.bin);
    try {
      const post = async (body: unknown, status = 201) => {
        const r = await t.api('POST', '/api/domain', body);
        assert.equal(r.status, status, r.body);
        return r;
      };
      await post(domainBody('api.test', 'api', [api.port]));
      await post(domainBody('v2.test', 'v2', [v2.port]));
      await post({
        ...domainBody('shop.test', 'shop', [shop.port]),
        routes: [
          { path: '/api', backend: 'api', strip_prefix: true },
          { path: '/api/v2', backend: 'v2' },
          { path: '/exact', match: 'exact', backend: 'v2' },
        ],
        access: {
          deny: ['198.51.100.0/24', '2001:db8:bad::/48'],
          auth: { realm: 'Staff only', users: [{ name: 'alice', password: 'correct horse' }, { name: 'bob', password_hash: '$6$saltsalt$w4JRS/rzf33ha13fW3n.44FLfJzgVCHUkebD.iMpeDxki4R8KJaWd/GtcSbAlMDBZd2LX1HOdeAoqhucRq3yI.' }], paths: ['/admin'] },
        },
        compression: { enabled: true },
      });
      await post({ ...domainBody('private.test', 'private', [shop.port]), access: { allow: ['203.0.113.0/24', '2001:db8:1::/48'] } });
      await post({ ...domainBody('staff.test', 'staff', [shop.port]), access: { trusted_only: true } });
      await post({ ...domainBody('old.test', 'old', []), redirect: { to: 'https://new.example/base/', code: 308 } });
      await post({ ...domainBody('promo.test', 'promo', []), redirect: { to: 'https://new.example/landing?from=promo', keep_path: false } });
      await post({ ...domainBody('maint.test', 'maint', [shop.port]), maintenance: { enabled: true, retry_after: 120 } });
      await post({ ...domainBody('down.test', 'down', [closed]), error_pages: { '503': '<h1>We will be right back</h1>' } });
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const from = (ip: string, host: string, path = '/', headers: Record<string, string> = {}) =>
        t.get(host, path, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ip, ...headers } });

      // --- Path routes: exact, then the longest prefix; stripping; the rest to the site's backend.
      const routed = async (path: string) => {
        const r = await t.get('shop.test', path);
        assert.equal(r.status, 200, `${path}: ${r.body}`);
        return pathSeen(r);
      };
      const stripped = await routed('/api/users?id=7');
      assert.deepEqual([stripped.server, stripped.path], ['api', '/users?id=7'], 'prefix stripped, query kept');
      assert.equal((await routed('/api')).path, '/', 'the bare prefix becomes /');
      assert.equal((await routed('/api')).server, 'api');
      assert.deepEqual([(await routed('/api/v2/items')).server, (await routed('/api/v2/items')).path], ['v2', '/api/v2/items'], 'the longer prefix wins, unstripped');
      assert.equal((await routed('/api/v2')).server, 'v2');
      assert.equal((await routed('/apix')).server, 'shop', '"/api" does not cover "/apix"');
      assert.equal((await routed('/exact')).server, 'v2');
      assert.equal((await routed('/exact/below')).server, 'shop', 'an exact route covers only its path');
      assert.equal((await routed('/')).server, 'shop');
      assert.equal((await t.get('api.test', '/api/users')).json<{ path: string }>().path, '/api/users', "another site's own traffic is untouched");

      // --- Access: deny by range in both families, on the real client IP; the ACME path stays open.
      assert.equal((await from('198.51.100.7', 'shop.test')).status, 403);
      assert.equal((await from('2001:db8:bad::1', 'shop.test')).status, 403);
      assert.equal((await from('203.0.113.9', 'shop.test')).status, 200);
      assert.notEqual((await from('198.51.100.7', 'shop.test', '/.well-known/acme-challenge/x')).status, 403);
      assert.equal((await from('198.51.100.7', 'api.test')).status, 200, 'the deny list is the site\'s only');
      // Allow list: only those ranges.
      assert.equal((await from('203.0.113.9', 'private.test')).status, 200);
      assert.equal((await from('2001:db8:1::5', 'private.test')).status, 200);
      assert.equal((await from('192.0.2.1', 'private.test')).status, 403);
      assert.equal((await t.get('private.test', '/')).status, 403, 'the proxy itself is not on the allow list');
      // Trusted only: refused until the address is trusted (at runtime), then admitted.
      assert.equal((await from('192.0.2.50', 'staff.test')).status, 403);
      assert.equal((await t.api('POST', '/api/trusted-ips', { ip_address: '192.0.2.50' })).status, 201);
      assert.equal((await from('192.0.2.50', 'staff.test')).status, 200);
      assert.equal((await from('192.0.2.51', 'staff.test')).status, 403);

      // --- Basic auth on /admin only: 401 with the realm without or with a wrong password, 200 with it.
      const noAuth = await t.get('shop.test', '/admin/panel');
      assert.equal(noAuth.status, 401);
      assert.equal(noAuth.headers['www-authenticate'], 'Basic realm="Staff only"');
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('alice', 'wrong horse') } })).status, 401);
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('alice', 'correct horse') } })).status, 200);
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('bob', 'tr0ub4dor&3') } })).status, 200, 'a user given as a crypt hash');
      assert.equal((await t.get('shop.test', '/shop')).status, 200, 'other paths need no password');
      // The hashes never leave: the API shows users by name only.
      const listed = await t.api('GET', '/api/domains');
      assert.doesNotMatch(listed.body, /\$6\$/);
      const shopRow = listed.json<{ domain: string; access: { auth: { users: unknown[] } } }[]>().find((d) => d.domain === 'shop.test')!;
      assert.deepEqual(shopRow.access.auth.users, [{ name: 'alice' }, { name: 'bob' }]);
      // A change naming a user without a password keeps the stored hash.
      await post({ ...domainBody('shop.test', 'shop', [shop.port]), access: { auth: { realm: 'Staff only', users: [{ name: 'alice' }], paths: ['/admin'] } } }, 200);
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('alice', 'correct horse') } })).status, 200);
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('bob', 'tr0ub4dor&3') } })).status, 401, 'bob is gone');
      assert.equal((await from('198.51.100.7', 'shop.test')).status, 200, 'the group sent replaced the deny list');

      // --- Compression of text answers (the backends answer JSON) where the site asks for it.
      const gz = await rawGet(t.httpPort, 'shop.test', '/compress-me', { 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(JSON.parse(gunzipSync(gz.body).toString()).server, 'shop');
      assert.equal((await rawGet(t.httpPort, 'api.test', '/', { 'accept-encoding': 'gzip' })).headers['content-encoding'], undefined);

      // --- Redirect sites: with the path and query, or to one fixed URL.
      const moved = await t.get('old.test', '/a/b?q=1');
      assert.equal(moved.status, 308);
      assert.equal(moved.headers.location, 'https://new.example/base/a/b?q=1');
      const promo = await t.get('promo.test', '/anything?x=%25');
      assert.equal(promo.status, 301);
      assert.equal(promo.headers.location, 'https://new.example/landing?from=promo');

      // --- Maintenance: 503 with Retry-After and the page; switched at runtime without a reload.
      const m = await t.get('maint.test', '/');
      assert.equal(m.status, 503);
      assert.equal(m.headers['retry-after'], '120');
      assert.match(m.body, /Down for maintenance/);
      assert.notEqual((await t.get('maint.test', '/.well-known/acme-challenge/x')).status, 503);
      const cfgBefore = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      const reloadsBefore = t.logs.filter((l) => /HAProxy reloaded/.test(l)).length;
      const off = await t.api('POST', '/api/domains/maint.test/maintenance', { enabled: false });
      assert.equal(off.status, 200, off.body);
      assert.equal(off.json<{ runtime_updated: boolean }>().runtime_updated, true);
      assert.equal((await t.get('maint.test', '/')).status, 200);
      const on = await t.api('POST', '/api/domains/maint.test/maintenance', { enabled: true, retry_after: 60 });
      assert.equal(on.status, 200, on.body);
      const m2 = await t.get('maint.test', '/');
      assert.equal(m2.status, 503);
      assert.equal(m2.headers['retry-after'], '60');
      assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), cfgBefore, 'haproxy.cfg untouched');
      assert.equal(t.logs.filter((l) => /HAProxy reloaded/.test(l)).length, reloadsBefore, 'no reload');
      assert.deepEqual(
        (await t.api('GET', '/api/domains')).json<{ domain: string; maintenance: unknown }[]>().find((d) => d.domain === 'maint.test')?.maintenance,
        { enabled: true, retry_after: 60 },
      );
      // Kept across a reload (the map file was written too).
      assert.equal((await t.api('GET', '/api/reload')).status, 200);
      assert.ok(t.logs.filter((l) => /HAProxy reloaded/.test(l)).length > reloadsBefore, 'a reload is seen in the logs (the no-reload check above can fail)');
      assert.equal((await t.get('maint.test', '/')).headers['retry-after'], '60');
      assert.equal((await t.api('POST', '/api/domains/nosuch.test/maintenance', { enabled: true })).status, 404);
      const bad = await t.api('POST', '/api/domains/maint.test/maintenance', { enabled: 'yes' });
      assert.equal(bad.status, 400);
      assert.equal(bad.json<{ field: string }>().field, 'enabled');

      // --- Error pages: the site's own 503 when no server answers.
      const down = await t.get('down.test', '/');
      assert.equal(down.status, 503);
      assert.match(down.body, /We will be right back/);

      // --- A backend other sites route to cannot be removed from under them.
      const del = await t.api('DELETE', '/api/domain', { domain: 'v2.test' });
      assert.equal(del.status, 409, del.body);
      assert.match(del.json<{ message: string }>().message, /shop\.test/);
      assert.equal((await routed('/api/v2/items')).server, 'v2');
    } finally {
      await t.stop();
      await Promise.all([shop.close(), api.close(), v2.close()]);
    }
  });
}
