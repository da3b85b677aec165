/**
 * Round trip (issue 13, import): a model rendered by this project
 * (src/haproxy/config/render.ts), imported from the rendered haproxy.cfg and
 * its map files, checked with the API's domainBody schema, built back into a
 * model and rendered again gives the same haproxy.cfg and the same files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { render, type RenderModel } from '../../src/haproxy/config/render.js';
import type { HaproxyFeatures } from '../../src/haproxy/process/version.js';
import { DEFAULT_SITE_OPTIONS, resolveAccess } from '../../src/storage/site-options.js';
import type { Backend, DomainInput } from '../../src/storage/domains.js';
import { translate } from '../../src/import/translate.js';
import { settle } from '../../src/import/settle.js';
import { domainBody } from '../../src/api/schemas/domains.js';
import { backend, server } from './_haproxy.js';

const FEATURES: HaproxyFeatures = { h2FrontendTunables: true, statsFile: true, prometheusExporter: false };
const ROOT = '/var/lib/hm/generated';

function model(backends: Backend[], https: boolean): RenderModel {
  return { backends, blocked: ['203.0.113.7'], trustedRealIp: [], trustedSource: [], trustedProxies: ['10.0.0.0/8'], acmePort: 8688, crtList: https ? ['/var/lib/hm/certs/default.pem'] : null, tcpServices: [] };
}

function validate(b: Record<string, unknown>) {
  const r = domainBody.safeParse(b);
  if (r.success) return { ok: true as const, value: r.data };
  const i = r.error.issues.find((x) => x.code === 'unrecognized_keys') ?? r.error.issues[0]!;
  return { ok: false as const, issue: { path: i.path as (string | number)[], message: i.message, ...(i.code === 'unrecognized_keys' ? { unknownKeys: i.keys } : {}) } };
}

/** What the database would hold after POST /api/domain with these inputs, as listBackends reads it. */
function backendsOf(inputs: DomainInput[]): Backend[] {
  return inputs
    .map((i) => ({
      name: i.backendName,
      kind: i.kind,
      healthCheckPath: i.healthCheckPath,
      balance: i.balance,
      servers: i.servers.map((s) => ({ ...s, state: 'ready' as const })),
      domains: [i.domain],
      site: (({ access, ...groups }) => {
        const resolved = access ? resolveAccess(access, DEFAULT_SITE_OPTIONS.access) : DEFAULT_SITE_OPTIONS.access;
        if ('missing' in resolved) throw new Error(`${i.domain}: a user without a hash`);
        return { ...DEFAULT_SITE_OPTIONS, ...groups, access: resolved };
      })(i.site ?? {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const BACKENDS: Backend[] = [
  backend('api', ['api.example.com'], [server('a1', '10.0.0.1', 8080, { check: true, maxconn: 200 }), server('a2', '10.0.0.2', 8080, { check: true, backup: true, weight: 50 })], {
    kind: 'http_check',
    healthCheckPath: '/healthz',
    balance: 'leastconn',
    site: { ...DEFAULT_SITE_OPTIONS,
      https: { force: true, redirectCode: 302, redirectCodeOther: 307, hsts: { maxAge: 31536000, includeSubdomains: true, preload: true } },
      headers: { request: [{ action: 'set', name: 'X-Site', value: 'api "v2" 100% $HOME' }], response: [{ action: 'del', name: 'Server', value: null }, { action: 'add', name: 'X-Frame-Options', value: 'DENY' }] },
    },
  }),
  backend('shop', ['*.shop.example.com'], [server('s1', 'backend.internal', 443, { tls: true, tlsVerify: true, tlsSni: 'shop.internal' }), server('s2', '2001:db8::5', 8443, { tls: true, tlsVerify: true, tlsCaFile: '/etc/ssl/ca.pem' })], {
    balance: 'source',
    site: { ...DEFAULT_SITE_OPTIONS, https: { force: true, redirectCode: 301, redirectCodeOther: 308, hsts: { maxAge: 600, includeSubdomains: false, preload: false } }, headers: { request: [], response: [] } },
  }),
  backend('ws', ['ws.example.com'], [server('w1', '10.0.1.1', 9000, { tls: true, tlsVerify: false })], { kind: 'long_lived' }),
  backend('plain', ['plain.example.org'], [server('p1', '10.0.2.1', 80)]),
  backend('deep', ['*.a.b.example.net'], [server('d1', '10.0.3.1', 80, { weight: 0 })]),
];

for (const https of [true, false]) {
  test(`render -> import -> render gives the same files (${https ? 'with' : 'without'} an HTTPS listener)`, () => {
    const cfg = parseConfig(`state_dir: /var/lib/hm\n${https ? 'haproxy:\n  https_port: 8443\n' : ''}`, null, { env: {} });
    // As the database reads them: by name.
    const first = render(cfg, FEATURES, model([...BACKENDS].sort((a, b) => a.name.localeCompare(b.name)), https), ROOT);
    const maps = Object.fromEntries([...first.files].filter(([rel]) => rel.startsWith('maps/') || rel.startsWith('lists/')).map(([rel, text]) => [join(ROOT, rel), text]));
    const plan = translate(first.config, 'haproxy.cfg', maps);
    assert.ok(plan.notes[0]?.startsWith("this is haproxy-manager's own configuration"), plan.notes[0]);
    assert.deepEqual(plan.skipped, [], 'nothing of a site is lost');
    const st = settle(plan, validate);
    assert.equal(st.skipped.length, 0, JSON.stringify(st.skipped));
    assert.deepEqual(st.domains.map((d) => d.parsed.domain).sort(), ['*.a.b.example.net', '*.shop.example.com', 'api.example.com', 'plain.example.org', 'ws.example.com']);
    const second = render(cfg, FEATURES, model(backendsOf(st.domains.map((d) => d.parsed)), https), ROOT);
    assert.equal(second.config, first.config);
    // Without an HTTPS listener the config never reads the per-site HTTPS maps: what HAProxy never
    // reads cannot be imported, so those three files are empty after the trip (the config is the same).
    const unread = https ? [] : ['maps/hsts.map', 'maps/https-get.map', 'maps/https-other.map'];
    for (const rel of unread) {
      assert.ok(!first.config.includes(rel), `${rel} is not referenced`);
      assert.equal(second.files.get(rel), '');
    }
    const files = (m: Map<string, string>) => new Map([...m].filter(([rel]) => !unread.includes(rel)).sort());
    assert.deepEqual(files(second.files), files(first.files));
    if (https) {
      const api = st.domains.find((d) => d.parsed.domain === 'api.example.com')!.body;
      assert.deepEqual(api.https, { force: true, redirect_code: 302, redirect_code_other: 307, hsts: { max_age: 31536000, include_subdomains: true, preload: true } });
      assert.deepEqual(api.headers, { request: [{ action: 'set', name: 'X-Site', value: 'api "v2" 100% $HOME' }], response: [{ action: 'del', name: 'Server' }, { action: 'add', name: 'X-Frame-Options', value: 'DENY' }] });
    }
  });
}
