/**
 * TCP services through real HAProxy 2.6 and 3.0 (issue 13), asserted on what
 * a client and a server see: TLS passthrough by SNI on the HTTPS port (the
 * client gets the server's own certificate, not HAProxy's) while the HTTP
 * sites on that port keep HAProxy's certificate, their headers, HSTS and the
 * real client address (blocks by a trusted proxy's X-Forwarded-For still 403)
 * across the internal PROXY-protocol hop; a plain TCP port to an echo server,
 * with and without the PROXY protocol to the server; bad input answered 400
 * (or 409 for what collides) naming the field, with nothing changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { consolePage, launchBrowser } from './helpers/browser.js';
import { HAPROXIES, domainBody, freePort, startBackend, startTestDaemon, type TestDaemon } from './helpers/harness.js';

/** A self-signed certificate of the service's own, made with openssl now. */
function ownCertificate(dir: string): { key: string; cert: string; fingerprint: string } {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
    '-subj', '/CN=pass.test', '-addext', 'subjectAltName=DNS:pass.test,DNS:*.wild.test',
  ], { stdio: 'pipe' });
  const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
  return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert, fingerprint: new X509Certificate(cert).fingerprint256 };
}

interface TlsAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** The certificate the client was shown. */
  fingerprint: string;
  cn: string;
}

/** An HTTPS request to HAProxy's HTTPS port with this SNI (and Host), from `localAddress`. */
function tlsGet(port: number, servername: string, opts: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, servername, path: '/', rejectUnauthorized: false, agent: false, timeout: 10_000, headers: { host: servername, ...opts.headers }, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, fingerprint: peer.fingerprint256, cn: String(peer.subject?.CN ?? '') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Sends `text` on a new TCP connection and resolves with everything read until the server closes or `want` bytes came. */
function tcpExchange(port: number, text: string, want: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no echo; got ${JSON.stringify(got)}`))), 10_000);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(text));
    s.on('data', (d: string) => {
      got += d;
      if (got.length >= want) {
        clearTimeout(timer);
        s.end();
        resolve(got);
      }
    });
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

/** A TCP server that echoes, keeping the first bytes of each connection (where a PROXY header would be). */
async function echoServer(): Promise<{ port: number; firstBytes: Buffer[]; close(): Promise<void> }> {
  const firstBytes: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let first = true;
    s.on('data', (d: Buffer) => {
      if (first) firstBytes.push(d);
      first = false;
      // A PROXY v2 header (signature, 4 bytes of version/family/length, then the addresses) is not echoed.
      if (d.subarray(0, 12).equals(PROXY_V2_SIGNATURE)) d = d.subarray(16 + d.readUInt16BE(14));
      if (d.length) s.write(d);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    firstBytes,
    close: () => new Promise<void>((r) => (srv.close(() => r()), sockets.forEach((s) => s.destroy()))),
  };
}

const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const server = (port: number, extra: Record<string, unknown> = {}) => ({ name: 's1', address: '127.0.0.1', port, check: false, ...extra });

for (const h of HAPROXIES) {
  test(`${h.name}: TLS passthrough by SNI beside the HTTPS sites; a plain TCP port; the real client address survives the internal hop`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-tcp-'));
    const own = ownCertificate(dir);
    // The passthrough service's server: TLS terminated by itself, with its own certificate.
    const tlsServer = https.createServer({ key: own.key, cert: own.cert }, (req, res) => res.end(JSON.stringify({ server: 'passthrough', host: req.headers.host })));
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', () => r()));
    const tlsPort = (tlsServer.address() as net.AddressInfo).port;
    const be = await startBackend('app');
    const echo = await echoServer();
    const httpsPort = await freePort();
    const t = await startTestDaemon(h.bin, { config: { haproxy: { https_port: httpsPort } } });
    try {
      const site = { ...domainBody('site.test', 'site', [be.port]), https: { hsts: { max_age: 600 } } };
      assert.equal((await t.api('POST', '/api/domain', site)).status, 201);
      const before = await tlsGet(httpsPort, 'site.test');
      assert.equal(before.status, 200);
      const cfgWithout = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
      assert.doesNotMatch(cfgWithout, /hm-tls-sni|abns@/);

      const pass = { name: 'pass', kind: 'tls_passthrough', sni: 'pass.test', servers: [server(tlsPort)] };
      const created = await t.api('POST', '/api/tcp-services', pass);
      assert.equal(created.status, 201, created.body);
      assert.deepEqual(created.json(), { status: 'success', name: 'pass', created: true, reloaded: true });
      const wild = { name: 'wild', kind: 'tls_passthrough', sni: '*.wild.test', servers: [server(tlsPort)] };
      assert.equal((await t.api('POST', '/api/tcp-services', wild)).status, 201);

      // The passthrough name: the server's own certificate and answer, HAProxy never read the stream.
      const p = await tlsGet(httpsPort, 'pass.test');
      assert.equal(p.fingerprint, own.fingerprint, "the client sees the service's certificate");
      assert.equal(p.cn, 'pass.test');
      assert.deepEqual(JSON.parse(p.body), { server: 'passthrough', host: 'pass.test' });
      assert.equal(p.headers['strict-transport-security'], undefined);
      const w = await tlsGet(httpsPort, 'a.b.WILD.test');
      assert.equal(w.fingerprint, own.fingerprint, 'a wildcard SNI, any depth, any case');
      // The HTTP site on the same port: HAProxy's certificate, its backend, its headers, HSTS.
      const s = await tlsGet(httpsPort, 'site.test', { localAddress: '127.0.0.13' });
      assert.equal(s.status, 200, s.body);
      assert.notEqual(s.fingerprint, own.fingerprint);
      assert.equal(s.fingerprint, before.fingerprint, "HAProxy's certificate, as before the service");
      const seen = JSON.parse(s.body) as { server: string; headers: Record<string, string> };
      assert.equal(seen.server, 'app');
      assert.equal(seen.headers['x-forwarded-proto'], 'https', 'ssl_fc is still true behind the hop');
      assert.equal(seen.headers['x-real-ip'], '127.0.0.13', "the client's own address, carried by the PROXY protocol");
      assert.equal(s.headers['strict-transport-security'], 'max-age=600');
      // The apex of the wildcard is not covered by it: HAProxy terminates (and has no such site).
      const apex = await tlsGet(httpsPort, 'wild.test');
      assert.notEqual(apex.fingerprint, own.fingerprint);
      assert.equal(apex.status, 404);

      // A block judged on the real client address still answers 403 on the terminated path.
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.12' })).status, 201);
      assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.7' })).status, 201);
      const blocked = await tlsGet(httpsPort, 'site.test', { localAddress: '127.0.0.12', headers: { 'X-Forwarded-For': '203.0.113.7' } });
      assert.equal(blocked.status, 403);
      const other = await tlsGet(httpsPort, 'site.test', { localAddress: '127.0.0.12', headers: { 'X-Forwarded-For': '203.0.113.8' } });
      assert.equal(other.status, 200);
      assert.equal((JSON.parse(other.body) as { headers: Record<string, string> }).headers['x-real-ip'], '203.0.113.8');

      // Plain TCP: a port of its own to an echo server; then with the PROXY protocol to it.
      const tcpPort = await freePort();
      const echoSvc = { name: 'echo', kind: 'tcp', port: tcpPort, servers: [server(echo.port)] };
      assert.equal((await t.api('POST', '/api/tcp-services', echoSvc)).status, 201);
      assert.equal(await tcpExchange(tcpPort, 'hello through haproxy\n', 22), 'hello through haproxy\n');
      assert.equal(echo.firstBytes.at(-1)!.toString('utf8'), 'hello through haproxy\n', 'no PROXY header unless asked');
      const replaced = await t.api('POST', '/api/tcp-services', { ...echoSvc, send_proxy: true, balance: 'leastconn' });
      assert.equal(replaced.status, 200, replaced.body);
      assert.equal(replaced.json<{ created: boolean }>().created, false);
      assert.equal(await tcpExchange(tcpPort, 'again\n', 6), 'again\n');
      const hdr = echo.firstBytes.at(-1)!;
      assert.ok(hdr.subarray(0, 12).equals(PROXY_V2_SIGNATURE), `a PROXY v2 header first: ${hdr.toString('hex').slice(0, 40)}`);
      assert.equal(hdr[13], 0x11, 'TCP over IPv4');
      assert.equal([...hdr.subarray(16, 20)].join('.'), '127.0.0.1', "the client's address");

      const listed = (await t.api('GET', '/api/tcp-services')).json<{ name: string }[]>();
      assert.deepEqual(listed, [
        { name: 'echo', kind: 'tcp', sni: null, port: tcpPort, balance: 'leastconn', send_proxy: true, servers: [{ name: 's1', address: '127.0.0.1', port: echo.port, check: false, backup: false, weight: 100, maxconn: null }] },
        { name: 'pass', kind: 'tls_passthrough', sni: 'pass.test', port: null, balance: 'roundrobin', send_proxy: false, servers: [{ name: 's1', address: '127.0.0.1', port: tlsPort, check: false, backup: false, weight: 100, maxconn: null }] },
        { name: 'wild', kind: 'tls_passthrough', sni: '*.wild.test', port: null, balance: 'roundrobin', send_proxy: false, servers: [{ name: 's1', address: '127.0.0.1', port: tlsPort, check: false, backup: false, weight: 100, maxconn: null }] },
      ]);
      const audit = (await t.api('GET', '/api/audit?action=tcp_service.upsert')).json<{ target: string; result: string }[]>();
      assert.equal(audit.filter((a) => a.result === 'ok').length, 4, JSON.stringify(audit));

      // The console lists them, read-only, under the domains.
      const b = await launchBrowser();
      try {
        const cp = await consolePage(b, t.apiPort, t.apiKey!);
        await cp.goto('/domains');
        const rows = await cp.page.$$eval('#tcp-service-list tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
        assert.equal(rows.length, 3, rows.join('\n'));
        assert.match(rows[0]!, new RegExp(`^echo TCP port ${tcpPort} 127\\.0\\.0\\.1:${echo.port} s1`));
        assert.match(rows[1]!, /^pass TLS passthrough, SNI pass\.test /);
        assert.match(rows[2]!, /^wild TLS passthrough, SNI \*\.wild\.test /);
        assert.deepEqual(cp.problems, []);
      } finally {
        await b.close();
      }

      await badInput(t, { httpsPort, tcpPort, statsPort: t.daemon.cfg.haproxy.stats_port! });

      // Removing every service gives back the configuration from before them, byte for byte.
      for (const n of ['pass', 'wild', 'echo']) assert.equal((await t.api('DELETE', `/api/tcp-services/${n}`)).status, 200);
      assert.equal((await t.api('DELETE', '/api/tcp-services/pass')).status, 404);
      assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), cfgWithout);
      const after = await tlsGet(httpsPort, 'pass.test');
      assert.equal(after.fingerprint, before.fingerprint, 'pass.test is now terminated by HAProxy');
      assert.equal(after.status, 404);
      await assert.rejects(tcpExchange(tcpPort, 'x', 1), 'the TCP port is closed');
    } finally {
      await t.stop();
      await be.close();
      await echo.close();
      await new Promise((r) => tlsServer.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Each bad body is a 400 (or a 409) naming the field; nothing changes, in the database or in the configuration. */
async function badInput(t: TestDaemon, ports: { httpsPort: number; tcpPort: number; statsPort: number }) {
  const listBefore = (await t.api('GET', '/api/tcp-services')).body;
  const cfgBefore = readFileSync(t.daemon.cfg.paths.configPath, 'utf8');
  const pass = { name: 'new', kind: 'tls_passthrough', sni: 'new.test', servers: [server(9)] };
  const tcp = { name: 'new', kind: 'tcp', port: 40001, servers: [server(9)] };
  const cases: [unknown, number, string][] = [
    [{ ...pass, name: 'hm-new' }, 400, 'name'],
    [{ ...pass, name: 'a b' }, 400, 'name'],
    [{ ...pass, name: 'new\n' }, 400, 'name'],
    [{ ...pass, name: 5 }, 400, 'name'],
    [{ ...pass, name: undefined }, 400, 'name'],
    [{ ...pass, kind: 'udp' }, 400, 'kind'],
    [{ ...pass, kind: undefined }, 400, 'kind'],
    [{ ...pass, sni: 'new.test\u0000' }, 400, 'sni'],
    [{ ...pass, sni: ' new.test' }, 400, 'sni'],
    [{ ...pass, sni: 7 }, 400, 'sni'],
    [{ ...pass, sni: undefined }, 400, 'sni'],
    [{ ...pass, port: 40002 }, 400, 'port'],
    [{ ...tcp, sni: 'new.test' }, 400, 'sni'],
    [{ ...tcp, port: '40001' }, 400, 'port'],
    [{ ...tcp, port: 0 }, 400, 'port'],
    [{ ...tcp, port: 65536 }, 400, 'port'],
    [{ ...tcp, port: undefined }, 400, 'port'],
    [{ ...tcp, balance: 'random' }, 400, 'balance'],
    [{ ...tcp, send_proxy: 'yes' }, 400, 'send_proxy'],
    [{ ...tcp, send_proxy: 1 }, 400, 'send_proxy'],
    [{ ...tcp, servers: 'none' }, 400, 'servers'],
    [{ ...tcp, servers: [server(9, { port: '9' })] }, 400, 'servers[0].port'],
    [{ ...tcp, servers: [server(9, { address: '127.0.0.1 ' })] }, 400, 'servers[0].address'],
    [{ ...tcp, servers: [server(9, { address: '10.0.0.0/8' })] }, 400, 'servers[0].address'],
    [{ ...tcp, servers: [server(9, { name: 's;1' })] }, 400, 'servers[0].name'],
    [{ ...tcp, servers: [server(9, { weight: 257 })] }, 400, 'servers[0].weight'],
    [{ ...tcp, servers: [server(9, { check: 'true' })] }, 400, 'servers[0].check'],
    [{ ...tcp, servers: [server(9, { maxconn: 0 })] }, 400, 'servers[0].maxconn'],
    [{ ...tcp, servers: [server(9, { tls: true })] }, 400, 'servers[0].tls'],
    [{ ...tcp, servers: [server(9), server(10)] }, 400, 'servers[1].name'],
    [{ ...tcp, options: 'send-proxy' }, 400, 'options'],
    [{ ...tcp, port: t.httpPort }, 409, 'port'],
    [{ ...tcp, port: ports.httpsPort }, 409, 'port'],
    [{ ...tcp, port: ports.statsPort }, 409, 'port'],
    [{ ...tcp, port: t.daemon.cfg.acme.challenge_port }, 409, 'port'],
    [{ ...tcp, port: ports.tcpPort }, 409, 'port'],
    [{ ...pass, sni: 'pass.test' }, 409, 'sni'],
    [{ ...pass, sni: 'site.test' }, 409, 'sni'],
  ];
  for (const [body, status, field] of cases) {
    const r = await t.api('POST', '/api/tcp-services', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.body}`);
    assert.equal(r.json<{ field: string }>().field, field, `${JSON.stringify(body)}: ${r.body}`);
  }
  // The other way round: an HTTP domain spelled as a passthrough SNI.
  const d = await t.api('POST', '/api/domain', domainBody('pass.test', 'passhttp', [9]));
  assert.equal(d.status, 409, d.body);
  assert.equal(d.json<{ field: string }>().field, 'domain');
  assert.equal((await t.api('GET', '/api/tcp-services')).body, listBefore, 'nothing new');
  assert.equal(readFileSync(t.daemon.cfg.paths.configPath, 'utf8'), cfgBefore, 'no bad body reached the configuration');
}
