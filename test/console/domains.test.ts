/**
 * The console's domains and servers pages, in a real browser (Debian's
 * Chromium) against the real daemon and HAProxy (2.6 and 3.0): a domain
 * added from the form routes a real request through HAProxy to its server;
 * Preview shows the configuration diff and `haproxy -c`'s verdict; a change
 * HAProxy refuses shows HAProxy's own text; XSS payloads as a domain and a
 * backend name are refused and shown as text; Drain and Enable on /servers
 * change HAProxy's state; Remove (confirmed) makes HAProxy forget the host;
 * the viewer sees the pages without change controls. Per-site options from
 * the same form: site-options.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HAPROXIES, startTestDaemon, startBackend, waitFor, domainBody } from '../helpers/harness.js';
import { browserPerFile, consolePage, submitAndNavigate, typeInto, waitForText } from '../helpers/browser.js';

interface BackendAnswer {
  name: string;
  servers: { name: string; state: string; health: { state: string } | null }[];
}

const browser = browserPerFile();

for (const h of HAPROXIES) {
  test(`${h.name}: console domains and servers`, async () => {
    // Started side by side; what started is closed if another failed.
    const started = await Promise.allSettled([startBackend('app'), startTestDaemon(h.bin)] as const);
    if (started.some((s) => s.status === 'rejected')) {
      const [sb, st] = started;
      if (st.status === 'fulfilled') await st.value.stop();
      if (sb.status === 'fulfilled') await sb.value.close();
      throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
    }
    const [be, t] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [Awaited<ReturnType<typeof startBackend>>, Awaited<ReturnType<typeof startTestDaemon>>];
    const b = browser();
    try {
      const viewerKey = readFileSync(t.daemon.cfg.paths.viewerKeyFile, 'utf8').trim();
      const op = await consolePage(b, t.apiPort, t.apiKey!);

      // Add a domain from the form: two of its three server rows stay empty (and are not sent).
      assert.equal(await op.goto('/domains/new'), 200);
      assert.ok((await op.page.$$('fieldset.server-row')).length >= 3, 'at least three server rows');
      await op.page.type('#f-domain', 'shop.test');
      await op.page.type('#f-backend', 'shop');
      await op.page.select('#f-balance', 'leastconn');
      await op.page.type('#s0-name', 's1');
      await op.page.type('#s0-address', '127.0.0.1');
      await op.page.type('#s0-port', String(be.port));
      await op.page.type('#s0-weight', '50');
      assert.equal(await op.page.$eval('fieldset.server-row:nth-of-type(1)', (e) => e.hasAttribute('data-skip')), false, 'a filled row is sent');
      assert.equal(await op.page.$eval('fieldset.server-row:nth-of-type(2)', (e) => e.hasAttribute('data-skip')), true, 'an empty row is not');

      // Preview: the diff names the domain and haproxy -c judges it; nothing is applied yet.
      await op.page.click('#preview');
      await op.page.waitForSelector('.domain-form [data-result] pre.diff', { timeout: 15_000 });
      const diff = await op.page.$eval('.domain-form [data-result] pre.diff', (e) => e.textContent ?? '');
      assert.match(diff, /^\+.*shop\.test/m, 'the diff adds the domain');
      assert.match(diff, /^\+.*127\.0\.0\.1:\d+/m, 'and its server');
      await waitForText(op.page, '.domain-form [data-result] .check', 'haproxy -c: the configuration is valid');
      assert.match((await t.get('shop.test', '/')).body, /Site not configured/, 'a preview applies nothing');
      await op.shot(`domains-new-${h.name}`);

      // Apply: the list shows it, and HAProxy routes a real request to the server.
      await submitAndNavigate(op, '#apply');
      assert.equal(new URL(op.page.url()).pathname, '/domains');
      await waitForText(op.page, 'main', 'Saved shop.test');
      await waitForText(op.page, '#domain-list', `127.0.0.1:${be.port}`);
      await waitForText(op.page, '#domain-list', 'leastconn');
      assert.ok(await waitFor(async () => (await t.get('shop.test', '/')).status === 200, 10_000), 'HAProxy routes shop.test');
      const routed = await t.get('shop.test', '/through-haproxy');
      assert.equal(routed.json<{ server: string; path: string }>().server, 'app');
      assert.ok(be.seen.some((s) => s.path === '/through-haproxy'));
      const stored = (await t.api('GET', '/api/domains')).json<{ domain: string; balance: string; servers: { name: string; weight: number }[] }[]>();
      assert.deepEqual(stored.map((d) => [d.domain, d.balance, d.servers.map((s) => [s.name, s.weight])]), [['shop.test', 'leastconn', [['s1', 50]]]]);

      // The search box, filtered on the server.
      await op.goto('/domains?q=nothing-like-it');
      await waitForText(op.page, '#domain-list', 'No domain matches');
      await op.goto('/domains?q=SHOP');
      await waitForText(op.page, '#domain-list', 'shop.test');
      await op.shot(`domains-${h.name}`);

      // A change HAProxy refuses: its own text is on the page, and the live config keeps serving.
      await op.goto('/domains/shop.test');
      assert.equal(await op.page.$eval('#f-domain', (e) => (e as HTMLInputElement).readOnly), true);
      assert.equal(await op.page.$eval('#s0-port', (e) => (e as HTMLInputElement).value), String(be.port));
      await op.page.click('input[name="servers[0].tls"]');
      await op.page.type('#s0-ca', '/nonexistent/ca.pem');
      await op.page.click('#apply');
      await op.page.waitForSelector('.domain-form [data-result].error pre.haproxy-text', { timeout: 20_000 });
      const refused = await op.page.$eval('.domain-form [data-result]', (e) => e.textContent ?? '');
      assert.match(refused, /HAProxy rejected/);
      assert.match(refused, /\/nonexistent\/ca\.pem/, `HAProxy's own text: ${refused}`);
      assert.equal(new URL(op.page.url()).pathname, '/domains/shop.test', 'a refused change stays on the form');
      assert.equal((await t.get('shop.test', '/')).json<{ server: string }>().server, 'app');
      await op.shot(`domains-edit-refused-${h.name}`);

      // XSS payloads as a domain and as a backend name: refused by the API, the answer shown as text.
      const payloads = ['<img src=x onerror=alert(1)>', '"><script>alert(1)</script>'];
      for (const [field, value, other] of [
        ['#f-domain', payloads[0]!, ['#f-backend', 'xss']],
        ['#f-domain', payloads[1]!, ['#f-backend', 'xss']],
        ['#f-backend', payloads[0]!, ['#f-domain', 'xss.test']],
        ['#f-backend', payloads[1]!, ['#f-domain', 'xss.test']],
      ] as const) {
        await op.goto('/domains/new');
        await op.page.type(field, value);
        await op.page.type(other[0], other[1]);
        await op.page.click('#apply');
        await op.page.waitForSelector('.domain-form [data-result].error', { timeout: 10_000 });
        const text = await op.page.$eval('.domain-form [data-result]', (e) => e.textContent ?? '');
        assert.match(text, field === '#f-domain' ? /domain/ : /backend_name/, text);
        const injected = await op.page.evaluate(() => ({
          img: document.querySelectorAll('img').length,
          scripts: [...document.querySelectorAll('script')].filter((s) => !/^\/static\/[a-z]+\.js$/.test(new URL(s.src || 'x:', location.href).pathname) || new URL(s.src).origin !== location.origin).length,
          resultElements: document.querySelectorAll('.domain-form [data-result] *:not(p):not(pre)').length,
        }));
        assert.deepEqual(injected, { img: 0, scripts: 0, resultElements: 0 }, `${value} injected nothing`);
      }
      assert.equal((await t.api('GET', '/api/domains')).json<unknown[]>().length, 1, 'nothing saved');

      // Servers: live state; Drain, then Enable, seen on the page and in HAProxy.
      const stateOf = async () => (await t.api('GET', '/api/backends')).json<BackendAnswer[]>().find((x) => x.name === 'shop')!.servers.find((s) => s.name === 's1')!;
      assert.equal(await op.goto('/servers'), 200);
      const row = 'tr[data-server="shop/s1"]';
      await waitForText(op.page, `${row} .server-state`, 'UP', 15_000);
      await op.page.click(`${row} button[aria-label^="Drain"]`);
      await waitForText(op.page, `${row} .server-state`, 'DRAIN');
      await waitForText(op.page, row, 'set to drain');
      const drained = await stateOf();
      assert.equal(drained.state, 'drain');
      assert.equal(drained.health?.state, 'DRAIN');
      await op.shot(`servers-${h.name}`);
      await op.page.click(`${row} button[aria-label^="Enable"]`);
      await waitForText(op.page, `${row} .server-state`, 'UP');
      const enabled = await stateOf();
      assert.equal(enabled.state, 'ready');
      assert.equal(enabled.health?.state, 'UP');
      assert.equal((await t.get('shop.test', '/')).json<{ server: string }>().server, 'app');

      // The viewer sees every page, with no change control.
      const viewer = await consolePage(b, t.apiPort, viewerKey);
      assert.equal(await viewer.goto('/domains'), 200);
      await waitForText(viewer.page, '#domain-list', 'shop.test');
      assert.equal((await viewer.page.$$('a[href="/domains/new"]')).length, 0);
      assert.equal(await viewer.goto('/domains/shop.test'), 200);
      assert.deepEqual(await viewer.page.$$eval('#apply, #preview, #remove, button[data-api]', (els) => els.length), 0);
      assert.equal(await viewer.page.$eval('.domain-form fieldset', (e) => (e as HTMLFieldSetElement).disabled), true);
      assert.equal(await viewer.goto('/servers'), 200);
      await waitForText(viewer.page, `${row} .server-state`, 'UP');
      assert.equal((await viewer.page.$$('button[data-api]')).length, 0);
      await viewer.shot(`servers-viewer-${h.name}`);
      // A phone's width: nothing wider than the screen.
      await viewer.page.setViewport({ width: 375, height: 800 });
      for (const path of ['/domains', '/domains/shop.test', '/servers']) {
        await viewer.goto(path);
        const overflow = await viewer.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${path} fits 375 px (${overflow} px too wide)`);
      }
      await viewer.goto('/domains/shop.test');
      await viewer.shot(`domains-edit-phone-viewer-${h.name}`);

      // Remove, confirmed: the list no longer has it and HAProxy answers the host as unknown.
      await op.goto('/domains/shop.test');
      await submitAndNavigate(op, '#remove');
      assert.equal(new URL(op.page.url()).pathname, '/domains');
      await waitForText(op.page, 'main', 'Removed shop.test');
      await waitForText(op.page, '#domain-list', 'No domain yet');
      const gone = await t.get('shop.test', '/');
      assert.match(gone.body, /Site not configured/);
      assert.equal((await t.api('GET', '/api/domains')).json<unknown[]>().length, 0);

      for (const p of [op, viewer]) assert.deepEqual(p.problems, [], 'no CSP violation or page error');
      for (const p of [op, viewer]) assert.deepEqual(p.dialogs, [], 'no dialog (the confirmation was answered)');
    } finally {
      await t.stop();
      await be.close();
    }
  });
}
