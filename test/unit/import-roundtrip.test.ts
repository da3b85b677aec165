/**
 * Round trip (issue 13, import): a model rendered by this project
 * (src/haproxy/config/render.ts), imported from the rendered haproxy.cfg and
 * its map, list and page files, checked with the API's domainBody and
 * tcpServiceBody schemas, built back into a model and rendered again gives
 * the same haproxy.cfg and the same files, and the report lists nothing.
 * That is the proof that the lines own.ts leaves out of the report (the
 * daemon's machinery) are rendered again identically. A line added by hand
 * to such a file is listed.
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
import { settle, settleTcpServices } from '../../src/import/settle.js';
import { domainBody } from '../../src/api/schemas/domains.js';
import { tcpServiceBody } from '../../src/api/schemas/tcp-services.js';
import type { TcpService, TcpServiceInput } from '../../src/storage/tcp-services.js';
import type { Skipped } from '../../src/import/plan.js';
import { backend, server } from './_haproxy.js';

const FEATURES: HaproxyFeatures = { h2FrontendTunables: true, statsFile: true, prometheusExporter: false };
const ROOT = '/var/lib/hm/generated';

function model(backends: Backend[], https: boolean, tcpServices: TcpService[] = []): RenderModel {
  return { backends, blocked: ['203.0.113.7'], trustedRealIp: [], trustedSource: [], trustedProxies: ['10.0.0.0/8'], acmePort: 8688, crtList: https ? ['/var/lib/hm/certs/default.pem'] : null, tcpServices };
}

function validate(b: Record<string, unknown>) {
  return check(domainBody, b);
}

function check<T>(schema: { safeParse(b: unknown): { success: true; data: T } | { success: false; error: { issues: { code: string; path: PropertyKey[]; message: string; keys?: string[] }[] } } }, b: Record<string, unknown>) {
  const r = schema.safeParse(b);
  if (r.success) return { ok: true as const, value: r.data };
  const i = r.error.issues.find((x) => x.code === 'unrecognized_keys') ?? r.error.issues[0]!;
  return { ok: false as const, issue: { path: i.path as (string | number)[], message: i.message, ...(i.code === 'unrecognized_keys' ? { unknownKeys: i.keys! } : {}) } };
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

// --- Every per-site option on several sites, and TCP services -------------------------------

const ALICE = '$6$saltsalt$w4JRS/rzf33ha13fW3n.44FLfJzgVCHUkebD.iMpeDxki4R8KJaWd/GtcSbAlMDBZd2LX1HOdeAoqhucRq3yI.';
const BOB = '$5$rounds=5000$pepper$3yX1mZ0aL1cS6mXzv7Qe2WcAaqzjJrMxkZBfFQ4d9V5';
const site = (o: Partial<Backend['site']>): Backend['site'] => ({ ...DEFAULT_SITE_OPTIONS, ...o });

const OPTIONS: Backend[] = [
  backend('api', ['api.example.com'], [server('a1', '10.0.0.1', 8080, { check: true })], {
    kind: 'http_check',
    healthCheckPath: '/healthz',
    site: site({
      https: { force: true, redirectCode: 302, redirectCodeOther: 307, hsts: { maxAge: 600, includeSubdomains: false, preload: false } },
      compression: { enabled: true, types: DEFAULT_SITE_OPTIONS.compression.types },
      // Routes to a site that has routes itself (the apply creates the targets first).
      routes: [{ path: '/shop', match: 'prefix', backend: 'shop', stripPrefix: false }],
    }),
  }),
  backend('shop', ['*.shop.example.com'], [server('s1', '10.0.0.2', 8080), server('s2', '10.0.0.3', 8080, { backup: true })], {
    balance: 'leastconn',
    site: site({
      routes: [
        { path: '/api', match: 'prefix', backend: 'api', stripPrefix: true },
        { path: '/api/v2/long', match: 'prefix', backend: 'ws', stripPrefix: false },
        { path: '/caf%C3%A9/x.y~z', match: 'exact', backend: 'ws', stripPrefix: false },
      ],
      access: {
        deny: ['198.51.100.0/24', '2001:db8:bad::/48'],
        allow: ['203.0.113.0/24', '2001:db8::/32'],
        trustedOnly: true,
        auth: { realm: 'Staff only', users: [{ name: 'alice', hash: ALICE }, { name: 'bob.b', hash: BOB }], paths: ['/admin', '/wp-login.php'] },
      },
      compression: { enabled: true, types: ['text/html', 'image/svg+xml'] },
      maintenance: { enabled: true, retryAfter: 90 },
      errorPages: { '502': '<h1>502 "quoted" %s $HOME</h1>\n<p>tab\there</p>', '503': '<p>back soon</p>' },
      headers: { request: [{ action: 'set', name: 'X-Shop', value: 'yes' }], response: [] },
    }),
  }),
  backend('ws', ['ws.example.com'], [server('w1', '10.0.1.1', 9000)], {
    kind: 'long_lived',
    site: site({ access: { deny: [], allow: [], trustedOnly: true, auth: { realm: 'Restricted', users: [{ name: 'carol', hash: ALICE }], paths: [] } }, maintenance: { enabled: true, retryAfter: 0 } }),
  }),
  backend('plain', ['plain.example.org'], [server('p1', '10.0.2.1', 80)], {
    site: site({ access: { deny: ['192.0.2.1'], allow: [], trustedOnly: false, auth: null }, errorPages: { '504': '<p>slow</p>' }, routes: [{ path: '/exact', match: 'exact', backend: 'api', stripPrefix: false }] }),
  }),
  backend('old', ['old.example.com'], [], { site: site({ redirect: { to: 'https://new.example/a%20b?x=1&y=2', code: 302, keepPath: false } }) }),
  backend('moved', ['moved.example.com', '*.moved.example.com'].slice(0, 1), [], { site: site({ redirect: { to: 'https://new.example/', code: 308, keepPath: true } }) }),
  backend('kept', ['kept.example.net'], [], { site: site({ redirect: { to: 'http://other.example:8080/base', code: 301, keepPath: true } }) }),
];

const TCP: TcpService[] = [
  { id: 1, name: 'git', kind: 'tls_passthrough', sni: 'git.example.com', port: null, balance: 'roundrobin', sendProxy: false, servers: [{ name: 'g1', address: '10.0.0.21', port: 443, check: true, backup: false, weight: 100, maxconn: null }] },
  { id: 2, name: 'pg', kind: 'tcp', sni: null, port: 5432, balance: 'leastconn', sendProxy: true, servers: [
    { name: 'p1', address: 'db.internal', port: 5432, check: true, backup: false, weight: 100, maxconn: 200 },
    { name: 'p2', address: '2001:db8::31', port: 5432, check: false, backup: true, weight: 0, maxconn: null },
  ] },
  { id: 3, name: 'wild', kind: 'tls_passthrough', sni: '*.git.example.org', port: null, balance: 'source', sendProxy: true, servers: [{ name: 'w1', address: '10.0.0.22', port: 8443, check: false, backup: false, weight: 7, maxconn: 10 }] },
  { id: 4, name: 'smtp', kind: 'tcp', sni: null, port: 2525, balance: 'roundrobin', sendProxy: false, servers: [] },
];

/** What the database would hold after POST /api/tcp-services with these inputs, as listTcpServices reads them (by name). */
const tcpOf = (inputs: TcpServiceInput[]): TcpService[] => inputs.map((t, i) => ({ id: i + 1, ...t })).sort((a, b) => a.name.localeCompare(b.name));

interface Trip {
  first: ReturnType<typeof render>;
  second: ReturnType<typeof render>;
  plan: ReturnType<typeof translate>;
  domains: ReturnType<typeof settle<DomainInput>>['domains'];
  tcp: TcpServiceInput[];
  skipped: Skipped[];
}

/** render -> import (with every generated file) -> settle with the API's schemas -> model -> render. */
function trip(yaml: string, https: boolean, backends: Backend[], tcp: TcpService[], edit: (cfg: string) => string = (c) => c): Trip {
  const cfg = parseConfig(`state_dir: /var/lib/hm\n${yaml}`, null, { env: {} });
  const first = render(cfg, FEATURES, model([...backends].sort((a, b) => a.name.localeCompare(b.name)), https, tcp), ROOT);
  const files = Object.fromEntries([...first.files].map(([rel, text]) => [join(ROOT, rel), text]));
  const plan = translate(edit(first.config), 'haproxy.cfg', files);
  const st = settle<DomainInput>(plan, validate);
  const tcpIn = settleTcpServices<TcpServiceInput>(plan.tcp_services, (b) => check(tcpServiceBody, b), st.skipped).map((x) => x.parsed);
  const second = render(cfg, FEATURES, model(backendsOf(st.domains.map((d) => d.parsed)), https, tcpOf(tcpIn)), ROOT);
  return { first, second, plan, domains: st.domains, tcp: tcpIn, skipped: st.skipped };
}

const VARIANTS = [
  { name: 'an HTTPS listener', yaml: 'haproxy:\n  https_port: 8443\n', https: true },
  { name: 'an HTTPS port but no certificate yet', yaml: 'haproxy:\n  https_port: 8443\n', https: false },
  { name: 'no HTTPS port', yaml: '', https: false },
];

for (const v of VARIANTS) {
  test(`every per-site option and TCP services: render -> import -> render is byte-identical, the report empty (${v.name})`, () => {
    const t = trip(v.yaml, v.https, OPTIONS, TCP);
    assert.deepEqual(t.plan.skipped, [], 'no line of the daemon\'s own file is lost');
    assert.deepEqual(t.skipped, [], 'the API takes every part');
    assert.equal(t.plan.notes.length, 1, t.plan.notes.join('\n'));
    assert.match(t.plan.notes[0]!, /^this is haproxy-manager's own configuration: \d+ lines of its machinery/);
    assert.equal(t.second.config, t.first.config);
    // Files HAProxy never reads (the HTTPS maps without a listener) cannot be imported: they come back empty.
    const unread = [...t.first.files.keys()].filter((rel) => rel.startsWith('maps/') && !t.first.config.includes(rel));
    for (const rel of unread) assert.equal(t.second.files.get(rel), '', rel);
    const files = (m: Map<string, string>) => new Map([...m].filter(([rel]) => !unread.includes(rel)).sort());
    assert.deepEqual(files(t.second.files), files(t.first.files));
    // Without an HTTPS port a passthrough service is not rendered, so not imported.
    const passthrough = v.yaml !== '';
    assert.deepEqual(t.tcp.map((x) => x.name).sort(), passthrough ? ['git', 'pg', 'smtp', 'wild'] : ['pg', 'smtp']);

    const body = (d: string) => t.domains.find((x) => x.parsed.domain === d)!.body;
    assert.deepEqual(body('*.shop.example.com').routes, [
      { path: '/caf%C3%A9/x.y~z', match: 'exact', backend: 'ws' },
      { path: '/api/v2/long', backend: 'ws' },
      { path: '/api', backend: 'api', strip_prefix: true },
    ]);
    assert.deepEqual(body('*.shop.example.com').access, {
      deny: ['198.51.100.0/24', '2001:db8:bad::/48'],
      allow: ['2001:db8::/32', '203.0.113.0/24'],
      trusted_only: true,
      auth: { realm: 'Staff only', users: [{ name: 'alice', password_hash: ALICE }, { name: 'bob.b', password_hash: BOB }], paths: ['/admin', '/wp-login.php'] },
    });
    assert.deepEqual(body('*.shop.example.com').maintenance, { enabled: true, retry_after: 90 });
    assert.deepEqual(body('*.shop.example.com').compression, { enabled: true, types: ['text/html', 'image/svg+xml'] });
    assert.deepEqual(body('*.shop.example.com').error_pages, { '502': '<h1>502 "quoted" %s $HOME</h1>\n<p>tab\there</p>', '503': '<p>back soon</p>' });
    assert.deepEqual(body('ws.example.com').access, { trusted_only: true, auth: { realm: 'Restricted', users: [{ name: 'carol', password_hash: ALICE }] } });
    assert.deepEqual(body('ws.example.com').maintenance, { enabled: true, retry_after: 0 });
    assert.deepEqual(body('old.example.com').redirect, { to: 'https://new.example/a%20b?x=1&y=2', code: 302, keep_path: false });
    // keep_path renders `to` without its trailing slash: that is what the file holds, and it renders the same.
    assert.deepEqual(body('moved.example.com').redirect, { to: 'https://new.example', code: 308, keep_path: true });
    assert.deepEqual(body('kept.example.net').redirect, { to: 'http://other.example:8080/base', keep_path: true });
    if (passthrough) {
      const wild = t.plan.tcp_services.find((x) => x.body.name === 'wild')!.body;
      assert.deepEqual(wild, { name: 'wild', kind: 'tls_passthrough', sni: '*.git.example.org', balance: 'source', send_proxy: true, servers: [{ name: 'w1', address: '10.0.0.22', port: 8443, check: false, backup: false, weight: 7, maxconn: 10 }] });
    }
    const pg = t.plan.tcp_services.find((x) => x.body.name === 'pg')!.body;
    assert.deepEqual(pg, {
      name: 'pg', kind: 'tcp', port: 5432, balance: 'leastconn', send_proxy: true, servers: [
        { name: 'p1', address: 'db.internal', port: 5432, check: true, backup: false, weight: 100, maxconn: 200 },
        { name: 'p2', address: '2001:db8::31', port: 5432, check: false, backup: true, weight: 0 },
      ],
    });
  });
}

test('the daemon\'s own file: a line added by hand, or one whose file was not given, is listed with its line', () => {
  const added: [RegExp, string][] = [
    [/^global\n/m, 'global\n  tune.ssl.default-dh-param 2048\n'],
    [/^defaults\n  mode http\n/m, 'defaults\n  mode http\n  option forwardfor\n'],
    [/^ {2}http-request track-sc0 var\(txn\.real_ip\)\n/m, '  http-request track-sc0 var(txn.real_ip)\n  http-request deny if { path /secret }\n'],
    [/^backend api-backend\n/m, 'backend api-backend\n  option http-keep-alive\n  acl is_x path /x\n'],
    [/^userlist hm-auth-shop\n/m, 'userlist hm-auth-shop\n  group admins users alice\n  user dave\n'],
    [/^listen pg-tcp\n/m, 'listen pg-tcp\n  timeout client 1h\n'],
    [/^backend hm-acme\n/m, 'backend hm-acme\n  http-request set-header X-Acme yes\n'],
    [/^frontend hm-tls-sni\n/m, 'frontend hm-tls-sni\n  use_backend other-tcp if { req_ssl_sni -m beg git }\n'],
  ];
  const t = trip('haproxy:\n  https_port: 8443\n', true, OPTIONS, TCP, (c) => added.reduce((x, [re, by]) => x.replace(re, by), c) + '\nbackend extra\n  server x 10.9.9.9:80\nuserlist spare\n  user eve password x\n');
  const listed = t.plan.skipped.map((s) => s.text);
  assert.deepEqual([...listed].sort(), [
    'tune.ssl.default-dh-param 2048',
    'option forwardfor',
    'http-request deny if { path /secret }',
    'option http-keep-alive',
    'acl is_x path /x',
    'user dave',
    'http-request set-header X-Acme yes',
    'timeout client 1h',
    'use_backend other-tcp if { req_ssl_sni -m beg git }',
    'backend extra',
    'server x 10.9.9.9:80',
    'userlist spare',
    'user eve password x',
  ].sort(), JSON.stringify(t.plan.skipped, null, 1));
  for (const s of t.plan.skipped) assert.ok(s.file === 'haproxy.cfg' && s.line > 0 && s.reason.length > 0, JSON.stringify(s));

  // The maintenance map, a deny list and an error page not given: each line that needs one is listed, not guessed.
  const cfg = parseConfig('state_dir: /var/lib/hm\n', null, { env: {} });
  const r = render(cfg, FEATURES, model([...OPTIONS].sort((a, b) => a.name.localeCompare(b.name)), false), ROOT);
  const withheld = ['maps/maintenance.map', 'lists/access/shop-deny.list', 'pages/errors/shop-502.html'];
  const plan = translate(r.config, 'haproxy.cfg', Object.fromEntries([...r.files].filter(([rel]) => !withheld.includes(rel)).map(([rel, text]) => [join(ROOT, rel), text])));
  const reasons = plan.skipped.map((s) => s.reason);
  assert.ok(reasons.some((x) => /the map \S+maintenance\.map was not given/.test(x)), reasons.join('\n'));
  assert.ok(reasons.some((x) => /the list \S+shop-deny\.list was not given/.test(x)), reasons.join('\n'));
  assert.ok(reasons.some((x) => /the page \S+shop-502\.html was not given/.test(x)), reasons.join('\n'));
  assert.equal(plan.skipped.length, 3, reasons.join('\n'));
});
