/**
 * Blocks, notifications and the audit log in the console, in a real browser
 * (Debian's Chromium) against the real daemon and HAProxy (2.6 and 3.0):
 * a client blocked from the console with a TTL is refused by HAProxy (a
 * request through a trusted proxy with X-Forwarded-For) and its countdown
 * ticks; unblocked from the console it passes again; a range over loopback
 * or over everything is refused by the guardrails and the refusal's detail
 * is shown as a warning, nothing blocked; an XSS payload in a reason renders
 * as text; a test message to a webhook channel arrives at a local receiver
 * and the channel's outbox count moves on the page; the audit log lists the
 * block with the console as actor, and a filter narrows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor } from '../helpers/harness.js';
import { browserPerFile, consolePage, waitForText } from '../helpers/browser.js';

const PROXY = '127.0.0.10';
const CLIENT = '198.51.100.77';
const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>';

async function startReceiver() {
  const got: { path: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const browser = browserPerFile();

for (const h of HAPROXIES) {
  test(`${h.name}: console blocks (TTL, countdown, unblock, guardrail warnings), notifications test and outbox, audit with filters`, async () => {
    const be = await startBackend('app');
    const hook = await startReceiver();
    const t = await startTestDaemon(h.bin, {
      config: {
        notifications: {
          channels: { hook: { type: 'webhook', url: hook.url, format: 'slack', timeout: '3s' } },
          outbox: { poll_interval: '200ms', backoff_base: '200ms', backoff_max: '1s' },
        },
      },
    });
    const b = browser();
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: PROXY, note: 'test proxy' })).status, 201);
      const viaProxy = () => t.get('shop.test', '/', { localAddress: PROXY, headers: { 'X-Forwarded-For': CLIENT } });
      assert.equal((await viaProxy()).status, 200);

      const cp = await consolePage(b, t.apiPort, t.apiKey!);
      const confirms: string[] = [];
      cp.page.on('dialog', (d) => {
        if (d.type() === 'confirm') confirms.push(d.message());
      });
      assert.equal(await cp.goto('/blocks'), 200);
      await waitForText(cp.page, '#proxies', PROXY);

      // Block with a TTL from the console: HAProxy refuses the client at once.
      await cp.page.type('#bt-ip', CLIENT);
      await cp.page.$eval('#bt-minutes', (e) => ((e as HTMLInputElement).value = ''));
      await cp.page.type('#bt-minutes', '5');
      await cp.page.type('#bt-reason', XSS);
      await cp.page.click('#block-temporary button.primary');
      await waitForText(cp.page, '#block-temporary [data-result]', `${CLIENT} blocked until`);
      const row = `#blocked tr[data-ip="${CLIENT}"]`;
      await cp.page.waitForSelector(row, { timeout: 10_000 });
      assert.ok(await waitFor(async () => (await viaProxy()).status === 403, 10_000, 100), 'HAProxy refuses the blocked client');
      assert.equal(confirms.length, 0, 'a single address asks no confirmation');

      // The countdown ticks.
      const c1 = await cp.page.$eval(`${row} time[data-countdown]`, (e) => e.textContent ?? '');
      assert.match(c1, /^in 4m \d+s$|^in 5m 0s$/);
      // It moves within a few seconds (read until it does: the table is also re-read every 10 s).
      let c2 = c1;
      assert.ok(await waitFor(async () => (c2 = await cp.page.$eval(`${row} time[data-countdown]`, (e) => e.textContent ?? '').catch(() => c1)) !== c1 && /^in 4m \d+s$/.test(c2), 5_000, 200), `the countdown moves: ${c1} -> ${c2}`);

      // The reason with an XSS payload is text: no element made from it.
      const reasonText = await cp.page.$eval(`${row} td:nth-child(2)`, (e) => e.textContent ?? '');
      assert.equal(reasonText, XSS);
      assert.equal(await cp.page.$$eval(`${row} img, ${row} script`, (els) => els.length), 0);
      assert.equal(await cp.page.$$eval('img[src="x"]', (els) => els.length), 0);
      await cp.shot(`blocks-${h.name}`);

      // Ranges: "Check" judges one without blocking (a dry run through the same guardrails).
      await cp.page.type('#bp-ip', '203.0.113.0/24');
      await cp.page.click('#block-permanent button[data-query="dry_run=true"]');
      await waitForText(cp.page, '#block-permanent [data-result]', '203.0.113.0/24 can be blocked');
      assert.equal(confirms.length, 1, 'a range is confirmed even for a check');
      confirms.length = 0;
      await cp.page.$eval('#bp-ip', (e) => ((e as HTMLInputElement).value = ''));
      await cp.page.type('#bp-ip', '127.0.0.0/16');
      await cp.page.click('#block-permanent button[data-query="dry_run=true"]');
      await waitForText(cp.page, '#block-permanent [data-result] .warning', 'self');
      confirms.length = 0;
      // The same through the API (its answers checked against the contract by the harness).
      const dry = await t.api('POST', '/api/security/temporary-block?dry_run=true', { ip_address: '203.0.113.9', duration_minutes: 5 });
      assert.equal(dry.status, 200, dry.body);
      assert.deepEqual(dry.json<{ dry_run: boolean; already_blocked: boolean }>(), { ...dry.json<object>(), dry_run: true, already_blocked: false });
      assert.equal((await t.api('POST', `/api/blocked-ips?dry_run=1`, { ip_address: CLIENT })).json<{ already_blocked: boolean }>().already_blocked, true);
      assert.equal((await t.api('POST', '/api/blocked-ips?dry_run=true', { ip_address: '127.0.0.0/16' })).status, 403);
      assert.deepEqual((await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string }[]>().map((x) => x.ip_address), [CLIENT], 'a check blocks nothing');

      // The page warns before sending; the guardrails refuse and the detail is a warning.
      await cp.page.$eval('#bp-ip', (e) => ((e as HTMLInputElement).value = ''));
      await cp.page.type('#bp-ip', '127.0.0.0/24');
      assert.equal(await cp.page.$eval('#bp-range', (e) => (e as HTMLElement).hidden), false, 'the range warning shows while typing');
      await cp.page.type('#bp-reason', 'too much');
      await cp.page.click('#block-permanent button.danger');
      await waitForText(cp.page, '#block-permanent [data-result] .warning', 'Guardrail');
      const loopback = await cp.page.$eval('#block-permanent [data-result] .warning', (e) => e.textContent ?? '');
      assert.match(loopback, /self/);
      assert.match(loopback, /Covers/);
      assert.match(loopback, /127\.0\.0\.0\/24/);
      assert.equal(confirms.length, 1);
      assert.match(confirms[0]!, /range/);

      await cp.page.$eval('#bt-ip', (e) => ((e as HTMLInputElement).value = ''));
      await cp.page.type('#bt-ip', '0.0.0.0/0');
      await cp.page.click('#block-temporary button.primary');
      await waitForText(cp.page, '#block-temporary [data-result] .warning', 'too_wide');
      assert.equal(confirms.length, 2);
      const ips = (await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string }[]>().map((x) => x.ip_address);
      assert.deepEqual(ips, [CLIENT], 'nothing else was blocked');
      await cp.shot(`blocks-refused-${h.name}`);

      // At phone width the page still reads.
      await cp.page.setViewport({ width: 375, height: 800 });
      await cp.goto('/blocks');
      await cp.shot(`blocks-phone-${h.name}`);
      await cp.page.setViewport({ width: 1280, height: 900 });
      await cp.goto('/blocks');

      // Unblock from the console (confirmed): the client passes again.
      await cp.page.click(`${row} button[data-api^="DELETE"]`);
      await waitForText(cp.page, '#page-result', `${CLIENT} unblocked`);
      await waitForText(cp.page, '#blocked', 'Nothing is blocked');
      assert.ok(confirms.at(-1)!.startsWith(`Unblock ${CLIENT}?`));
      assert.ok(await waitFor(async () => (await viaProxy()).status === 200, 10_000, 100), 'HAProxy lets the client through again');

      // Notifications: the channel (name and type only), a test message, the outbox moving.
      const listed = await t.api('GET', '/api/notifications');
      assert.equal(listed.status, 200);
      assert.ok(!listed.body.includes('127.0.0.1') && !listed.body.includes('/hook'), 'no URL in the answer');
      assert.equal(await cp.goto('/notifications'), 200);
      await waitForText(cp.page, '#channel-hook', 'webhook');
      assert.equal(await cp.page.$eval('#channel-hook .n-delivered', (e) => e.textContent), '0');
      assert.ok(!(await cp.page.content()).includes(hook.url), 'the page does not show the URL');
      await cp.page.click('button[aria-label="Send a test message to hook"]');
      await waitForText(cp.page, '#test-result', 'queued');
      assert.ok(await waitFor(() => hook.got.length === 1, 10_000, 50), 'the test message arrives');
      assert.match(hook.got[0]!.body, /"text"/);
      await waitForText(cp.page, '#channel-hook .n-delivered', '1', 15_000);
      assert.equal(await cp.page.$eval('#channel-hook .n-pending', (e) => e.textContent), '0');
      await cp.shot(`notifications-${h.name}`);

      // Audit: the block by the console, a filter narrowing the list.
      assert.equal(await cp.goto('/audit'), 200);
      const entries = await cp.page.$$eval('#audit tbody tr', (trs) => trs.map((tr) => ({ actor: tr.querySelector('.actor')?.textContent ?? '', action: tr.querySelector('.action')?.textContent ?? '', target: tr.querySelector('.target')?.textContent ?? '' })));
      assert.ok(entries.some((e) => e.action === 'blocked_ip.add' && e.target === CLIENT && e.actor === 'console'), JSON.stringify(entries));
      assert.ok(entries.some((e) => e.action === 'trusted_proxy.add' && e.actor === 'api'));
      await cp.page.type('#au-action', 'blocked_ip.remove');
      await Promise.all([cp.page.waitForNavigation({ waitUntil: 'load' }), cp.page.click('form.filters button[type="submit"]')]);
      assert.match(cp.page.url(), /action=blocked_ip\.remove/);
      const filtered = await cp.page.$$eval('#audit tbody tr', (trs) => trs.map((tr) => ({ actor: tr.querySelector('.actor')?.textContent ?? '', action: tr.querySelector('.action')?.textContent ?? '', target: tr.querySelector('.target')?.textContent ?? '' })));
      assert.deepEqual(filtered, [{ actor: 'console', action: 'blocked_ip.remove', target: CLIENT }]);
      await cp.goto('/audit');
      await cp.shot(`audit-${h.name}`);
      // Paging: one entry a page; the older link goes back by id.
      await cp.goto('/audit?limit=1');
      const firstId = Number(await cp.page.$eval('#audit tbody tr', (tr) => tr.getAttribute('data-id')));
      await Promise.all([cp.page.waitForNavigation({ waitUntil: 'load' }), cp.page.click('.pager a[rel="next"]')]);
      const ids = await cp.page.$$eval('#audit tbody tr', (trs) => trs.map((tr) => Number(tr.getAttribute('data-id'))));
      assert.equal(ids.length, 1);
      assert.ok(ids[0]! < firstId, `${ids[0]} < ${firstId}`);
      // A filter is taken as typed: a bad page size or a padded action name is refused with its reason, not repaired.
      await cp.goto('/audit?limit=1e2');
      await waitForText(cp.page, 'main .error', 'limit: must be');
      await cp.goto(`/audit?action=${encodeURIComponent(' blocked_ip.add')}`);
      await waitForText(cp.page, 'main .error', 'action');

      assert.deepEqual(cp.problems, [], 'no CSP violation or page error');
      assert.deepEqual(cp.dialogs, [], 'no alert from a payload');
    } finally {
      await t.stop();
      await be.close();
      await hook.close();
    }
  });
}
