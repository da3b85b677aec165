/**
 * Per-site options through real HAProxy 2.6 and 3.0, asserted on what a
 * client sees (issue 13): force HTTPS (301 for GET and HEAD, 308 for other
 * methods, configurable; host, path and query kept; the ACME challenge path
 * never redirected) and HSTS (only on answers over TLS, as configured); a
 * site without options is untouched; a change that does not name the https
 * group keeps it; bad values are 400s naming the field and change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launchBrowser, consolePage } from './helpers/browser.js';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, httpRequest } from './helpers/harness.js';

/** A request over TLS to HAProxy's HTTPS listener, by SNI and Host (the self-signed fallback certificate). */
const viaTls = (port: number, host: string, path = '/') => httpRequest({ port, path, headers: { host }, tls: { servername: host } });

for (const h of HAPROXIES) {
  test(`${h.name}: force HTTPS and HSTS, per site, as a client sees them`, async () => {
    const be = await startBackend('app');
    const httpsPort = await freePort();
    const t = await startTestDaemon(h.bin, { config: { haproxy: { https_port: httpsPort } } });
    try {
      const secure = { ...domainBody('secure.test', 'secure', [be.port]), https: { force: true, hsts: { max_age: 31536000, include_subdomains: true } } };
      assert.equal((await t.api('POST', '/api/domain', secure)).status, 201);
      assert.equal((await t.api('POST', '/api/domain', domainBody('plain.test', 'plain', [be.port]))).status, 201);
      const custom = { ...domainBody('*.custom.test', 'custom', [be.port]), https: { force: true, redirect_code: 302, redirect_code_other: 307 } };
      assert.equal((await t.api('POST', '/api/domain', custom)).status, 201);

      // GET and HEAD: 301 to the same host, path and query on the HTTPS port.
      const get = await t.get('secure.test', '/shop/cart?id=7&x=%2F');
      assert.equal(get.status, 301);
      assert.equal(get.headers.location, `https://secure.test:${httpsPort}/shop/cart?id=7&x=%2F`);
      const head = await httpRequest({ port: t.httpPort, method: 'HEAD', path: '/', headers: { host: 'SECURE.test:80' } });
      assert.equal(head.status, 301);
      assert.equal(head.headers.location, `https://secure.test:${httpsPort}/`, 'the host as routed (lower case, no port)');
      // Other methods: 308, which keeps the method and the body.
      const post = await httpRequest({ port: t.httpPort, method: 'POST', path: '/form', headers: { host: 'secure.test', 'content-type': 'text/plain' }, body: 'x=1' });
      assert.equal(post.status, 308);
      assert.equal(post.headers.location, `https://secure.test:${httpsPort}/form`);
      // The ACME challenge path is never redirected (HTTP-01 must answer over plain HTTP).
      const acme = await t.get('secure.test', '/.well-known/acme-challenge/some-token');
      assert.notEqual(acme.status, 301);
      assert.equal(acme.headers.location, undefined);
      // HSTS over TLS only, as configured; the backend answers over TLS.
      const tlsGet = await viaTls(httpsPort, 'secure.test', '/');
      assert.equal(tlsGet.status, 200, tlsGet.body);
      assert.equal(tlsGet.json<{ server: string }>().server, 'app');
      assert.equal(tlsGet.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.equal(get.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
      // A site without options: served over HTTP, no redirect, no HSTS anywhere.
      const plain = await t.get('plain.test', '/');
      assert.equal(plain.status, 200);
      assert.equal((await viaTls(httpsPort, 'plain.test')).headers['strict-transport-security'], undefined);
      // A wildcard site with its own codes.
      assert.equal((await t.get('shop.custom.test', '/a')).status, 302);
      const put = await httpRequest({ port: t.httpPort, method: 'PUT', path: '/a', headers: { host: 'shop.custom.test', 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(put.status, 307);
      assert.equal(put.headers.location, `https://shop.custom.test:${httpsPort}/a`);

      // A change that does not name the https group keeps it (a client that knows only the original's fields).
      assert.equal((await t.api('POST', '/api/domain', domainBody('secure.test', 'secure', [be.port]))).status, 200);
      const listed = (await t.api('GET', '/api/domains')).json<{ domain: string; https: unknown }[]>();
      assert.deepEqual(listed.find((d) => d.domain === 'secure.test')?.https, { force: true, redirect_code: 301, redirect_code_other: 308, hsts: { max_age: 31536000, include_subdomains: true, preload: false } });
      assert.deepEqual(listed.find((d) => d.domain === 'plain.test')?.https, { force: false, redirect_code: 301, redirect_code_other: 308, hsts: null });
      assert.equal((await t.get('secure.test', '/')).status, 301, 'still forced');
      // Naming the group replaces it: force off, HSTS gone.
      assert.equal((await t.api('POST', '/api/domain', { ...domainBody('secure.test', 'secure', [be.port]), https: {} })).status, 200);
      assert.equal((await t.get('secure.test', '/')).status, 200);
      assert.equal((await viaTls(httpsPort, 'secure.test')).headers['strict-transport-security'], undefined);

      // From the console: the form shows the group and sends it (force on, HSTS 600 s on plain.test).
      const b = await launchBrowser();
      try {
        const cp = await consolePage(b, t.apiPort, t.apiKey!);
        await cp.goto('/domains/plain.test');
        assert.equal(await cp.page.$eval('#f-force-https', (e) => (e as HTMLInputElement).checked), false);
        await cp.page.click('#f-force-https');
        await cp.page.type('#f-hsts-age', '600');
        await cp.page.click('#apply');
        await cp.page.waitForFunction(() => location.pathname === '/domains', { timeout: 20_000 });
        assert.equal((await t.get('plain.test', '/x')).headers.location, `https://plain.test:${httpsPort}/x`);
        assert.equal((await viaTls(httpsPort, 'plain.test')).headers['strict-transport-security'], 'max-age=600');
        await cp.goto('/domains/plain.test');
        assert.equal(await cp.page.$eval('#f-force-https', (e) => (e as HTMLInputElement).checked), true, 'the form shows what is stored');
        assert.equal(await cp.page.$eval('#f-hsts-age', (e) => (e as HTMLInputElement).value), '600');
        await cp.shot(`domain-https-${h.name}`);
        assert.deepEqual(cp.problems, []);
      } finally {
        await b.close();
      }
      // Back to a plain site for what follows.
      assert.equal((await t.api('POST', '/api/domain', { ...domainBody('plain.test', 'plain', [be.port]), https: {} })).status, 200);

      // Bad values: a 400 naming the field; nothing changes.
      const cfgBefore = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      for (const [https, field] of [
        [{ force: 'yes' }, 'https.force'],
        [{ force: true, redirect_code: 303 }, 'https.redirect_code'],
        [{ force: true, redirect_code_other: 301 }, 'https.redirect_code_other'],
        [{ hsts: { max_age: -1 } }, 'https.hsts.max_age'],
        [{ hsts: { max_age: 1.5 } }, 'https.hsts.max_age'],
        [{ hsts: { max_age: 600, preload: true } }, 'https.hsts.preload'],
        [{ hsts: { max_age: 31536000, include_subdomains: true, preload: true, extra: 1 } }, 'https.hsts.extra'],
        [{ hsts: {} }, 'https.hsts.max_age'],
        [{ force: true, header: 'Location: evil' }, 'https.header'],
        ['force', 'https'],
      ] as [unknown, string][]) {
        const r = await t.api('POST', '/api/domain', { ...domainBody('plain.test', 'plain', [be.port]), https });
        assert.equal(r.status, 400, `${JSON.stringify(https)}: ${r.body}`);
        assert.equal(r.json<{ field: string }>().field, field, r.body);
      }
      assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), cfgBefore, 'no bad value reached the configuration');
      assert.equal((await t.get('plain.test', '/')).status, 200);
    } finally {
      await t.stop();
      await be.close();
    }
  });
}

for (const h of HAPROXIES) {
  test(`${h.name}: per-site header changes as the backend and the client see them; nothing breaks out of its line`, async () => {
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin);
    try {
      const tricky = 'shop $HOME %[src] "q" \\n # not a comment';
      const body = {
        ...domainBody('hdr.test', 'hdr', [be.port]),
        headers: {
          request: [
            { action: 'set', name: 'X-Site', value: tricky },
            { action: 'add', name: 'X-Extra', value: 'a' },
            { action: 'add', name: 'X-Extra', value: 'b' },
            { action: 'del', name: 'User-Agent' },
          ],
          response: [
            { action: 'set', name: 'X-Frame-Options', value: 'DENY' },
            { action: 'del', name: 'Content-Type' },
          ],
        },
      };
      const r = await t.api('POST', '/api/domain', body);
      assert.equal(r.status, 201, r.body);
      assert.equal((await t.api('POST', '/api/domain', domainBody('other.test', 'other', [be.port]))).status, 201);
      const got = await t.get('hdr.test', '/', { headers: { 'X-Site': 'forged-by-client', 'User-Agent': 'curl/8' } });
      assert.equal(got.status, 200);
      const seen = got.json<{ headers: Record<string, string> }>().headers;
      assert.equal(seen['x-site'], tricky, 'the value arrives as written: no expansion, no expression, no comment');
      assert.equal(seen['x-extra'], 'a, b');
      assert.equal(seen['user-agent'], undefined);
      assert.equal(got.headers['x-frame-options'], 'DENY');
      assert.equal(got.headers['content-type'], undefined);
      // Another site is untouched.
      const other = await t.get('other.test', '/', { headers: { 'User-Agent': 'curl/8' } });
      assert.equal(other.json<{ headers: Record<string, string> }>().headers['user-agent'], 'curl/8');
      assert.equal(other.headers['x-frame-options'], undefined);
      assert.match(String(other.headers['content-type']), /json/);
      const listed = (await t.api('GET', '/api/domains')).json<{ domain: string; headers: unknown }[]>();
      assert.deepEqual(listed.find((d) => d.domain === 'hdr.test')?.headers, {
        request: [
          { action: 'set', name: 'X-Site', value: tricky },
          { action: 'add', name: 'X-Extra', value: 'a' },
          { action: 'add', name: 'X-Extra', value: 'b' },
          { action: 'del', name: 'User-Agent', value: null },
        ],
        response: [
          { action: 'set', name: 'X-Frame-Options', value: 'DENY' },
          { action: 'del', name: 'Content-Type', value: null },
        ],
      });

      // Bad rules: a 400 naming the field; nothing changes.
      const cfgBefore = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      const rule = (x: Record<string, unknown>) => ({ headers: { request: [{ action: 'set', name: 'X-A', value: 'v', ...x }] } });
      for (const [extra, field] of [
        [rule({ name: 'X-Forwarded-For' }), 'headers.request[0].name'],
        [rule({ name: 'x-real-ip' }), 'headers.request[0].name'],
        [rule({ name: 'Strict-Transport-Security' }), 'headers.request[0].name'],
        [rule({ name: 'X A' }), 'headers.request[0].name'],
        [rule({ name: '' }), 'headers.request[0].name'],
        [rule({ value: 'a\nb' }), 'headers.request[0].value'],
        [rule({ value: 'caf\u00e9' }), 'headers.request[0].value'],
        [rule({ value: undefined }), 'headers.request[0].value'],
        [rule({ action: 'del' }), 'headers.request[0].value'],
        [rule({ action: 'replace' }), 'headers.request[0].action'],
        [rule({ value: 5 }), 'headers.request[0].value'],
        [{ headers: { request: Array.from({ length: 51 }, () => ({ action: 'del', name: 'X-A' })) } }, 'headers.request'],
        [{ headers: { other: [] } }, 'headers.other'],
      ] as [Record<string, unknown>, string][]) {
        const bad = await t.api('POST', '/api/domain', { ...domainBody('other.test', 'other', [be.port]), ...extra });
        assert.equal(bad.status, 400, `${JSON.stringify(extra).slice(0, 100)}: ${bad.body}`);
        assert.equal(bad.json<{ field: string }>().field, field, bad.body);
      }
      assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), cfgBefore, 'no bad rule reached the configuration');
    } finally {
      await t.stop();
      await be.close();
    }
  });
}
