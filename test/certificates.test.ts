/**
 * Certificates end to end, on real HAProxy 2.6 and 3.0, against Debian's
 * pebble ACME server and a DNS server in the harness: HTTP-01 through HAProxy,
 * SAN bundles, wildcards through the DNS-01 hook and the two-step API,
 * hot-loading and renewal without a reload (under load, zero errors), the
 * renewal schedule, downloads, removal, and the faults that must leave the
 * live certificate byte-identical.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import https from 'node:https';
import http from 'node:http';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXIES, startTestDaemon, freePort, httpRequest, type TestDaemon } from './helpers/harness.js';
import { startDns, startPebble, type Pebble, type TestDns } from './helpers/pebble.js';
import { startAcmeStack } from './helpers/acme-stack.js';
import { builtBin } from './helpers/built-cli.js';

interface Served {
  serial: string;
  notAfter: string;
  subject: string;
  issuerCN: string;
  authorized: boolean;
}

function served(port: number, servername: string, ca?: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...(ca ? { ca } : {}) }, () => {
      const c = s.getPeerCertificate();
      resolve({ serial: c.serialNumber.toUpperCase().replace(/^0+/, ''), notAfter: c.valid_to, subject: c.subjectaltname ?? '', issuerCN: String(c.issuer?.CN ?? ''), authorized: s.authorized });
      s.end();
    });
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error('tls timeout')));
  });
}

const norm = (s: string | undefined) => (s ?? '').toUpperCase().replace(/^0+/, '');

async function reloads(t: TestDaemon): Promise<number> {
  return (await t.daemon.control.master.showProc())!.reloads;
}

/** A DNS-01 hook as an operator would write it: a command that sets and clears TXT records (here, in the test's DNS server). */
async function hookServer(dns: TestDns): Promise<{ script: string; calls: string[]; close(): Promise<void>; dir: string }> {
  const calls: string[] = [];
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const name = u.searchParams.get('name') ?? '';
    const value = u.searchParams.get('value') ?? '';
    calls.push(`${u.pathname.slice(1)} ${name}`);
    if (u.pathname === '/set') dns.setTxt(name, value);
    else if (u.pathname === '/clear') dns.clearTxt(name, value);
    res.end('ok');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'hm-hook-'));
  const script = join(dir, 'dns-hook');
  writeFileSync(
    script,
    `#!/usr/bin/env node\nconst [a, n, v] = process.argv.slice(2);\nfetch('http://127.0.0.1:${port}/' + a + '?name=' + encodeURIComponent(n) + '&value=' + encodeURIComponent(v)).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));\n`,
  );
  chmodSync(script, 0o755);
  return { script, calls, dir, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

for (const h of HAPROXIES) {
  describe(`${h.name}: certificates against pebble`, () => {
    let dns: TestDns;
    let pebble: Pebble;
    let hook: Awaited<ReturnType<typeof hookServer>>;
    let t: TestDaemon;
    let httpsPort: number;
    let root: string;

    before(async () => {
      // The self-check resolves names through the harness's DNS, as pebble does.
      ({ t, dns, pebble, httpsPort } = await startAcmeStack(h.bin, async (d) => {
        hook = await hookServer(d);
        return { dns_hook: hook.script, email: 'ops@example.test', self_check_resolver: `127.0.0.1:${d.port}` };
      }));
      root = await pebble.rootsPem();
    });
    after(async () => {
      await t?.stop();
      await hook?.close();
      await pebble?.stop();
      await dns?.stop();
      if (hook) rmSync(hook.dir, { recursive: true, force: true });
    });

    test('the HTTPS listener serves a self-signed certificate before any real one exists', async () => {
      const s = await served(httpsPort, 'anything.example.test');
      assert.equal(s.issuerCN, 'haproxy-manager-default');
      const st = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; self_signed: boolean }[] }>();
      assert.deepEqual(st.certificates.map((c) => [c.domain, c.self_signed]), [['haproxy-manager-default', true]]);
    });

    test('HTTP-01 through HAProxy: one API call, and HAProxy serves the new certificate without a reload', async () => {
      assert.equal((await t.api('POST', '/api/domain', { domain: 'web.example.test', backend_name: 'web', servers: [] })).status, 201);
      const r0 = await reloads(t);
      const r = await t.api('POST', '/api/ssl', { domain: 'web.example.test' });
      assert.equal(r.status, 200, r.body);
      const body = r.json<{ serial: string; cert_path: string; not_after: string }>();
      const s = await served(httpsPort, 'web.example.test', root);
      assert.equal(s.serial, norm(body.serial));
      assert.match(s.subject, /DNS:web\.example\.test/);
      assert.equal(s.authorized, true, 'chains to pebble\'s root');
      assert.equal(await reloads(t), r0, 'no reload');
      assert.equal(statSync(body.cert_path).mode & 0o777, 0o600);
      assert.equal(statSync(join(t.daemon.cfg.paths.acmeDir, 'account.key')).mode & 0o777, 0o600);
      const domains = (await t.api('GET', '/api/domains')).json<{ domain: string; ssl_enabled: boolean; ssl_cert_path: string }[]>();
      assert.deepEqual(domains.map((d) => [d.domain, d.ssl_enabled, d.ssl_cert_path]), [['web.example.test', true, body.cert_path]]);
      const st = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; days_until_expiry: number; issuer: string; challenge: string }[] }>();
      const c = st.certificates.find((x) => x.domain === 'web.example.test');
      assert.ok(c && c.days_until_expiry > 30 && c.challenge === 'http-01', JSON.stringify(c));
      // The ACME route answers for any host and is not the backend's.
      assert.equal((await t.get('web.example.test', '/.well-known/acme-challenge/unknown-token')).status, 404);
      // The private key never appears in the log.
      const key = readFileSync(body.cert_path, 'utf8').split('-----BEGIN PRIVATE KEY-----')[1]?.slice(0, 40) ?? 'x';
      assert.ok(!t.logs.some((l) => l.includes(key)));
    });

    test('two concurrent requests for the same name make one order', async () => {
      const [a, b] = await Promise.all([t.api('POST', '/api/ssl', { domain: 'twice.example.test' }), t.api('POST', '/api/ssl', { domain: 'twice.example.test' })]);
      assert.equal(a.status, 200, a.body);
      assert.equal(b.status, 200, b.body);
      assert.equal(a.json<{ serial: string }>().serial, b.json<{ serial: string }>().serial);
      const audit = (await t.api('GET', '/api/audit?action=certificate.install&limit=100')).json<{ target: string }[]>();
      assert.equal(audit.filter((e) => e.target === 'twice.example.test').length, 1);
    });

    test('a SAN certificate (the original\'s /api/ssl/bundle) serves every name it holds', async () => {
      for (const d of ['san1.example.test', 'san2.example.test']) assert.equal((await t.api('POST', '/api/domain', { domain: d, backend_name: d.split('.')[0], servers: [] })).status, 201);
      const r = await t.api('POST', '/api/ssl/bundle', { primary: 'san1.example.test', sans: ['san2.example.test', 'SAN2.example.test'] });
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json<{ names: string[] }>().names, ['san1.example.test', 'san2.example.test']);
      const s1 = await served(httpsPort, 'san1.example.test');
      const s2 = await served(httpsPort, 'san2.example.test');
      assert.equal(s1.serial, s2.serial);
      assert.match(s2.subject, /san1\.example\.test.*san2\.example\.test|san2\.example\.test.*san1\.example\.test/);
      const tooMany = await t.api('POST', '/api/ssl/bundle', { primary: 'p.example.test', sans: Array.from({ length: 100 }, (_, i) => `n${i}.example.test`) });
      assert.equal(tooMany.status, 400);
    });

    test('removing a domain removes its certificate only when no other domain uses it', async () => {
      const file = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; cert_path: string }[] }>().certificates.find((c) => c.domain === 'san1.example.test')!.cert_path;
      const d1 = await t.api('DELETE', '/api/domain', { domain: 'san1.example.test' });
      assert.deepEqual(d1.json<{ certificates_removed: string[] }>().certificates_removed, []);
      assert.ok(existsSync(file));
      assert.equal((await served(httpsPort, 'san2.example.test')).issuerCN !== 'haproxy-manager-default', true);
      const d2 = await t.api('DELETE', '/api/domain', { domain: 'san2.example.test' });
      assert.deepEqual(d2.json<{ certificates_removed: string[] }>().certificates_removed, ['san1.example.test']);
      assert.equal(existsSync(file), false, 'moved to the backups');
      assert.equal((await served(httpsPort, 'san2.example.test')).issuerCN, 'haproxy-manager-default');
    });

    test('a wildcard through the DNS-01 hook covers its subdomains, not the apex', async () => {
      assert.equal((await t.api('POST', '/api/domain', { domain: 'wild.example.test', backend_name: 'wildapex', servers: [] })).status, 201);
      const r = await t.api('POST', '/api/ssl', { domain: '*.wild.example.test' });
      assert.equal(r.status, 200, r.body);
      assert.ok(hook.calls.includes('set _acme-challenge.wild.example.test') && hook.calls.includes('clear _acme-challenge.wild.example.test'), hook.calls.join(','));
      assert.equal((await served(httpsPort, 'a.wild.example.test')).serial, norm(r.json<{ serial: string }>().serial));
      assert.equal((await served(httpsPort, 'wild.example.test')).issuerCN, 'haproxy-manager-default');
      const apex = (await t.api('GET', '/api/domains')).json<{ domain: string; ssl_enabled: boolean }[]>().find((d) => d.domain === 'wild.example.test');
      assert.equal(apex?.ssl_enabled, false, 'a wildcard does not cover the apex');
    });

    test('the two-step DNS-01 API: request returns the TXT value, verify completes the order', async () => {
      const req = await t.api('POST', '/api/ssl/dns-challenge/request', { domain: '*.manual.example.test' });
      assert.equal(req.status, 200, req.body);
      const data = req.json<{ data: { challenge_token: string; record_name: string; base_domain: string } }>().data;
      assert.equal(data.base_domain, 'manual.example.test');
      assert.equal(data.record_name, '_acme-challenge.manual.example.test');
      dns.setTxt(data.record_name, data.challenge_token);
      const v = await t.api('POST', '/api/ssl/dns-challenge/verify', { domain: 'manual.example.test' });
      assert.equal(v.status, 200, v.body);
      assert.match((await served(httpsPort, 'x.manual.example.test')).subject, /\*\.manual\.example\.test/);
      assert.equal((await t.api('POST', '/api/ssl/dns-challenge/verify', { domain: 'manual.example.test' })).status, 404, 'nothing pending any more');
    });

    test('renewal under load: a new serial and not-after are served, no reload, zero errors', async () => {
      const before = await served(httpsPort, 'web.example.test');
      const r0 = await reloads(t);
      let ok = 0;
      let errors = 0;
      let stop = false;
      const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
      const loop = async () => {
        while (!stop) {
          await new Promise<void>((resolve) => {
            const req = https.request({ host: '127.0.0.1', port: httpsPort, servername: 'web.example.test', headers: { host: 'web.example.test' }, rejectUnauthorized: false, agent, path: '/' }, (res) => {
              res.resume();
              res.on('end', () => {
                if (res.statusCode && res.statusCode < 600) ok++;
                resolve();
              });
            });
            req.on('error', () => {
              errors++;
              resolve();
            });
            req.end();
          });
        }
      };
      const loops = Array.from({ length: 8 }, loop);
      await new Promise((r) => setTimeout(r, 200));
      const r = await t.api('POST', '/api/certificates/renew', { domain: 'web.example.test', force: true });
      await new Promise((r2) => setTimeout(r2, 300));
      stop = true;
      await Promise.all(loops);
      agent.destroy();
      assert.equal(r.status, 200, r.body);
      const res = r.json<{ results: { status: string; serial: string; not_after: string }[] }>().results[0]!;
      assert.equal(res.status, 'renewed');
      const after2 = await served(httpsPort, 'web.example.test');
      assert.notEqual(after2.serial, before.serial);
      assert.equal(after2.serial, norm(res.serial));
      assert.notEqual(after2.notAfter, before.notAfter);
      assert.equal(await reloads(t), r0, 'no reload');
      assert.ok(ok > 20, `requests served: ${ok}`);
      assert.equal(errors, 0);
    });

    test('the renewal schedule renews a certificate that is due', async () => {
      const before = await served(httpsPort, 'twice.example.test');
      // Make it due: a lifetime whose last third has begun (the clock of the facts, not of the CA).
      t.daemon.db.writer.prepare(`UPDATE certificates SET not_before = '2020-01-01T00:00:00.000Z', not_after = ? WHERE name = 'twice.example.test'`).run(new Date(Date.now() + 86_400_000).toISOString());
      const st = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; renewal_due: boolean }[] }>();
      assert.equal(st.certificates.find((c) => c.domain === 'twice.example.test')?.renewal_due, true);
      const results = await t.daemon.certs.renew({}, 'scheduler');
      assert.deepEqual(results.filter((x) => x.status === 'renewed').map((x) => x.domain), ['twice.example.test']);
      assert.ok(results.filter((x) => x.domain !== 'twice.example.test').every((x) => x.status === 'skipped'));
      assert.notEqual((await served(httpsPort, 'twice.example.test')).serial, before.serial);
    });

    test('downloads: only managed certificates, names validated, no path escapes', async () => {
      const dl = await t.api('GET', '/api/certificates/web.example.test/download');
      assert.equal(dl.status, 200);
      assert.match(dl.body, /BEGIN CERTIFICATE[\s\S]*PRIVATE KEY/);
      const cert = await t.api('GET', '/api/certificates/web.example.test/cert');
      assert.match(cert.body, /BEGIN CERTIFICATE/);
      assert.doesNotMatch(cert.body, /PRIVATE KEY/);
      const key = await t.api('GET', '/api/certificates/web.example.test/key');
      assert.match(key.body, /PRIVATE KEY/);
      assert.doesNotMatch(key.body, /CERTIFICATE/);
      assert.equal((await t.api('GET', '/api/certificates/%2A.wild.example.test/cert')).status, 200);
      assert.equal((await t.api('GET', '/api/certificates/nobody.example.test/key')).status, 404);
      assert.equal((await t.api('GET', '/api/certificates/haproxy-manager-default/key')).status, 404, 'the self-signed default is not served for download');
      for (const p of ['..%2F..%2Fetc%2Fpasswd', '..', '%2Fetc%2Fpasswd', 'web.example.test%00']) {
        const r = await t.api('GET', `/api/certificates/${p}/key`);
        assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
        assert.doesNotMatch(r.body, /root:|PRIVATE KEY/);
      }
    });

    test('the CLI requests certificates through the API, one line per domain and a summary', async () => {
      const { parse, stringify } = await import('yaml');
      const cfgFile = join(t.dir, 'cli.yaml');
      const settings = parse(readFileSync(join(t.dir, 'config.yaml'), 'utf8')) as { api: { port: number } };
      settings.api.port = t.apiPort;
      writeFileSync(cfgFile, stringify(settings));
      const { execFile } = await import('node:child_process');
      const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [builtBin(), 'certs', 'request', 'cli1.example.test', 'cli2.example.test', '--no-www', '-c', cfgFile], { timeout: 60_000 }, (err, stdout) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
        );
      });
      assert.equal(out.code, 0, out.stdout);
      assert.match(out.stdout, /^issued  cli1\.example\.test \(until /m);
      assert.match(out.stdout, /^issued  cli2\.example\.test \(until /m);
      assert.match(out.stdout, /^2 of 2 done, 0 failed$/m);
      assert.match((await served(httpsPort, 'cli2.example.test')).subject, /cli2\.example\.test/);
    });

    test('faults: bad names, a name not pointing here, a failed write: clear errors, the live certificate byte-identical and served', async () => {
      const status = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; cert_path: string }[] }>();
      const file = status.certificates.find((c) => c.domain === 'web.example.test')!.cert_path;
      const live = readFileSync(file);
      const servedBefore = await served(httpsPort, 'web.example.test');
      for (const bad of ['bad_name.test', 'a..b', '-x.test', 'x.test;reload', '', 'caf é.test', 'x.test\nreload']) {
        const r = await t.api('POST', '/api/ssl', { domain: bad });
        assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.body}`);
        assert.equal(r.json<{ field: string }>().field, 'domain');
      }
      const many = await t.api('POST', '/api/certificates/request', { domains: ['ok.example.test', 'bad..name'] });
      assert.equal(many.status, 400, 'validated before anything is ordered');
      // A name that does not point at this host: the self-check fails it, named, before the CA is asked.
      dns.setA('web.example.test', '127.0.0.2');
      const r = await t.api('POST', '/api/certificates/renew', { domain: 'web.example.test', force: true });
      assert.equal(r.status, 500, r.body);
      assert.match(r.json<{ failures: { error: string }[] }>().failures[0]!.error, /self-check failed before ordering: web\.example\.test does not reach this HAProxy .*127\.0\.0\.2/);
      assert.deepEqual(readFileSync(file), live);
      assert.equal((await served(httpsPort, 'web.example.test')).serial, servedBefore.serial);
      const st = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; last_error: string; failures: number; next_attempt_at: string }[] }>();
      const c = st.certificates.find((x) => x.domain === 'web.example.test')!;
      assert.equal(c.failures, 1);
      assert.match(c.last_error, /self-check failed/);
      assert.ok(Date.parse(c.next_attempt_at) > Date.now());
      assert.ok(t.logs.some((l) => /certificate renewal failed; the current certificate stays in place/.test(l)));
      dns.setA('web.example.test', '127.0.0.1');
      // A failed write (the staging path is taken by a directory): nothing live changes.
      const staged = join(t.daemon.cfg.paths.certDir, '.web.example.test.pem.staged');
      mkdirSync(staged);
      try {
        const w = await t.api('POST', '/api/certificates/renew', { domain: 'web.example.test', force: true });
        assert.equal(w.status, 500, w.body);
        assert.match(w.body, /cannot write certificate/);
      } finally {
        rmSync(staged, { recursive: true, force: true });
      }
      assert.deepEqual(readFileSync(file), live);
      assert.equal((await served(httpsPort, 'web.example.test')).serial, servedBefore.serial);
      // A mixed request reports each domain: one issued, one failed.
      dns.setA('away.example.test', '127.0.0.2');
      const mixed = await t.api('POST', '/api/certificates/request', { domains: ['mixed.example.test', 'away.example.test'], include_www: false });
      assert.equal(mixed.status, 207, mixed.body);
      const results = mixed.json<{ results: { domain: string; status: string }[] }>().results;
      assert.deepEqual(results.map((x) => [x.domain, x.status]), [['mixed.example.test', 'success'], ['away.example.test', 'failed']]);
    });
  });
}

test('an ACME server that is down or silent gives a clear error in bounded time', async () => {
  const closed = await freePort();
  const silent = http.createServer(() => {
    /* accepts and never answers */
  });
  const silentPort = await freePort();
  await new Promise<void>((r) => silent.listen(silentPort, '127.0.0.1', () => r()));
  for (const [what, url, re] of [
    ['down', `https://127.0.0.1:${closed}/dir`, /cannot reach the ACME server/],
    ['silent', `http://127.0.0.1:${silentPort}/dir`, /cannot reach the ACME server|timeout/i],
  ] as const) {
    // The CA's own unreachability is what is tested: no self-check (x.example.test resolves nowhere).
    const t = await startTestDaemon(HAPROXIES[0]!.bin, { config: { haproxy: { https_port: await freePort() }, acme: { directory: url, timeout: '2s', self_check: false } } });
    try {
      const t0 = Date.now();
      const r = await httpRequest({ port: t.apiPort, method: 'POST', path: '/api/ssl', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.apiKey}` }, body: JSON.stringify({ domain: 'x.example.test' }), timeoutMs: 40_000 });
      assert.equal(r.status, 502, `${what}: ${r.body}`);
      assert.match(r.json<{ message: string }>().message, re);
      assert.ok(Date.now() - t0 < 30_000, `${what} took ${Date.now() - t0} ms`);
      assert.equal((await t.api('GET', '/health')).status, 200);
    } finally {
      await t.stop();
    }
  }
  silent.close();
  silent.closeAllConnections();
});

test('External Account Binding (kid and HMAC key file) and an RSA key type: the CA issues, HAProxy serves an RSA certificate', async () => {
  const httpPort = await freePort();
  const dns = await startDns();
  const kid = 'kid-1';
  const hmac = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
  const pebble = await startPebble({ httpPort, dnsPort: dns.port, eab: { [kid]: hmac } });
  const caFile = join(pebble.dir, 'ca-for-daemon.pem');
  writeFileSync(caFile, pebble.caPem);
  const hmacFile = join(pebble.dir, 'eab-hmac');
  writeFileSync(hmacFile, hmac + '\n', { mode: 0o600 });
  const httpsPort = await freePort();
  const t = await startTestDaemon(HAPROXIES[1]!.bin, {
    httpPort,
    config: { haproxy: { https_port: httpsPort }, acme: { directory: pebble.directoryUrl, ca_file: caFile, eab: { kid, hmac_key_file: hmacFile }, key_type: 'rsa-2048', self_check_resolver: `127.0.0.1:${dns.port}` } },
  });
  try {
    const r = await t.api('POST', '/api/ssl', { domain: 'eab.example.test' });
    assert.equal(r.status, 200, r.body);
    assert.equal((await served(httpsPort, 'eab.example.test')).serial, norm(r.json<{ serial: string }>().serial));
    const bits = await new Promise<number | undefined>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'eab.example.test', rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().bits);
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal(bits, 2048, 'an RSA-2048 key');
    const st = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; key_type: string }[] }>();
    assert.equal(st.certificates.find((c) => c.domain === 'eab.example.test')?.key_type, 'rsa-2048');
    assert.ok(!t.logs.some((l) => l.includes(hmac)), 'the HMAC key never appears in the log');
  } finally {
    await t.stop();
    await pebble.stop();
    await dns.stop();
  }
});

test('ACME Renewal Information: the CA\'s suggested window decides when a certificate is due', async () => {
  const httpPort = await freePort();
  const dns = await startDns();
  const pebble = await startPebble({ httpPort, dnsPort: dns.port });
  // Pebble 2.4 offers no ARI: a directory in front of it adds renewalInfo and answers it (the one faked part).
  let window = { start: new Date(Date.now() + 30 * 86_400_000).toISOString(), end: new Date(Date.now() + 31 * 86_400_000).toISOString() };
  const asked: string[] = [];
  let rateLimited = false;
  const front = http.createServer((req, res) => {
    void (async () => {
      if (req.url === '/dir') {
        const upstream = await new Promise<string>((resolve, reject) => {
          https.get(pebble.directoryUrl, { ca: pebble.caPem }, (r) => {
            let b = '';
            r.on('data', (d) => (b += d));
            r.on('end', () => resolve(b));
          }).on('error', reject);
        });
        const dir = JSON.parse(upstream) as Record<string, unknown>;
        dir.renewalInfo = `http://127.0.0.1:${(front.address() as { port: number }).port}/ari`;
        if (rateLimited) dir.newOrder = `http://127.0.0.1:${(front.address() as { port: number }).port}/limited`;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(dir));
      } else if (req.url === '/limited') {
        res.statusCode = 429;
        res.setHeader('retry-after', '7200');
        res.setHeader('content-type', 'application/problem+json');
        res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently' }));
      } else if (req.url?.startsWith('/ari/')) {
        asked.push(req.url.slice(5));
        res.setHeader('content-type', 'application/json');
        res.setHeader('retry-after', '0');
        res.end(JSON.stringify({ suggestedWindow: window }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    })();
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  const caFile = join(pebble.dir, 'ca-for-daemon.pem');
  writeFileSync(caFile, pebble.caPem);
  const httpsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hm-ari-'));
  const daemonOpts = {
    httpPort,
    statsPort: await freePort(),
    dir,
    config: { haproxy: { https_port: httpsPort }, acme: { directory: `http://127.0.0.1:${(front.address() as { port: number }).port}/dir`, ca_file: caFile, challenge_port: await freePort(), self_check_resolver: `127.0.0.1:${dns.port}` } },
  };
  let t = await startTestDaemon(HAPROXIES[0]!.bin, daemonOpts);
  try {
    const r = await t.api('POST', '/api/ssl', { domain: 'ari.example.test' });
    assert.equal(r.status, 200, r.body);
    const file = r.json<{ cert_path: string }>().cert_path;
    // The certificate id, computed independently with openssl: base64url(AKI) "." base64url(serial).
    const { execFileSync } = await import('node:child_process');
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', file]).toString();
    const aki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)![1]!.replace(/:/g, '');
    let serialHex = execFileSync('openssl', ['x509', '-noout', '-serial', '-in', file]).toString().trim().split('=')[1]!;
    if (serialHex.length % 2) serialHex = `0${serialHex}`;
    let serial = Buffer.from(serialHex, 'hex');
    if (serial[0]! & 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
    const b64u = (b: Buffer) => b.toString('base64url');
    const expectedId = `${b64u(Buffer.from(aki, 'hex'))}.${b64u(serial)}`;
    // Window in the future: not due (and the lifetime rule would not make it due either).
    let res = await t.daemon.certs.renew({}, 'scheduler');
    assert.equal(res.find((x) => x.domain === 'ari.example.test')?.status, 'skipped');
    assert.ok(asked.includes(expectedId), `asked ${asked.join(',')}, expected ${expectedId}`);
    // The CA moves the window into the past (say, before a revocation): due now, though far from expiry.
    window = { start: new Date(Date.now() - 2 * 3_600_000).toISOString(), end: new Date(Date.now() - 3_600_000).toISOString() };
    res = await t.daemon.certs.renew({}, 'scheduler');
    assert.equal(res.find((x) => x.domain === 'ari.example.test')?.status, 'renewed');
    // A rate-limited CA: the failure is immediate, recorded, and the next try waits for the CA's Retry-After (2 h), not the default 15 min.
    // (The directory is read when the daemon starts its ACME client: restart it on the rate-limited directory.)
    rateLimited = true;
    await t.stop();
    t = await startTestDaemon(HAPROXIES[0]!.bin, daemonOpts);
    const t0 = Date.now();
    const limited = await t.daemon.certs.renew({ domain: 'ari.example.test', force: true }, 'api');
    assert.equal(limited[0]?.status, 'failed');
    assert.match(limited[0]!.error!, /too many new orders/);
    assert.ok(Date.now() - t0 < 10_000, 'no in-request sleep for the Retry-After');
    assert.ok(t.logs.some((l) => /ACME account ready .*reused=true/.test(l)), 'the restarted daemon reuses its ACME account');
    const st = (await t.api('GET', '/api/certificates/status')).json<{ certificates: { domain: string; next_attempt_at: string }[] }>();
    const next = Date.parse(st.certificates.find((c) => c.domain === 'ari.example.test')!.next_attempt_at);
    assert.ok(next - Date.now() > 7000 * 1000 && next - Date.now() <= 7200 * 1000, new Date(next).toISOString());
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
    front.close();
    front.closeAllConnections();
    await pebble.stop();
    await dns.stop();
  }
});
