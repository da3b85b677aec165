/**
 * One certificate behaviour at every entry point (issue 13), on real HAProxy
 * 2.6 and 3.0 against Debian's pebble: `POST /api/ssl`, `POST
 * /api/certificates/request` (JSON and the NDJSON stream the console reads),
 * `POST /api/ssl/bundle`, `haproxy-manager certs request` and renewal.
 *
 * - www.<name> only when asked (include_www / --www);
 * - a valid certificate that covers the names is skipped (serial unchanged,
 *   the answer says why) unless forced (a new serial); a forced or renewed
 *   order keeps every name the certificate holds;
 * - a wildcard without acme.dns_hook is a 409 with one message (the CLI:
 *   exit 2, the message on stderr), nothing ordered;
 * - the self-check names the name that does not reach this host, and the CA
 *   is never asked (pebble's own log counts the orders).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { HAPROXIES, httpRequest, waitFor, type TestDaemon } from './helpers/harness.js';
import type { Pebble, TestDns } from './helpers/pebble.js';
import { startAcmeStack } from './helpers/acme-stack.js';
import { builtBin } from './helpers/built-cli.js';

/** The SAN names and serial HAProxy serves for `servername`. */
function served(port: number, servername: string): Promise<{ serial: string; names: string[] }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      const names = (c.subjectaltname ?? '').split(', ').map((x) => x.replace(/^DNS:/, '')).filter(Boolean).sort();
      resolve({ serial: c.serialNumber.toUpperCase().replace(/^0+/, ''), names });
      s.end();
    });
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('tls timeout')));
  });
}

const norm = (s: string | undefined) => (s ?? '').toUpperCase().replace(/^0+/, '');
const WILDCARD = /\*\.w\.example\.test is a wildcard: it needs a DNS-01 challenge, and no DNS hook is configured \(acme\.dns_hook\)/;

interface Result { domain: string; names: string[]; status: string; serial?: string; message?: string; error?: string; covered_by?: string }

for (const h of HAPROXIES) {
  describe(`${h.name}: one certificate behaviour at every entry point`, () => {
    let dns: TestDns;
    let pebble: Pebble;
    let t: TestDaemon;
    let httpsPort: number;
    let cliCfg: string;

    /** Orders the CA received: pebble's own log, and the daemon's (each ACME order it opens is logged). */
    const orders = () => ({ pebble: pebble.orders(), daemon: t.logs.filter((l) => /ACME order/.test(l)).length });

    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [builtBin(), 'certs', 'request', ...args, '-c', cliCfg], { timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });

    const ndjson = async (body: unknown) => {
      const r = await httpRequest({
        port: t.apiPort,
        method: 'POST',
        path: '/api/certificates/request',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson', authorization: `Bearer ${t.apiKey}` },
        body: JSON.stringify(body),
        timeoutMs: 60_000,
      });
      return { status: r.status, body: r.body, lines: r.status === 200 ? r.body.trim().split('\n').map((l) => JSON.parse(l) as Result & { type: string }) : [] };
    };

    before(async () => {
      // No dns_hook: a wildcard is the configuration's 409. The self-check resolves through the harness's DNS, as pebble does.
      ({ t, dns, pebble, httpsPort } = await startAcmeStack(h.bin, (d) => ({ self_check_resolver: `127.0.0.1:${d.port}` })));
      const settings = parse(readFileSync(join(t.dir, 'config.yaml'), 'utf8')) as { api: { port: number } };
      settings.api.port = t.apiPort;
      cliCfg = join(t.dir, 'cli.yaml');
      writeFileSync(cliCfg, stringify(settings));
    });
    after(async () => {
      await t?.stop();
      await pebble?.stop();
      await dns?.stop();
    });

    test('include_www absent: one name, at /api/ssl, /api/certificates/request and the CLI', async () => {
      const a = await t.api('POST', '/api/ssl', { domain: 'one-ssl.example.test' });
      assert.equal(a.status, 200, a.body);
      assert.deepEqual(a.json<{ names: string[] }>().names, ['one-ssl.example.test']);
      assert.deepEqual((await served(httpsPort, 'one-ssl.example.test')).names, ['one-ssl.example.test']);

      const b = await t.api('POST', '/api/certificates/request', { domains: ['one-req.example.test'] });
      assert.equal(b.status, 200, b.body);
      assert.deepEqual(b.json<{ results: Result[] }>().results.map((x) => [x.status, x.names]), [['success', ['one-req.example.test']]]);
      assert.deepEqual((await served(httpsPort, 'one-req.example.test')).names, ['one-req.example.test']);

      const c = await cli(['one-cli.example.test']);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.match(c.stdout, /^issued  one-cli\.example\.test \(until /m);
      assert.deepEqual((await served(httpsPort, 'one-cli.example.test')).names, ['one-cli.example.test']);
    });

    test('include_www true (--www): both names, at every entry point', async () => {
      const a = await t.api('POST', '/api/ssl', { domain: 'two-ssl.example.test', include_www: true });
      assert.equal(a.status, 200, a.body);
      assert.deepEqual(a.json<{ names: string[] }>().names, ['two-ssl.example.test', 'www.two-ssl.example.test']);
      assert.deepEqual((await served(httpsPort, 'www.two-ssl.example.test')).names, ['two-ssl.example.test', 'www.two-ssl.example.test']);

      const b = await t.api('POST', '/api/certificates/request', { domains: ['two-req.example.test'], include_www: true });
      assert.equal(b.status, 200, b.body);
      assert.deepEqual(b.json<{ results: Result[] }>().results[0]!.names, ['two-req.example.test', 'www.two-req.example.test']);

      const c = await cli(['two-cli.example.test', '--www']);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.deepEqual((await served(httpsPort, 'two-cli.example.test')).names, ['two-cli.example.test', 'www.two-cli.example.test']);
    });

    test('a valid certificate that covers the names is skipped everywhere (serial unchanged, the answer says why); force orders a new one', async () => {
      const before0 = await served(httpsPort, 'one-ssl.example.test');
      const o0 = orders();
      // /api/ssl
      const a = await t.api('POST', '/api/ssl', { domain: 'one-ssl.example.test' });
      assert.equal(a.status, 200, a.body);
      const ab = a.json<{ skipped?: boolean; covered_by?: string; serial: string; message: string }>();
      assert.equal(ab.skipped, true);
      assert.equal(ab.covered_by, 'one-ssl.example.test');
      assert.equal(norm(ab.serial), before0.serial);
      assert.match(ab.message, /skipped: the valid certificate one-ssl\.example\.test .*already covers one-ssl\.example\.test and is not due for renewal.*force/);
      // /api/certificates/request, JSON and the NDJSON stream (per name: status "skipped")
      const b = await t.api('POST', '/api/certificates/request', { domains: ['one-ssl.example.test', 'one-req.example.test'] });
      assert.equal(b.status, 200, b.body);
      const bb = b.json<{ summary: { skipped: number }; results: Result[] }>();
      assert.equal(bb.summary.skipped, 2);
      assert.deepEqual(bb.results.map((x) => [x.domain, x.status, x.covered_by]), [['one-ssl.example.test', 'skipped', 'one-ssl.example.test'], ['one-req.example.test', 'skipped', 'one-req.example.test']]);
      const s = await ndjson({ domains: ['one-req.example.test'] });
      assert.equal(s.status, 200, s.body);
      assert.deepEqual(s.lines.map((l) => [l.type, l.type === 'result' ? l.status : '']), [['result', 'skipped'], ['summary', '']]);
      assert.match(s.lines[0]!.message!, /already covers one-req\.example\.test/);
      // A subset of a certificate's names is covered too: www.two-ssl alone, or two-ssl without www.
      const sub = await t.api('POST', '/api/ssl', { domain: 'two-ssl.example.test' });
      assert.equal(sub.json<{ skipped?: boolean }>().skipped, true, sub.body);
      const sub2 = await t.api('POST', '/api/ssl', { domain: 'www.two-ssl.example.test' });
      assert.equal(sub2.json<{ covered_by?: string }>().covered_by, 'two-ssl.example.test', sub2.body);
      // the bundle
      const bu = await t.api('POST', '/api/ssl/bundle', { primary: 'two-ssl.example.test', sans: ['www.two-ssl.example.test'] });
      assert.equal(bu.status, 200, bu.body);
      assert.equal(bu.json<{ skipped?: boolean }>().skipped, true);
      // the CLI: a skipped line with the reason, exit 0
      const c = await cli(['one-cli.example.test']);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.match(c.stdout, /^skipped one-cli\.example\.test: skipped: the valid certificate one-cli\.example\.test .*already covers/m);
      assert.match(c.stdout, /^1 of 1 done, 0 failed$/m);
      assert.deepEqual(orders(), o0, 'nothing was ordered');
      assert.equal((await served(httpsPort, 'one-ssl.example.test')).serial, before0.serial);

      // force: a new serial at each entry point
      const f = await t.api('POST', '/api/ssl', { domain: 'one-ssl.example.test', force: true });
      assert.equal(f.status, 200, f.body);
      assert.equal(f.json<{ skipped?: boolean }>().skipped, undefined);
      const after1 = await served(httpsPort, 'one-ssl.example.test');
      assert.notEqual(after1.serial, before0.serial);
      assert.equal(after1.serial, norm(f.json<{ serial: string }>().serial));
      const req0 = (await served(httpsPort, 'one-req.example.test')).serial;
      const fr = await t.api('POST', '/api/certificates/request', { domains: ['one-req.example.test'], force: true });
      assert.equal(fr.json<{ results: Result[] }>().results[0]!.status, 'success', fr.body);
      assert.notEqual((await served(httpsPort, 'one-req.example.test')).serial, req0);
      const cli0 = (await served(httpsPort, 'one-cli.example.test')).serial;
      const fc = await cli(['one-cli.example.test', '--force']);
      assert.equal(fc.code, 0, fc.stdout + fc.stderr);
      assert.match(fc.stdout, /^issued  one-cli\.example\.test/m);
      assert.notEqual((await served(httpsPort, 'one-cli.example.test')).serial, cli0);
      // pebble's log reaches us through a pipe: read until its lines are in (the daemon's own count is at once).
      assert.equal(orders().daemon, o0.daemon + 3);
      assert.ok(await waitFor(() => orders().pebble === o0.pebble + 3, 5_000, 50), `three orders, one per forced request: ${orders().pebble - o0.pebble}`);
    });

    test('a later request never drops names: a forced /api/ssl without www and a renewal keep both', async () => {
      const s0 = await served(httpsPort, 'two-ssl.example.test');
      const f = await t.api('POST', '/api/ssl', { domain: 'two-ssl.example.test', force: true });
      assert.equal(f.status, 200, f.body);
      const fb = f.json<{ names: string[]; message: string }>();
      assert.deepEqual(fb.names, ['two-ssl.example.test', 'www.two-ssl.example.test']);
      assert.match(fb.message, /kept www\.two-ssl\.example\.test/);
      const s1 = await served(httpsPort, 'www.two-ssl.example.test');
      assert.notEqual(s1.serial, s0.serial);
      assert.deepEqual(s1.names, ['two-ssl.example.test', 'www.two-ssl.example.test']);
      const r = await t.api('POST', '/api/certificates/renew', { domain: 'two-ssl.example.test', force: true });
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json<{ results: Result[] }>().results[0]!.names, ['two-ssl.example.test', 'www.two-ssl.example.test']);
      assert.deepEqual((await served(httpsPort, 'www.two-ssl.example.test')).names, ['two-ssl.example.test', 'www.two-ssl.example.test']);
    });

    test('a wildcard without acme.dns_hook: 409 conflict with the same message everywhere, nothing ordered', async () => {
      const o0 = orders();
      const a = await t.api('POST', '/api/ssl', { domain: '*.w.example.test' });
      assert.equal(a.status, 409, a.body);
      assert.equal(a.json<{ error: string }>().error, 'conflict');
      assert.match(a.json<{ message: string }>().message, WILDCARD);
      // Refused whole, before anything (not even the plain name beside it) is ordered or streamed.
      const b = await t.api('POST', '/api/certificates/request', { domains: ['plain-w.example.test', '*.w.example.test'] });
      assert.equal(b.status, 409, b.body);
      assert.match(b.json<{ message: string }>().message, WILDCARD);
      const s = await ndjson({ domains: ['*.w.example.test'] });
      assert.equal(s.status, 409, s.body);
      assert.match(s.body, WILDCARD);
      const bu = await t.api('POST', '/api/ssl/bundle', { primary: 'w.example.test', sans: ['*.w.example.test'] });
      assert.equal(bu.status, 409, bu.body);
      assert.match(bu.json<{ message: string }>().message, WILDCARD);
      const c = await cli(['*.w.example.test']);
      assert.equal(c.code, 2, c.stdout + c.stderr);
      assert.match(c.stderr, /refused the request \(409\): /);
      assert.match(c.stderr, WILDCARD);
      assert.deepEqual(orders(), o0, 'the CA was never asked');
      const st = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string }[] }>();
      assert.ok(!st.certificates.some((x) => x.domain === 'plain-w.example.test' || x.domain.includes('w.example.test') && x.domain.startsWith('*')));
    });

    test('the self-check names the name that does not reach this host, before the CA is asked', async () => {
      dns.setA('away.example.test', '127.0.0.2'); // nothing listens there
      dns.setA('www.half.example.test', '127.0.0.2');
      const o0 = orders();
      const a = await t.api('POST', '/api/ssl', { domain: 'away.example.test' });
      assert.equal(a.status, 502, a.body);
      assert.match(a.json<{ message: string }>().message, /self-check failed before ordering: away\.example\.test does not reach this HAProxy on port \d+ \(127\.0\.0\.2: ECONNREFUSED\); the CA was not asked/);
      // With www: the apex reaches here, www does not, and the error names www.
      const b = await t.api('POST', '/api/certificates/request', { domains: ['half.example.test'], include_www: true });
      assert.equal(b.status, 500, b.body);
      const res = b.json<{ results: Result[] }>().results[0]!;
      assert.equal(res.status, 'failed');
      assert.match(res.error!, /self-check failed before ordering: www\.half\.example\.test does not reach/);
      assert.doesNotMatch(res.error!, /: half\.example\.test does not/);
      // The CLI prints it for the name, exit 1.
      const c = await cli(['away.example.test']);
      assert.equal(c.code, 1, c.stdout + c.stderr);
      assert.match(c.stdout, /^FAILED  away\.example\.test: self-check failed before ordering: away\.example\.test does not reach/m);
      assert.deepEqual(orders(), o0, 'pebble was never asked');
      assert.ok(t.logs.some((l) => /self-check failed; the CA was not asked/.test(l) && /away\.example\.test/.test(l)));
      // acme.self_check: false turns it off: then the CA is asked, and its own validation fails.
      const acmeCfg = t.daemon.cfg.acme as { self_check: boolean };
      acmeCfg.self_check = false;
      try {
        const off = await t.api('POST', '/api/ssl', { domain: 'away.example.test' });
        assert.equal(off.status, 502, off.body);
        assert.match(off.json<{ message: string }>().message, /validation of away\.example\.test failed/);
        assert.ok(await waitFor(() => orders().pebble === o0.pebble + 1, 5_000, 50), `without the self-check, pebble was asked: ${orders().pebble - o0.pebble}`);
      } finally {
        acmeCfg.self_check = true;
      }
      // The self-check's token is not left behind on the responder.
      assert.equal((await t.get('one-ssl.example.test', '/.well-known/acme-challenge/hm-self-check-x')).status, 404);
    });
  });
}
