/**
 * The fleet's HAProxy `peers` section (issue 17): rendered from fleet.peers
 * with this node as `localpeer`, named by the rate-limit stick table, absent
 * on a single node or without peers; accepted by the real HAProxy 2.6 and
 * 3.0 without warnings (IPv6 peers included).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { render, type RenderModel } from '../../src/haproxy/config/render.js';
import { detectHaproxy } from '../../src/haproxy/process/version.js';
import { BINARIES, haproxyCheck, writeRendered } from './_haproxy.js';

const tmpRoot = mkdtempSync(join(tmpdir(), 'hm-render-peers-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));

const model: RenderModel = { backends: [], blocked: [], trustedRealIp: [], trustedSource: [], trustedProxies: [], acmePort: null, crtList: null, tcpServices: [] };
const FLEET = `fleet:
  node_name: edge-b
  database_url: postgres://hm@127.0.0.1:5432/fleet
  tls: { enabled: false }
  peers:
    - { name: edge-a, address: 127.0.0.1, port: 17101 }
    - { name: edge-b, address: 127.0.0.1, port: 17102 }
    - { name: edge-c, address: "::1", port: 17103 }
`;
const cfgFor = (stateDir: string, yaml: string) => parseConfig(`state_dir: ${stateDir}\nhaproxy:\n  log_target: stdout\n${yaml}`, null, { env: {} });

test('the peers section: every node, this one as localpeer, IPv6 in brackets; the rate-limit table names it', () => {
  const c = render(cfgFor('/var/lib/hm', FLEET), { h2FrontendTunables: false, statsFile: false, prometheusExporter: false }, model, '/g').config;
  assert.match(c, /^global\n(?:.*\n)*? {2}localpeer edge-b\n/m);
  const section = c.slice(c.indexOf('\npeers hm_fleet\n') + 1).split('\n\n')[0]!.split('\n');
  assert.deepEqual(section, ['peers hm_fleet', '  peer edge-a 127.0.0.1:17101', '  peer edge-b 127.0.0.1:17102', '  peer edge-c [::1]:17103']);
  const tables = c.split('\n').filter((l) => /^\s*stick-table /.test(l));
  assert.equal(tables.length, 1);
  assert.match(tables[0]!, / peers hm_fleet store /);
});

test('no peers section on a single node, nor in a fleet without peers', () => {
  const f = { h2FrontendTunables: false, statsFile: false, prometheusExporter: false };
  const noFleet = render(cfgFor('/var/lib/hm', ''), f, model, '/g').config;
  const noPeers = render(cfgFor('/var/lib/hm', 'fleet:\n  node_name: a\n  database_url: postgres://hm@127.0.0.1/f\n  tls: { enabled: false }\n'), f, model, '/g').config;
  for (const c of [noFleet, noPeers]) {
    assert.doesNotMatch(c, /localpeer|^peers |peers hm_fleet/m);
    assert.match(c, /stick-table type ipv6 .* store conn_cur/);
  }
});

for (const b of BINARIES) {
  test(`${b.name}: haproxy -c accepts the peers section without warnings`, async () => {
    const info = await detectHaproxy(b.bin);
    const dir = join(tmpRoot, b.name);
    const cfg = cfgFor(join(dir, 'state'), FLEET);
    mkdirSync(cfg.paths.stateDir, { recursive: true });
    if (info.features.statsFile) writeFileSync(join(cfg.paths.stateDir, 'haproxy-stats.dat'), '');
    const root = join(dir, 'generated');
    const cfgFile = join(dir, 'haproxy.cfg');
    writeRendered(render(cfg, info.features, model, root), root, cfgFile);
    const check = await haproxyCheck(b.bin, cfgFile);
    assert.equal(check.code, 0, `haproxy -c failed:\n${check.stdout}\n${check.stderr}`);
    assert.deepEqual(check.alerts, []);
    assert.deepEqual(check.unexpectedWarnings, [], check.unexpectedWarnings.join('\n'));
  });
}
