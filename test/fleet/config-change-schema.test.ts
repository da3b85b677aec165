/**
 * The checks a node runs on another node's configuration change before
 * applying it (src/fleet/change-schema.ts), one kind at a time: what a node
 * shares (haproxy/changes/fleet-wire.ts) passes and stores the same domain
 * or service on another node, with every site option and user hash; what
 * breaks the API's own rules, is not canonical, or names another entity
 * than its key is refused with the field and reason, never repaired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/storage/db.js';
import { getDomain, upsertDomain, type DomainInput } from '../../src/storage/domains.js';
import { listTcpServices, upsertTcpService } from '../../src/storage/tcp-services.js';
import { domainChange, tcpServiceChange } from '../../src/haproxy/changes/fleet-wire.js';
import { configChangeSchema, fleetChangeSchema } from '../../src/fleet/change-schema.js';
import { configKey } from '../../src/storage/pg/config-changes.js';
import { issueLines } from '../../src/util/zod-issues.js';

const HASH = '$6$saltsalt$' + 'a'.repeat(86);

function freshDb(t: { after(fn: () => void): void }) {
  const { writer } = openDatabase(':memory:');
  t.after(() => writer.close());
  return writer;
}

const rich: DomainInput = {
  domain: 'shop.example.com',
  isWildcard: false,
  backendName: 'shop',
  kind: 'http_check',
  healthCheckPath: '/healthz',
  balance: 'leastconn',
  servers: [
    { name: 's1', address: '10.0.0.1', port: 8080, check: true, backup: false, weight: 50, maxconn: 100, tls: false, tlsVerify: true, tlsCaFile: null, tlsSni: null },
    { name: 's2', address: 'app.internal', port: 8443, check: false, backup: true, weight: 0, maxconn: null, tls: true, tlsVerify: true, tlsCaFile: '/etc/ssl/ca.pem', tlsSni: 'app.internal' },
  ],
  site: {
    https: { force: true, redirectCode: 302, redirectCodeOther: 307, hsts: { maxAge: 31_536_000, includeSubdomains: true, preload: true } },
    headers: { request: [{ action: 'set', name: 'X-Site', value: 'shop' }], response: [{ action: 'del', name: 'Server', value: null }] },
    routes: [{ path: '/api', match: 'prefix', backend: 'api', stripPrefix: true }],
    access: { deny: ['192.0.2.0/24'], allow: [], trustedOnly: false, auth: { realm: 'Shop staff', users: [{ name: 'ann', hash: HASH }], paths: ['/admin'] } },
    redirect: null,
    compression: { enabled: true, types: ['text/html'] },
    maintenance: { enabled: true, retryAfter: 60 },
    errorPages: { '503': '<h1>later</h1>' },
  },
};
const api: DomainInput = { ...rich, domain: 'api.example.com', backendName: 'api', kind: 'default', healthCheckPath: null, balance: 'roundrobin', servers: [], site: {} };

const refusal = (v: unknown) => {
  const r = fleetChangeSchema.safeParse(v);
  assert.equal(r.success, false, `refused: ${JSON.stringify(v).slice(0, 200)}`);
  return issueLines(r.error!.issues, v).join('; ');
};

test('domain: what one node shares stores the same domain on another, every option and hash included', (t) => {
  const a = freshDb(t);
  const b = freshDb(t);
  for (const db of [a, b]) upsertDomain(db, api);
  upsertDomain(a, rich);
  const change = domainChange(a, rich.domain)!;
  assert.equal(change.kind, 'domain');
  assert.equal(configKey(change), 'domain:shop.example.com');
  // Through JSON, as PostgreSQL hands it over.
  const parsed = configChangeSchema.parse(JSON.parse(JSON.stringify(change)));
  assert.equal(parsed.kind, 'domain');
  if (parsed.kind !== 'domain') return;
  upsertDomain(b, parsed.input);
  const strip = (d: ReturnType<typeof getDomain>) => ({ ...d!, id: 0 });
  assert.deepEqual(strip(getDomain(b, rich.domain)), strip(getDomain(a, rich.domain)));
  assert.equal(getDomain(b, rich.domain)!.site.access.auth!.users[0]!.hash, HASH);
});

test('domain: refused when it breaks the API rules, is not canonical or is about another domain', (t) => {
  const a = freshDb(t);
  upsertDomain(a, api);
  upsertDomain(a, rich);
  const good = JSON.parse(JSON.stringify(domainChange(a, rich.domain))) as { kind: string; domain: string; body: Record<string, unknown> };
  assert.match(refusal({ ...good, domain: 'other.example.com' }), /body\.domain: is not the domain the change is about/);
  assert.match(refusal({ ...good, domain: 'Shop.Example.com' }), /domain: a host name in canonical form/);
  assert.match(refusal({ ...good, body: { ...good.body, backend_name: 'hm-shop' } }), /body\.backend_name: names starting with "hm-" are reserved/);
  assert.match(refusal({ ...good, body: { ...good.body, headers: { request: [{ action: 'set', name: 'X-Forwarded-For', value: '1.2.3.4' }] } } }), /body\.headers\.request\[0\]\.name: is set by the daemon/);
  assert.match(refusal({ ...good, body: { ...good.body, servers: [{ name: 's1', address: '10.0.0.1', port: 70000 }] } }), /body\.servers\[0\]\.port/);
  assert.match(refusal({ ...good, body: { ...good.body, access: { auth: { users: [{ name: 'ann', password_hash: 'plain' }] } } } }), /body\.access\.auth\.users\[0\]\.password_hash/);
  assert.match(refusal({ ...good, extra: 1 }), /extra|Unrecognized/i);
  assert.match(refusal({ kind: 'domain', domain: rich.domain }), /body/);
});

test('domain_delete: a canonical host name only', () => {
  assert.deepEqual(fleetChangeSchema.parse({ kind: 'domain_delete', domain: '*.example.com' }), { kind: 'domain_delete', domain: '*.example.com' });
  assert.equal(configKey({ kind: 'domain_delete', domain: 'a.example.com' }), 'domain:a.example.com');
  assert.match(refusal({ kind: 'domain_delete', domain: 'A.example.com' }), /domain: a host name in canonical form/);
  assert.match(refusal({ kind: 'domain_delete', domain: 'a b' }), /domain/);
  assert.match(refusal({ kind: 'domain_delete' }), /domain/);
});

test('tcp_service: what one node shares passes and stores the same service; the rules of the API hold', (t) => {
  const a = freshDb(t);
  const b = freshDb(t);
  upsertTcpService(a, { name: 'git', kind: 'tls_passthrough', sni: 'git.example.com', port: null, balance: 'source', sendProxy: true, servers: [{ name: 'g1', address: '10.0.0.5', port: 443, check: true, backup: false, weight: 10, maxconn: 5 }] });
  upsertTcpService(a, { name: 'pg', kind: 'tcp', sni: null, port: 15432, balance: 'roundrobin', sendProxy: false, servers: [] });
  for (const name of ['git', 'pg']) {
    const change = tcpServiceChange(a, name);
    assert.equal(configKey(change), `tcp_service:${name}`);
    const parsed = configChangeSchema.parse(JSON.parse(JSON.stringify(change)));
    assert.equal(parsed.kind, 'tcp_service');
    if (parsed.kind === 'tcp_service') upsertTcpService(b, parsed.input);
  }
  const strip = (db: typeof a) => listTcpServices(db).map((s) => ({ ...s, id: 0 }));
  assert.deepEqual(strip(b), strip(a));
  const good = JSON.parse(JSON.stringify(tcpServiceChange(a, 'pg'))) as { kind: string; name: string; body: Record<string, unknown> };
  assert.match(refusal({ ...good, name: 'other' }), /body\.name: is not the service the change is about/);
  assert.match(refusal({ ...good, body: { ...good.body, sni: 'x.example.com' } }), /body\.sni: is not taken by tcp/);
  assert.match(refusal({ ...good, body: { ...good.body, port: 0 } }), /body\.port/);
  assert.match(refusal({ ...good, name: 'hm-x', body: { ...good.body, name: 'hm-x' } }), /body\.name: names starting with "hm-" are reserved/);
});

test('tcp_service_delete: a name only', () => {
  assert.deepEqual(fleetChangeSchema.parse({ kind: 'tcp_service_delete', name: 'git' }), { kind: 'tcp_service_delete', name: 'git' });
  assert.match(refusal({ kind: 'tcp_service_delete', name: '../x' }), /name: a name of letters, digits and \._-/);
  assert.match(refusal({ kind: 'tcp_service_delete', name: 'git', port: 1 }), /port|Unrecognized/i);
});

test('trusted_proxy and trusted_proxy_remove: canonical networks, a checked note', () => {
  assert.deepEqual(fleetChangeSchema.parse({ kind: 'trusted_proxy', cidr: '10.0.0.0/8', note: 'lb' }), { kind: 'trusted_proxy', cidr: '10.0.0.0/8', note: 'lb' });
  assert.deepEqual(fleetChangeSchema.parse({ kind: 'trusted_proxy_remove', cidr: '2001:db8::/48' }), { kind: 'trusted_proxy_remove', cidr: '2001:db8::/48' });
  assert.equal(configKey({ kind: 'trusted_proxy', cidr: '10.0.0.0/8', note: null }), 'trusted_proxy:10.0.0.0/8');
  assert.match(refusal({ kind: 'trusted_proxy', cidr: '010.0.0.1', note: null }), /cidr: an address or network in canonical form/);
  assert.match(refusal({ kind: 'trusted_proxy', cidr: '2001:DB8::/48', note: null }), /cidr: an address or network in canonical form/);
  assert.match(refusal({ kind: 'trusted_proxy', cidr: '10.0.0.0/8', note: 'a\u0000b' }), /note/);
  assert.match(refusal({ kind: 'trusted_proxy_remove', cidr: '10.0.0.0/8', note: null }), /note|Unrecognized/i);
});

test('an unknown kind is refused', () => {
  assert.match(refusal({ kind: 'backend', name: 'x' }), /kind/);
});
