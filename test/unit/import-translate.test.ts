/**
 * Unit tests for src/import/translate.ts and settle.ts: a fixture written for
 * this project (test/fixtures/import/sites.cfg) covering every construct the
 * importer reads, the bodies checked with the API's own domainBody schema,
 * and the real configurations Debian ships (read from disk at test time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { translate } from '../../src/import/translate.js';
import { settle } from '../../src/import/settle.js';
import { domainBody } from '../../src/api/schemas/domains.js';
import type { ImportPlan } from '../../src/import/plan.js';

const FIX = fileURLToPath(new URL('../fixtures/import/', import.meta.url));
const read = (p: string) => readFileSync(join(FIX, p), 'utf8');
const sites = () => translate(read('sites.cfg'), 'sites.cfg', { 'lists/hosts.lst': read('lists/hosts.lst'), 'maps/hosts.map': read('maps/hosts.map') });
const body = (p: ImportPlan, domain: string) => p.domains.find((d) => d.body.domain === domain)?.body;
const reasonAt = (p: { skipped: { file: string; line: number; reason: string }[] }, file: string, line: number) => p.skipped.filter((s) => s.file === file && s.line === line).map((s) => s.reason);

function validate(b: Record<string, unknown>) {
  const r = domainBody.safeParse(b);
  if (r.success) return { ok: true as const, value: r.data };
  const i = r.error.issues.find((x) => x.code === 'unrecognized_keys') ?? r.error.issues[0]!;
  return { ok: false as const, issue: { path: i.path as (string | number)[], message: i.message, ...(i.code === 'unrecognized_keys' ? { unknownKeys: i.keys } : {}) } };
}

test('hosts: hdr(host) -i, req.hdr(host) -m str, hdr_end, hdr_dom, -f files and a host map each become domains', () => {
  const p = sites();
  assert.deepEqual(p.domains.map((d) => d.body.domain).sort(), [
    '*.api.example.com', '*.docs.example.org', 'admin.example.com', 'blog.example.com', 'docs.example.org', 'listed.example.net',
    'mapped.example.net', 'mapped2.example.net', 'old.example.com', 'other.example.net', 'shop.example.com',
  ]);
  // Each domain has its own backend: the second host of a backend gets a copy, said in the notes.
  assert.equal(body(p, 'docs.example.org')!.backend_name, 'docs');
  assert.equal(body(p, '*.docs.example.org')!.backend_name, 'docs-2');
  assert.ok(p.notes.some((n) => n === 'sites.cfg:49: *.docs.example.org gets backend docs-2, a copy of docs (each domain has its own backend here)'));
  assert.equal(body(p, 'mapped2.example.net')!.backend_name, 'mapped-2', 'map keys are lower-cased (HAProxy lowered the host first)');
  assert.deepEqual(p.domains.find((d) => d.body.domain === 'mapped.example.net')!.at, { file: 'maps/hosts.map', line: 2, text: 'mapped.example.net mapped' });
  assert.deepEqual(reasonAt(p, 'maps/hosts.map', 4), ['a map line is "<host> <backend>"']);
});

test('backends and servers: balance, httpchk path, long_lived, weight ratio, backup, maxconn, TLS options', () => {
  const p = sites();
  const shop = body(p, 'shop.example.com')!;
  assert.equal(shop.kind, 'http_check');
  assert.equal(shop.health_check_path, '/health');
  assert.equal(shop.balance, 'leastconn', 'the defaults balance');
  assert.deepEqual(shop.servers, [
    { name: 's1', address: '10.0.0.1', port: 8080, check: true, weight: 3, maxconn: 100 },
    { name: 's2', address: '10.0.0.2', port: 8080, check: true, backup: true, weight: 1 },
    { name: 's3', address: '10.0.0.3', port: 8443, check: false, tls_ca_file: '/etc/ssl/certs/ca.pem', tls_sni: 'shop.internal', tls: true, tls_verify: true, weight: 1 },
  ]);
  assert.deepEqual(reasonAt(p, 'sites.cfg', 60), ['server s2: "inter 2s" not expressible; the server is imported without it']);
  const blog = body(p, 'blog.example.com')!;
  assert.equal(blog.kind, 'long_lived');
  assert.equal(blog.balance, 'source');
  assert.deepEqual(blog.servers, [{ name: 'b1', address: '2001:db8::1', port: 80, check: false }]);
  assert.deepEqual((body(p, 'docs.example.org')!.servers as unknown[])[0], { name: 'd1', address: '10.0.1.1', port: 80, check: false, tls: true, tls_verify: false });
  assert.deepEqual(reasonAt(p, 'sites.cfg', 87), ['not mode http: not imported (1 servers)']);
  assert.deepEqual(reasonAt(p, 'sites.cfg', 75), ['only path rules route to it, no host: not imported (1 servers)']);
});

test('site options: forced HTTPS from a port-80 frontend, HSTS, headers, compression, routes, redirect, auth', () => {
  const p = sites();
  const shop = body(p, 'shop.example.com')!;
  assert.deepEqual(shop.https, { force: true, redirect_code: 301, redirect_code_other: 308, hsts: { max_age: 31536000, include_subdomains: true } });
  assert.deepEqual(body(p, 'blog.example.com')!.https, { force: true, redirect_code: 301, redirect_code_other: 308 }, 'the port-80 frontend routes nothing: its redirect covers every domain');
  assert.deepEqual(shop.headers, { request: [{ action: 'set', name: 'X-Site', value: 'shop "main" 100%' }], response: [{ action: 'del', name: 'Server' }] });
  assert.deepEqual(shop.compression, { enabled: true, types: ['text/html', 'application/json'] });
  assert.deepEqual(shop.routes, [{ path: '/api', backend: 'api' }]);
  assert.deepEqual(body(p, 'old.example.com')!.redirect, { to: 'https://new.example.com', code: 308, keep_path: true });
  assert.equal(body(p, 'old.example.com')!.servers, undefined, 'a redirect site has no servers');
  assert.deepEqual(body(p, 'admin.example.com')!.access, {
    auth: { realm: 'Admin area', users: [
      { name: 'alice', password_hash: '$6$saltsalt$Zb3l7aCqB0hq3xBq0Hn3h6qYJv0xOZyZbQ2yQ8s3V2g1o8o9ZyDkzQ0bLZqQbO6r5wF7w2FzZq6C3y2mJXvJ1.' },
      { name: 'bob', password: 's3cret pass' },
      { name: 'carol', password_hash: '$1$oldmd5$abcdefghijklmnopqrstuv' },
    ] },
  });
  assert.ok(p.notes.some((n) => n.startsWith('sites.cfg:15: user bob has a clear-text password (insecure-password)')), 'a clear password is never taken silently');
});

test('what cannot be expressed is reported with its file, line and reason', () => {
  const p = sites();
  assert.deepEqual(reasonAt(p, 'sites.cfg', 40), ['uses an environment variable, whose value the import cannot know']);
  assert.match(reasonAt(p, 'sites.cfg', 41)[0]!, /the value is an expression/);
  assert.deepEqual(reasonAt(p, 'sites.cfg', 42), ['"http-request deny" is not expressible']);
  assert.deepEqual(reasonAt(p, 'sites.cfg', 43), ['"stick-table" is not expressible']);
  assert.deepEqual(reasonAt(p, 'sites.cfg', 53), ["default_backend: requests for hosts no rule names get the daemon's own page (404), not shop"]);
  assert.deepEqual(reasonAt(p, 'sites.cfg', 45), ['route to static: routes can only point at the backend of an imported domain']);
  assert.match(reasonAt(p, 'sites.cfg', 4)[0]!, /a global setting/);
  // Every line of the file is either carried or reported: nothing vanishes.
  for (const s of p.skipped) assert.ok(s.line > 0 && s.text.length > 0 && s.reason.length > 0);
});

test('settle: the API schema decides; refused parts are dropped and their lines reported, the rest of the domain kept', () => {
  const st = settle(sites(), validate);
  assert.equal(st.domains.length, 11, 'no domain is lost for one refused part');
  const shop = st.domains.find((d) => d.parsed.domain === 'shop.example.com')!;
  assert.equal(shop.parsed.servers.length, 3);
  assert.equal(shop.parsed.site?.https?.hsts?.maxAge, 31536000);
  // Groups the daemon does not have (yet) are reported per line, never failing the import.
  const known = new Set(Object.keys(domainBody.in.shape));
  for (const [group, line] of [['compression', 57], ['routes', 44], ['redirect', 35], ['access', 36]] as const) {
    const r = reasonAt(st, 'sites.cfg', line);
    if (known.has(group)) assert.ok(!r.some((x) => x.includes('not expressible yet')), `${group} is known: ${r.join('; ')}`);
    else assert.ok(r.some((x) => x === `not expressible yet: this daemon's POST /api/domain has no "${group}" group (${group === 'redirect' ? 'old' : group === 'access' ? 'admin' : 'shop'}.example.com)`), `${group}: ${r.join('; ')}`);
  }
  if (known.has('access')) {
    // An MD5 crypt hash is refused by the API: that user alone is dropped, on its line; the other two stay.
    assert.match(reasonAt(st, 'sites.cfg', 16)[0]!, /^admin\.example\.com: access\.auth\.users\[2\]\.password_hash must be a SHA-256 or SHA-512 crypt hash/);
    const admin = st.domains.find((d) => d.parsed.domain === 'admin.example.com')!;
    assert.deepEqual(admin.parsed.site?.access?.auth?.users.map((u) => u.name), ['alice', 'bob']);
    assert.match(admin.parsed.site?.access?.auth?.users[1]!.hash ?? '', /^\$6\$/, 'the clear password is hashed by the schema');
  }
  // A refused server is dropped alone, with the schema's reason on its line.
  const p = translate('defaults\n mode http\nfrontend f\n acl h hdr(host) -i a.example.com\n use_backend b if h\nbackend b\n server ok 10.0.0.1:80\n server bad 10.0.0.2:0\n http-request set-header Host x\n', 'x.cfg');
  const s2 = settle(p, validate);
  assert.deepEqual(s2.domains[0]!.parsed.servers.map((s) => s.name), ['ok']);
  assert.match(reasonAt(s2, 'x.cfg', 8)[0]!, /^a\.example\.com: servers\[1\]\.port /);
  assert.match(reasonAt(s2, 'x.cfg', 9)[0]!, /^a\.example\.com: headers\.request\[0\]\.name is set by the daemon/);
  // A domain name the API refuses drops the domain, reported at its host line.
  const s3 = settle(translate('defaults\n mode http\nfrontend f\n use_backend b if { hdr(host) -i bad_host!.com }\nbackend b\n server s 10.0.0.1:80\n', 'y.cfg'), validate);
  assert.equal(s3.domains.length, 0);
  assert.match(reasonAt(s3, 'y.cfg', 4)[0]!, /^bad_host!\.com: not imported: domain /);
});

test('a host with a port, a host_beg match and an OR of other tests are reported, not guessed', () => {
  const p = translate('defaults\n mode http\nfrontend f\n use_backend b if { hdr(host) -i a.example.com:8080 }\n use_backend b if { hdr_beg(host) -i www }\n use_backend b if { hdr(host) -i c.example.com } || { path /x }\n use_backend b if { hdr(host) -i d.example.com } || { hdr(host) -i e.example.com }\nbackend b\n server s 10.0.0.1:80\n', 'z.cfg');
  assert.match(reasonAt(p, 'z.cfg', 4)[0]!, /names a port/);
  assert.match(reasonAt(p, 'z.cfg', 5)[0]!, /host match "beg" is not expressible/);
  assert.match(reasonAt(p, 'z.cfg', 6)[0]!, /an OR of tests other than hosts/);
  assert.deepEqual(p.domains.map((d) => d.body.domain), ['d.example.com', 'e.example.com']);
});

const DEBIAN = '/etc/haproxy/haproxy.cfg';
const EXAMPLES = '/usr/share/doc/haproxy/examples';

test("Debian's own configurations: no crash, no domain (none routes a host), every unexpressed line reported", { skip: !existsSync(EXAMPLES) && 'haproxy-doc examples not installed' }, () => {
  const files = [DEBIAN, ...readdirSync(EXAMPLES).filter((f) => f.endsWith('.cfg')).map((f) => join(EXAMPLES, f))];
  const figures: Record<string, [number, number]> = {};
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const name = f.split('/').pop()!;
    const p = translate(text, name);
    figures[name] = [p.domains.length, p.skipped.length];
    const st = settle(p, validate);
    assert.equal(st.domains.length, p.domains.length, `${name}: every planned body passes the API schema`);
    for (const s of p.skipped) assert.ok(s.file === name && s.line >= 1 && s.line <= text.split('\n').length, `${name}: ${JSON.stringify(s)}`);
  }
  // What each file holds, as the report says it.
  assert.deepEqual(figures['haproxy.cfg'], [0, 26]);
  assert.deepEqual(figures['basic-config-edge.cfg'], [0, 39]);
  assert.deepEqual(figures['content-sw-sample.cfg'], [0, 20]);
  assert.deepEqual(figures['option-http_proxy.cfg'], [0, 17]);
  assert.deepEqual(figures['quick-test.cfg'], [0, 7]);
  assert.deepEqual(figures['socks4.cfg'], [0, 13]);
  assert.deepEqual(figures['wurfl-example.cfg'], [0, 10]);
  assert.deepEqual(figures['transparent_proxy.cfg'], [0, 5]);
  const edge = translate(readFileSync(join(EXAMPLES, 'basic-config-edge.cfg'), 'utf8'), 'e.cfg');
  assert.deepEqual(reasonAt(edge, 'e.cfg', 74), ['applies to no imported domain'], 'the HTTPS redirect has no domain to apply to');
  assert.deepEqual(reasonAt(edge, 'e.cfg', 96), ['a "cache" section is not expressible (5 lines)']);
  assert.deepEqual(reasonAt(edge, 'e.cfg', 103), ['no host routes to it: not imported (4 servers)']);
  const sw = translate(readFileSync(join(EXAMPLES, 'content-sw-sample.cfg'), 'utf8'), 's.cfg');
  assert.match(reasonAt(sw, 's.cfg', 32)[0]!, /host match "beg" is not expressible/);
  const tp = translate(readFileSync(join(EXAMPLES, 'transparent_proxy.cfg'), 'utf8'), 't.cfg');
  assert.match(tp.skipped.find((s) => s.text.startsWith('frontend'))!.reason, /a mode tcp frontend is not expressible/);
  console.log('figures (domains, skipped lines):', JSON.stringify(figures));
});
