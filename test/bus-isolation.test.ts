/**
 * Incident listeners are isolated (real HAProxy): with the notifier throwing
 * on every incident, an attack through HAProxy still opens its incident and
 * the policy's block is still made and enforced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor } from './helpers/harness.js';

test('the notifier throwing on every incident does not stop the block', async () => {
  const be = await startBackend('app');
  const t = await startTestDaemon(HAPROXIES[0]!.bin, { config: { monitor: { syslog: { address: '127.0.0.1', port: await freePort() }, incident_quiet: '10m' } } });
  try {
    // Fault injection at the edge: the notification listener's dependency fails.
    t.daemon.notifications.notifier.incident = () => {
      throw new Error('notifier exploded');
    };
    assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
    assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
    const attacker = { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '198.51.100.66', 'User-Agent': 'curl/8.0' } };
    await t.get('shop.test', '/.env', attacker);
    const blocked = await waitFor(async () => (await t.get('shop.test', '/', attacker)).status === 403, 10_000, 100);
    assert.ok(blocked, 'the attacker is refused');
    assert.ok(t.logs.some((l) => /incident listener failed: notify/.test(l) && /notifier exploded/.test(l)), 'the failure is logged with the listener\'s name');
    const actions = (await t.api('GET', '/api/actions')).json<{ action: string; target: string; status: string }[]>();
    assert.ok(actions.some((a) => a.action === 'block_ip' && a.target === '198.51.100.66' && a.status === 'done'), JSON.stringify(actions));
  } finally {
    await t.stop();
    await be.close();
  }
});
