/**
 * Server health from HAProxy's runtime API (2.6 and 3.0): /api/backends
 * shows each server's operational state, check result and sessions as
 * HAProxy has them, and how many servers of a backend are up; the metrics
 * show the same. A server whose process dies goes DOWN in both; drain and
 * maint show as DRAIN and MAINT; a server that is not checked is UP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import parse from 'parse-prometheus-text-format';
import { HAPROXIES, startTestDaemon, startBackend, waitFor, freePort, httpRequest, type TestDaemon } from './helpers/harness.js';

interface ServerView {
  name: string;
  state: string;
  health: { state: string; status: string; check_status: string | null; check_duration_ms: number | null; last_check: string | null; weight: number | null; current_sessions: number | null } | null;
}
interface BackendView {
  name: string;
  servers_up: number | null;
  servers_total: number;
  health: { state: string } | null;
  servers: ServerView[];
}

async function backend(t: TestDaemon, name: string): Promise<BackendView> {
  const r = await t.api('GET', '/api/backends');
  assert.equal(r.status, 200, r.body);
  const b = (r.json() as BackendView[]).find((x) => x.name === name);
  assert.ok(b, `backend ${name} listed`);
  return b;
}

const stateOf = async (t: TestDaemon, server: string) => (await backend(t, 'web')).servers.find((s) => s.name === server)?.health?.state;

async function serverUp(t: TestDaemon, server: string): Promise<number | undefined> {
  const r = await httpRequest({ port: t.apiPort, path: '/metrics', headers: { authorization: `Bearer ${t.apiKey}` } });
  assert.equal(r.status, 200);
  const fam = parse(r.body).find((f) => f.name === 'haproxy_manager_server_up');
  const m = fam?.metrics.find((x) => x.labels?.backend === 'web' && x.labels?.server === server);
  return m ? Number(m.value) : undefined;
}

for (const h of HAPROXIES) {
  test(`${h.name}: /api/backends and the metrics show HAProxy's view of each server, and a server that dies goes DOWN`, async () => {
    const app = await startBackend('app');
    const deadPort = await freePort();
    const t = await startTestDaemon(h.bin);
    try {
      const r = await t.api('POST', '/api/domain', {
        domain: 'health.test',
        backend_name: 'web',
        kind: 'http_check',
        health_check_path: '/',
        servers: [
          { name: 'app', address: '127.0.0.1', port: app.port, check: true },
          { name: 'dead', address: '127.0.0.1', port: deadPort, check: true },
          { name: 'unchecked', address: '127.0.0.1', port: app.port, check: false },
        ],
      });
      assert.equal(r.status, 201, r.body);

      assert.ok(await waitFor(async () => (await stateOf(t, 'app')) === 'UP' && (await stateOf(t, 'dead')) === 'DOWN', 20_000), JSON.stringify(await backend(t, 'web')));
      let b = await backend(t, 'web');
      assert.equal(b.servers_total, 3);
      assert.equal(b.servers_up, 2, 'app and the unchecked server are up');
      assert.equal(b.health?.state, 'UP');
      const app1 = b.servers.find((s) => s.name === 'app')!;
      assert.equal(app1.state, 'ready', 'the stored administrative state is kept beside the live one');
      assert.match(app1.health!.check_status ?? '', /^L7OK/);
      assert.equal(typeof app1.health!.check_duration_ms, 'number');
      assert.equal(app1.health!.weight, 100);
      assert.equal(app1.health!.current_sessions, 0);
      assert.match(b.servers.find((s) => s.name === 'dead')!.health!.check_status ?? '', /^L4CON/);
      assert.equal(b.servers.find((s) => s.name === 'unchecked')!.health!.status, 'no check');
      assert.equal(await serverUp(t, 'app'), 1);
      assert.equal(await serverUp(t, 'dead'), 0);
      // The check results, weight and sessions in the metrics too (from the scrape's lean dump).
      const page = (await httpRequest({ port: t.apiPort, path: '/metrics', headers: { authorization: `Bearer ${t.apiKey}` } })).body;
      assert.match(page, /^haproxy_manager_server_check_ok\{backend="web",server="app"\} 1$/m);
      assert.match(page, /^haproxy_manager_server_check_ok\{backend="web",server="dead"\} 0$/m);
      assert.doesNotMatch(page, /^haproxy_manager_server_check_ok\{backend="web",server="unchecked"\}/m, 'an unchecked server has no check result');
      assert.match(page, /^haproxy_manager_server_check_duration_seconds\{backend="web",server="app"\} [0-9.e-]+$/m);
      assert.match(page, /^haproxy_manager_server_weight\{backend="web",server="app"\} 100$/m);
      assert.match(page, /^haproxy_manager_server_current_sessions\{backend="web",server="app"\} 0$/m);

      // Administrative changes show as HAProxy's states.
      for (const [to, want] of [['drain', 'DRAIN'], ['maint', 'MAINT'], ['ready', 'UP']] as const) {
        const s = await t.api('POST', '/api/servers/state', { backend: 'web', server: 'app', state: to });
        assert.equal(s.status, 200, s.body);
        assert.ok(await waitFor(async () => (await stateOf(t, 'app')) === want, 10_000), `${to} shows as ${want}: ${await stateOf(t, 'app')}`);
      }
      assert.equal(await serverUp(t, 'app'), 1);

      // The process behind "app" dies: HAProxy's checks take it DOWN; the API and the metrics follow.
      await app.close();
      assert.ok(await waitFor(async () => (await stateOf(t, 'app')) === 'DOWN', 20_000), `app goes DOWN: ${await stateOf(t, 'app')}`);
      b = await backend(t, 'web');
      assert.equal(b.servers_up, 1, 'only the unchecked server is left up');
      assert.ok(await waitFor(async () => (await serverUp(t, 'app')) === 0, 5_000), 'server_up flips to 0');
      const m = await httpRequest({ port: t.apiPort, path: '/metrics', headers: { authorization: `Bearer ${t.apiKey}` } });
      assert.match(m.body, /^haproxy_manager_backend_servers_up\{backend="web"\} 1$/m);
      assert.match(m.body, /^haproxy_manager_server_state\{backend="web",server="app",state="DOWN"\} 1$/m);
    } finally {
      await t.stop();
      await app.close();
    }
  });
}
