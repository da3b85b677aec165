/**
 * Real HAProxy (each installed version) logs real traffic to stdout in the
 * raw format; every line it writes, and every line its master writes on
 * stderr, must parse, with the fields the traffic implies. Skipped for a
 * binary that is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLine } from '../../src/pipeline/parse/index.js';
import type { ParsedLine } from '../../src/pipeline/types.js';

const BINARIES = ['/usr/sbin/haproxy', '/opt/haproxy-3.0/usr/sbin/haproxy'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const req = mod.get(url, { headers, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
  });
}

function raw(port: number, data: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(data));
    s.on('data', () => undefined);
    s.on('close', () => resolve());
    s.on('error', () => resolve());
    s.setTimeout(3000, () => s.destroy());
  });
}

for (const bin of BINARIES) {
  describe(`live ${bin}`, { skip: existsSync(bin) ? false : `${bin} not installed` }, () => {
    let dir = '';
    let app: http.Server;
    const ports = { app: 0, web: 0, tls: 0, own: 0, tcp: 0 };
    let stdout = '';
    let stderr = '';
    let results: { line: string; p: ParsedLine }[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'parse-live-'));
      const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8' });
      assert.equal(cert.status, 0, cert.stderr);
      const { readFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'site.pem'), readFileSync(join(dir, 'c.pem'), 'utf8') + readFileSync(join(dir, 'k.pem'), 'utf8'));
      for (const k of ['app', 'web', 'tls', 'own', 'tcp'] as const) ports[k] = await freePort();
      app = http.createServer((req, res) => {
        res.statusCode = req.url?.includes('missing') ? 404 : 200;
        res.end('ok');
      });
      await new Promise<void>((r) => app.listen(ports.app, '127.0.0.1', r));
      const cfg = `
global
  log stdout format raw local0
  # One thread: a log line to a file descriptor is dropped when another thread holds the fd (src/fd.c fd_write_frag_line "prefers to fail on collision"; seen once under load).
  nbthread 1
defaults
  log global
  mode http
  option httplog
  timeout connect 1s
  timeout client 2s
  timeout server 2s
  timeout http-request 1s
frontend web
  bind 127.0.0.1:${ports.web}
  bind 127.0.0.1:${ports.tls} ssl crt ${join(dir, 'site.pem')}
  http-request capture req.hdr(Host) len 64
  http-request capture req.fhdr(User-Agent) len 200
  http-request deny deny_status 429 if { path_beg /limited }
  default_backend app
frontend own
  bind 127.0.0.1:${ports.own}
  http-request capture req.hdr(Host) len 64
  http-request capture req.fhdr(User-Agent) len 200
  http-request set-var(txn.real_ip) req.hdr_ip(X-Forwarded-For,-1)
  log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r rip=%[var(txn.real_ip)] rid=%[uuid()]"
  default_backend app
frontend tcp_in
  mode tcp
  option tcplog
  bind 127.0.0.1:${ports.tcp}
  default_backend tcp_app
backend app
  server s1 127.0.0.1:${ports.app}
backend tcp_app
  mode tcp
  server t1 127.0.0.1:${ports.app}
`;
      writeFileSync(join(dir, 'haproxy.cfg'), cfg);
      // Its own process group, so the worker goes with the master at the end.
      const hp = spawn(bin, ['-W', '-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      hp.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      hp.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((r) => hp.on('exit', () => r()));
      for (let k = 0; k < 50 && !stderr.includes('Loading success'); k++) await sleep(100);

      assert.equal(await get(`http://127.0.0.1:${ports.web}/search?q=a%20b&x=1`, { 'user-agent': 'Mozilla/5.0 (X11) {x|y} "q"' }), 200);
      assert.equal(await get(`http://127.0.0.1:${ports.web}/missing.php`, { 'user-agent': 'sqlmap/1.7' }), 404);
      assert.equal(await get(`http://127.0.0.1:${ports.web}/limited`), 429);
      assert.equal(await get(`https://127.0.0.1:${ports.tls}/secure?x=1`), 200);
      assert.equal(await get(`http://127.0.0.1:${ports.own}/own`, { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'curl/8.0' }), 200);
      await raw(ports.web, 'GARBAGE\r\n\r\n');
      await raw(ports.web, 'GET http://example.com/abs?x=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
      await raw(ports.tls, 'GET / HTTP/1.1\r\n\r\n');
      await raw(ports.tcp, 'GET / HTTP/1.0\r\n\r\n');
      await sleep(300);
      hp.kill('SIGUSR1'); // soft stop: proxies log that they stop, the master that its worker exited
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      try {
        process.kill(-(hp.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
      hp.stdout.destroy();
      hp.stderr.destroy();
      const all = [...stdout.split('\n'), ...stderr.split('\n')].filter((l) => l.trim() !== '');
      results = all.map((line) => ({ line, p: parseLine(line, 'haproxy') }));
    });

    after(() => {
      app?.closeAllConnections();
      app?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const find = (pred: (p: ParsedLine) => boolean): ParsedLine => {
      const r = results.find((x) => pred(x.p));
      assert.ok(r, `no such line among:\n${results.map((x) => x.line).join('\n')}`);
      return r.p;
    };

    it('every line HAProxy wrote parses', () => {
      assert.ok(results.length >= 12, `only ${results.length} lines:\n${stdout}\n${stderr}`);
      for (const { line, p } of results) assert.equal(p.ok, true, `unparsed: ${line}`);
    });

    it('http lines carry the request, the captures and the status', () => {
      const a = find((p) => p.fields.path === '/search?q=a%20b&x=1');
      assert.equal(a.kind, 'http');
      assert.equal(a.fields.status, 200);
      assert.equal(a.fields.method, 'GET');
      assert.equal(a.fields.host, `127.0.0.1:${ports.web}`);
      assert.equal(a.fields.user_agent, 'Mozilla/5.0 (X11) {x|y} "q"');
      assert.equal(a.fields.backend, 'app');
      assert.equal(a.fields.termination_state, '----');
      assert.equal(typeof a.time, 'number');
      assert.equal(find((p) => p.fields.path === '/missing.php').fields.status, 404);
      const denied = find((p) => p.fields.path === '/limited');
      assert.deepEqual([denied.fields.status, denied.fields.server, denied.fields.termination_state], [429, '<NOSRV>', 'PR--']);
      const tls = find((p) => p.fields.tls === true && p.kind === 'http');
      assert.equal(tls.fields.path, '/secure?x=1');
      const bad = find((p) => p.fields.bad_request === true);
      assert.equal(bad.fields.status, 400);
      assert.equal(find((p) => p.fields.uri === 'http://example.com/abs?x=1').fields.path, '/abs?x=1');
    });

    it("this project's format gives real_ip and request_id", () => {
      const own = find((p) => p.fields.path === '/own');
      assert.equal(own.fields.real_ip, '203.0.113.7');
      assert.equal(own.fields.client_ip, '127.0.0.1');
      assert.match(String(own.fields.request_id), /^[0-9a-f-]{36}$/);
      assert.equal(own.fields.user_agent, 'curl/8.0');
    });

    it('tcp lines, TLS handshake failures, and events', () => {
      const tcp = find((p) => p.kind === 'tcp');
      assert.equal(tcp.fields.frontend, 'tcp_in');
      assert.equal(typeof (tcp.fields.timers as { Tt: number }).Tt, 'number');
      const err = find((p) => p.kind === 'conn_error');
      assert.equal(err.fields.error, 'SSL handshake failure');
      assert.equal(err.fields.frontend, 'web');
      find((p) => p.fields.event === 'proxy_stopped' && p.fields.proxy === 'web');
      find((p) => p.fields.event === 'worker_started');
      find((p) => p.fields.event === 'haproxy_started');
    });
  });
}
