/**
 * open-proxy-probe on real HAProxy (2.6 and 3.0) with the configuration this
 * project writes: an absolute-form request for one of our sites, served, is
 * no probe; one for a host none of our sites serves is, even when the
 * default page answers 200 (haproxy.default_page.status: 200, a catch-all),
 * because HAProxy routes it to hm-default. The requests come through a
 * trusted proxy so that each has its own client address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor } from './helpers/harness.js';

/** Sends one raw HTTP/1.1 request from 127.0.0.10 (a trusted proxy) and returns the status line. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = net.createConnection({ port, host: '127.0.0.1', localAddress: '127.0.0.10' }, () => s.write(request));
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('end', () => resolve(got.split('\r\n')[0] ?? ''));
    s.on('error', reject);
  });
}

const request = (target: string, host: string, clientIp: string) => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nX-Forwarded-For: ${clientIp}\r\nUser-Agent: proxy-checker/1.0\r\nConnection: close\r\n\r\n`;

for (const h of HAPROXIES) {
  test(`${h.name}: an absolute-form request for a host we do not serve is an open-proxy probe even when answered 200; one for our site is not`, async () => {
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin, { config: { haproxy: { default_page: { status: 200 } } } });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const port = t.daemon.cfg.haproxy.http_port;
      assert.match(await raw(port, request('http://shop.test/', 'shop.test', '198.51.100.41')), / 200 /, 'our site serves it');
      assert.match(await raw(port, request('http://proxyjudge.example.net/azenv.php', 'proxyjudge.example.net', '198.51.100.42')), / 200 /, 'the default page, answering 200');
      type Incident = { rule: string; subject: { value: string } };
      const probes = async () => (await t.api('GET', '/api/incidents?rule=open-proxy-probe')).json<Incident[]>().map((i) => i.subject.value);
      assert.ok(await waitFor(async () => (await probes()).includes('198.51.100.42'), 10_000, 100), 'the foreign host is a probe');
      // The line for our site came first: once the probe's incident is there, it was judged too.
      assert.deepEqual(await probes(), ['198.51.100.42']);
    } finally {
      await t.stop();
      await be.close();
    }
  });
}
