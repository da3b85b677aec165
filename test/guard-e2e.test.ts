/**
 * Cross-family ranges and manual blocks, end to end on real HAProxy (2.6 and
 * 3.0). HAProxy's map_ip matches an IPv4 client against IPv6 entries as
 * ::ffff:a.b.c.d, so ::8000:0:0/81 would refuse every IPv4 client: it and the
 * other hostile ranges are refused through POST /api/blocked-ips (and
 * nothing reaches the map) and through the policy path (a model's
 * recommendation, under an operator policy that enforces everything). A
 * person may force a block of a protected address (audited), never loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor } from './helpers/harness.js';
import { makeIncident } from './helpers/incident.js';

const ENFORCE_ALL = `version: 1
rules:
  - name: enforce-everything
    actions:
      - { type: block_ip, from: [rules, llm], mode: enforce, ttl: 10m }
      - { type: trust_ip, from: [rules, llm], mode: enforce }
`;

// [range as sent, status, message pattern]
const HOSTILE: [string, number, RegExp][] = [
  ['::8000:0:0/81', 403, /too_wide: ::8000:0:0\/81 is wider than \/16 \(it holds every IPv4 client/],
  ['::ffff:0:0/96', 403, /too_wide: 0\.0\.0\.0\/0 is wider than \/16/],
  ['::/0', 403, /too_wide/],
  ['0.0.0.0/0', 403, /too_wide/],
  ['::/1', 403, /too_wide/],
  ['0.0.0.0/1', 403, /too_wide/],
  ['127.0.0.0/8', 403, /too_wide/],
  ['::ffff:127.0.0.1', 403, /self: 127\.0\.0\.1 is or covers loopback/],
  ['::ffff:7f00:0/120', 403, /self: 127\.0\.0\.0\/24/],
  ['2002:7f00::/48', 403, /self: 2002:7f00::\/48 is or covers loopback/],
  ['::7f00:1', 403, /self/],
  ['::1', 403, /self/],
  ['127.0.0.1', 403, /self/],
  ['10.1.2.3/8', 400, /bits set past its prefix; the range it names is 10\.0\.0\.0\/8/],
];

for (const h of HAPROXIES) {
  test(`${h.name}: hostile ranges are refused by hand and by policy; force blocks a protected address, never loopback`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-guard-'));
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, ENFORCE_ALL);
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin, {
      config: { monitor: { syslog: { address: '127.0.0.1', port: await freePort() }, policy_file: policyFile }, remediation: { protected: ['198.51.100.50'] } },
    });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const viaProxy = (ip: string, path = '/') => t.get('shop.test', path, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ip } });
      const blockedList = async () => (await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string }[]>().map((b) => b.ip_address);
      const auditBefore = (await t.api('GET', '/api/audit?action=blocked_ip.add')).json<unknown[]>().length;

      for (const [range, status, message] of HOSTILE) {
        for (const force of [undefined, true]) {
          for (const path of ['/api/blocked-ips', '/api/security/temporary-block']) {
            const r = await t.api('POST', path, { ip_address: range, reason: 'hostile', ...(force ? { force } : {}) });
            assert.equal(r.status, status, `${path} ${range} force=${force}: ${r.body}`);
            const b = r.json<{ error: string; field: string; message: string }>();
            assert.equal(b.field, 'ip_address');
            assert.equal(b.error, status === 403 ? 'policy_denied' : 'validation');
            assert.match(b.message, message, r.body);
          }
        }
      }
      assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.9', force: 'yes' })).status, 400, 'force must be a boolean');
      // Trust too: ::8000:0:0/81 would exempt every IPv4 client from the rate limits.
      const tr = await t.api('POST', '/api/trusted-ips', { ip_address: '::8000:0:0/81' });
      assert.equal(tr.status, 403, tr.body);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '::/1' })).status, 403);
      // Nothing changed: no entry, no audit, IPv4 clients (direct and behind the proxy) served.
      assert.deepEqual(await blockedList(), []);
      assert.deepEqual((await t.api('GET', '/api/trusted-ips')).json<unknown[]>(), []);
      assert.equal((await t.api('GET', '/api/audit?action=blocked_ip.add')).json<unknown[]>().length, auditBefore);
      assert.equal((await t.get('shop.test', '/', { localAddress: '127.0.0.20' })).status, 200);
      assert.equal((await viaProxy('203.0.113.77')).status, 200);
      assert.equal((await viaProxy('198.51.100.50')).status, 200);

      // A protected (non-loopback) address: refused without force, blocked with it, audited with what it covers.
      const plain = await t.api('POST', '/api/blocked-ips', { ip_address: '198.51.100.50' });
      assert.equal(plain.status, 403, plain.body);
      assert.match(plain.body, /protected: 198\.51\.100\.50 is or covers a protected address \(198\.51\.100\.50\).*force/);
      assert.equal(plain.json<{ detail: { forceable: boolean } }>().detail.forceable, true);
      const forced = await t.api('POST', '/api/blocked-ips', { ip_address: '198.51.100.48/30', reason: 'compromised host', force: true });
      assert.equal(forced.status, 201, forced.body);
      assert.equal((await viaProxy('198.51.100.50')).status, 403, 'the forced block is live at once');
      assert.equal((await viaProxy('203.0.113.77')).status, 200, 'other IPv4 clients are served');
      const audit = (await t.api('GET', '/api/audit?action=blocked_ip.add')).json<{ actor: string; target: string; result: string; detail: { forced?: boolean; covers_protected?: string[] } }[]>();
      const entry = audit.find((a) => a.target === '198.51.100.48/30');
      assert.ok(entry, JSON.stringify(audit));
      assert.equal(entry.result, 'ok');
      assert.equal(entry.detail.forced, true);
      assert.deepEqual(entry.detail.covers_protected, ['198.51.100.50']);
      assert.ok(entry.actor.length > 0);
      assert.equal((await t.api('DELETE', '/api/blocked-ips', { ip_address: '198.51.100.48/30' })).status, 200);

      // The policy path: a real incident, then a model recommending the cross-family range, under a policy that enforces everything.
      for (const path of ['/.env', '/.git/config', '/backup.sql']) await viaProxy('198.51.100.23', path);
      assert.ok(await waitFor(async () => (await t.api('GET', '/api/incidents')).json<unknown[]>().length > 0, 10_000, 100), 'an incident opened');
      const inc = (await t.api('GET', '/api/incidents')).json<{ id: number }[]>()[0]!;
      const recs = await t.daemon.remediation.onAnalysis(makeIncident({ id: inc.id, subject: { type: 'ip', value: '198.51.100.23' } }), {
        source: 'llm',
        summary: 'block them all',
        confidence: 1,
        recommended_actions: [
          { type: 'block_ip', target: '::8000:0:0/81', ttl_s: 600 },
          { type: 'trust_ip', target: '::8000:0:0/81' },
          { type: 'block_ip', target: '2002:7f00::/24', ttl_s: 600 },
          { type: 'block_ip', target: '::ffff:7f00:0/104', ttl_s: 600 },
        ],
      });
      assert.equal(recs.length, 4, JSON.stringify(recs));
      for (const r of recs) {
        assert.equal(r.status, 'refused', JSON.stringify(r));
        assert.match(r.reason, /^guardrail (too_wide|protected): /, r.reason);
      }
      assert.match(recs[0]!.reason, /too_wide: ::8000:0:0\/81 .*every IPv4 client/);
      assert.ok(!(await blockedList()).some((ip) => ip.includes(':') || ip.startsWith('127.')), 'no hostile entry in the blocked list');
      assert.deepEqual((await t.api('GET', '/api/trusted-ips')).json<unknown[]>(), []);
      assert.equal((await viaProxy('203.0.113.78')).status, 200, 'IPv4 clients are still served');
      assert.equal((await t.get('shop.test', '/', { localAddress: '127.0.0.21' })).status, 200, 'loopback is still served');
    } finally {
      await t.stop();
      await be.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
