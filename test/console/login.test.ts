/**
 * The console's door, in a real browser (Debian's Chromium) against the real
 * daemon and HAProxy (2.6 and 3.0): the login exchanges the API key or the
 * viewer key for a session cookie (HttpOnly, SameSite=Strict, expiring); a
 * wrong key cannot log in; the viewer can read but not change anything; a
 * change without the CSRF token, or from another origin, is refused;
 * logout ends the session; every page carries a strict CSP and runs with
 * no violation; the overview shows HAProxy's version and the traffic chart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, httpRequest, waitFor } from '../helpers/harness.js';
import { browserPerFile, consolePage, login, waitForText } from '../helpers/browser.js';

const browser = browserPerFile();

for (const h of HAPROXIES) {
  test(`${h.name}: console login, viewer, CSRF, logout and the overview`, async () => {
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin);
    const b = browser();
    try {
      const viewerKey = readFileSync(t.daemon.cfg.paths.viewerKeyFile, 'utf8').trim();
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      for (let i = 0; i < 5; i++) await t.get('shop.test', '/');
      await t.get('shop.test', '/missing-page');

      // Without a session every page sends the browser to the login form.
      const anon = await consolePage(b, t.apiPort);
      await anon.goto('/domains');
      assert.equal(new URL(anon.page.url()).pathname, '/login');
      // The page and its headers: a strict CSP, nothing inline allowed.
      const raw = await httpRequest({ port: t.apiPort, path: '/login' });
      assert.equal(raw.status, 200);
      const csp = String(raw.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(raw.headers['x-frame-options'], 'DENY');
      assert.doesNotMatch(raw.body, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>[^<]/, 'no inline script');

      await anon.shot(`login-${h.name}`);

      // A wrong key cannot log in.
      const wrong = await login(anon, 'not-the-key-0123456789abcdef');
      assert.equal(wrong, '/login');
      await waitForText(anon.page, '.error', 'not the API key');
      assert.equal((await anon.page.cookies()).filter((c) => c.name === 'hm_session').length, 0, 'no session cookie for a wrong key');

      // The operator logs in: the cookie's attributes.
      const op = await consolePage(b, t.apiPort, t.apiKey!);
      assert.equal(new URL(op.page.url()).pathname, '/');
      const cookie = (await op.page.cookies()).find((c) => c.name === 'hm_session');
      assert.ok(cookie, 'a session cookie');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.secure, false, 'plain HTTP: not Secure (it would never be sent back)');
      assert.ok(cookie.expires > Date.now() / 1000 && cookie.expires < Date.now() / 1000 + 13 * 3600, 'it expires (12 h by default)');
      assert.equal(await op.page.evaluate(() => document.cookie), '', 'HttpOnly: scripts cannot read it');

      // The overview: HAProxy's version, the incidents, the chart once a traffic sample exists.
      await waitForText(op.page, 'main', h.name.endsWith('3.0') ? /3\.0\.\d+/ : /2\.6\.\d+/);
      await t.daemon.traffic.sample();
      for (let i = 0; i < 3; i++) await t.get('shop.test', '/');
      await t.daemon.traffic.sample();
      await op.goto('/');
      await op.page.waitForSelector('.chart .uplot', { timeout: 10_000 });
      await waitForText(op.page, '#traffic-now', /Now: [\d.]+ requests\/s/);
      await op.shot(`overview-${h.name}`);

      // The session works on the API from the page (a GET), and a change needs the CSRF token.
      const fromPage = await op.page.evaluate(async () => {
        const get = await fetch('/api/domains', { credentials: 'same-origin' });
        const noToken = await fetch('/api/blocked-ips', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ip_address: '203.0.113.50' }) });
        const badToken = await fetch('/api/blocked-ips', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-csrf-token': 'forged' }, body: JSON.stringify({ ip_address: '203.0.113.50' }) });
        const token = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
        const good = await fetch('/api/blocked-ips', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-csrf-token': token }, body: JSON.stringify({ ip_address: '203.0.113.51', reason: 'console test' }) });
        return { get: get.status, noToken: [noToken.status, await noToken.text()], badToken: badToken.status, good: good.status };
      });
      assert.equal(fromPage.get, 200);
      assert.equal(fromPage.noToken[0], 403, String(fromPage.noToken[1]));
      assert.match(String(fromPage.noToken[1]), /"error":"forbidden"/);
      assert.equal(fromPage.badToken, 403);
      assert.equal(fromPage.good, 201);
      assert.equal((await t.api('GET', '/api/blocked-ips')).body.includes('203.0.113.50'), false, 'the refused blocks changed nothing');

      // Another origin: the cookie and even the right token do not help without the console's Origin.
      const sid = cookie.value;
      const token = await op.page.$eval('meta[name="csrf-token"]', (m) => m.getAttribute('content')!);
      const cross = await httpRequest({
        port: t.apiPort,
        path: '/api/blocked-ips',
        method: 'POST',
        headers: { cookie: `hm_session=${sid}`, origin: 'http://evil.example', 'content-type': 'application/json', 'x-csrf-token': token },
        body: JSON.stringify({ ip_address: '203.0.113.52' }),
      });
      assert.equal(cross.status, 403, cross.body);
      const noOrigin = await httpRequest({ port: t.apiPort, path: '/api/blocked-ips', method: 'POST', headers: { cookie: `hm_session=${sid}`, 'content-type': 'application/json', 'x-csrf-token': token }, body: JSON.stringify({ ip_address: '203.0.113.53' }) });
      assert.equal(noOrigin.status, 403, 'no Origin, no change');
      // A cross-site form post to the login cannot make a session either.
      const crossLogin = await httpRequest({ port: t.apiPort, path: '/login', method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: `key=${encodeURIComponent(t.apiKey!)}` });
      assert.equal(crossLogin.status, 403);
      assert.equal(crossLogin.headers['set-cookie'], undefined);
      const blocks = JSON.parse((await t.api('GET', '/api/blocked-ips')).body) as { ip_address: string }[];
      assert.deepEqual(blocks.map((x) => x.ip_address).sort(), ['203.0.113.51']);

      // The viewer reads everything but changes nothing, and no private key.
      const viewer = await consolePage(b, t.apiPort, viewerKey);
      assert.equal(new URL(viewer.page.url()).pathname, '/');
      await waitForText(viewer.page, 'header', 'viewer (read-only)');
      const v = await viewer.page.evaluate(async () => {
        const token = document.querySelector('meta[name="csrf-token"]')!.getAttribute('content')!;
        const post = await fetch('/api/blocked-ips', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-csrf-token': token }, body: JSON.stringify({ ip_address: '203.0.113.60' }) });
        const del = await fetch('/api/blocked-ips?ip_address=203.0.113.51', { method: 'DELETE', credentials: 'same-origin', headers: { 'x-csrf-token': token } });
        const list = await fetch('/api/blocked-ips', { credentials: 'same-origin' });
        const key = await fetch('/api/certificates/shop.test/key', { credentials: 'same-origin' });
        return { post: post.status, del: del.status, list: list.status, key: key.status };
      });
      assert.deepEqual(v, { post: 403, del: 403, list: 200, key: 403 });
      // The viewer key as a bearer token: the same rights.
      const vb = (method: string, path: string, body?: string) => httpRequest({ port: t.apiPort, path, method, headers: { authorization: `Bearer ${viewerKey}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}) });
      assert.equal((await vb('GET', '/api/domains')).status, 200);
      assert.equal((await vb('POST', '/api/blocked-ips', JSON.stringify({ ip_address: '203.0.113.61' }))).status, 403);
      assert.equal((await vb('GET', '/api/certificates/shop.test/download')).status, 403);
      assert.deepEqual((JSON.parse((await t.api('GET', '/api/blocked-ips')).body) as { ip_address: string }[]).map((x) => x.ip_address), ['203.0.113.51']);

      // Keyboard only: Tab reaches the key field and Enter logs in; every page reads with JavaScript off.
      const kb = await consolePage(b, t.apiPort);
      await kb.goto('/login');
      await kb.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      let focused = '';
      for (let i = 0; i < 5 && focused !== 'key'; i++) {
        await kb.page.keyboard.press('Tab');
        focused = await kb.page.evaluate(() => document.activeElement?.id ?? '');
      }
      assert.equal(focused, 'key', 'Tab reaches the key field');
      await kb.page.keyboard.type(t.apiKey!);
      await Promise.all([kb.page.waitForNavigation(), kb.page.keyboard.press('Enter')]);
      assert.equal(new URL(kb.page.url()).pathname, '/');
      await kb.page.setJavaScriptEnabled(false);
      for (const [path, text] of [['/', 'Traffic, last hour'], ['/domains', 'shop.test'], ['/blocks', '203.0.113.51'], ['/incidents', 'Incidents'], ['/audit', 'blocked_ip.add']] as const) {
        assert.equal(await kb.goto(path), 200, path);
        await waitForText(kb.page, 'main', text);
      }
      await kb.page.setJavaScriptEnabled(true);

      // Logout ends the session: the old cookie opens nothing.
      await Promise.all([op.page.waitForNavigation(), op.page.click('form.logout button')]);
      assert.equal(new URL(op.page.url()).pathname, '/login');
      const after = await httpRequest({ port: t.apiPort, path: '/api/domains', headers: { cookie: `hm_session=${sid}` } });
      assert.equal(after.status, 401);
      const page = await httpRequest({ port: t.apiPort, path: '/', headers: { cookie: `hm_session=${sid}` } });
      assert.equal(page.status, 302);

      for (const p of [anon, op, viewer, kb]) assert.deepEqual(p.problems, [], 'no CSP violation or page error');
      for (const p of [anon, op, viewer, kb]) assert.deepEqual(p.dialogs, []);
      assert.ok(await waitFor(async () => t.logs.some((l) => /console login/.test(l)), 2000));
      assert.ok(!t.logs.some((l) => l.includes(t.apiKey!) || l.includes(viewerKey) || l.includes(sid)), 'no key or session id in the log');
    } finally {
      await t.stop();
      await be.close();
    }
  });
}
