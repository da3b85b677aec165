/**
 * The certificates page in a real browser (Debian's Chromium) against the
 * real daemon and HAProxy (2.6 and 3.0) and Debian's pebble ACME server:
 * a request from the console's form shows every name as pending, then each
 * name's result as the API streams it (one issued through HTTP-01 via
 * HAProxy, one failed with the CA's message); the issued certificate is
 * listed with pebble's issuer and its days left; Renew from the console
 * changes its serial, and HAProxy serves the new one; the viewer sees no
 * change controls. Screenshots at 1280 px and at phone width.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { HAPROXIES, waitFor } from '../helpers/harness.js';
import { startAcmeStack } from '../helpers/acme-stack.js';
import { browserPerFile, consolePage, waitForText } from '../helpers/browser.js';
import { expiryLevel } from '../../src/console/pages/certificates.js';

const norm = (s: string | undefined | null) => (s ?? '').replace(/[^0-9a-f]/gi, '').toUpperCase().replace(/^0+/, '');

/** The serial HAProxy serves for a name on its HTTPS listener. */
function servedSerial(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(norm(s.getPeerCertificate().serialNumber));
      s.end();
    });
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('tls timeout')));
  });
}

interface Status { certificates: { domain: string; issuer: string; serial: string; days_until_expiry: number }[] }

const browser = browserPerFile();

for (const h of HAPROXIES) {
  test(`${h.name}: console certificates: request with per-name progress, issued from pebble, renew, the CA's error`, async () => {
    // No self-check: this test shows the CA's own words for a name that points elsewhere.
    const stack = await startAcmeStack(h.bin, () => ({ email: 'ops@example.test', self_check: false }));
    const { t, dns, httpsPort } = stack;
    const b = browser();
    try {
      const op = await consolePage(b, t.apiPort, t.apiKey!);
      assert.equal(await op.goto('/certificates'), 200);
      // Before any order: the self-signed fallback, and no Renew for it.
      await waitForText(op.page, '#cert-list', 'haproxy-manager-default');
      assert.equal(await op.page.$('#cert-list button[data-api]'), null);

      // A name that does not point at this host: pebble's validation goes elsewhere and fails.
      dns.setA('away.example.test', '127.0.0.2');
      // Every status each name shows, in order, as the page changes.
      // (A string: tsx would wrap the named arrow functions of a function in a helper the page lacks.)
      await op.page.evaluate(`(() => {
        const seen = {};
        window.seen = seen;
        const list = document.querySelector('#request-progress');
        new MutationObserver(() => {
          for (const li of list.querySelectorAll('li')) {
            const k = li.dataset.key;
            const s = li.querySelector('.pill').textContent;
            const arr = (seen[k] ??= []);
            if (arr.at(-1) !== s) arr.push(s);
          }
        }).observe(list, { childList: true, subtree: true, characterData: true });
      })()`);
      await op.page.type('#req-domains', 'shop.example.test\naway.example.test');
      // www.<name> only when asked: the box starts unticked.
      assert.equal(await op.page.$eval('#request-form input[name="include_www"]', (e) => (e as HTMLInputElement).checked), false);
      await op.page.click('#request-form input[name="include_www"]');
      await op.page.click('#request-form button[type="submit"]');
      await waitForText(op.page, '#request-form [data-result]', /2 done: 1 succeeded, 0 skipped, 1 failed/, 45_000);
      const seen = await op.page.evaluate(() => (window as unknown as { seen: Record<string, string[]> }).seen);
      assert.deepEqual(seen, { 'shop.example.test': ['pending', 'issued'], 'away.example.test': ['pending', 'failed'] }, 'each name pending, then its own result');
      const item = (key: string) => op.page.$eval(`#request-progress li[data-key="${key}"]`, (li) => li.textContent ?? '');
      assert.match(await item('shop.example.test'), /issued.*certificate for shop\.example\.test, www\.shop\.example\.test issued/s);
      // The CA's own words for the failed name.
      const away = await item('away.example.test');
      assert.match(away, /failed/);
      assert.match(away, /away\.example\.test/);
      const apiErr = t.logs.find((l) => /certificate request failed/.test(l) && /away\.example\.test/.test(l));
      assert.ok(apiErr, 'the daemon logged the failure');
      assert.match(away, /validation of away\.example\.test failed/);
      assert.match(away, /127\.0\.0\.2.*connection refused/s, 'pebble\'s own detail');

      // The issued certificate in the list (refreshed after the request): pebble's issuer, days left, a serial.
      const st = (await t.api('GET', '/api/certificates/status')).json<Status>().certificates.find((c) => c.domain === 'shop.example.test')!;
      assert.ok(st, 'issued');
      assert.match(st.issuer, /Pebble/i);
      const row = '#cert-list tr[data-cert="shop.example.test"]';
      // The button as it is now (the list is a live region: a refresh may have just replaced it).
      const renew = () => op.page.$eval(`${row} button[aria-label="Renew shop.example.test"]`, (b) => (b as HTMLButtonElement).click());
      await op.page.waitForSelector(row, { timeout: 10_000 });
      await waitForText(op.page, `${row} .cert-issuer`, st.issuer);
      await waitForText(op.page, `${row} .cert-days`, `${st.days_until_expiry} days`);
      assert.ok(st.days_until_expiry > 14);
      assert.match(await op.page.$eval(`${row} .cert-days .pill`, (e) => e.className), /days-ok/);
      await waitForText(op.page, row, 'www.shop.example.test');
      const serial1 = await op.page.$eval(`${row} .cert-serial`, (e) => e.textContent!.trim());
      assert.equal(norm(serial1), norm(st.serial));
      assert.equal(await servedSerial(httpsPort, 'shop.example.test'), norm(serial1), 'HAProxy serves it');
      assert.equal(await op.page.$('#cert-list tr[data-cert="away.example.test"]'), null, 'nothing was installed for the failed name');

      // Renew from the console: the serial changes on the page, and HAProxy serves the new certificate.
      await renew();
      await waitForText(op.page, '#renew-progress', /renewed/, 45_000);
      assert.ok(await waitFor(async () => norm(await op.page.$eval(`${row} .cert-serial`, (e) => e.textContent!.trim()).catch(() => serial1)) !== norm(serial1), 10_000), 'the serial changed on the page');
      const serial2 = norm(await op.page.$eval(`${row} .cert-serial`, (e) => e.textContent!.trim()));
      assert.equal(serial2, norm((await t.api('GET', '/api/certificates/status')).json<Status>().certificates.find((c) => c.domain === 'shop.example.test')!.serial));
      assert.equal(await servedSerial(httpsPort, 'shop.example.test'), serial2, 'HAProxy serves the renewed one');
      await waitForText(op.page, '#renew-result', '1 done: 1 succeeded, 0 skipped, 0 failed');

      // A renewal that fails: the CA's message in the progress and in the row's last renewal, with the next attempt.
      // The result shows before the run ends (it then refreshes the list): a click meanwhile is ignored, so wait for the end.
      await op.page.waitForFunction(() => !document.querySelector('[data-running]'), { timeout: 20_000 });
      dns.setA('shop.example.test', '127.0.0.2');
      await renew();
      await waitForText(op.page, '#renew-result', '1 done: 0 succeeded, 0 skipped, 1 failed', 45_000);
      await waitForText(op.page, '#renew-progress', /failed.*validation of shop\.example\.test failed/s);
      await waitForText(op.page, `${row} .cert-last`, /failed.*validation of shop\.example\.test failed.*next attempt/s);
      assert.equal(norm(await op.page.$eval(`${row} .cert-serial`, (e) => e.textContent!.trim())), serial2, 'the current certificate stays');
      await waitForText(op.page, '#cert-summary', 'The last renewal of 1 certificate failed');
      dns.setA('shop.example.test', '127.0.0.1');
      await op.shot(`certificates-${h.name}`);
      // The expiry levels the list colours: error under 7 days (or expired), warning under 14.
      assert.deepEqual([-1, 0, 6, 7, 13, 14, 90, null].map(expiryLevel), ['error', 'error', 'error', 'warn', 'warn', 'ok', 'ok', 'error']);
      await op.page.setViewport({ width: 375, height: 800 });
      await op.goto('/certificates');
      await op.shot(`certificates-phone-${h.name}`);

      // The viewer reads the list but has no change controls.
      const viewer = await consolePage(b, t.apiPort, readFileSync(t.daemon.cfg.paths.viewerKeyFile, 'utf8').trim());
      await viewer.goto('/certificates');
      await waitForText(viewer.page, '#cert-list', 'shop.example.test');
      assert.equal(await viewer.page.$('button[data-api], form[data-api]'), null);
      await waitForText(viewer.page, 'main', 'Viewers cannot request or renew certificates.');

      assert.deepEqual(op.problems, []);
      assert.deepEqual(op.dialogs, []);
      assert.deepEqual(viewer.problems, []);
      assert.deepEqual(viewer.dialogs, []);
    } finally {
      await stack.stop();
    }
  });
}
