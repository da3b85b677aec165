/**
 * Per-site options (issue 13) from the console's domain form, in a real
 * browser (Debian's Chromium) against the real daemon and HAProxy (2.6 and
 * 3.0): a path route, a deny range, a basic-auth user and compression set in
 * the console make real requests through HAProxy behave so (the routed path
 * reaches the other backend, 403 for the denied range, 401 then 200 with the
 * password, gzip); maintenance set from the form gives 503, switched off
 * from the domain list (at runtime) gives 200 without a reload; a route path
 * "a b" is refused with its message next to its input and nothing changes;
 * saving without touching the groups sends none of them and keeps every one
 * as GET showed it; a user left without a new password keeps the stored one
 * (no hash ever sent); a stored header value and an error page holding
 * <script> are shown as text. (Apart from domains.test.ts: each file's
 * browser tests stay well inside the runner's time per file.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HAPROXIES, startTestDaemon, startBackend, waitFor, domainBody } from '../helpers/harness.js';
import { browserPerFile, consolePage, submitAndNavigate, typeInto, waitForText, type ConsolePage } from '../helpers/browser.js';

const browser = browserPerFile();

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const OPTION_GROUPS = ['https', 'headers', 'routes', 'access', 'redirect', 'compression', 'maintenance', 'error_pages'] as const;

/** Clears a field and types into it (the typing is what marks its option group as changed). */
const retype = typeInto;

/** Clicks an "Add ..." button and answers the id prefix of the row it added (route-1000-, user-1001-, ...). */
async function addRow(cp: ConsolePage, button: string, rowsOf: string): Promise<string> {
  const before = await cp.page.$$eval(`${rowsOf} [data-row]`, (els) => els.length);
  await cp.page.click(button);
  await cp.page.waitForFunction((sel, n) => document.querySelectorAll(`${sel} [data-row]`).length === n + 1, {}, rowsOf, before);
  return cp.page.$eval(`${rowsOf} [data-row]:last-child [id]`, (e) => e.id);
}

for (const h of HAPROXIES) {
  test(`${h.name}: console per-site options: set from the form, as HAProxy serves them; untouched groups kept; a bad value shown at its field; runtime maintenance`, async () => {
    const started = await Promise.allSettled([startBackend('shop'), startBackend('api'), startTestDaemon(h.bin)] as const);
    const [sShop, sApi, st] = started;
    if (started.some((s) => s.status === 'rejected')) {
      if (st.status === 'fulfilled') await st.value.stop();
      for (const s of [sShop, sApi]) if (s.status === 'fulfilled') await s.value.close();
      throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
    }
    const shop = (sShop as PromiseFulfilledResult<Awaited<ReturnType<typeof startBackend>>>).value;
    const apiBe = (sApi as PromiseFulfilledResult<Awaited<ReturnType<typeof startBackend>>>).value;
    const t = (st as PromiseFulfilledResult<Awaited<ReturnType<typeof startTestDaemon>>>).value;
    const b = browser();
    try {
      // Stored through the API: what an attacker could have written (a header value, an error page) among them.
      const xssHeader = '"><img src=x onerror=alert(1)>';
      const xssPage = '<h1>Down</h1><script>alert("page")</script><img src=x onerror=alert(2)>';
      const post = async (body: unknown, status: number) => {
        const r = await t.api('POST', '/api/domain', body);
        assert.equal(r.status, status, r.body);
      };
      await post(domainBody('api.test', 'api', [apiBe.port]), 201);
      await post({ ...domainBody('shop.test', 'shop', [shop.port]), headers: { request: [{ action: 'set', name: 'X-Site', value: xssHeader }], response: [{ action: 'del', name: 'Server' }] }, error_pages: { '503': xssPage } }, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const from = (ip: string, path = '/', headers: Record<string, string> = {}) => t.get('shop.test', path, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ip, ...headers } });
      type Listed = Record<string, unknown> & { domain: string };
      const shopRow = async () => (await t.api('GET', '/api/domains')).json<Listed[]>().find((d) => d.domain === 'shop.test')!;
      const groupsOf = (d: Listed) => Object.fromEntries(OPTION_GROUPS.map((g) => [g, d[g]]));

      const op = await consolePage(b, t.apiPort, t.apiKey!);
      const sent: Record<string, unknown>[] = [];
      op.page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/domain') sent.push(JSON.parse(r.postData() ?? '{}') as Record<string, unknown>);
      });

      // The stored values are shown as text: the header value in its input, the error page in a textarea; nothing runs.
      assert.equal(await op.goto('/domains/shop.test'), 200);
      assert.equal(await op.page.$eval('#headers-request-0-value', (e) => (e as HTMLInputElement).value), xssHeader);
      assert.equal(await op.page.$eval('#f-error-503', (e) => (e as HTMLTextAreaElement).value), xssPage);
      assert.equal(await op.page.$eval('#f-error-502', (e) => (e as HTMLTextAreaElement).value), '');
      const injected = await op.page.evaluate(() => ({
        img: document.querySelectorAll('img').length,
        h1: document.querySelectorAll('h1').length,
        inlineScripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
      }));
      assert.deepEqual(injected, { img: 0, h1: 1, inlineScripts: 0 }, 'the stored HTML is text, not markup');
      assert.deepEqual(await op.page.$$eval('#auth-fields, #redirect-fields', (els) => els.map((e) => (e as HTMLElement).offsetParent === null)), [true, true], 'groups switched off show no fields');
      await op.shot(`domains-options-stored-${h.name}`);

      // Saving the form without touching the option groups keeps every one of them exactly (none is even sent).
      const before = groupsOf(await shopRow());
      await submitAndNavigate(op, '#apply');
      await waitForText(op.page, 'main', 'Saved shop.test');
      assert.deepEqual(groupsOf(await shopRow()), before, 'every option group kept as stored');
      const untouched = sent.at(-1)!;
      assert.deepEqual(OPTION_GROUPS.filter((g) => g !== 'https' && g in untouched), [], `no untouched group sent: ${JSON.stringify(untouched)}`);

      // A bad value: the 400 is shown next to its field, and nothing changes.
      const cfgBefore = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      await op.goto('/domains/shop.test');
      const route = (await addRow(op, 'button[data-add-row="#tpl-routes"]', '#routes-rows')).replace(/path$/, '');
      assert.deepEqual(await op.page.$$eval(`#${route}backend option`, (os) => os.map((o) => (o as HTMLOptionElement).value)), ['', 'api'], "the other sites' backends");
      await op.page.type(`#${route}path`, 'a b');
      await op.page.select(`#${route}backend`, 'api');
      await op.page.click('#apply');
      await op.page.waitForSelector('.domain-form .field-error', { timeout: 15_000 });
      const fieldError = await op.page.$eval('.domain-form .field-error', (p) => ({
        text: p.textContent ?? '',
        besideInput: p.previousElementSibling?.id ?? '',
        invalid: document.querySelector('[aria-invalid="true"]')?.id ?? '',
      }));
      assert.match(fieldError.text, /^routes\[0\]\.path: must be a path/);
      assert.equal(fieldError.besideInput, `${route}path`, 'shown right after the route path input');
      assert.equal(fieldError.invalid, `${route}path`);
      assert.equal(new URL(op.page.url()).pathname, '/domains/shop.test', 'a refused change stays on the form');
      assert.deepEqual(groupsOf(await shopRow()), before, 'nothing changed');
      assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), cfgBefore);
      await op.shot(`domains-options-field-error-${h.name}`);

      // Fixed and more set from the same form: the route, a deny range, a basic-auth user on /admin, compression.
      await retype(op, `#${route}path`, '/api');
      await op.page.click(`input[name$=".strip_prefix"]`);
      const deny = await addRow(op, 'button[data-add-row="#tpl-access-deny"]', '#access-deny-rows');
      await op.page.type(`#${deny}`, '198.51.100.0/24');
      await op.page.click('#f-auth');
      assert.equal(await op.page.$eval('#auth-fields', (e) => (e as HTMLElement).hidden), false, 'the auth fields show once asked for');
      await retype(op, '#f-realm', 'Staff only');
      const user = (await addRow(op, 'button[data-add-row="#tpl-users"]', '#users-rows')).replace(/name$/, '');
      await op.page.type(`#${user}name`, 'alice');
      await op.page.type(`#${user}password`, 'correct horse');
      const authPath = await addRow(op, 'button[data-add-row="#tpl-auth-paths"]', '#auth-paths-rows');
      await op.page.type(`#${authPath}`, '/admin');
      await op.page.click('#f-compression');
      await op.shot(`domains-options-${h.name}`);
      await submitAndNavigate(op, '#apply');
      await waitForText(op.page, 'main', 'Saved shop.test');
      const applied = sent.at(-1)!;
      assert.deepEqual(applied.routes, [{ path: '/api', match: 'prefix', backend: 'api', strip_prefix: true }]);
      assert.equal('headers' in applied || 'error_pages' in applied || 'maintenance' in applied, false, 'only the changed groups are sent');

      // HAProxy serves what the form set, on real requests.
      const routed = (await t.get('shop.test', '/api/users?id=7')).json<{ server: string; path: string }>();
      assert.deepEqual([routed.server, routed.path], ['api', '/users?id=7'], 'the routed path reaches the other backend, prefix stripped');
      assert.equal((await t.get('shop.test', '/other')).json<{ server: string }>().server, 'shop');
      assert.equal((await from('198.51.100.7')).status, 403, 'the denied range is refused');
      assert.equal((await from('203.0.113.9')).status, 200);
      assert.equal((await t.get('shop.test', '/admin')).status, 401, 'no password: 401');
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('alice', 'wrong horse') } })).status, 401);
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('alice', 'correct horse') } })).status, 200, 'the password: 200');
      assert.equal((await t.get('shop.test', '/', { headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], 'gzip');
      const stored = await shopRow();
      assert.deepEqual(stored.headers, before.headers, 'the untouched headers group kept');
      assert.deepEqual(stored.error_pages, before.error_pages, 'the untouched error pages kept');
      assert.deepEqual((stored.access as { auth: unknown }).auth, { realm: 'Staff only', users: [{ name: 'alice' }], paths: ['/admin'] });

      // The access group changed again with the password left empty: alice keeps her stored password, and no hash is ever sent.
      await op.goto('/domains/shop.test');
      assert.equal(await op.page.$eval('#user-0-password', (e) => (e as HTMLInputElement).placeholder), 'empty: keep the stored password');
      await op.page.click('#f-trusted-only');
      await op.page.click('#f-trusted-only');
      await submitAndNavigate(op, '#apply');
      assert.deepEqual((sent.at(-1)!.access as { auth: unknown }).auth, { realm: 'Staff only', users: [{ name: 'alice' }], paths: ['/admin'] });
      assert.doesNotMatch(JSON.stringify(sent), /password_hash|\$6\$|\$5\$/);
      assert.equal((await t.get('shop.test', '/admin', { headers: { authorization: basic('alice', 'correct horse') } })).status, 200, 'the stored password kept');
      assert.equal((await from('198.51.100.7')).status, 403, 'and the deny list');

      // Maintenance through the form (a reload): 503 with Retry-After.
      await op.goto('/domains/shop.test');
      await op.page.click('#f-maintenance');
      await retype(op, '#f-retry-after', '120');
      await submitAndNavigate(op, '#apply');
      const down = await t.get('shop.test', '/');
      assert.equal(down.status, 503);
      assert.equal(down.headers['retry-after'], '120');
      await waitForText(op.page, 'td.maintenance[data-domain="shop.test"] .maintenance-state', 'on');

      // Turned off from the domain list, at runtime: 200 again, without a reload or a change to haproxy.cfg.
      const cfgLive = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      const reloads = () => t.logs.filter((l) => /HAProxy reloaded/.test(l)).length;
      const reloadsBefore = reloads();
      await op.page.click('td.maintenance[data-domain="shop.test"] button[aria-label^="End maintenance"]');
      await waitForText(op.page, '#page-result', 'Maintenance off for shop.test');
      await waitForText(op.page, 'td.maintenance[data-domain="shop.test"]', 'Start');
      assert.equal((await t.get('shop.test', '/other')).status, 200);
      assert.equal(reloads(), reloadsBefore, 'no reload');
      assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), cfgLive, 'haproxy.cfg untouched');
      await op.shot(`domains-maintenance-off-${h.name}`);
      // And on again from the domain's page (confirmed): 503 at once, the page says so.
      await op.goto('/domains/shop.test');
      await op.page.click('#maintenance-switch');
      await waitForText(op.page, '#maintenance-result', 'Maintenance on for shop.test');
      await waitForText(op.page, '#maintenance-now', 'End maintenance');
      assert.equal((await t.get('shop.test', '/')).status, 503);
      assert.equal(reloads(), reloadsBefore, 'still no reload');
      assert.deepEqual((await shopRow()).maintenance, { enabled: true, retry_after: 120 });
      assert.equal(await op.page.$eval('#f-maintenance', (e) => (e as HTMLInputElement).checked), true, 'the form shows the switched state');

      // The viewer sees the groups, with no control to change them.
      const viewer = await consolePage(b, t.apiPort, readFileSync(t.daemon.cfg.paths.viewerKeyFile, 'utf8').trim());
      assert.equal(await viewer.goto('/domains/shop.test'), 200);
      assert.equal(await viewer.page.$$eval('button[data-add-row], button[data-remove-row], #maintenance-switch', (els) => els.length), 0);
      assert.equal(await viewer.page.$eval('#f-error-503', (e) => (e as HTMLTextAreaElement).value), xssPage);
      assert.equal(await viewer.goto('/domains'), 200);
      assert.equal((await viewer.page.$$('td.maintenance button')).length, 0);

      for (const p of [op, viewer]) assert.deepEqual(p.problems, [], 'no CSP violation or page error');
      for (const p of [op, viewer]) assert.deepEqual(p.dialogs, [], 'no dialog: nothing stored ran');
    } finally {
      await t.stop();
      await shop.close();
      await apiBe.close();
    }
  });
}
