/**
 * Bad input on every mutating endpoint (and the query parameters of the read
 * endpoints that take some): each is refused with a 4xx JSON answer naming the
 * offending field, and NOTHING changes: the live haproxy.cfg and every
 * generated file are byte-identical, the runtime maps and ACLs hold the same
 * entries, and the database rows read the same.
 *
 * Input validation does not depend on the HAProxy version, so those cases run
 * against one; a change HAProxy itself rejects runs against both.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HAPROXIES, rawStats, startTestDaemon, startBackend, domainBody, type TestDaemon, type Backend } from './helpers/harness.js';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

interface RawResult {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** A request with full control of the body bytes and headers (the harness always sends JSON). */
/** The daemon's key added, unless the case sets its own Authorization header. */
function withKey(t: TestDaemon, headers: Record<string, string>): Record<string, string> {
  if (!t.apiKey || Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) return headers;
  return { ...headers, authorization: `Bearer ${t.apiKey}` };
}

function rawRequest(port: number, method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string>): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    let done = false;
    const h = body === undefined || Object.keys(headers).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding')
      ? headers
      : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request({ host: '127.0.0.1', port, path, method, headers: h, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        done = true;
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers });
      });
      res.on('error', (e) => (done ? undefined : reject(e)));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    // The server may answer (413) and close before it read the whole body: a late EPIPE/ECONNRESET is not the answer.
    req.on('error', (e) => (done ? undefined : reject(e)));
    req.end(body);
  });
}

function walk(dir: string, base = dir, out = new Map<string, Buffer>()): Map<string, Buffer> {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, base, out);
    else out.set(p.slice(base.length + 1), readFileSync(p));
  }
  return out;
}

interface Snapshot {
  config: Buffer;
  files: Map<string, Buffer>;
  runtime: Record<string, string[] | string>;
  rows: Record<string, unknown>;
  audit: unknown;
}

const LISTS = ['/api/domains', '/api/backends', '/api/blocked-ips', '/api/trusted-ips', '/api/trusted-proxies', '/api/certificates/status'];
/** The audit log's newest entries: a refused conflict (409) or HAProxy's refusal is audited as failed; invalid input (400) leaves no entry. */
const AUDIT = '/api/audit?limit=20';

async function snapshot(t: TestDaemon): Promise<Snapshot> {
  const { configPath, generatedDir } = t.daemon.cfg.paths;
  const files = walk(generatedDir);
  const runtime: Record<string, string[] | string> = {};
  for (const rel of files.keys()) {
    const kind = rel.endsWith('.map') ? 'map' : rel.endsWith('.list') ? 'acl' : null;
    if (!kind) continue;
    const reply = await rawStats(t).send(`show ${kind} ${join(generatedDir, rel)}`);
    const keys = [...reply.matchAll(/^0x[0-9a-f]+ (\S+)/gm)].map((m) => m[1]!).sort();
    runtime[rel] = /^0x/m.test(reply) || reply.trim() === '' ? keys : reply.trim();
  }
  const rows: Record<string, unknown> = {};
  for (const p of LISTS) {
    const r = await t.api('GET', p);
    assert.equal(r.status, 200, `GET ${p}: ${r.body}`);
    rows[p] = r.json();
  }
  const audit = await t.api('GET', AUDIT);
  assert.equal(audit.status, 200, `GET ${AUDIT}: ${audit.body}`);
  return { config: readFileSync(configPath), files, runtime, rows, audit: audit.json() };
}

function assertUnchanged(before: Snapshot, after: Snapshot, label: string, opts: { audit?: boolean } = {}): void {
  if (opts.audit) assert.deepEqual(after.audit, before.audit, `${label}: an invalid request left an audit entry`);
  assert.equal(after.config.toString('utf8'), before.config.toString('utf8'), `${label}: the live haproxy.cfg changed`);
  assert.deepEqual([...after.files.keys()].sort(), [...before.files.keys()].sort(), `${label}: the set of generated files changed`);
  for (const [rel, buf] of before.files) {
    assert.equal(after.files.get(rel)?.toString('utf8'), buf.toString('utf8'), `${label}: generated file ${rel} changed`);
    assert.ok(after.files.get(rel)!.equals(buf), `${label}: generated file ${rel} is not byte-identical`);
  }
  assert.deepEqual(after.runtime, before.runtime, `${label}: HAProxy's runtime maps/ACLs changed`);
  assert.deepEqual(after.rows, before.rows, `${label}: the database rows changed`);
}

interface ErrorBody {
  status: string;
  error?: string;
  message?: string;
  field?: string;
  detail?: unknown;
}

function parseErrorBody(r: RawResult, label: string): ErrorBody {
  let b: ErrorBody;
  try {
    b = JSON.parse(r.text) as ErrorBody;
  } catch {
    assert.fail(`${label}: the answer is not JSON (status ${r.status}): ${r.text.slice(0, 300)}`);
  }
  assert.ok(typeof b === 'object' && b !== null && !Array.isArray(b), `${label}: the answer is not a JSON object: ${r.text.slice(0, 300)}`);
  assert.equal(b.status, 'error', `${label}: status is not "error": ${r.text.slice(0, 300)}`);
  assert.equal(typeof b.message, 'string', `${label}: no message: ${r.text.slice(0, 300)}`);
  assert.doesNotMatch(r.text, /\n\s+at |\\n\s+at |\/work\/|node_modules|\.[cm]?[jt]s:\d+:\d+/, `${label}: the answer leaks a stack trace or a path`);
  return b;
}

/** Which test backend answered a request through HAProxy (null: none did, e.g. HAProxy's default page). */
function servedBy(r: { status: number; body: string }): string | null {
  try {
    const j = JSON.parse(r.body) as { server?: unknown };
    return typeof j.server === 'string' ? j.server : null;
  } catch {
    return null;
  }
}

const KIND_OF: Record<number, string> = { 400: 'validation', 404: 'not_found', 409: 'conflict', 413: 'too_large', 415: 'unsupported_media_type' };

interface Case {
  name: string;
  method: string;
  path: string;
  /** A value to JSON-encode, or `raw` for exact bytes. */
  body?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
  status: number | number[];
  field: string | string[];
  /** What the message must say beyond the field (the reason). */
  reason?: RegExp;
}

const q = encodeURIComponent;

// ---------------------------------------------------------------------------
// The shared daemon (one HAProxy version) for input validation
// ---------------------------------------------------------------------------

const H = HAPROXIES[0]!;

// Pre-existing state that the cases try (and fail) to change.
const BLOCKED = '203.0.113.7';
const TRUSTED = '198.51.100.7';
const PROXY = '10.1.0.0/16';
const FRESH_IP = '192.0.2.10'; // valid and in no list: only its companion field is bad

function okServer(port: number, extra: Record<string, unknown> = {}) {
  return { name: 's1', address: '127.0.0.1', port, check: false, ...extra };
}

function buildCases(bePort: number): Case[] {
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);
  const keep = (extra: Record<string, unknown> = {}) => ({ domain: 'keep.test', backend_name: 'keep', servers: [okServer(bePort)], ...extra });
  const keepServer = (extra: Record<string, unknown>) => keep({ servers: [okServer(bePort, extra)] });

  // --- Bodies that are not JSON objects, on every mutating endpoint --------
  const mutating: [string, string, string][] = [
    ['POST', '/api/domain', 'domain'],
    ['DELETE', '/api/domain', 'domain'],
    ['POST', '/api/blocked-ips', 'ip_address'],
    ['DELETE', '/api/blocked-ips', 'ip_address'],
    ['POST', '/api/security/temporary-block', 'ip_address'],
    ['POST', '/api/trusted-ips', 'ip_address'],
    ['DELETE', '/api/trusted-ips', 'ip_address'],
    ['POST', '/api/trusted-proxies', 'cidr'],
    ['DELETE', '/api/trusted-proxies', 'cidr'],
    ['POST', '/api/servers/state', 'backend'],
  ];
  const huge = JSON.stringify({ domain: 'keep.test', backend_name: 'keep', ip_address: FRESH_IP, cidr: '10.9.0.0/16', pad: 'x'.repeat(1024 * 1024 + 10) });
  for (const [method, path, first] of mutating) {
    const n = `${method} ${path}`;
    add({ name: `${n}: truncated JSON`, method, path, raw: '{"domain": "keep.test", "ip_address": ', status: 400, field: '(body)' });
    add({ name: `${n}: single-quoted pseudo-JSON`, method, path, raw: "{'ip_address': '1.2.3.4'}", status: 400, field: '(body)' });
    add({ name: `${n}: JSON null`, method, path, raw: 'null', status: 400, field: ['(body)', first] });
    add({ name: `${n}: JSON string`, method, path, raw: '"1.2.3.4"', status: 400, field: ['(body)', first] });
    add({ name: `${n}: random bytes`, method, path, raw: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0x80, 0x0a, 0x23]), status: 400, field: '(body)' });
    add({ name: `${n}: body over the 1mb limit`, method, path, raw: huge, status: 413, field: '(body)' });
    add({ name: `${n}: JSON array instead of an object`, method, path, raw: JSON.stringify([{ domain: 'keep.test', ip_address: FRESH_IP }]), status: 400, field: ['(body)', first] });
    add({
      name: `${n}: JSON sent as text/plain is not parsed`,
      method,
      path,
      raw: JSON.stringify({ domain: 'zz-new.test', backend_name: 'zznew', ip_address: FRESH_IP, cidr: '10.9.0.0/16', backend: 'keep', server: 's1', state: 'drain' }),
      headers: { 'content-type': 'text/plain' },
      status: 415,
      field: '(body)',
    });
  }
  add({ name: 'POST /api/domain: unsupported charset', method: 'POST', path: '/api/domain', raw: JSON.stringify(keep({ evil: 1 })), headers: { 'content-type': 'application/json; charset=utf-7' }, status: [400, 415], field: ['(body)', 'evil'] });
  add({ name: 'POST /api/domain: bogus content-encoding', method: 'POST', path: '/api/domain', raw: JSON.stringify(keep()), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, status: [400, 415], field: '(body)' });

  // --- POST /api/domain -----------------------------------------------------
  const dom = (name: string, body: unknown, field: string, status = 400, path = '/api/domain') => add({ name: `POST /api/domain: ${name}`, method: 'POST', path, body, status, field });
  const domRaw = (name: string, raw: string, field: string | string[]) => add({ name: `POST /api/domain: ${name}`, method: 'POST', path: '/api/domain', raw, status: 400, field });

  dom('missing domain', { backend_name: 'keep', servers: [] }, 'domain');
  dom('missing backend_name', { domain: 'keep.test', servers: [] }, 'backend_name');
  dom('unknown top-level field', keep({ evil: 'x' }), 'evil');
  dom('unknown field "frontend"', keep({ frontend: 'web' }), 'frontend');
  domRaw('__proto__ key', `{"domain":"keep.test","backend_name":"keep","__proto__":{"servers":[]}}`, ['__proto__', '(body)']);
  dom('constructor key', keep({ constructor: { prototype: { polluted: true } } }), 'constructor');
  dom('unknown server field', keepServer({ cmd: 'x' }), 'servers[0].cmd');
  domRaw('server __proto__ key', `{"domain":"keep.test","backend_name":"keep","servers":[{"name":"s1","address":"127.0.0.1","port":${bePort},"__proto__":{"x":1}}]}`, ['servers[0].__proto__', '(body)']);
  dom('dry run with a bad body', keep({ domain: 'keep.test\nbackend evil' }), 'domain', 400, '/api/domain?dry_run=true');

  const badDomains: [string, unknown][] = [
    ['newline', 'keep.test\nbackend evil'],
    ['CRLF', 'keep.test\r\nuse_backend evil'],
    ['#', 'keep.test#x'],
    ['inner space', 'keep .test'],
    ['two names', 'keep.test other.test'],
    [';', 'keep.test;x'],
    ['quote', "keep.test'"],
    ['double quote', 'keep"test'],
    ['slash', 'keep.test/x'],
    ['colon/port', 'keep.test:80'],
    ['@', 'user@keep.test'],
    ['backslash', 'keep\\.test'],
    ['NUL', 'keep\u0000.test'],
    ['empty', ''],
    ['blank', '   '],
    ['number', 42],
    ['null', null],
    ['array', ['keep.test']],
    ['object', { name: 'keep.test' }],
    ['boolean', true],
    ['label over 63', `${'a'.repeat(64)}.test`],
    ['over 300 characters', `${'a.'.repeat(151)}test`],
    ['over 253 after conversion', `${'abcdefghi.'.repeat(26)}test`],
    ['an IPv4 address', '1.2.3.4'],
    ['leading hyphen', '-bad.test'],
    ['trailing hyphen', 'bad-.test'],
    ['empty label', 'a..test'],
    ['underscore', 'under_score.test'],
    ['wildcard of one label', '*.test'],
    ['double wildcard', '*.*.x.test'],
    ['inner wildcard', 'a.*.test'],
    ['invalid punycode', 'xn--zz.test'],
    ['percent-encoded newline', 'a%0ab.test'],
  ];
  for (const [n, v] of badDomains) dom(`domain ${n}`, keep({ domain: v }), 'domain');

  const badBackends: [string, unknown][] = [
    ['reserved hm- prefix', 'hm-keep'],
    ['reserved hm-default', 'hm-default'],
    ['bare hm-', 'hm-'],
    ['space', 'keep backend'],
    ['newline', 'keep\nbackend evil'],
    ['#', 'keep#x'],
    [';', 'keep;x'],
    ['slash', 'keep/x'],
    ['empty', ''],
    ['leading hyphen', '-keep'],
    ['leading underscore', '_keep'],
    ['over 64 characters', 'k'.repeat(65)],
    ['non-ASCII', 'kéep'],
    ['number', 5],
    ['null', null],
    ['array', ['keep']],
  ];
  for (const [n, v] of badBackends) dom(`backend_name ${n}`, keep({ backend_name: v }), 'backend_name');
  dom('backend_name of another domain', keep({ backend_name: 'other' }), 'backend_name', 409);
  dom('new domain taking another domain\'s backend', { domain: 'zz-new.test', backend_name: 'other', servers: [okServer(bePort)] }, 'backend_name', 409);

  const badServers: [string, unknown, string][] = [
    ['a string', 's1', 'servers'],
    ['an object', { name: 's1' }, 'servers'],
    ['a number', 5, 'servers'],
    ['a list of strings', ['127.0.0.1:80'], 'servers[0]'],
    ['a list holding null', [null], 'servers[0]'],
    ['a list holding a list', [['s1', '127.0.0.1', 80]], 'servers[0]'],
    ['over 1000 servers', Array.from({ length: 1001 }, (_, i) => okServer(bePort, { name: `s${i}` })), 'servers'],
  ];
  for (const [n, v, f] of badServers) dom(`servers ${n}`, keep({ servers: v }), f);

  const serverField = (field: string, values: [string, unknown][]) => {
    for (const [n, v] of values) dom(`server ${field} ${n}`, keepServer({ [field]: v }), `servers[0].${field}`);
  };
  serverField('name', [
    ['space', 's 1'],
    ['newline', 's1\nserver evil 1.2.3.4:80'],
    ['#', 's1#'],
    [';', 's1;x'],
    ['empty', ''],
    ['leading hyphen', '-s1'],
    ['number', 1],
    ['null', null],
    ['over 64 characters', 's'.repeat(65)],
  ]);
  dom('server without a name', keep({ servers: [{ address: '127.0.0.1', port: bePort }] }), 'servers[0].name');
  serverField('address', [
    ['with trailing option', '127.0.0.1 check'],
    ['newline', '127.0.0.1\nserver evil 1.2.3.4:80'],
    ['#', '127.0.0.1#'],
    [';', '127.0.0.1;'],
    ['IPv4 CIDR', '10.0.0.0/8'],
    ['IPv6 CIDR', '::/0'],
    ['host-length CIDR of a network', '127.0.0.0/24'],
    ['short form 1.1', '1.1'],
    ['short form 127.1', '127.1'],
    ['leading zero octet', '01.2.3.4'],
    ['octal octet', '0177.0.0.1'],
    ['hex octet', '0x7f.0.0.1'],
    ['octet over 255', '1.2.3.256'],
    ['five parts', '1.2.3.4.5'],
    ['with a port', '127.0.0.1:80'],
    ['IPv6 zone', 'fe80::1%lo'],
    ['unclosed bracket', '[::1'],
    ['empty', ''],
    ['integer', 2130706433],
    ['null', null],
    ['hostname with space', 'back end.test'],
  ]);
  serverField('port', [
    ['0', 0],
    ['negative', -1],
    ['65536', 65536],
    ['huge', 1e12],
    ['fraction', 80.5],
    ['string with letters', '80a'],
    ['empty string', ''],
    ['string with space', ' 80'],
    ['string with newline', '80\n'],
    ['null', null],
    ['boolean', true],
    ['array', [80]],
    ['object', {}],
  ]);
  dom('server without a port', keep({ servers: [{ name: 's1', address: '127.0.0.1' }] }), 'servers[0].port');
  serverField('weight', [
    ['negative', -1],
    ['257', 257],
    ['fraction', 1.5],
    ['string', '10'],
    ['null', null],
    ['boolean', true],
  ]);
  serverField('maxconn', [
    ['0', 0],
    ['negative', -5],
    ['over 1000000', 1_000_001],
    ['string', '10'],
    ['fraction', 1.5],
  ]);
  serverField('options', [
    ['newline then a server line', 'check\nserver evil 1.2.3.4:80'],
    ['comment', 'check # comment'],
    [';', 'check;ls'],
    ['unknown word inter', 'check inter 1s'],
    ['verify none', 'verify none'],
    ['ca-file', 'ssl ca-file /etc/passwd'],
    ['number', 5],
    ['array', ['check']],
  ]);
  serverField('check', [
    ['string', 'yes'],
    ['2', 2],
    ['"true"', 'true'],
  ]);
  serverField('backup', [['string', 'no']]);
  serverField('tls', [['string', 'on']]);
  serverField('tls_verify', [['string "false"', 'false']]);
  serverField('tls_ca_file', [
    ['relative', 'ca.pem'],
    ['space', '/etc/ssl/a b.pem'],
    ['newline', '/etc/ssl/a.pem\nserver evil 1.2.3.4:80'],
    ['dot-dot', '/etc/ssl/../../x.pem'],
    ['#', '/etc/ssl/a#b.pem'],
    [';', '/etc/ssl/a;b.pem'],
    ['empty', ''],
    ['number', 5],
    ['over 256 characters', `/${'a'.repeat(300)}`],
  ]);
  serverField('tls_sni', [
    ['space', 'a b.test'],
    ['newline', 'a.test\nserver evil'],
    ['#', 'a.test#'],
    ['number', 5],
  ]);
  dom('duplicate server names', keep({ servers: [okServer(bePort), okServer(bePort, { port: bePort + 1 })] }), 'servers[1].name');
  dom('a bad second server', keep({ servers: [okServer(bePort), okServer(bePort, { name: 's2', port: 70000 })] }), 'servers[1].port');
  dom('kind unknown', keep({ kind: 'evil' }), 'kind');
  dom('kind with newline', keep({ kind: 'default\nbackend evil' }), 'kind');
  dom('kind a number', keep({ kind: 5 }), 'kind');
  dom('template_override unknown', keep({ template_override: 'custom' }), 'template_override');
  dom('template_override unknown beside a valid kind', keep({ kind: 'default', template_override: 'custom\nbackend evil' }), 'template_override');
  dom('balance unknown', keep({ balance: 'random' }), 'balance');
  dom('balance with newline', keep({ balance: 'roundrobin\nbackend evil' }), 'balance');
  dom('balance a number', keep({ balance: 5 }), 'balance');
  for (const [n, v] of [
    ['without a slash', 'health'],
    ['space', '/a b'],
    ['newline', '/a\nhttp-request deny'],
    ['#', '/#'],
    [';', '/a;b'],
    ['quote', '/a"b'],
    ['number', 5],
    ['over 200 characters', `/${'a'.repeat(201)}`],
  ] as [string, unknown][]) {
    dom(`health_check_path ${n}`, keep({ health_check_path: v }), 'health_check_path');
  }
  dom('is_wildcard a string', keep({ is_wildcard: 'yes' }), 'is_wildcard');
  dom('is_wildcard 2', keep({ is_wildcard: 2 }), 'is_wildcard');

  // --- Per-site options (issue 13): every field refused with its path, nothing changed ---
  dom('https.force a string', keep({ https: { force: 'yes' } }), 'https.force');
  dom('https.redirect_code 303', keep({ https: { force: true, redirect_code: 303 } }), 'https.redirect_code');
  dom('https.hsts.max_age negative', keep({ https: { hsts: { max_age: -1 } } }), 'https.hsts.max_age');
  dom('https.hsts preload without include_subdomains', keep({ https: { hsts: { max_age: 31536000, preload: true } } }), 'https.hsts.preload');
  dom('headers rule with a newline in the value', keep({ headers: { request: [{ action: 'set', name: 'X-A', value: 'a\nhttp-request deny' }] } }), 'headers.request[0].value');
  dom('headers rule naming X-Forwarded-For', keep({ headers: { request: [{ action: 'set', name: 'X-Forwarded-For', value: '1.2.3.4' }] } }), 'headers.request[0].name');
  dom('headers del with a value', keep({ headers: { response: [{ action: 'del', name: 'Server', value: 'x' }] } }), 'headers.response[0].value');
  for (const [n, v] of [
    ['without a slash', 'api'],
    ['space', '/a b'],
    ['"/" alone', '/'],
    ['trailing slash', '/api/'],
    ['double slash', '//api'],
    ['newline', '/a\nuse_backend evil'],
    ['quote', '/a"b'],
    ['}', '/a}'],
    ['number', 5],
  ] as [string, unknown][]) {
    dom(`routes path ${n}`, keep({ routes: [{ path: v, backend: 'other' }] }), 'routes[0].path');
  }
  dom('routes to a backend that does not exist', keep({ routes: [{ path: '/api', backend: 'nosuch' }] }), 'routes[0].backend');
  dom('routes to its own backend', keep({ routes: [{ path: '/api', backend: 'keep' }] }), 'routes[0].backend');
  dom('routes match unknown', keep({ routes: [{ path: '/api', match: 'regex', backend: 'other' }] }), 'routes[0].match');
  dom('routes strip_prefix on an exact path', keep({ routes: [{ path: '/api', match: 'exact', backend: 'other', strip_prefix: true }] }), 'routes[0].strip_prefix');
  dom('routes the same path twice', keep({ routes: [{ path: '/api', backend: 'other' }, { path: '/api', backend: 'other' }] }), 'routes[1].path');
  dom('routes not a list', keep({ routes: { path: '/api' } }), 'routes');
  dom('access.deny not an address', keep({ access: { deny: ['1.2.3.999'] } }), 'access.deny[0]');
  dom('access.allow with a newline', keep({ access: { allow: ['10.0.0.0/8\n0.0.0.0/0'] } }), 'access.allow[0]');
  dom('access.trusted_only a string', keep({ access: { trusted_only: 'true' } }), 'access.trusted_only');
  dom('access.auth a new user without a password', keep({ access: { auth: { users: [{ name: 'alice' }] } } }), 'access.auth.users[0].password');
  dom('access.auth password too short', keep({ access: { auth: { users: [{ name: 'alice', password: 'short' }] } } }), 'access.auth.users[0].password');
  dom('access.auth password with a control character', keep({ access: { auth: { users: [{ name: 'alice', password: 'long enough\u0007' }] } } }), 'access.auth.users[0].password');
  dom('access.auth password_hash not a crypt hash', keep({ access: { auth: { users: [{ name: 'alice', password_hash: 'md5:5f4dcc3b5aa765d61d8327deb882cf99' }] } } }), 'access.auth.users[0].password_hash');
  dom('access.auth password and password_hash', keep({ access: { auth: { users: [{ name: 'alice', password: 'long enough', password_hash: '$6$saltsalt$w4JRS/rzf33ha13fW3n.44FLfJzgVCHUkebD.iMpeDxki4R8KJaWd/GtcSbAlMDBZd2LX1HOdeAoqhucRq3yI.' }] } } }), 'access.auth.users[0].password_hash');
  dom('access.auth user name with a space', keep({ access: { auth: { users: [{ name: 'al ice', password: 'long enough' }] } } }), 'access.auth.users[0].name');
  dom('access.auth the same user twice', keep({ access: { auth: { users: [{ name: 'a', password: 'long enough' }, { name: 'a', password: 'long enough' }] } } }), 'access.auth.users[1].name');
  dom('access.auth no users', keep({ access: { auth: { users: [] } } }), 'access.auth.users');
  dom('access.auth realm with a quote', keep({ access: { auth: { realm: 'a"b', users: [{ name: 'a', password: 'long enough' }] } } }), 'access.auth.realm');
  dom('access.auth path without a slash', keep({ access: { auth: { users: [{ name: 'a', password: 'long enough' }], paths: ['admin'] } } }), 'access.auth.paths[0]');
  dom('redirect to javascript:', keep({ redirect: { to: 'javascript:alert(1)' } }), 'redirect.to');
  dom('redirect to a URL with a space', keep({ redirect: { to: 'https://a.example/x y' } }), 'redirect.to');
  dom('redirect to a URL with a quote', keep({ redirect: { to: 'https://a.example/"x' } }), 'redirect.to');
  dom('redirect keeping the path to a URL with a query', keep({ redirect: { to: 'https://a.example/?a=1' } }), 'redirect.to');
  dom('redirect code 200', keep({ redirect: { to: 'https://a.example', code: 200 } }), 'redirect.code');
  dom('compression.enabled missing', keep({ compression: {} }), 'compression.enabled');
  dom('compression type upper case', keep({ compression: { enabled: true, types: ['Text/HTML'] } }), 'compression.types[0]');
  dom('compression type with a space', keep({ compression: { enabled: true, types: ['text/html text/evil'] } }), 'compression.types[0]');
  dom('maintenance.retry_after negative', keep({ maintenance: { enabled: true, retry_after: -1 } }), 'maintenance.retry_after');
  dom('maintenance.enabled a number', keep({ maintenance: { enabled: 1 } }), 'maintenance.enabled');
  dom('error_pages status 500', keep({ error_pages: { '500': '<h1>x</h1>' } }), 'error_pages.500');
  dom('error_pages with a control character', keep({ error_pages: { '503': '<h1>\u0001</h1>' } }), 'error_pages.503');
  dom('error_pages empty', keep({ error_pages: { '502': '' } }), 'error_pages.502');
  dom('error_pages over 64 KiB', keep({ error_pages: { '504': 'x'.repeat(65_537) } }), 'error_pages.504');
  const maint = (name: string, path: string, body: unknown, field: string, status = 400) => add({ name: `POST ${path}: ${name}`, method: 'POST', path, body, status, field });
  maint('enabled missing', '/api/domains/keep.test/maintenance', {}, 'enabled');
  maint('retry_after a string', '/api/domains/keep.test/maintenance', { enabled: true, retry_after: '60' }, 'retry_after');
  maint('unknown field', '/api/domains/keep.test/maintenance', { enabled: true, page: 'x' }, 'page');
  maint('bad domain in the path', '/api/domains/keep%0Atest/maintenance', { enabled: true }, 'domain');
  maint('no such domain', '/api/domains/nosuch.test/maintenance', { enabled: true }, 'domain', 404);

  // --- DELETE /api/domain ---------------------------------------------------
  const del = (name: string, body: unknown, field: string, status = 400, query = '') =>
    add({ name: `DELETE /api/domain: ${name}`, method: 'DELETE', path: `/api/domain${query}`, body, status, field });
  del('empty body', {}, 'domain');
  del('null domain', { domain: null }, 'domain');
  del('newline', { domain: 'keep.test\nother.test' }, 'domain');
  del('#', { domain: 'keep.test#' }, 'domain');
  del(';', { domain: 'keep.test;other.test' }, 'domain');
  del('space', { domain: 'keep.test other.test' }, 'domain');
  del('number', { domain: 5 }, 'domain');
  del('array', { domain: ['keep.test'] }, 'domain');
  del('empty string', { domain: '' }, 'domain');
  del('single-label wildcard', { domain: '*.test' }, 'domain');
  del('query with a newline', undefined, 'domain', 400, `?domain=${q('keep.test\nother.test')}`);
  del('query given twice', undefined, 'domain', 400, '?domain=keep.test&domain=other.test');
  del('a domain that does not exist', { domain: 'missing.test' }, 'domain', 404);
  del('a wildcard that does not exist', { domain: '*.keep.test' }, 'domain', 404);

  // --- IP address fields ------------------------------------------------------
  const badIps: [string, unknown][] = [
    ['missing', undefined],
    ['empty', ''],
    ['null', null],
    ['an integer', 16843009],
    ['an array', [FRESH_IP]],
    ['an object', { ip: FRESH_IP }],
    ['boolean', true],
    ['newline then another', '192.0.2.10\n192.0.2.11'],
    ['inner space', '192.0.2.10 192.0.2.11'],
    ['#', '192.0.2.10#'],
    ['; and a runtime command', '192.0.2.10;clear map'],
    ['short form 1.1', '1.1'],
    ['short form 127.1', '127.1'],
    ['single number', '3221225994'],
    ['leading zero octet', '01.2.3.4'],
    ['octal octet', '0177.0.0.1'],
    ['hex', '0x01.2.3.4'],
    ['octet over 255', '1.2.3.256'],
    ['five parts', '1.2.3.4.5'],
    ['with a port', '192.0.2.10:80'],
    ['IPv6 zone', 'fe80::1%eth0'],
    ['IPv6 with a non-hex digit', '2001:db8::g'],
    ['bracketed IPv6', '[2001:db8::1]'],
    ['fullwidth digits', '１.２.３.４'],
    ['very long', '1'.repeat(100)],
  ];
  const badCidrs: [string, unknown][] = [
    ['prefix over 32', '192.0.2.0/33'],
    ['negative prefix', '192.0.2.0/-1'],
    ['empty prefix', '192.0.2.0/'],
    ['prefix over 128', '2001:db8::/129'],
    ['two slashes', '192.0.2.0/24/8'],
  ];
  const withoutUndefined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const ipCases = (method: string, path: string, field: string | string[], key: string, extra: Record<string, unknown> = {}) => {
    for (const [n, v] of [...badIps, ...badCidrs]) {
      add({ name: `${method} ${path}: ${key} ${n}`, method, path, body: withoutUndefined({ ...extra, [key]: v }), status: 400, field });
    }
  };

  // --- POST /api/blocked-ips ------------------------------------------------
  ipCases('POST', '/api/blocked-ips', 'ip_address', 'ip_address', { reason: 'test' });
  const note = (method: string, path: string, field: string, base: Record<string, unknown>, max: number) => {
    for (const [n, v] of [
      ['a number', 5],
      ['an object', { a: 1 }],
      ['newline', 'spam\nhttp-request deny'],
      ['carriage return', 'a\rb'],
      ['NUL', 'a\u0000b'],
      ['DEL', 'a\u007fb'],
      [`over ${max} characters`, 'r'.repeat(max + 1)],
    ] as [string, unknown][]) {
      add({ name: `${method} ${path}: ${field} ${n}`, method, path, body: { ...base, [field]: v }, status: 400, field });
    }
  };
  note('POST', '/api/blocked-ips', 'reason', { ip_address: FRESH_IP }, 500);
  note('POST', '/api/blocked-ips', 'blocked_by', { ip_address: FRESH_IP }, 100);
  for (const [n, v] of [
    ['already blocked', BLOCKED],
    ['already blocked, IPv4-mapped IPv6', `::ffff:${BLOCKED}`],
    ['already blocked, as a /32', `${BLOCKED}/32`],
  ]) {
    add({ name: `POST /api/blocked-ips: ${n}`, method: 'POST', path: '/api/blocked-ips', body: { ip_address: v }, status: 409, field: 'ip_address' });
  }

  // --- DELETE /api/blocked-ips ----------------------------------------------
  ipCases('DELETE', '/api/blocked-ips', 'ip_address', 'ip_address');
  add({ name: 'DELETE /api/blocked-ips: query with a newline', method: 'DELETE', path: `/api/blocked-ips?ip_address=${q(`${BLOCKED}\nclear map`)}`, status: 400, field: 'ip_address' });
  add({ name: 'DELETE /api/blocked-ips: query with ;', method: 'DELETE', path: `/api/blocked-ips?ip_address=${q(`${BLOCKED};clear map`)}`, status: 400, field: 'ip_address' });
  add({ name: 'DELETE /api/blocked-ips: not blocked', method: 'DELETE', path: '/api/blocked-ips', body: { ip_address: FRESH_IP }, status: 404, field: 'ip_address' });
  add({ name: 'DELETE /api/blocked-ips: a range holding a blocked address', method: 'DELETE', path: '/api/blocked-ips', body: { ip_address: '203.0.113.0/24' }, status: 404, field: 'ip_address' });

  // --- POST /api/security/temporary-block -----------------------------------
  ipCases('POST', '/api/security/temporary-block', 'ip_address', 'ip_address', { duration_minutes: 5 });
  const durations: [string, unknown][] = [
    ['0', 0],
    ['negative', -1],
    ['very negative', -1e9],
    ['one over the maximum', 525601],
    ['huge', 1e12],
    ['fraction', 1.5],
    ['numeric string', '60'],
    ['empty string', ''],
    ['boolean', true],
    ['array', [60]],
    ['object', { minutes: 60 }],
  ];
  for (const ip of [FRESH_IP, BLOCKED]) {
    for (const [n, v] of durations) {
      add({ name: `POST /api/security/temporary-block: duration_minutes ${n} (${ip === BLOCKED ? 'blocked' : 'new'} address)`, method: 'POST', path: '/api/security/temporary-block', body: { ip_address: ip, duration_minutes: v }, status: 400, field: 'duration_minutes' });
    }
  }
  add({ name: 'POST /api/security/temporary-block: duration_minutes 1e400 (Infinity)', method: 'POST', path: '/api/security/temporary-block', raw: `{"ip_address":"${FRESH_IP}","duration_minutes":1e400}`, status: 400, field: 'duration_minutes' });
  add({ name: 'POST /api/security/temporary-block: duration_minutes -0', method: 'POST', path: '/api/security/temporary-block', raw: `{"ip_address":"${FRESH_IP}","duration_minutes":-0}`, status: 400, field: 'duration_minutes' });
  note('POST', '/api/security/temporary-block', 'reason', { ip_address: FRESH_IP, duration_minutes: 5 }, 500);

  // --- POST /api/trusted-ips ------------------------------------------------
  ipCases('POST', '/api/trusted-ips', 'ip_address', 'ip_address', { scope: 'real_ip' });
  for (const [n, v] of [
    ['unknown', 'everything'],
    ['with newline', 'source\nreal_ip'],
    ['upper case', 'REAL_IP'],
    ['number', 5],
    ['array', ['source']],
  ] as [string, unknown][]) {
    add({ name: `POST /api/trusted-ips: scope ${n}`, method: 'POST', path: '/api/trusted-ips', body: { ip_address: FRESH_IP, scope: v }, status: 400, field: 'scope' });
  }
  note('POST', '/api/trusted-ips', 'note', { ip_address: FRESH_IP }, 500);
  add({ name: 'POST /api/trusted-ips: already trusted', method: 'POST', path: '/api/trusted-ips', body: { ip_address: TRUSTED }, status: 409, field: 'ip_address' });
  add({ name: 'POST /api/trusted-ips: already trusted, IPv4-mapped IPv6', method: 'POST', path: '/api/trusted-ips', body: { ip_address: `::FFFF:${TRUSTED}`, scope: 'real_ip' }, status: 409, field: 'ip_address' });

  // --- DELETE /api/trusted-ips ----------------------------------------------
  ipCases('DELETE', '/api/trusted-ips', 'ip_address', 'ip_address');
  add({ name: 'DELETE /api/trusted-ips: scope unknown', method: 'DELETE', path: '/api/trusted-ips', body: { ip_address: TRUSTED, scope: 'all' }, status: 400, field: 'scope' });
  add({ name: 'DELETE /api/trusted-ips: scope unknown in the query', method: 'DELETE', path: `/api/trusted-ips?ip_address=${TRUSTED}&scope=${q('real_ip\n')}`, status: 400, field: 'scope' });
  add({ name: 'DELETE /api/trusted-ips: query with a newline', method: 'DELETE', path: `/api/trusted-ips?ip_address=${q(`${TRUSTED}\n`)}x`, status: 400, field: 'ip_address' });
  add({ name: 'DELETE /api/trusted-ips: not trusted', method: 'DELETE', path: '/api/trusted-ips', body: { ip_address: FRESH_IP }, status: 404, field: 'ip_address' });
  add({ name: 'DELETE /api/trusted-ips: trusted, but in the other scope', method: 'DELETE', path: '/api/trusted-ips', body: { ip_address: TRUSTED, scope: 'source' }, status: 404, field: 'ip_address' });

  // --- POST /api/trusted-proxies --------------------------------------------
  ipCases('POST', '/api/trusted-proxies', 'cidr', 'cidr');
  // `ip_address` is the original's name for `cidr`: the shared text check names the key as sent.
  ipCases('POST', '/api/trusted-proxies', ['cidr', 'ip_address'], 'ip_address');
  for (const [n, v] of [
    ['CIDR with a newline', '10.0.0.0/8\n0.0.0.0/0'],
    ['CIDR with a space', '10.0.0.0 /8'],
    ['CIDR with #', '10.0.0.0/8#'],
    ['short-form network', '10.1/16'],
    ['leading zero network', '010.0.0.0/8'],
  ] as [string, unknown][]) {
    add({ name: `POST /api/trusted-proxies: ${n}`, method: 'POST', path: '/api/trusted-proxies', body: { cidr: v }, status: 400, field: 'cidr' });
  }
  note('POST', '/api/trusted-proxies', 'note', { cidr: '10.9.0.0/16' }, 500);
  add({ name: 'POST /api/trusted-proxies: already trusted', method: 'POST', path: '/api/trusted-proxies', body: { cidr: PROXY }, status: 409, field: 'cidr' });
  add({ name: 'POST /api/trusted-proxies: already trusted, written with host bits', method: 'POST', path: '/api/trusted-proxies', body: { cidr: '10.1.2.3/16' }, status: 409, field: 'cidr' });

  // --- DELETE /api/trusted-proxies ------------------------------------------
  ipCases('DELETE', '/api/trusted-proxies', 'cidr', 'cidr');
  add({ name: 'DELETE /api/trusted-proxies: query with a newline', method: 'DELETE', path: `/api/trusted-proxies?cidr=${q(`${PROXY}\n0.0.0.0/0`)}`, status: 400, field: 'cidr' });
  add({ name: 'DELETE /api/trusted-proxies: not a trusted proxy', method: 'DELETE', path: '/api/trusted-proxies', body: { cidr: '10.2.0.0/16' }, status: 404, field: 'cidr' });
  add({ name: 'DELETE /api/trusted-proxies: inside a trusted range only', method: 'DELETE', path: '/api/trusted-proxies', body: { cidr: '10.1.2.3' }, status: 404, field: 'cidr' });

  // --- POST /api/servers/state ----------------------------------------------
  const st = (name: string, body: Record<string, unknown>, field: string, status = 400) =>
    add({ name: `POST /api/servers/state: ${name}`, method: 'POST', path: '/api/servers/state', body, status, field });
  const okState = { backend: 'keep', server: 's1', state: 'drain' };
  for (const [n, v] of [
    ['missing', undefined],
    ['space', 'keep backend'],
    ['newline and a runtime command', 'keep\nshutdown sessions server keep-backend/s1'],
    [';', 'keep;disable server keep-backend/s1'],
    ['slash', 'keep-backend/s1'],
    ['empty', ''],
    ['number', 5],
    ['null', null],
  ] as [string, unknown][]) {
    st(`backend ${n}`, withoutUndefined({ ...okState, backend: v }), 'backend');
  }
  for (const [n, v] of [
    ['missing', undefined],
    ['space', 's1 s2'],
    ['newline and a runtime command', 's1\nset server keep-backend/s1 state maint'],
    [';', 's1;shutdown'],
    ['empty', ''],
    ['number', 1],
    ['null', null],
  ] as [string, unknown][]) {
    st(`server ${n}`, withoutUndefined({ ...okState, server: v }), 'server');
  }
  for (const [n, v] of [
    ['missing', undefined],
    ['unknown', 'stopped'],
    ['upper case', 'MAINT'],
    ['newline', 'maint\n'],
    [';', 'maint;shutdown'],
    ['number', 1],
    ['null', null],
    ['array', ['maint']],
  ] as [string, unknown][]) {
    st(`state ${n}`, withoutUndefined({ ...okState, state: v }), 'state');
  }
  st('unknown backend', { backend: 'nope', server: 's1', state: 'drain' }, 'server', 404);
  st('unknown server', { backend: 'keep', server: 's9', state: 'maint' }, 'server', 404);
  st('HAProxy\'s name of the backend', { backend: 'keep-backend', server: 's1', state: 'maint' }, 'server', 404);
  st('an internal backend', { backend: 'hm-default', server: 's1', state: 'maint' }, 'server', 404);

  // --- The shared text check, on every string field of every mutating route -----
  // (finding: "example.com\n" and a U+2028 were trimmed and accepted). Each bad value is
  // a valid one with one forbidden character, or surrounding whitespace, added: on main
  // most of these were trimmed into the valid value and applied.
  const BAD_TEXT: [string, (v: string) => string, RegExp][] = [
    ['trailing LF', (v) => `${v}\n`, /contains a control character \(U\+000A\)/],
    ['trailing CRLF', (v) => `${v}\r\n`, /contains a control character \(U\+000D\)/],
    ['CRLF then a config line', (v) => `${v}\r\nbackend evil`, /contains a control character \(U\+000D\)/],
    ['trailing tab', (v) => `${v}\t`, /contains a control character \(U\+0009\)/],
    ['NUL', (v) => `${v}\u0000`, /contains a control character \(U\+0000\)/],
    ['leading ESC', (v) => `\u001b${v}`, /contains a control character \(U\+001B\)/],
    ['DEL', (v) => `${v}\u007f`, /contains a control character \(U\+007F\)/],
    ['C1 NEL U+0085', (v) => `${v}\u0085`, /contains a control character \(U\+0085\)/],
    ['C1 CSI U+009B', (v) => `\u009b${v}`, /contains a control character \(U\+009B\)/],
    ['trailing U+2028', (v) => `${v}\u2028`, /contains a line or paragraph separator \(U\+2028\)/],
    ['trailing U+2029', (v) => `${v}\u2029`, /contains a line or paragraph separator \(U\+2029\)/],
    ['bidi override U+202E', (v) => `\u202e${v}`, /contains a bidirectional control character \(U\+202E\)/],
    ['bidi isolate U+2067', (v) => `${v}\u2067`, /contains a bidirectional control character \(U\+2067\)/],
    ['bidi mark U+200E', (v) => `${v}\u200e`, /contains a bidirectional control character \(U\+200E\)/],
    ['Arabic letter mark U+061C', (v) => `\u061c${v}`, /contains a bidirectional control character \(U\+061C\)/],
    ['leading space', (v) => ` ${v}`, /has leading whitespace \(U\+0020\)/],
    ['trailing space', (v) => `${v} `, /has trailing whitespace \(U\+0020\)/],
    ['trailing no-break space', (v) => `${v}\u00a0`, /has trailing whitespace \(U\+00A0\)/],
  ];
  /** One case per BAD_TEXT value: `mk` puts the value where `field` is. */
  const textCases = (method: string, path: string, field: string, valid: string, mk: (v: string) => unknown) => {
    for (const [n, bad, reason] of BAD_TEXT) add({ name: `${method} ${path}: text check, ${field} ${n}`, method, path, body: mk(bad(valid)), status: 400, field, reason });
  };
  /** The same through the query string (DELETE routes take their parameters there too). */
  const queryTextCases = (path: string, field: string, valid: string, rest = '') => {
    for (const [n, bad, reason] of BAD_TEXT) add({ name: `DELETE ${path}: text check, query ${field} ${n}`, method: 'DELETE', path: `${path}?${field}=${q(bad(valid))}${rest}`, status: 400, field, reason });
  };
  const at = (base: Record<string, unknown>, key: string) => (v: string) => ({ ...base, [key]: v });
  const atServer = (key: string) => (v: string) => keep({ servers: [okServer(bePort, { [key]: v })] });

  // POST /api/domain: an update of keep.test, and a new domain (on main both applied).
  textCases('POST', '/api/domain', 'domain', 'keep.test', (v) => keep({ domain: v }));
  for (const [n, v] of [['trailing LF', 'zz-new.test\n'], ['trailing U+2028', 'zz-new.test\u2028']] as const) {
    add({ name: `POST /api/domain: text check, new domain ${n}`, method: 'POST', path: '/api/domain', body: { domain: v, backend_name: 'zznew', servers: [okServer(bePort)] }, status: 400, field: 'domain', reason: /U\+(000A|2028)/ });
  }
  textCases('POST', '/api/domain', 'backend_name', 'keep', (v) => keep({ backend_name: v }));
  textCases('POST', '/api/domain', 'kind', 'default', (v) => keep({ kind: v }));
  textCases('POST', '/api/domain', 'template_override', 'basic', (v) => keep({ template_override: v }));
  textCases('POST', '/api/domain', 'balance', 'roundrobin', (v) => keep({ balance: v }));
  textCases('POST', '/api/domain', 'health_check_path', '/health', (v) => keep({ health_check_path: v }));
  for (const key of ['name', 'address', 'options', 'tls_ca_file', 'tls_sni']) {
    const valid = { name: 's1', address: '127.0.0.1', options: 'check', tls_ca_file: '/etc/ssl/ca.pem', tls_sni: 'keep.test' }[key]!;
    textCases('POST', '/api/domain', `servers[0].${key}`, valid, atServer(key));
  }
  textCases('POST', '/api/domain?dry_run=true', 'domain', 'keep.test', (v) => keep({ domain: v }));
  add({ name: 'POST /api/domain: text check, a field name with a newline', method: 'POST', path: '/api/domain', body: keep({ 'a\nb': 1 }), status: 400, field: '(body)', reason: /field name that contains a control character \(U\+000A\)/ });
  add({ name: 'POST /api/domain: text check, a server field name with U+2028', method: 'POST', path: '/api/domain', body: keep({ servers: [{ ...okServer(bePort), 'x\u2028': 1 }] }), status: 400, field: 'servers[0]', reason: /field name that contains a line or paragraph separator \(U\+2028\)/ });

  // DELETE /api/domain: on main "keep.test\n" deleted keep.test.
  textCases('DELETE', '/api/domain', 'domain', 'keep.test', (v) => ({ domain: v }));
  queryTextCases('/api/domain', 'domain', 'keep.test');

  // Addresses and notes.
  textCases('POST', '/api/blocked-ips', 'ip_address', FRESH_IP, at({}, 'ip_address'));
  textCases('POST', '/api/blocked-ips', 'reason', 'scanner', at({ ip_address: FRESH_IP }, 'reason'));
  textCases('POST', '/api/blocked-ips', 'blocked_by', 'ops', at({ ip_address: FRESH_IP }, 'blocked_by'));
  add({ name: 'POST /api/blocked-ips: already blocked, padded with spaces (refused, not trimmed into a duplicate)', method: 'POST', path: '/api/blocked-ips', body: { ip_address: ` ${BLOCKED} ` }, status: 400, field: 'ip_address', reason: /leading whitespace/ });
  textCases('DELETE', '/api/blocked-ips', 'ip_address', BLOCKED, at({}, 'ip_address'));
  queryTextCases('/api/blocked-ips', 'ip_address', BLOCKED);
  textCases('POST', '/api/security/temporary-block', 'ip_address', FRESH_IP, at({ duration_minutes: 5 }, 'ip_address'));
  textCases('POST', '/api/security/temporary-block', 'reason', 'scanner', at({ ip_address: FRESH_IP, duration_minutes: 5 }, 'reason'));
  textCases('POST', '/api/trusted-ips', 'ip_address', FRESH_IP, at({}, 'ip_address'));
  textCases('POST', '/api/trusted-ips', 'scope', 'source', at({ ip_address: FRESH_IP }, 'scope'));
  textCases('POST', '/api/trusted-ips', 'note', 'office', at({ ip_address: FRESH_IP }, 'note'));
  textCases('DELETE', '/api/trusted-ips', 'ip_address', TRUSTED, at({}, 'ip_address'));
  textCases('DELETE', '/api/trusted-ips', 'scope', 'real_ip', at({ ip_address: TRUSTED }, 'scope'));
  queryTextCases('/api/trusted-ips', 'ip_address', TRUSTED);
  queryTextCases('/api/trusted-ips', 'scope', 'real_ip', `&ip_address=${TRUSTED}`);
  textCases('POST', '/api/trusted-proxies', 'cidr', '10.9.0.0/16', at({}, 'cidr'));
  textCases('POST', '/api/trusted-proxies', 'note', 'cdn', at({ cidr: '10.9.0.0/16' }, 'note'));
  textCases('DELETE', '/api/trusted-proxies', 'cidr', PROXY, at({}, 'cidr'));
  queryTextCases('/api/trusted-proxies', 'cidr', PROXY);

  // Servers, actions, notifications, certificates.
  for (const key of ['backend', 'server', 'state']) textCases('POST', '/api/servers/state', key, okState[key as keyof typeof okState], at(okState, key));
  textCases('POST', '/api/actions/1/reject', 'note', 'not needed', (v) => ({ note: v }));
  textCases('POST', '/api/notifications/test', 'message', 'hello', (v) => ({ channel: 'ops', message: v }));
  textCases('POST', '/api/notifications/test', 'channel', 'ops', (v) => ({ channel: v }));
  textCases('POST', '/api/ssl', 'domain', 'keep.test', (v) => ({ domain: v }));
  textCases('POST', '/api/ssl/bundle', 'primary', 'keep.test', (v) => ({ primary: v }));
  textCases('POST', '/api/ssl/bundle', 'sans[0]', 'www.keep.test', (v) => ({ primary: 'keep.test', sans: [v] }));
  textCases('POST', '/api/certificates/request', 'domains[0]', 'keep.test', (v) => ({ domains: [v] }));
  textCases('POST', '/api/certificates/renew', 'domain', 'keep.test', (v) => ({ domain: v }));
  textCases('POST', '/api/ssl/dns-challenge/request', 'domain', 'keep.test', (v) => ({ domain: v }));
  textCases('POST', '/api/ssl/dns-challenge/verify', 'domain', 'keep.test', (v) => ({ domain: v }));

  // --- Free-text server options: no control characters (finding: CRLF was accepted) -----
  for (const [n, v] of [
    ['CRLF then a server line', 'check\r\nserver evil 1.2.3.4:80'],
    ['CR alone', 'check\rbackup'],
    ['tab between words', 'check\tbackup'],
    ['vertical tab', 'check\u000bbackup'],
    ['form feed', 'check\u000cbackup'],
    ['U+2028 between words', 'check\u2028backup'],
    ['C1 NEL between words', 'check\u0085backup'],
    ['trailing newline', 'check backup\n'],
    ['leading space', ' check'],
  ] as [string, string][]) {
    add({ name: `POST /api/domain: server options ${n}`, method: 'POST', path: '/api/domain', body: keepServer({ options: v }), status: 400, field: 'servers[0].options', reason: /control character|separator|whitespace/ });
  }

  for (const [word, key] of [['check', 'check'], ['backup', 'backup'], ['ssl', 'tls']] as [string, string][]) {
    add({ name: `POST /api/domain: server options "${word}" beside ${key}: false (a contradiction, not resolved silently)`, method: 'POST', path: '/api/domain', body: keepServer({ options: word, [key]: false }), status: 400, field: 'servers[0].options', reason: /contradicts/ });
  }

  // --- Strict types: no coercion, null is not "absent" (finding: servers null and is_wildcard 1 were accepted) ---
  const fresh = (extra: Record<string, unknown>) => ({ domain: 'zz-strict.test', backend_name: 'zzstrict', servers: [okServer(bePort)], ...extra });
  const typed = (name: string, body: unknown, field: string, path = '/api/domain', method = 'POST') => add({ name: `${method} ${path}: strict type, ${name}`, method, path, body, status: 400, field });
  typed('servers null', fresh({ servers: null }), 'servers');
  typed('servers null on an update', keep({ servers: null }), 'servers');
  for (const v of [1, 0, null, 'true', '1', 'false']) typed(`is_wildcard ${JSON.stringify(v)}`, fresh({ is_wildcard: v }), 'is_wildcard');
  typed('is_wildcard false beside a wildcard domain', fresh({ domain: '*.zz-strict.test', is_wildcard: false }), 'is_wildcard');
  for (const key of ['check', 'backup', 'tls', 'tls_verify']) {
    for (const v of [1, 0, null]) typed(`servers[0].${key} ${JSON.stringify(v)}`, fresh({ servers: [okServer(bePort, { [key]: v })] }), `servers[0].${key}`);
  }
  typed('servers[0].port a string of digits', fresh({ servers: [okServer(bePort, { port: String(bePort) })] }), 'servers[0].port');
  typed('balance null', fresh({ balance: null }), 'balance');
  typed('kind null', fresh({ kind: null }), 'kind');
  typed('template_override null', fresh({ template_override: null }), 'template_override');
  for (const v of ['yes', 'TRUE', 'on', '']) {
    add({ name: `POST /api/domain: strict type, dry_run=${JSON.stringify(v)} (on main: applied)`, method: 'POST', path: `/api/domain?dry_run=${q(v)}`, body: fresh({}), status: 400, field: 'dry_run' });
  }
  add({ name: 'POST /api/domain: strict type, dry_run given twice', method: 'POST', path: '/api/domain?dry_run=true&dry_run=false', body: fresh({}), status: 400, field: 'dry_run' });
  // A block's dry run (the console's "Check"): the same strict flag; a bad one never falls back to blocking.
  for (const path of ['/api/blocked-ips', '/api/security/temporary-block']) {
    for (const v of ['yes', 'on', '']) add({ name: `POST ${path}: strict type, dry_run=${JSON.stringify(v)}`, method: 'POST', path: `${path}?dry_run=${q(v)}`, body: { ip_address: FRESH_IP }, status: 400, field: 'dry_run' });
    add({ name: `POST ${path}: dry_run given twice`, method: 'POST', path: `${path}?dry_run=true&dry_run=false`, body: { ip_address: FRESH_IP }, status: 400, field: 'dry_run' });
    add({ name: `POST ${path}?dry_run=true with a bad address`, method: 'POST', path: `${path}?dry_run=true`, body: { ip_address: '203.0.113.7\n' }, status: 400, field: 'ip_address' });
  }
  for (const v of [null, 1, 0, 'true']) {
    typed(`force ${JSON.stringify(v)}`, { ip_address: FRESH_IP, force: v }, 'force', '/api/blocked-ips');
    typed(`force ${JSON.stringify(v)}`, { ip_address: FRESH_IP, duration_minutes: 5, force: v }, 'force', '/api/security/temporary-block');
  }
  typed('duration_minutes null', { ip_address: FRESH_IP, duration_minutes: null }, 'duration_minutes', '/api/security/temporary-block');
  typed('scope null', { ip_address: FRESH_IP, scope: null }, 'scope', '/api/trusted-ips');
  typed('scope null', { ip_address: TRUSTED, scope: null }, 'scope', '/api/trusted-ips', 'DELETE');
  for (const v of [null, 1, 'true']) {
    typed(`include_www ${JSON.stringify(v)}`, { domains: ['keep.test'], include_www: v }, 'include_www', '/api/certificates/request');
    typed(`force_renewal ${JSON.stringify(v)}`, { domains: ['keep.test'], force_renewal: v }, 'force_renewal', '/api/certificates/request');
    typed(`force ${JSON.stringify(v)}`, { domain: 'keep.test', force: v }, 'force', '/api/certificates/renew');
    // One certificate behaviour: include_www and force are strict booleans at every entry point (nothing is ordered).
    typed(`force ${JSON.stringify(v)}`, { domains: ['keep.test'], force: v }, 'force', '/api/certificates/request');
    typed(`include_www ${JSON.stringify(v)}`, { domain: 'keep.test', include_www: v }, 'include_www', '/api/ssl');
    typed(`force ${JSON.stringify(v)}`, { domain: 'keep.test', force: v }, 'force', '/api/ssl');
    typed(`force ${JSON.stringify(v)}`, { primary: 'keep.test', force: v }, 'force', '/api/ssl/bundle');
  }
  typed('include_www "false" (a string is not false)', { domain: 'keep.test', include_www: 'false' }, 'include_www', '/api/ssl');
  typed('include_www beside a bundle (names are exact there)', { primary: 'keep.test', include_www: true }, 'include_www', '/api/ssl/bundle');
  typed('message a number (on main: ignored)', { channel: 'ops', message: 5 }, 'message', '/api/notifications/test');
  typed('message over 500 characters (on main: cut)', { channel: 'ops', message: 'm'.repeat(501) }, 'message', '/api/notifications/test');

  // --- GET /api/security/stats ------------------------------------------------
  const getq = (path: string, field: string) => add({ name: `GET ${path}`, method: 'GET', path, status: 400, field });
  for (const v of ['0', '1001', 'abc', '-1', '1.5', '', '1e2', '0x10', q(' 5'), q('1\n')]) getq(`/api/security/stats?limit=${v}`, 'limit');
  getq('/api/security/stats?limit=1&limit=2', 'limit');
  for (const v of ['-1', 'x', '1000000001', '1.5', q('1;')]) getq(`/api/security/stats?min_req_rate=${v}`, 'min_req_rate');

  // --- GET /api/audit -----------------------------------------------------------
  for (const v of ['0', '1001', 'abc', '-1', '1.5', '']) getq(`/api/audit?limit=${v}`, 'limit');
  getq('/api/audit?limit=1&limit=2', 'limit');
  for (const v of ['0', '-1', 'x', '1.5']) getq(`/api/audit?before=${v}`, 'before');
  for (const v of ['DOMAIN.UPSERT', q('domain upsert'), q('domain;upsert'), q('domain\nupsert'), 'domain-upsert', '1', 'a'.repeat(65), q("' OR 1=1 --")]) {
    getq(`/api/audit?action=${v}`, 'action');
  }
  return cases;
}

/** Sends a case and checks the answer; returns the parsed body. */
async function sendCase(t: TestDaemon, c: Case): Promise<ErrorBody> {
  const headers: Record<string, string> = c.headers ?? { 'content-type': 'application/json' };
  const body = c.raw !== undefined ? c.raw : c.body === undefined ? undefined : JSON.stringify(c.body);
  const r = await rawRequest(t.apiPort, c.method, c.path, body, withKey(t, headers));
  const label = c.name;
  const statuses = Array.isArray(c.status) ? c.status : [c.status];
  assert.ok(statuses.includes(r.status), `${label}: expected HTTP ${statuses.join(' or ')}, got ${r.status}: ${r.text.slice(0, 400)}`);
  const b = parseErrorBody(r, label);
  assert.equal(b.error, KIND_OF[r.status], `${label}: error kind: ${r.text.slice(0, 300)}`);
  const fields = Array.isArray(c.field) ? c.field : [c.field];
  assert.ok(typeof b.field === 'string' && fields.includes(b.field), `${label}: expected field ${fields.join(' or ')}, got ${JSON.stringify(b.field)}: ${r.text.slice(0, 300)}`);
  assert.ok(b.message!.includes(b.field), `${label}: the message does not name the field: ${b.message}`);
  if (c.reason) assert.match(b.message!, c.reason, `${label}: the message does not give the reason`);
  return b;
}

describe(`${H.name}: bad input is refused and changes nothing`, () => {
  let t: TestDaemon;
  let be: Backend;
  let be2: Backend;
  let cases: Case[] = [];

  before(async () => {
    be = await startBackend('one');
    be2 = await startBackend('two');
    t = await startTestDaemon(H.bin);
    const setup: [string, string, unknown][] = [
      ['POST', '/api/domain', domainBody('keep.test', 'keep', [be.port])],
      ['POST', '/api/domain', domainBody('other.test', 'other', [be2.port])],
      ['POST', '/api/blocked-ips', { ip_address: BLOCKED, reason: 'setup' }],
      ['POST', '/api/trusted-ips', { ip_address: TRUSTED, scope: 'real_ip' }],
      ['POST', '/api/trusted-proxies', { cidr: PROXY }],
    ];
    for (const [m, p, b] of setup) {
      const r = await t.api(m, p, b);
      assert.ok(r.status === 200 || r.status === 201, `setup ${m} ${p}: ${r.status} ${r.body}`);
    }
    cases = buildCases(be.port);
  });

  after(async () => {
    await t?.stop();
    await be?.close();
    await be2?.close();
  });

  it('the setup routes and the read endpoints answer', async () => {
    assert.equal((await t.get('keep.test')).json<{ server: string }>().server, 'one');
    assert.equal((await t.get('other.test')).json<{ server: string }>().server, 'two');
    assert.equal((await t.api('GET', '/api/security/stats?limit=5&min_req_rate=0')).status, 200);
    assert.equal((await t.api('GET', '/api/audit?limit=5&action=domain.upsert')).status, 200);
  });

  it('every bad request is refused with a JSON error naming its field, and nothing changes', async (tt) => {
    assert.ok(cases.length > 300, `only ${cases.length} cases`);
    for (const c of cases) {
      await tt.test(c.name, async () => {
        const before = await snapshot(t);
        await sendCase(t, c);
        assertUnchanged(before, await snapshot(t), c.name, { audit: c.status === 400 });
      });
    }
  });

  it('an existing domain updated with a bad body keeps its servers and keeps routing (no poisoned row)', async () => {
    const before = await snapshot(t);
    const keepRow = (before.rows['/api/domains'] as { domain: string; servers: { name: string; port: number }[] }[]).find((d) => d.domain === 'keep.test');
    assert.deepEqual(keepRow?.servers.map((s) => [s.name, s.port]), [['s1', be.port]]);
    const bad = [
      { domain: 'keep.test', backend_name: 'keep', servers: [{ name: 's1', address: '127.0.0.1', port: 70000 }] },
      { domain: 'keep.test', backend_name: 'keep', servers: [okServer(be2.port), { name: 's2', address: '127.0.0.1', port: be2.port, options: 'check\nserver evil 1.2.3.4:80' }] },
      { domain: 'keep.test', backend_name: 'keep', servers: [okServer(be2.port), okServer(be2.port)] },
      { domain: 'keep.test', backend_name: 'hm-keep', servers: [okServer(be2.port)] },
      { domain: 'keep.test', backend_name: 'other', servers: [okServer(be2.port)] },
      { domain: 'KEEP.test', backend_name: 'keep', servers: [okServer(be2.port, { address: '10.0.0.0/8' })] },
      { domain: 'keep.test', backend_name: 'keep', servers: [], surprise: true },
    ];
    for (const b of bad) {
      const r = await t.api('POST', '/api/domain', b);
      assert.ok(r.status === 400 || r.status === 409, `${JSON.stringify(b).slice(0, 120)}: ${r.status} ${r.body}`);
      const g = await t.get('keep.test');
      assert.equal(g.status, 200, `keep.test stopped routing after ${JSON.stringify(b).slice(0, 120)}`);
      assert.equal(g.json<{ server: string }>().server, 'one');
    }
    assertUnchanged(before, await snapshot(t), 'bad updates of keep.test');
    // The row is usable, not poisoned: a valid update still applies, and restoring it works.
    const ok = await t.api('POST', '/api/domain', domainBody('keep.test', 'keep', [be2.port]));
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await t.get('keep.test')).json<{ server: string }>().server, 'two');
    const back = await t.api('POST', '/api/domain', domainBody('keep.test', 'keep', [be.port]));
    assert.equal(back.status, 200, back.body);
    assert.equal((await t.get('keep.test')).json<{ server: string }>().server, 'one');
  });

  it('an IDN domain is stored, routed, updated and deleted in its punycode form', async () => {
    const r = await t.api('POST', '/api/domain', domainBody('Bücher.Test.', 'buecher', [be.port]));
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json<{ domain: string }>().domain, 'xn--bcher-kva.test');
    const names = () => t.api('GET', '/api/domains').then((x) => x.json<{ domain: string }[]>().map((d) => d.domain));
    assert.ok((await names()).includes('xn--bcher-kva.test'));
    assert.ok(!(await names()).some((d) => /[^\x00-\x7f]/.test(d) || d === 'Bücher.Test.'), 'a non-ASCII name was stored');
    const hosts = readFileSync(join(t.daemon.cfg.paths.generatedDir, 'maps/hosts.map'), 'utf8');
    assert.match(hosts, /^xn--bcher-kva\.test buecher-backend$/m);
    assert.doesNotMatch(hosts, /[^\x00-\x7f]/);
    const g = await t.get('xn--bcher-kva.test');
    assert.equal(g.status, 200);
    assert.equal(g.json<{ server: string }>().server, 'one');

    // The same name in another spelling updates the same row.
    const again = await t.api('POST', '/api/domain', domainBody('bücher.test', 'buecher', [be2.port]));
    assert.equal(again.status, 200, again.body);
    assert.equal(again.json<{ created: boolean }>().created, false);
    assert.equal((await names()).filter((d) => d === 'xn--bcher-kva.test').length, 1);
    assert.equal((await t.get('xn--bcher-kva.test')).json<{ server: string }>().server, 'two');

    // A wildcard IDN.
    const w = await t.api('POST', '/api/domain', domainBody('*.münchen.test', 'muenchen', [be.port]));
    assert.equal(w.status, 201, w.body);
    assert.equal(w.json<{ domain: string }>().domain, '*.xn--mnchen-3ya.test');
    assert.equal((await t.get('rathaus.xn--mnchen-3ya.test')).json<{ server: string }>().server, 'one');

    // Deleting by the Unicode spelling removes the punycode rows.
    for (const d of ['BÜCHER.test', '*.München.test']) {
      const x = await t.api('DELETE', '/api/domain', { domain: d });
      assert.equal(x.status, 200, `${d}: ${x.body}`);
    }
    assert.ok(!(await names()).some((d) => d.includes('xn--')));
    assert.equal(servedBy(await t.get('xn--bcher-kva.test')), null, 'the deleted IDN domain still routes');
  });

  it('a percent-encoded hostname is refused, not decoded into another domain', async (tt) => {
    // "%70ct.test" is not an RFC 1123 hostname; URL host parsing would decode it to "pct.test".
    for (const [m, b] of [
      ['POST', { domain: '%70ct.test', backend_name: 'pct2', servers: [] }],
      ['DELETE', { domain: '%70ct.test' }],
    ] as [string, unknown][]) {
      await tt.test(`${m} /api/domain {"domain": "%70ct.test"}`, async () => {
        const mk = await t.api('POST', '/api/domain', domainBody('pct.test', 'pct', [be.port]));
        assert.equal(mk.status, 201, mk.body);
        try {
          const before = await snapshot(t);
          await sendCase(t, { name: `${m} /api/domain with %70ct.test`, method: m, path: '/api/domain', body: b, status: 400, field: 'domain' });
          assertUnchanged(before, await snapshot(t), `${m} %70ct.test`);
          assert.equal(servedBy(await t.get('pct.test')), 'one');
        } finally {
          await t.api('DELETE', '/api/domain', { domain: 'pct.test' });
        }
      });
    }
  });

  it('GET /api/audit refuses numbers that are not plain decimal and repeated parameters (as /api/security/stats does)', async (tt) => {
    for (const path of ['/api/audit?limit=0x10', '/api/audit?limit=1e2', `/api/audit?limit=${q(' 5')}`, '/api/audit?before=0x10', '/api/audit?action=domain.upsert&action=blocked_ip.add']) {
      await tt.test(path, async () => {
        const field = /before/.test(path) ? 'before' : /action/.test(path) ? 'action' : 'limit';
        await sendCase(t, { name: `GET ${path}`, method: 'GET', path, status: 400, field });
      });
    }
  });

  it('an unknown field name is not echoed back without bound', async () => {
    const key = `k${'x'.repeat(200_000)}`;
    const r = await rawRequest(t.apiPort, 'POST', '/api/domain', JSON.stringify({ domain: 'keep.test', backend_name: 'keep', [key]: 1 }), withKey(t, { 'content-type': 'application/json' }));
    assert.equal(r.status, 400);
    const b = parseErrorBody(r, 'long unknown key');
    assert.ok(r.text.length < 2000, `the answer is ${r.text.length} bytes: the field name is reflected in full`);
    assert.ok(typeof b.field === 'string' && b.field.length > 0);
  });
});

// ---------------------------------------------------------------------------
// A change that passes validation but that HAProxy rejects, on both versions
// ---------------------------------------------------------------------------

for (const h of HAPROXIES) {
  describe(`${h.name}: a change HAProxy rejects`, () => {
    let t: TestDaemon;
    let be: Backend;

    before(async () => {
      be = await startBackend('live');
      t = await startTestDaemon(h.bin);
      const r = await t.api('POST', '/api/domain', domainBody('live.test', 'live', [be.port]));
      assert.equal(r.status, 201, r.body);
      assert.equal((await t.get('live.test')).json<{ server: string }>().server, 'live');
    });

    after(async () => {
      await t?.stop();
      await be?.close();
    });

    const tlsServer = () => ({ name: 'tls1', address: '127.0.0.1', port: be.port, check: false, tls: true, tls_ca_file: '/nonexistent/ca.pem' });

    const expectRejected = async (target: string, body: unknown) => {
      const before = await snapshot(t);
      const auditBefore = (await t.api('GET', '/api/audit?limit=1')).json<{ id: number }[]>()[0]?.id ?? 0;
      const r = await t.api('POST', '/api/domain', body);
      assert.equal(r.status, 400, r.body);
      const b = parseErrorBody({ status: r.status, text: r.body, headers: r.headers }, `${target} with a missing CA file`);
      assert.equal(b.error, 'haproxy_check');
      const detail = b.detail as { haproxy?: unknown };
      assert.ok(detail && Array.isArray(detail.haproxy) && detail.haproxy.length > 0, `no detail.haproxy: ${r.body}`);
      assert.ok((detail.haproxy as unknown[]).every((l) => typeof l === 'string'));
      const text = (detail.haproxy as string[]).join('\n');
      assert.match(text, /\/nonexistent\/ca\.pem/, `HAProxy's own text does not name the CA file: ${text}`);
      assert.match(text, /tls1|ca-file|CA file/i);
      assert.match(b.message!, /HAProxy rejected/);
      assertUnchanged(before, await snapshot(t), `${target} with a missing CA file`);

      // The previous config is live: the existing domain still routes.
      const g = await t.get('live.test');
      assert.equal(g.status, 200);
      assert.equal(g.json<{ server: string }>().server, 'live');
      // HAProxy still serves the old config, not a half-applied one.
      const health = await t.api('GET', '/health');
      assert.equal(health.status, 200, health.body);

      // The audit log records the failure, after the rollback.
      const audit = (await t.api('GET', '/api/audit?action=domain.upsert&limit=5')).json<{ id: number; action: string; target: string; result: string; error: string | null }[]>();
      const entry = audit.find((e) => e.id > auditBefore);
      assert.ok(entry, `no audit entry for the refused change: ${JSON.stringify(audit)}`);
      assert.equal(entry.target, target);
      assert.equal(entry.result, 'failed');
      assert.match(entry.error ?? '', /ca\.pem/);
    };

    it('a new domain with a missing CA file answers 400 with HAProxy\'s text and changes nothing', async () => {
      await expectRejected('bad-ca.test', { domain: 'bad-ca.test', backend_name: 'badca', servers: [tlsServer()] });
      assert.equal(servedBy(await t.get('bad-ca.test')), null, 'the refused domain routes');
    });

    it('an update of the live domain with a missing CA file keeps its old servers', async () => {
      await expectRejected('live.test', { domain: 'live.test', backend_name: 'live', servers: [tlsServer()] });
      const d = (await t.api('GET', '/api/domains')).json<{ domain: string; servers: { name: string; tls: boolean }[] }[]>();
      assert.deepEqual(d.find((x) => x.domain === 'live.test')?.servers.map((s) => [s.name, s.tls]), [['s1', false]]);
    });

    it('after the refusals, a valid change still applies', async () => {
      const r = await t.api('POST', '/api/domain', domainBody('after.test', 'after', [be.port]));
      assert.equal(r.status, 201, r.body);
      assert.equal((await t.get('after.test')).json<{ server: string }>().server, 'live');
      assert.equal((await t.get('live.test')).json<{ server: string }>().server, 'live');
    });
  });
}
