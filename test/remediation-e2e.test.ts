/**
 * Remediation end to end on real HAProxy (2.6 and 3.0): a scripted attack
 * through HAProxy opens an incident, the shipped policy blocks the attacker
 * (its real IP, behind a trusted proxy) with a TTL through the runtime API,
 * the next request is refused, the action is listed, and reverting it lets the
 * client in again. A loopback attacker is never blocked (guardrail).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor } from './helpers/harness.js';

interface ActionRow {
  id: number;
  action: string;
  target: string | null;
  status: string;
  mode: string;
  ttl_s: number | null;
  expires_at: string | null;
  incident_id: number | null;
}

for (const h of HAPROXIES) {
  test(`${h.name}: a scripted attack is blocked by policy at once, listed, and can be reverted`, async () => {
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin, {
      config: {
        monitor: { syslog: { address: '127.0.0.1', port: await freePort() } },
        // The operator's own address is protected; one live block at most (the guardrails come from the config).
        remediation: { protected: ['198.51.100.50'], max_concurrent_blocks: 1 },
      },
    });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const viaProxy = (path: string, ip: string) => t.get('shop.test', path, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ip } });
      assert.equal((await viaProxy('/', '198.51.100.23')).status, 200);
      const t0 = Date.now();
      for (const path of ['/.env', '/.git/config', '/backup.sql']) await viaProxy(path, '198.51.100.23');
      // A loopback client probing the same way is never blocked.
      for (const path of ['/.env', '/.git/config']) await t.get('shop.test', path, { localAddress: '127.0.0.77' });
      assert.ok(await waitFor(async () => (await viaProxy('/', '198.51.100.23')).status === 403, 10_000, 100), 'the attacker is refused');
      const blockedAfterMs = Date.now() - t0;
      assert.equal((await viaProxy('/', '198.51.100.24')).status, 200, 'another client is served');
      const list = (await t.api('GET', '/api/actions')).json<ActionRow[]>();
      const block = list.find((a) => a.action === 'block_ip' && a.target === '198.51.100.23' && a.status === 'done');
      assert.ok(block, JSON.stringify(list));
      assert.equal(block.mode, 'enforce');
      assert.ok(block.ttl_s && block.ttl_s > 0 && block.expires_at && Date.parse(block.expires_at) > Date.now(), 'a block always expires');
      assert.ok(block.incident_id, 'tied to its incident');
      assert.ok(!list.some((a) => a.action === 'block_ip' && a.target === '127.0.0.77' && a.status === 'done'), 'loopback is never blocked');
      // The protected address probing the same way is never blocked; a second attacker hits the cap of live blocks.
      for (const path of ['/.env', '/.git/config']) await viaProxy(path, '198.51.100.50');
      for (const path of ['/.env', '/.git/config']) await viaProxy(path, '198.51.100.60');
      assert.ok(
        await waitFor(async () => {
          const l = (await t.api('GET', '/api/actions')).json<(ActionRow & { reason: string })[]>();
          return l.some((a) => a.target === '198.51.100.60' && a.status === 'refused' && /cap_blocks/.test(a.reason));
        }, 10_000, 100),
        'the cap of live blocks holds',
      );
      assert.equal((await viaProxy('/', '198.51.100.50')).status, 200, 'the protected address is served');
      assert.equal((await viaProxy('/', '198.51.100.60')).status, 200, 'over the cap: not blocked');
      const after = (await t.api('GET', '/api/actions')).json<ActionRow[]>();
      assert.ok(!after.some((a) => a.target === '198.51.100.50' && a.action === 'block_ip' && a.status === 'done'), 'the protected address is never blocked');
      const blockedRows = (await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string; expires_at: string | null }[]>();
      assert.ok(blockedRows.some((b) => b.ip_address === '198.51.100.23' && b.expires_at !== null));
      const rev = await t.api('POST', `/api/actions/${block.id}/revert`);
      assert.equal(rev.status, 200, rev.body);
      assert.equal(rev.json<{ reverted: ActionRow }>().reverted.status, 'reverted');
      assert.equal((await viaProxy('/', '198.51.100.23')).status, 200, 'let in again after the revert');
      assert.equal((await t.api('POST', `/api/actions/${block.id}/revert`)).status, 409, 'a reverted action cannot be reverted again');
      const again = await t.api('GET', `/api/actions/${block.id}`);
      assert.equal(again.status, 200, again.body);
      assert.equal(again.json<ActionRow>().status, 'reverted');
      assert.equal((await t.api('POST', '/api/actions/999999/approve')).status, 404);
      assert.equal((await t.api('GET', '/api/actions?status=bogus')).status, 400);
      assert.ok(blockedAfterMs < 10_000, `blocked after ${blockedAfterMs} ms`);
    } finally {
      await t.stop();
      await be.close();
    }
  });
}
