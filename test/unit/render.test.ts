/**
 * Unit tests for src/haproxy/config/render.ts: the text it produces (server lines,
 * maps, ordering, byte stability, the `cfg` filter, a golden snapshot) and
 * that what it produces is accepted by the real HAProxy 2.6 and 3.0.
 */
import { DEFAULT_SITE_OPTIONS, type HttpsOptions } from '../../src/storage/site-options.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { FILES, quoted, render, renderList, serverAddress, type RenderModel } from '../../src/haproxy/config/render.js';
import { detectHaproxy, type HaproxyFeatures, type HaproxyInfo } from '../../src/haproxy/process/version.js';
import type { Backend } from '../../src/storage/domains.js';
import type { TcpService } from '../../src/storage/tcp-services.js';
import { BINARIES, backend, exec, freePort, haproxyCheck, server, startHaproxy, writeRendered } from './_haproxy.js';

const GOLDEN = fileURLToPath(new URL('./fixtures/render-default-empty.cfg', import.meta.url));
const NO_FEATURES: HaproxyFeatures = { h2FrontendTunables: false, statsFile: false, prometheusExporter: false };
const ALL_FEATURES: HaproxyFeatures = { h2FrontendTunables: true, statsFile: true, prometheusExporter: true };

const tmpRoot = mkdtempSync(join(tmpdir(), 'hm-render-test-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let tmpSeq = 0;
const newDir = (tag: string) => {
  const d = join(tmpRoot, `${tag}-${++tmpSeq}`);
  mkdirSync(d, { recursive: true });
  return d;
};

function emptyModel(extra: Partial<RenderModel> = {}): RenderModel {
  return { backends: [], blocked: [], trustedRealIp: [], trustedSource: [], trustedProxies: [], acmePort: null, crtList: null, tcpServices: [], ...extra };
}

function cfgFor(stateDir: string, yaml = ''): Config {
  return parseConfig(`state_dir: ${stateDir}\n${yaml}`, null, { env: {} });
}

/** Backend server lines (the intake ring's `server daemon unix@...` is not one). */
const serverLines = (config: string) => config.split('\n').filter((l) => /^\s*server\s/.test(l) && !/^\s*server daemon unix@/.test(l));

/** HAProxy's map_end: the first line whose key is a suffix of the input. */
function mapEnd(mapText: string, input: string): string | null {
  for (const line of mapText.split('\n')) {
    if (!line) continue;
    const [key, value] = line.split(' ');
    if (input.endsWith(key!)) return value!;
  }
  return null;
}

describe('server lines', () => {
  const cfg = cfgFor('/var/lib/hm');
  const root = '/var/lib/hm/gen';

  test('multiple servers render one per line, each a complete server line', () => {
    const b = backend('app', ['app.example.com'], [server('s1', '10.0.0.1', 80), server('s2', '10.0.0.2', 81), server('s3', '10.0.0.3', 82)]);
    const { config } = render(cfg, NO_FEATURES, emptyModel({ backends: [b] }), root);
    const lines = serverLines(config);
    assert.deepEqual(lines, ['  server s1 10.0.0.1:80 weight 100', '  server s2 10.0.0.2:81 weight 100', '  server s3 10.0.0.3:82 weight 100']);
    // No line holds two server definitions (the original shipped them on one line).
    for (const l of config.split('\n')) assert.ok((l.match(/\bserver s\d\b/g) ?? []).length <= 1, `two servers on one line: ${l}`);
  });

  test('a server without options never renders None/undefined/null', () => {
    const bare = server('bare', '10.0.0.1', 8080);
    const tlsBare = server('tlsbare', '10.0.0.2', 8443, { tls: true, tlsVerify: true });
    for (const kind of ['default', 'http_check', 'long_lived'] as const) {
      const { config, files } = render(cfg, NO_FEATURES, emptyModel({ backends: [backend('app', ['app.example.com'], [bare, tlsBare], { kind })] }), root);
      for (const text of [config, ...files.values()]) assert.doesNotMatch(text, /\b(None|undefined|null|NaN)\b|\[object/);
      const lines = serverLines(config);
      assert.equal(lines[0], '  server bare 10.0.0.1:8080 weight 100');
      assert.equal(lines[1], '  server tlsbare 10.0.0.2:8443 weight 100 ssl verify required ca-file @system-ca');
    }
  });

  test('http_check without a path checks "/"', () => {
    const { config } = render(cfg, NO_FEATURES, emptyModel({ backends: [backend('app', ['a.example.com'], [server('s1', '10.0.0.1', 80, { check: true })], { kind: 'http_check' })] }), root);
    assert.match(config, /^ {2}option httpchk GET \/$/m);
    assert.match(config, /^ {2}server s1 10\.0\.0\.1:80 check weight 100$/m);
  });

  test('every option renders where it should', () => {
    const s = server('full', '10.0.0.9', 443, { check: true, backup: true, weight: 7, maxconn: 50, tls: true, tlsVerify: true, tlsCaFile: '/etc/ssl/ca.pem', tlsSni: 'api.example.com' });
    const { config } = render(cfg, NO_FEATURES, emptyModel({ backends: [backend('app', ['a.example.com'], [s])] }), root);
    assert.deepEqual(serverLines(config), [
      '  server full 10.0.0.9:443 check backup weight 7 maxconn 50 ssl verify required ca-file /etc/ssl/ca.pem sni str(api.example.com) verifyhost api.example.com',
    ]);
  });

  test('drain renders weight 0; maint renders disabled; TLS without verify is "verify none"', () => {
    const { config } = render(
      cfg,
      NO_FEATURES,
      emptyModel({ backends: [backend('app', ['a.example.com'], [server('d', '10.0.0.1', 80, { state: 'drain', weight: 50 }), server('m', '10.0.0.2', 80, { state: 'maint' }), server('t', '10.0.0.3', 443, { tls: true })])] }),
      root,
    );
    assert.deepEqual(serverLines(config), ['  server d 10.0.0.1:80 weight 0', '  server m 10.0.0.2:80 weight 100 disabled', '  server t 10.0.0.3:443 weight 100 ssl verify none']);
  });

  test('IPv6 server addresses are bracketed; IPv4 and hostnames are not', () => {
    assert.equal(serverAddress('2001:db8::1', 80), '[2001:db8::1]:80');
    assert.equal(serverAddress('::1', 8080), '[::1]:8080');
    assert.equal(serverAddress('10.0.0.1', 80), '10.0.0.1:80');
    assert.equal(serverAddress('backend.example.com', 80), 'backend.example.com:80');
    const { config } = render(cfg, NO_FEATURES, emptyModel({ backends: [backend('v6', ['v6.example.com'], [server('s1', '2001:db8::1', 80), server('s2', '::1', 8080)])] }), root);
    assert.deepEqual(serverLines(config), ['  server s1 [2001:db8::1]:80 weight 100', '  server s2 [::1]:8080 weight 100']);
  });

  test('hostname servers use the system resolvers and a resolvers section exists only then', () => {
    const withIp = render(cfg, NO_FEATURES, emptyModel({ backends: [backend('a', ['a.example.com'], [server('s1', '10.0.0.1', 80)])] }), root).config;
    assert.doesNotMatch(withIp, /resolvers/);
    const withName = render(cfg, NO_FEATURES, emptyModel({ backends: [backend('a', ['a.example.com'], [server('s1', 'backend.example.com', 80)])] }), root).config;
    assert.match(withName, /^resolvers system$/m);
    assert.deepEqual(serverLines(withName), ['  server s1 backend.example.com:80 weight 100 resolvers system init-addr libc,none']);
  });
});

describe('maps and lists', () => {
  const cfg = cfgFor('/var/lib/hm');
  const root = '/var/lib/hm/gen';

  test('wildcard map: longest suffix first; the apex is never matched by a wildcard entry', () => {
    const model = emptyModel({
      backends: [
        backend('wild', ['*.example.com'], [server('s', '10.0.0.1', 80)]),
        backend('deep', ['*.a.b.example.com', 'x.example.com'], [server('s', '10.0.0.2', 80)]),
        backend('sub', ['*.sub.example.com'], [server('s', '10.0.0.3', 80)]),
        backend('other', ['*.z.org', '*.aa.org'], [server('s', '10.0.0.4', 80)]),
      ],
    });
    const text = render(cfg, NO_FEATURES, model, root).files.get(FILES.wildcardMap)!;
    const keys = text.trimEnd().split('\n').map((l) => l.split(' ')[0]!);
    assert.deepEqual(keys, ['.a.b.example.com', '.sub.example.com', '.example.com', '.aa.org', '.z.org']);
    for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1]!.length >= keys[i]!.length, `${keys[i - 1]} before ${keys[i]}`);
    // Each line is "<suffix> <backend>-backend".
    assert.match(text, /^\.sub\.example\.com sub-backend$/m);
    // map_end semantics: the most specific wildcard wins...
    assert.equal(mapEnd(text, 'q.a.b.example.com'), 'deep-backend');
    assert.equal(mapEnd(text, 'x.sub.example.com'), 'sub-backend');
    assert.equal(mapEnd(text, 'www.example.com'), 'wild-backend');
    // ...and no wildcard covers its apex (the key starts with ".", so "example.com" never ends with it).
    for (const apex of ['example.com', 'z.org', 'aa.org']) assert.equal(mapEnd(text, apex), null, apex);
    for (const k of keys) assert.ok(k.startsWith('.'), k);
    // sub.example.com itself is covered by *.example.com, not by *.sub.example.com.
    assert.equal(mapEnd(text, 'sub.example.com'), 'wild-backend');
    // Exact names never go to the wildcard map.
    assert.doesNotMatch(text, /^x\.example\.com/m);
  });

  test('hosts map is sorted and maps each exact name to its backend', () => {
    const model = emptyModel({
      backends: [
        backend('zeta', ['zeta.example.com', 'alpha.example.com'], [server('s', '10.0.0.1', 80)]),
        backend('mid', ['mid.example.com', '*.wild.example.com', 'b.example.com'], [server('s', '10.0.0.2', 80)]),
      ],
    });
    const text = render(cfg, NO_FEATURES, model, root).files.get(FILES.hostsMap)!;
    assert.equal(text, 'alpha.example.com zeta-backend\nb.example.com mid-backend\nmid.example.com mid-backend\nzeta.example.com zeta-backend\n');
    const lines = text.trimEnd().split('\n');
    assert.deepEqual(lines, [...lines].sort());
  });

  test('empty maps and lists are empty files', () => {
    const { files } = render(cfg, NO_FEATURES, emptyModel(), root);
    for (const rel of [FILES.hostsMap, FILES.wildcardMap, FILES.blockedMap, FILES.trustedMap, FILES.trustedSourceList, FILES.trustedProxiesList]) assert.equal(files.get(rel), '', rel);
  });

  test('blocked.map lines are "<ip> 1", sorted; list files are one entry per line', () => {
    const { files } = render(cfg, NO_FEATURES, emptyModel({ blocked: ['2001:db8::/32', '10.0.0.0/8', '1.2.3.4'], trustedSource: ['192.0.2.1', '10.1.0.0/16'], trustedProxies: ['203.0.113.0/24'], trustedRealIp: ['198.51.100.7'] }), root);
    assert.equal(files.get(FILES.blockedMap), '1.2.3.4 1\n10.0.0.0/8 1\n2001:db8::/32 1\n');
    for (const l of files.get(FILES.blockedMap)!.trimEnd().split('\n')) assert.match(l, /^[0-9a-f.:/]+ 1$/);
    assert.equal(files.get(FILES.trustedMap), '198.51.100.7 1\n');
    assert.equal(files.get(FILES.trustedSourceList), '10.1.0.0/16\n192.0.2.1\n');
    assert.equal(files.get(FILES.trustedProxiesList), '203.0.113.0/24\n');
    assert.deepEqual(renderList('blocked', ['9.9.9.9', '1.1.1.1']), { rel: FILES.blockedMap, text: '1.1.1.1 1\n9.9.9.9 1\n' });
    assert.deepEqual(renderList('trustedSource', []), { rel: FILES.trustedSourceList, text: '' });
  });

  test('local list holds the canonical configured ranges', () => {
    const { files } = render(cfg, NO_FEATURES, emptyModel(), root);
    assert.equal(files.get(FILES.localList), '10.0.0.0/8\n127.0.0.0/8\n172.16.0.0/12\n192.168.0.0/16\n::1\nfc00::/7\n');
  });

  test('every generated file is referenced from the config under root', () => {
    const { config } = render(cfg, NO_FEATURES, emptyModel(), '/some/where');
    // The crt-list is referenced only when there is an HTTPS listener; the per-site option maps only when a site uses them.
    const onlyWhenUsed: string[] = [FILES.crtList, FILES.httpsGetMap, FILES.httpsOtherMap, FILES.hstsMap];
    for (const rel of Object.values(FILES).filter((f) => !onlyWhenUsed.includes(f))) assert.ok(config.includes(join('/some/where', rel)), rel);
    for (const rel of onlyWhenUsed) assert.ok(!config.includes(rel), rel);
  });

  test('quoted header words: backslash, quote and $ escaped, % doubled in values only; anything unprintable refused', () => {
    assert.equal(quoted('a"b$c%d\\e #f', true), '"a\\"b\\$c%%d\\\\e #f"');
    assert.equal(quoted('X-100%', false), '"X-100%"');
    for (const bad of ['', 'a\nb', 'caf\u00e9', 'a\u0000']) assert.throws(() => quoted(bad, true), /refusing/);
  });

  test('per-site HTTPS options: one redirect rule per code in use, HSTS over TLS only, maps keyed by backend', () => {
    const https = (h: Partial<HttpsOptions>) => ({ ...DEFAULT_SITE_OPTIONS, https: { ...DEFAULT_SITE_OPTIONS.https, ...h } });
    const model = emptyModel({
      crtList: ['/c/default.pem'],
      backends: [
        backend('a', ['a.example.com'], [], { site: https({ force: true }) }),
        backend('b', ['*.b.example.com'], [], { site: https({ force: true, redirectCode: 302, redirectCodeOther: 307, hsts: { maxAge: 600, includeSubdomains: false, preload: false } }) }),
        backend('c', ['c.example.com'], [], { site: https({ hsts: { maxAge: 31536000, includeSubdomains: true, preload: true } }) }),
        backend('d', ['d.example.com'], []),
      ],
    });
    const c = cfgFor('/x');
    const r = render({ ...c, haproxy: { ...c.haproxy, https_port: 8443 } }, NO_FEATURES, model, '/x');
    const lines = r.config.split('\n');
    const redirects = lines.filter((l) => l.includes('http-request redirect'));
    assert.equal(redirects.length, 4, redirects.join('\n'));
    for (const [code, meth] of [['301', ' METH_GET'], ['302', ' METH_GET'], ['307', '!METH_GET'], ['308', '!METH_GET']] as const) {
      assert.ok(redirects.some((l) => l.includes(`code ${code} `) && l.includes(meth) && l.includes('https://%[var(txn.host)]:8443%[pathq]') && l.includes('!acme_challenge') && l.includes(`-m str ${code} }`)), `${code}: ${redirects.join('\n')}`);
    }
    assert.equal(r.files.get(FILES.httpsGetMap), 'a-backend 301\nb-backend 302\n');
    assert.equal(r.files.get(FILES.httpsOtherMap), 'a-backend 308\nb-backend 307\n');
    assert.equal(r.files.get(FILES.hstsMap), 'b-backend max-age=600\nc-backend max-age=31536000; includeSubDomains; preload\n');
    assert.ok(lines.some((l) => l.includes('http-after-response set-header Strict-Transport-Security') && l.includes('if { ssl_fc }')));
    // Without an HTTPS listener nothing is forced (a redirect to a port nobody listens on would break the site).
    const noTls = render(c, NO_FEATURES, { ...model, crtList: null }, '/x');
    assert.ok(!noTls.config.includes('http-request redirect') && !noTls.config.includes('Strict-Transport-Security'));
  });
});

describe('byte stability and snapshot', () => {
  const cfg = cfgFor('/var/lib/haproxy-manager');
  const root = cfg.paths.generatedDir;
  const model = () =>
    emptyModel({
      backends: [
        backend('one', ['b.example.com', 'a.example.com', '*.example.com'], [server('s1', '10.0.0.1', 80), server('s2', '2001:db8::2', 80, { tls: true })], { kind: 'http_check', healthCheckPath: '/hc' }),
        backend('two', ['*.deep.example.com'], [server('s1', 'node.internal.example', 80, { state: 'drain' })], { kind: 'long_lived' }),
      ],
      blocked: ['1.2.3.4', '10.0.0.0/8'],
      trustedProxies: ['203.0.113.0/24'],
      acmePort: 8402,
    });

  test('same input twice gives byte-identical output, and the model is not mutated', () => {
    const m = model();
    const snapshot = structuredClone(m);
    const a = render(cfg, ALL_FEATURES, m, root);
    const b = render(cfg, ALL_FEATURES, m, root);
    const c = render(cfg, ALL_FEATURES, model(), root);
    assert.equal(a.config, b.config);
    assert.equal(a.config, c.config);
    assert.deepEqual([...a.files], [...b.files]);
    assert.deepEqual([...a.files], [...c.files]);
    assert.deepEqual(m, snapshot);
  });

  test('the order of list inputs does not change the output', () => {
    const a = render(cfg, NO_FEATURES, emptyModel({ blocked: ['3.3.3.3', '1.1.1.1', '2.2.2.2'], backends: [backend('x', ['c.example.com', 'a.example.com'], [server('s', '10.0.0.1', 80)])] }), root);
    const b = render(cfg, NO_FEATURES, emptyModel({ blocked: ['2.2.2.2', '3.3.3.3', '1.1.1.1'], backends: [backend('x', ['a.example.com', 'c.example.com'], [server('s', '10.0.0.1', 80)])] }), root);
    assert.equal(a.config, b.config);
    assert.deepEqual([...a.files], [...b.files]);
  });

  const GATED = [/^\s*# HTTP\/2 protection/, /^\s*tune\.h2\.fe\./, /^\s*stats-file /, /^\s*# HAProxy's own Prometheus exporter/, /prometheus-exporter/];
  const ungated = (text: string) =>
    text
      .split('\n')
      .filter((l) => !GATED.some((re) => re.test(l)))
      .join('\n');

  test('golden snapshot of the default empty-model render', () => {
    const { config } = render(cfg, NO_FEATURES, emptyModel(), root);
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(join(GOLDEN, '..'), { recursive: true });
      writeFileSync(GOLDEN, config);
    }
    assert.ok(existsSync(GOLDEN), `missing ${GOLDEN} (UPDATE_GOLDEN=1 writes it)`);
    assert.equal(config, readFileSync(GOLDEN, 'utf8'));
  });

  for (const features of [NO_FEATURES, { h2FrontendTunables: true, statsFile: false, prometheusExporter: false }, { h2FrontendTunables: false, statsFile: true, prometheusExporter: true }, ALL_FEATURES]) {
    test(`features ${JSON.stringify(features)}: equal to the snapshot but for the gated lines`, () => {
      const golden = readFileSync(GOLDEN, 'utf8');
      const { config } = render(cfg, features, emptyModel(), root);
      assert.equal(ungated(config), ungated(golden));
      assert.equal(ungated(golden), golden, 'the snapshot (no features) has no gated lines');
      const h2 = config.split('\n').filter((l) => /^\s*tune\.h2\.fe\./.test(l));
      assert.deepEqual(h2, features.h2FrontendTunables ? ['  tune.h2.fe.max-total-streams 2000', '  tune.h2.fe.glitches-threshold 50'] : []);
      const sf = config.split('\n').filter((l) => /^\s*stats-file /.test(l));
      assert.deepEqual(sf, features.statsFile ? [`  stats-file ${join('/var/lib/haproxy-manager', 'haproxy-stats.dat')}`] : []);
      const pe = config.split('\n').filter((l) => /use-service prometheus-exporter/.test(l));
      assert.deepEqual(pe, features.prometheusExporter ? ['  http-request use-service prometheus-exporter if { path /metrics }'] : []);
    });
  }
});

describe('the cfg filter refuses values that could break a config line', () => {
  const cfg = cfgFor('/var/lib/hm');
  const root = '/var/lib/hm/gen';
  const bad = ['bad name', 'bad\nname', 'bad#name', 'bad;name', 'bad"name', "bad'name", 'bad\\name', 'bad\tname', ''];
  for (const v of bad) {
    test(`server name ${JSON.stringify(v)}`, () => {
      const m = emptyModel({ backends: [backend('app', ['a.example.com'], [server(v, '10.0.0.1', 80)])] });
      assert.throws(() => render(cfg, NO_FEATURES, m, root), /refusing to render/);
    });
  }
  test('backend name, health-check path, SNI, CA file and hostname address are filtered too', () => {
    const s = server('ok', '10.0.0.1', 80);
    const cases: Backend[] = [
      backend('bad name', ['a.example.com'], [s]),
      backend('app', ['a.example.com'], [s], { kind: 'http_check', healthCheckPath: '/a b' }),
      backend('app', ['a.example.com'], [s], { kind: 'http_check', healthCheckPath: '/a#b' }),
      backend('app', ['a.example.com'], [server('t', '10.0.0.1', 443, { tls: true, tlsVerify: true, tlsSni: 'a b' })]),
      backend('app', ['a.example.com'], [server('t', '10.0.0.1', 443, { tls: true, tlsVerify: true, tlsCaFile: '/ca#x' })]),
      backend('app', ['a.example.com'], [server('t', 'evil.example.com\n  bind :1', 80)]),
    ];
    for (const b of cases) assert.throws(() => render(cfg, NO_FEATURES, emptyModel({ backends: [b] }), root), /refusing to render/, JSON.stringify(b));
  });
  test('a root with a space is refused', () => {
    assert.throws(() => render(cfg, NO_FEATURES, emptyModel(), '/tmp/has space'), /refusing to render/);
  });
});

/** A model with 3 backends of each kind and every server variant. */
function fullModel(): RenderModel {
  const backends: Backend[] = [];
  for (const kind of ['http_check', 'long_lived', 'default'] as const) {
    for (let i = 1; i <= 3; i++) {
      const n = `${kind.replace('_', '-')}${i}`;
      backends.push(
        backend(
          n,
          i === 1 ? [`${n}.example.com`, `*.${n}.example.com`] : [`${n}.example.com`],
          [
            server('plain', `10.1.${i}.1`, 8080, { check: true }),
            server('v6', `2001:db8::${i}`, 8080, { check: i !== 2, weight: 10 + i }),
            server('byname', `does-not-exist-${i}.invalid`, 8080, { check: true }),
            server('draining', `10.1.${i}.2`, 8080, { state: 'drain', check: true }),
            server('maint', `10.1.${i}.3`, 8080, { state: 'maint', check: true }),
            server('tlsnoverify', `10.1.${i}.4`, 8443, { tls: true }),
            server('tlsverify', `10.1.${i}.5`, 8443, { tls: true, tlsVerify: true, tlsSni: `${n}.internal.example`, check: true }),
            server('tlsverifyca', `10.1.${i}.6`, 8443, { tls: true, tlsVerify: true, tlsCaFile: '/etc/ssl/certs/ca-certificates.crt', maxconn: 100 }),
            server('spare', `10.1.${i}.7`, 8080, { backup: true, check: true }),
          ],
          { kind, healthCheckPath: kind === 'http_check' && i !== 3 ? `/health/${i}` : null, balance: (['roundrobin', 'leastconn', 'source'] as const)[i - 1]! },
        ),
      );
    }
  }
  return emptyModel({
    backends,
    blocked: ['1.2.3.4', '10.0.0.0/8', '2001:db8::/32'],
    trustedRealIp: ['192.0.2.10'],
    trustedSource: ['192.0.2.0/24'],
    trustedProxies: ['203.0.113.0/24', '2001:db8:ffff::/48'],
    acmePort: 8402,
  });
}

describe('rendered configs pass the real haproxy -c on both versions', () => {
  const infos = new Map<string, HaproxyInfo>();
  before(async () => {
    for (const b of BINARIES) infos.set(b.bin, await detectHaproxy(b.bin));
  });

  test('feature detection: 2.6 has neither h2 tunables nor stats-file, 3.0 has both; both have the Prometheus exporter', () => {
    assert.deepEqual(infos.get(BINARIES[0]!.bin)!.features, { ...NO_FEATURES, prometheusExporter: true });
    assert.deepEqual(infos.get(BINARIES[1]!.bin)!.features, ALL_FEATURES);
  });

  /** Renders with `yaml` settings and checks with `bin`; returns the check result. */
  async function renderAndCheck(bin: string, model: RenderModel, yaml: string, opts: { certDir?: boolean } = {}) {
    const info = infos.get(bin)!;
    const dir = newDir('check');
    const cfg = cfgFor(join(dir, 'state'), yaml);
    mkdirSync(cfg.paths.stateDir, { recursive: true });
    if (info.features.statsFile) writeFileSync(join(cfg.paths.stateDir, 'haproxy-stats.dat'), '');
    let certDir: string | null = null;
    let crtList: string[] | null = null;
    if (opts.certDir) {
      certDir = join(dir, 'certs');
      mkdirSync(certDir);
      const r = await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'k.pem'), '-out', join(certDir, 'c.pem'), '-days', '2', '-subj', '/CN=test.example.com']);
      assert.equal(r.code, 0, r.stderr);
      writeFileSync(join(certDir, 'test.example.com.pem'), readFileSync(join(certDir, 'c.pem'), 'utf8') + readFileSync(join(certDir, 'k.pem'), 'utf8'));
      rmSync(join(certDir, 'c.pem'));
      rmSync(join(certDir, 'k.pem'));
      crtList = [join(certDir, 'test.example.com.pem')];
    }
    const root = join(dir, 'generated');
    const r = render(cfg, info.features, { ...model, crtList }, root);
    const cfgFile = join(dir, 'haproxy.cfg');
    writeRendered(r, root, cfgFile);
    return { check: await haproxyCheck(bin, cfgFile), rendered: r };
  }

  const assertClean = (c: Awaited<ReturnType<typeof haproxyCheck>>) => {
    assert.equal(c.code, 0, `haproxy -c failed:\n${c.stdout}\n${c.stderr}`);
    assert.deepEqual(c.alerts, []);
    assert.deepEqual(c.unexpectedWarnings, [], `unexpected warnings:\n${c.unexpectedWarnings.join('\n')}`);
  };

  for (const b of BINARIES) {
    // With a log target, so the models are judged on their own warnings.
    test(`${b.name}: empty model`, async () => {
      const { check } = await renderAndCheck(b.bin, emptyModel(), 'haproxy:\n  log_target: stdout\n');
      assertClean(check);
      assert.deepEqual(check.warnings, []);
    });

    test(`${b.name}: empty model with the default settings (no log_target) gives no warnings`, async () => {
      const { check } = await renderAndCheck(b.bin, emptyModel(), '');
      assertClean(check);
    });

    test(`${b.name}: 9 backends of every kind, hostname/drain/maint/TLS servers, ACME and HTTPS`, async () => {
      const { check, rendered } = await renderAndCheck(b.bin, fullModel(), 'haproxy:\n  log_target: udp://127.0.0.1:514\n  https_port: 8443\n', { certDir: true });
      assertClean(check);
      // The only warnings/notices allowed are the unresolvable hostnames (2.6 warns, 3.0 notices).
      assert.ok(check.warnings.length <= 9, check.warnings.join('\n'));
      assert.equal(serverLines(rendered.config).length, 9 * 9 + 1, 'one line per server, plus the ACME responder');
      assert.match(rendered.config, /^backend hm-acme$/m);
      assert.match(rendered.config, / ssl crt-list \S+ alpn h2,http\/1\.1$/m);
    });

    test(`${b.name}: every option, other settings (stats off, user-less, hard-stop-after, noreuseport)`, async () => {
      const { check } = await renderAndCheck(b.bin, fullModel(), 'haproxy:\n  log_target: stderr\n  stats_port: null\n  hard_stop_after: 30s\n  noreuseport: true\n  xff_max_hops: 1\n');
      assertClean(check);
    });
  }

  /** Every per-site option on one model: both versions must accept it as rendered. */
  function optionsModel(): RenderModel {
    const site = (o: Partial<Backend['site']>): Backend['site'] => ({ ...DEFAULT_SITE_OPTIONS, ...o });
    return emptyModel({
      acmePort: 8402,
      backends: [
        backend('api', ['api.example.com'], [server('a1', '10.0.0.1', 8080)]),
        backend('shop', ['shop.example.com'], [server('s1', '10.0.0.2', 8080)], {
          site: site({
            routes: [
              { path: '/api', match: 'prefix', backend: 'api', stripPrefix: true },
              { path: '/caf%C3%A9/x.y~z', match: 'exact', backend: 'api', stripPrefix: false },
            ],
            access: {
              deny: ['198.51.100.0/24', '2001:db8:bad::/48'],
              allow: ['203.0.113.7'],
              trustedOnly: true,
              auth: { realm: 'Staff only', users: [{ name: 'alice', hash: '$6$saltsalt$w4JRS/rzf33ha13fW3n.44FLfJzgVCHUkebD.iMpeDxki4R8KJaWd/GtcSbAlMDBZd2LX1HOdeAoqhucRq3yI.' }], paths: ['/admin', '/wp-login.php'] },
            },
            compression: { enabled: true, types: ['text/html', 'image/svg+xml'] },
            maintenance: { enabled: true, retryAfter: 90 },
            errorPages: { '502': '<h1>502 "quoted" %s $HOME</h1>', '503': '<p>x</p>' },
          }),
        }),
        backend('old', ['old.example.com'], [], { site: site({ redirect: { to: 'https://new.example/a%20b?x=1&y=$HOME', code: 302, keepPath: false } }) }),
        backend('moved', ['moved.example.com'], [], { site: site({ redirect: { to: 'https://new.example/', code: 308, keepPath: true } }) }),
      ],
    });
  }

  for (const b of BINARIES) {
    test(`${b.name}: every per-site option and the global error pages pass haproxy -c`, async () => {
      const pages = newDir('pages');
      for (const s of ['502', '503', '504']) writeFileSync(join(pages, `${s}.html`), `<h1>${s}</h1>`);
      const yaml = `haproxy:\n  log_target: stdout\n  error_pages:\n    '502': ${join(pages, '502.html')}\n    '504': ${join(pages, '504.html')}\n`;
      const { check, rendered } = await renderAndCheck(b.bin, optionsModel(), yaml);
      assertClean(check);
      const c = rendered.config;
      assert.match(c, /^  http-error status 502 content-type "text\/html; charset=utf-8" file \S+\/502\.html$/m, 'global 502 page in defaults');
      assert.doesNotMatch(c, /file \S+pages\/503\.html$/m, 'no global 503 configured');
      assert.match(c, /^userlist hm-auth-shop\n  user alice password \$6\$saltsalt\$/m);
      assert.match(c, /http-request auth realm "Staff only" if \{ var\(txn\.site\) -m str shop-backend \} \{ path_beg \/admin \/wp-login\.php \}/);
      assert.match(c, /http-request redirect location "https:\/\/new\.example\/a%%20b\?x=1&y=\\\$HOME" code 302 /, '% doubled and $ escaped in the log-format Location');
      assert.match(c, /http-request redirect location "https:\/\/new\.example%\[pathq\]" code 308 /, 'keep_path appends the path to the URL without its trailing slash');
      assert.match(c, /^  compression type text\/html image\/svg\+xml$/m);
      assert.equal(rendered.files.get(FILES.maintenanceMap), 'shop-backend 90\n');
      assert.equal(rendered.files.get('pages/errors/shop-502.html'), '<h1>502 "quoted" %s $HOME</h1>', 'an error page is a file, never config text');
      assert.equal(rendered.files.get('lists/access/shop-deny.list'), '198.51.100.0/24\n2001:db8:bad::/48\n');
      // Routes: the exact path before the prefix; the prefix is stripped by its length.
      const routeLines = c.split('\n').filter((l) => l.includes('txn.route_id'));
      assert.ok(routeLines[0]!.includes('{ path /caf%C3%A9/x.y~z }'), routeLines.join('\n'));
      assert.ok(c.includes('http-request set-path %[path,bytes(4)] if { var(txn.route_id) -m str 2 } { path_beg /api/ }'), routeLines.join('\n'));
    });
  }

  test('haproxy-2.6: 10,000 domains and 10,000 blocked addresses', async () => {
    const bin = BINARIES[0]!.bin;
    const backends: Backend[] = Array.from({ length: 10_000 }, (_, i) =>
      backend(`site${i}`, i % 10 === 0 ? [`site${i}.example.com`, `*.site${i}.example.com`] : [`site${i}.example.com`], [server('s1', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 8080)]),
    );
    const blocked = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? `192.0.${(i >> 8) & 255}.${i & 255}` : `2001:db8:${i.toString(16)}::/48`));
    const { check, rendered } = await renderAndCheck(bin, emptyModel({ backends, blocked }), 'haproxy:\n  log_target: stdout\n');
    assertClean(check);
    assert.equal(rendered.files.get(FILES.hostsMap)!.trimEnd().split('\n').length, 10_000);
    assert.equal(rendered.files.get(FILES.wildcardMap)!.trimEnd().split('\n').length, 1_000);
    // Every blocked entry is in the map file, none in the config.
    const mapLines = rendered.files.get(FILES.blockedMap)!.trimEnd().split('\n');
    assert.equal(mapLines.length, 10_000);
    assert.equal(new Set(mapLines).size, 10_000);
    for (const ip of blocked) assert.ok(!rendered.config.includes(ip + ' ') && !rendered.config.includes(ip + '\n'), `${ip} is inlined in the config`);
    // The config does not depend on the blocked list at all.
    const noBlocked = render(cfgFor(join(tmpRoot, 'x')), NO_FEATURES, emptyModel({ backends }), '/r');
    const withBlocked = render(cfgFor(join(tmpRoot, 'x')), NO_FEATURES, emptyModel({ backends, blocked }), '/r');
    assert.equal(withBlocked.config, noBlocked.config);
    // No config line anywhere near the original's inlined ACL.
    const longest = Math.max(...rendered.config.split('\n').map((l) => l.length));
    assert.ok(longest < 1000, `longest config line is ${longest} characters`);
  });
});

describe('routing with a real HAProxy: exact hosts, wildcards and apexes', () => {
  const servers: http.Server[] = [];
  const ports: Record<string, number> = {};
  before(async () => {
    for (const name of ['apex', 'wild', 'sub']) {
      const s = http.createServer((req, res) => res.end(`backend=${name}`));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      servers.push(s);
      ports[name] = (s.address() as { port: number }).port;
    }
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  const get = (port: number, host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host, connection: 'close' }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  for (const b of BINARIES) {
    test(`${b.name}: longest wildcard wins; an apex without its own entry gets the default page`, async () => {
      const info = await detectHaproxy(b.bin);
      const dir = newDir('route');
      const httpPort = await freePort();
      const cfg = cfgFor(join(dir, 'state'), `haproxy:\n  http_port: ${httpPort}\n  stats_port: null\n  log_target: stdout\n`);
      mkdirSync(cfg.paths.runDir, { recursive: true });
      if (info.features.statsFile) writeFileSync(join(cfg.paths.stateDir, 'haproxy-stats.dat'), '');
      const model = emptyModel({
        backends: [
          backend('apex', ['example.com'], [server('s', '127.0.0.1', ports.apex!)]),
          backend('wild', ['*.example.com', '*.nodomain.test'], [server('s', '127.0.0.1', ports.wild!)]),
          backend('sub', ['*.sub.example.com'], [server('s', '127.0.0.1', ports.sub!)]),
        ],
      });
      const root = join(dir, 'generated');
      const cfgFile = join(dir, 'haproxy.cfg');
      writeRendered(render(cfg, info.features, model, root), root, cfgFile);
      const h = await startHaproxy(b.bin, cfgFile, { waitFor: [{ port: httpPort }] });
      try {
        assert.equal((await get(httpPort, 'example.com')).body, 'backend=apex');
        assert.equal((await get(httpPort, 'EXAMPLE.com:80')).body, 'backend=apex');
        assert.equal((await get(httpPort, 'www.example.com')).body, 'backend=wild');
        assert.equal((await get(httpPort, 'sub.example.com')).body, 'backend=wild');
        assert.equal((await get(httpPort, 'a.sub.example.com')).body, 'backend=sub');
        assert.equal((await get(httpPort, 'a.b.sub.example.com')).body, 'backend=sub');
        assert.equal((await get(httpPort, 'x.nodomain.test')).body, 'backend=wild');
        // The apex of a wildcard-only domain is not matched by its wildcard.
        const apex = await get(httpPort, 'nodomain.test');
        assert.equal(apex.status, 404);
        assert.match(apex.body, /Site not configured/);
        // A name that merely ends in the suffix text without the dot is not matched either.
        assert.match((await get(httpPort, 'badexample.com')).body, /Site not configured/);
      } finally {
        await h.stop();
      }
    });
  }
});

describe('log targets', () => {
  test('managed: HAProxy logs only to the intake ring; systemd mode also to /dev/log (the distribution\'s /var/log/haproxy.log)', () => {
    const managed = render(cfgFor('/var/lib/hm'), NO_FEATURES, emptyModel(), '/var/lib/hm/gen').config;
    assert.deepEqual(managed.split('\n').filter((l) => /^\s*log /.test(l)), ['  log ring@hm_intake len 4096 format rfc5424 local0 info', '  log global']);
    assert.match(managed, /^ring hm_intake\n[\s\S]*?^ {2}server daemon unix@\/var\/lib\/hm\/run\/log\/haproxy\.sock$/m);
    const sd = render(cfgFor('/var/lib/hm', 'mode: systemd\n'), NO_FEATURES, emptyModel(), '/etc/haproxy/haproxy-manager').config;
    assert.deepEqual(sd.split('\n').filter((l) => /^\s*log /.test(l)), ['  log ring@hm_intake len 4096 format rfc5424 local0 info', '  log /dev/log local0', '  log global']);
    assert.match(sd, /server daemon unix@\/run\/haproxy-manager\/log\/haproxy\.sock/);
    // No intake and no target: HAProxy logs nowhere and the frontends carry no log-format.
    const none = render(cfgFor('/var/lib/hm', 'monitor:\n  intake: null\n'), NO_FEATURES, emptyModel(), '/var/lib/hm/gen').config;
    assert.doesNotMatch(none, /^\s*log /m);
    assert.doesNotMatch(none, /log-format/);
  });
});

describe('TCP services (tcp.njk): TLS passthrough by SNI and plain TCP ports', () => {
  const tcpServer = (name: string, address: string, port: number, extra: Partial<TcpService['servers'][number]> = {}) => ({ name, address, port, check: false, backup: false, weight: 100, maxconn: null, ...extra });
  const services = (): TcpService[] => [
    { id: 1, name: 'git', kind: 'tls_passthrough', sni: 'git.example.com', port: null, balance: 'roundrobin', sendProxy: false, servers: [tcpServer('g1', '10.0.0.5', 443, { check: true })] },
    { id: 2, name: 'wild', kind: 'tls_passthrough', sni: '*.example.com', port: null, balance: 'leastconn', sendProxy: true, servers: [tcpServer('w1', '2001:db8::5', 8443, { maxconn: 50 })] },
    { id: 3, name: 'deep', kind: 'tls_passthrough', sni: '*.a.example.com', port: null, balance: 'source', sendProxy: false, servers: [tcpServer('d1', 'does-not-exist.invalid', 443, { backup: true, weight: 7 })] },
    { id: 4, name: 'pg', kind: 'tcp', sni: null, port: 5432, balance: 'roundrobin', sendProxy: true, servers: [tcpServer('p1', '10.0.0.6', 5432, { check: true }), tcpServer('p2', '10.0.0.7', 5432, { backup: true })] },
  ];
  const cfg = cfgFor('/var/lib/hm', 'haproxy:\n  https_port: 8443\n');
  const withTls = (tcp: TcpService[]) => render(cfg, NO_FEATURES, emptyModel({ crtList: ['/c/default.pem'], tcpServices: tcp }), '/var/lib/hm/gen').config;

  test('none: the config is the one from before TCP services (no SNI frontend, web binds the HTTPS port)', () => {
    const c = withTls([]);
    assert.doesNotMatch(c, /hm-tls-sni|mode tcp|abns@/);
    assert.match(c, /^ {2}bind 127\.0\.0\.1:8443 ssl crt-list /m);
  });

  test('passthrough: the HTTPS port is the SNI frontend; web terminates TLS behind it with the PROXY protocol', () => {
    const c = withTls(services());
    const sni = c.slice(c.indexOf('frontend hm-tls-sni'));
    assert.match(sni, /^ {2}bind 127\.0\.0\.1:8443$/m);
    // Exact names, then wildcards by longest suffix, then everything else to the terminating hop.
    const routes = sni.split('\n').filter((l) => /^\s+(use_backend|default_backend) /.test(l));
    assert.deepEqual(routes, [
      '  use_backend git-tcp if { req_ssl_sni -i git.example.com }',
      '  use_backend deep-tcp if { req_ssl_sni -i -m end .a.example.com }',
      '  use_backend wild-tcp if { req_ssl_sni -i -m end .example.com }',
      '  default_backend hm-tls-terminate',
    ]);
    const hop = /^ {2}server web (abns@hm-tls-[0-9a-f]{16}) send-proxy-v2$/m.exec(c);
    assert.ok(hop, c);
    assert.match(c, new RegExp(`^ {2}bind ${hop[1]} accept-proxy ssl crt-list \\S+ alpn h2,http/1\\.1$`, 'm'));
    assert.doesNotMatch(c, /^ {2}bind 127\.0\.0\.1:8443 ssl/m, 'web no longer binds the HTTPS port itself');
    // Another daemon (another stats socket) gets another abstract name.
    const other = render(cfgFor('/var/lib/other', 'haproxy:\n  https_port: 8443\n'), NO_FEATURES, emptyModel({ crtList: ['/c/default.pem'], tcpServices: services() }), '/g').config;
    assert.notEqual(/server web (\S+)/.exec(other)![1], hop[1]);
  });

  test('servers, PROXY protocol to the servers, blocked addresses refused on the peer address, a port of its own', () => {
    const c = withTls(services());
    assert.match(c, /^backend wild-tcp\n {2}# .*\n {2}tcp-request content reject if \{ src,map_ip\(\/var\/lib\/hm\/gen\/maps\/blocked\.map,0\) -m int gt 0 \}\n {2}balance leastconn\n {2}server w1 \[2001:db8::5\]:8443 weight 100 maxconn 50 send-proxy-v2$/m);
    assert.match(c, /^ {2}server d1 does-not-exist\.invalid:443 backup weight 7 resolvers system init-addr libc,none$/m);
    assert.match(c, /^resolvers system$/m, 'a TCP server by name needs the resolvers section');
    assert.match(c, /^listen pg-tcp\n {2}bind 127\.0\.0\.1:5432\n {2}# .*\n {2}tcp-request connection reject if \{ src,map_ip\(\/var\/lib\/hm\/gen\/maps\/blocked\.map,0\) -m int gt 0 \}\n {2}balance roundrobin\n {2}server p1 10\.0\.0\.6:5432 check weight 100 send-proxy-v2\n {2}server p2 10\.0\.0\.7:5432 backup weight 100 send-proxy-v2$/m);
  });

  test('only plain TCP: web keeps the HTTPS port; without a certificate, passthrough refuses other names', () => {
    const c = withTls(services().filter((s) => s.kind === 'tcp'));
    assert.match(c, /^ {2}bind 127\.0\.0\.1:8443 ssl crt-list /m);
    assert.doesNotMatch(c, /hm-tls-sni/);
    const noCert = render(cfg, NO_FEATURES, emptyModel({ crtList: [], tcpServices: services() }), '/g').config;
    assert.match(noCert, /^frontend hm-tls-sni$/m);
    assert.doesNotMatch(noCert, /hm-tls-terminate|abns@|ssl crt-list/);
    assert.match(noCert, /^ {2}tcp-request content reject$/m);
  });

  test('names and SNIs go through the cfg filter', () => {
    for (const bad of [{ name: 'a b' }, { sni: 'x.example.com }\n  bind :1' }]) {
      assert.throws(() => withTls([{ ...services()[0]!, ...bad }]), /refusing to render/);
    }
  });

  for (const b of BINARIES) {
    test(`${b.name}: haproxy -c accepts every TCP service variant beside the full HTTP model, without warnings`, async () => {
      const info = await detectHaproxy(b.bin);
      const dir = newDir('tcp');
      const c = cfgFor(join(dir, 'state'), 'haproxy:\n  log_target: stdout\n  https_port: 8443\n');
      mkdirSync(c.paths.stateDir, { recursive: true });
      if (info.features.statsFile) writeFileSync(join(c.paths.stateDir, 'haproxy-stats.dat'), '');
      const certDir = join(dir, 'certs');
      mkdirSync(certDir);
      const r = await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'k.pem'), '-out', join(certDir, 'c.pem'), '-days', '2', '-subj', '/CN=test.example.com']);
      assert.equal(r.code, 0, r.stderr);
      writeFileSync(join(certDir, 'd.pem'), readFileSync(join(certDir, 'c.pem'), 'utf8') + readFileSync(join(certDir, 'k.pem'), 'utf8'));
      const root = join(dir, 'generated');
      const cfgFile = join(dir, 'haproxy.cfg');
      writeRendered(render(c, info.features, { ...fullModel(), crtList: [join(certDir, 'd.pem')], tcpServices: services() }, root), root, cfgFile);
      const check = await haproxyCheck(b.bin, cfgFile);
      assert.equal(check.code, 0, `haproxy -c failed:\n${check.stdout}\n${check.stderr}`);
      assert.deepEqual(check.alerts, []);
      assert.deepEqual(check.unexpectedWarnings, [], check.unexpectedWarnings.join('\n'));
    });
  }
});
