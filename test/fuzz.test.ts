/**
 * A deterministic fuzz of the mutating API endpoints: hundreds of malformed or
 * hostile requests from a seeded PRNG (FUZZ_SEED overrides the seed, FUZZ_N the
 * count). Every request is built to be wrong (a field that cannot pass, a
 * target that does not exist, a conflict, or a body that is not a JSON
 * object), so every answer must be 4xx: never 2xx (a change leaked through),
 * never 5xx, always a JSON error with no stack trace or file path. At the end
 * the live config, the generated files, HAProxy's runtime maps and the
 * database read exactly as at the start, and HAProxy still routes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HAPROXIES, rawStats, startTestDaemon, startBackend, domainBody, type TestDaemon } from './helpers/harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1234);
const N = Number(process.env.FUZZ_N ?? 1000);
const CONCURRENCY = 6;

// ---------------------------------------------------------------------------
// PRNG (mulberry32) and random value builders
// ---------------------------------------------------------------------------

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Code point ranges for random text: ASCII, controls, Latin-1, combining marks, RTL, zero-width, CJK, emoji, lone surrogates. */
const RANGES: [number, number][] = [
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x00, 0x1f],
  [0x7f, 0xff],
  [0x300, 0x36f],
  [0x590, 0x6ff],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0xfeff, 0xfeff],
  [0xff01, 0xff5e],
  [0x4e00, 0x4e80],
  [0x1f600, 0x1f64f],
  [0xd800, 0xdfff],
];

function randomText(r: Rng, maxLen = 40): string {
  const len = r.int(0, maxLen);
  let s = '';
  for (let i = 0; i < len; i++) {
    const [lo, hi] = r.pick(RANGES);
    const cp = r.int(lo, hi);
    s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  }
  return s;
}

const INJECTIONS = [
  '\nbackend evil\n  server x 1.2.3.4:80',
  ' # comment',
  '; show table',
  '\r\nuse_backend hm-stats',
  '\n\tglobal\n\tstats socket /tmp/x level admin',
  '$(reboot)',
  '`id`',
  "' OR '1'='1",
  '"; DROP TABLE domains; --',
  '{{ 7*7 }}',
  '{% include "x" %}',
  '${7*7}',
  '../../../../etc/passwd',
  '%0d%0aset-cookie:x',
  '\u2028\u2029',
  '\u202etxt.exe',
  '\ufeff',
  '<script>alert(1)</script>',
  'add map /tmp/x 1.2.3.4 1',
  'clear map #0',
  'shutdown sessions server x/y',
  '\u0000',
  '\\x00\\n',
];

/** Characters that no IP, hostname, name, state, scope, port, path or CA file may hold; placed inside (trimming cannot drop them). */
const POISON = ['\n', '\r\n', ' ', '\t', '#', ';', '"', '\\', '\u0000', "'", '\u000b'];

/** A string that is surely invalid for every non-free-text field. */
function poisoned(r: Rng): string {
  const side = () => {
    switch (r.int(0, 4)) {
      case 0:
        return '';
      case 1:
        return r.pick(INJECTIONS);
      case 2:
        return randomText(r, 20);
      case 3:
        return r.pick(['1.2.3.4', 'keep.test', 'fuzz', 's1', 'maint', '10.0.0.0/8', 'real_ip', '80']);
      default:
        return 'x'.repeat(r.int(1, 5000));
    }
  };
  return `${side()}q${r.pick(POISON)}q${side()}`;
}

/** A value of a type no string field accepts (never null or undefined: those mean "default" for some fields). */
function wrongType(r: Rng, depth = 0): unknown {
  switch (r.int(0, 7)) {
    case 0:
      return r.pick([0, 1, -1, 42, 80, 3.14, -0.5, 1e21, Number.MAX_SAFE_INTEGER, -2147483649]);
    case 1:
      return r.chance(0.5);
    case 2:
      return [];
    case 3:
      return depth > 3 ? {} : Array.from({ length: r.int(1, 4) }, () => anyValue(r, depth + 1));
    case 4:
      return {};
    case 5:
      return depth > 3 ? { a: 1 } : Object.fromEntries(Array.from({ length: r.int(1, 4) }, () => [r.pick(KEYS), anyValue(r, depth + 1)]));
    case 6:
      return nested(r.int(10, 200), r.pick(['a', 'ip_address', 'domain', '__defineGetter__']));
    default:
      return [[[[r.pick(['1.2.3.4', 'keep.test'])]]]];
  }
}

function nested(depth: number, key: string): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? { [key]: v } : [v];
  return v;
}

/** Anything at all, valid or not (for fields that are not what makes the request wrong). */
function anyValue(r: Rng, depth = 0): unknown {
  switch (r.int(0, 5)) {
    case 0:
      return null;
    case 1:
      return randomText(r);
    case 2:
      return poisoned(r);
    case 3:
      return r.pick(INJECTIONS);
    default:
      return wrongType(r, depth + 1);
  }
}

const KEYS = ['constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', '__lookupGetter__', 'isPrototypeOf', 'then', 'length', 'frontend', 'global', 'defaults', 'listen', 'backend', 'acl', 'use_backend', 'x', '', ' ', '\n', 'ip_address ', 'IP_ADDRESS', 'Domain'];

// Values that look right but are not.
const IP_WRONG = [
  '1.1', '127.1', '1', '01.2.3.4', '0177.0.0.1', '0x7f.0.0.1', '0x7f000001', '1.2.3.256', '256.1.1.1', '1.2.3.4.5', '1.2.3.4:80', '1.2.3.4/33', '::1/129',
  'fe80::1%eth0', '[::1]', '[192.0.2.1]', '2001:db8:::1', '2001:db8::g', ':::', '1.2.3.-4', '-1.2.3.4', '1.2.3.4/', '/24', '1.2.3.4/8/8', '1..2.3', '.1.2.3.4', '1.2.3.4.',
  '4294967296', '１.２.３.４', '1.2.3.4 5', 'localhost', '0', '', 'ff', '::ffff:1.2.3.256', '1.2.3.4/-8', '1.2.3.4/1e1', '1.2.3.4/0x8', `${'1'.repeat(70)}`,
];
const HOST_WRONG = [
  '*.test', 'a..b', '-a.test', 'a-.test', 'a_b.test', '1.2.3.4', '10.0.0.1', 'xn--zz.test', 'xn--.test', `${'a'.repeat(64)}.test`, 'a.b.c.1', 'a.test:80', 'http://a.test',
  'a@b.test', '*.*.a.test', 'a.*.test', '*', '*.', '.', '..', 'a%0ab.test', 'a/b.test', '[::1]', `${'ab.'.repeat(120)}test`, 'a\u0000b.test', '\u00ad.test',
];
const NAME_WRONG = ['-x', '_x', '.x', 'a b', 'x'.repeat(65), 'é', 'a/b', 'a:b', '', 'a\u200bb', 'ａ', 'a,b', 'a@b', 'a+b', 'a=b', 'a(b)'];
const RESERVED = ['hm-', 'hm-default', 'hm-acme', 'hm-stats', 'hm-x'];
const PORT_WRONG: unknown[] = [0, -1, 65536, 70000, 1e9, 80.5, '80a', '', ' 80', '0x50', '1e2', '-80', '65536', true, false, [], [80], {}, { port: 80 }, null];
const WEIGHT_WRONG: unknown[] = [-1, 257, 1000, 1.5, '10', '', true, [], {}, null];
const MAXCONN_WRONG: unknown[] = [0, -1, 1_000_001, 1e12, 1.5, '10', true, [], {}];
const BOOL_WRONG: unknown[] = ['true', 'false', 'yes', 2, -1, 0.5, [], {}, ''];
const STATE_WRONG: unknown[] = ['MAINT', 'Drain', 'up', 'down', 'disabled', 'ready ', ' drain', '', 'stop', 'maint\n', 0, 1, true, [], {}, ['maint']];
const SCOPE_WRONG: unknown[] = ['REAL_IP', 'src', 'both', 'all', 'real-ip', 'source ', '', 0, true, [], {}];
const DURATION_WRONG: unknown[] = [0, -1, -1e9, 525601, 1e12, 1e300, 1.5, 59.9, '60', '', '1h', true, false, [], [60], {}, { m: 60 }, '@@1e400', '@@-0', '@@-1e400'];
const KIND_WRONG: unknown[] = ['evil', 'Default', 'tcp', 'http', '', 0, true, [], {}, 'default\n'];
const BALANCE_WRONG: unknown[] = ['random', 'first', 'uri', 'RoundRobin', '', 0, true, [], {}, 'roundrobin\nbackend x'];
const PATH_WRONG: unknown[] = ['health', '', ' /', '/a b', '/a\nb', '/#', '/a;b', '/a"b', "/a'b", '/a\\b', `/${'a'.repeat(201)}`, 5, true, [], {}];
const CAFILE_WRONG: unknown[] = ['ca.pem', '', '/a b.pem', '/a\nb.pem', '/x/../etc/passwd', '/a#b', '/a;b', `/${'a'.repeat(300)}`, 'file:///etc/ssl/ca.pem', 5, true, [], {}];
const DOMAIN_KEYS = new Set(['domain', 'backend_name', 'template_override', 'kind', 'is_wildcard', 'servers', 'health_check_path', 'balance']);
/** Wrong as a server address (an address or a hostname): IP_WRONG less what is a fine hostname, HOST_WRONG less real addresses. */
const ADDRESS_WRONG = [...IP_WRONG.filter((x) => x !== 'localhost' && x !== 'ff'), ...HOST_WRONG.filter((x) => !['1.2.3.4', '10.0.0.1', '[::1]'].includes(x))];
const SERVER_FIELDS = ['name', 'address', 'port', 'options', 'check', 'backup', 'weight', 'maxconn', 'tls', 'tls_verify', 'tls_ca_file', 'tls_sni'];

/**
 * Percent-encodes every UTF-8 byte (lone surrogates become U+FFFD), so any string fits in a query. Cut to 1500
 * characters: a request line over Node's 16 KiB header limit is refused by Node itself (a bare 431), before the app.
 */
function pct(s: string): string {
  return [...Buffer.from(s.slice(0, 1500), 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/** Substitutes raw JSON number literals that JSON.stringify cannot produce ("@@1e400" -> 1e400). */
function toJson(v: unknown): string {
  return JSON.stringify(v).replace(/"@@(-?[0-9.e]+)"/g, '$1');
}

// ---------------------------------------------------------------------------
// The fixed state the fuzz must not change
// ---------------------------------------------------------------------------

const BLOCKED = '203.0.113.7';
const TRUSTED = '198.51.100.7';
const PROXY = '10.1.0.0/16';
const BLOCKED_SPELLINGS = [BLOCKED, `::ffff:${BLOCKED}`, `::FFFF:${BLOCKED}`, ` ${BLOCKED}`, `${BLOCKED}/32`, `::ffff:${BLOCKED}/128`];
const TRUSTED_SPELLINGS = [TRUSTED, `::ffff:${TRUSTED}`, `${TRUSTED}/32`, `\t${TRUSTED}\n`];
const PROXY_SPELLINGS = [PROXY, '10.1.2.3/16', '10.1.255.255/16', '::ffff:10.1.0.0/112'];

interface Req {
  kind: string;
  method: string;
  path: string;
  body?: string | Buffer;
  headers: Record<string, string>;
}

const JSONH = { 'content-type': 'application/json' };

function ipValue(r: Rng): unknown {
  switch (r.int(0, 3)) {
    case 0:
      return poisoned(r);
    case 1:
      return r.pick(IP_WRONG);
    case 2:
      return wrongType(r);
    default:
      return r.pick(INJECTIONS);
  }
}

/** A fresh, valid address that is in no list (192.0.2.0/24 and 2001:db8:f::/48 are never added). */
function freshIp(r: Rng): string {
  return r.chance(0.7) ? `192.0.2.${r.int(1, 254)}` : `2001:db8:f::${r.int(1, 0xffff).toString(16)}`;
}

function sprinkle(r: Rng, body: Record<string, unknown>, keys: string[]): void {
  for (const k of keys) if (r.chance(0.3)) body[k] = anyValue(r);
  if (r.chance(0.3)) body[r.pick(KEYS)] = anyValue(r);
}

function buildDomainPost(r: Rng, n: number, bePort: number, budget: { haproxy: number }): Req {
  const server = (i: number): Record<string, unknown> => ({ name: `s${i}`, address: '127.0.0.1', port: bePort, check: false });
  const body: Record<string, unknown> = { domain: `fz${n}.test`, backend_name: `fz${n}`, servers: [server(1), server(2)] };
  const servers = body.servers as Record<string, unknown>[];
  const poisons = r.int(1, 3);
  let kind = 'domain';
  for (let p = 0; p < poisons; p++) {
    const which = r.int(0, 21);
    switch (which) {
      case 0:
        body.domain = poisoned(r);
        break;
      case 1:
        body.domain = r.pick(HOST_WRONG);
        break;
      case 2:
        body.domain = r.chance(0.8) ? wrongType(r) : null;
        break;
      case 3:
        body.backend_name = r.pick([poisoned(r), r.pick(NAME_WRONG), wrongType(r), null]);
        break;
      case 4:
        body.backend_name = `${r.pick(RESERVED)}${r.chance(0.5) ? n : ''}`;
        break;
      case 5:
        delete body[r.pick(['domain', 'backend_name'])];
        break;
      case 6: {
        const k = r.chance(0.5) ? r.pick(KEYS) : randomText(r, 12) || 'k';
        body[DOMAIN_KEYS.has(k) ? 'frontend' : k] = anyValue(r);
        break;
      }
      case 7:
        body.servers = r.pick<unknown>([poisoned(r), 5, true, {}, { name: 's1', address: '127.0.0.1', port: bePort }, 'x']);
        break;
      case 8:
        if (Array.isArray(body.servers)) (body.servers as unknown[])[r.int(0, 1)] = r.pick<unknown>([null, 'x', 5, [], [1, 2], true, poisoned(r)]);
        else body.servers = 'x';
        break;
      case 9:
      case 10:
      case 11: {
        if (!Array.isArray(body.servers)) break;
        const s = servers[r.int(0, servers.length - 1)];
        if (typeof s !== 'object' || s === null) break;
        const f = r.pick(SERVER_FIELDS);
        const v: Record<string, () => unknown> = {
          name: () => r.pick([poisoned(r), r.pick(NAME_WRONG), wrongType(r), null]),
          address: () => r.pick([poisoned(r), r.pick(ADDRESS_WRONG), r.pick(['10.0.0.0/8', '127.0.0.0/24', '::/0', '2001:db8::/64']), wrongType(r), null]),
          port: () => r.pick(PORT_WRONG),
          options: () => r.pick([poisoned(r), 'check inter 2s', 'verify none', 'ssl ca-file /etc/passwd', 'check\nserver e 1.2.3.4:80', 'on-marked-down shutdown-sessions', 5, [], {}, true]),
          check: () => r.pick(BOOL_WRONG),
          backup: () => r.pick(BOOL_WRONG),
          weight: () => r.pick(WEIGHT_WRONG),
          maxconn: () => r.pick(MAXCONN_WRONG),
          tls: () => r.pick(BOOL_WRONG),
          tls_verify: () => r.pick(BOOL_WRONG),
          tls_ca_file: () => r.pick([poisoned(r), r.pick(CAFILE_WRONG)]),
          tls_sni: () => r.pick([poisoned(r), r.pick(HOST_WRONG), wrongType(r)]),
        };
        s[f] = v[f]!();
        break;
      }
      case 12: {
        const s = servers[0];
        if (s && typeof s === 'object') s[r.pick(['cmd', 'extra', 'constructor', 'inter', 'rise', 'fall', 'ssl', 'verify', 'sni', '', randomText(r, 8) || 'z'])] = anyValue(r);
        break;
      }
      case 13:
        body.servers = [server(1), server(1)];
        break;
      case 14:
        body.kind = r.pick(KIND_WRONG);
        break;
      case 15:
        body.template_override = r.pick(KIND_WRONG);
        break;
      case 16:
        body.balance = r.pick(BALANCE_WRONG);
        break;
      case 17:
        body.health_check_path = r.pick([...PATH_WRONG, poisoned(r)]);
        break;
      case 18:
        body.is_wildcard = r.pick(BOOL_WRONG);
        break;
      case 19:
        if (r.chance(0.15)) body.servers = Array.from({ length: 1001 }, (_, i) => server(i));
        else body.backend_name = r.pick(NAME_WRONG);
        break;
      case 20:
        // Valid in itself but another domain owns the backend: 409.
        body.backend_name = 'other';
        kind = 'domain-conflict';
        break;
      default:
        // Valid in itself but HAProxy rejects it (the CA file does not exist). Costs a `haproxy -c`: rationed.
        if (budget.haproxy > 0) {
          budget.haproxy--;
          servers[0] = { ...server(1), tls: true, tls_ca_file: `/nonexistent/fuzz-${n}/ca.pem` };
          kind = 'domain-haproxy-rejects';
        } else {
          body.domain = r.pick(HOST_WRONG);
        }
    }
  }
  // A few optional fields with valid values, so the wrong one is not always alone.
  if (r.chance(0.3)) body.balance ??= r.pick(['roundrobin', 'leastconn', 'source']);
  // (kind wins over template_override, so only when neither is what is wrong.)
  if (r.chance(0.3) && body.kind === undefined && body.template_override === undefined) body.kind = r.pick(['default', 'http_check', 'websocket']);
  // A dry run renders without `haproxy -c`: only for requests that fail before that.
  const path = kind !== 'domain-haproxy-rejects' && r.chance(0.1) ? `/api/domain?dry_run=${r.pick(['true', '1'])}` : '/api/domain';
  return { kind, method: 'POST', path, body: toJson(body), headers: JSONH };
}

function buildDomainDelete(r: Rng, n: number): Req {
  const v = r.pick<() => unknown>([() => poisoned(r), () => r.pick(HOST_WRONG), () => wrongType(r), () => `nx-${n}.test`, () => `*.nx-${n}.test`, () => `NX-${n}.Test.`]);
  const value = v();
  if (r.chance(0.25)) {
    const s = typeof value === 'string' ? value : JSON.stringify(value);
    return { kind: 'domain-delete-query', method: 'DELETE', path: `/api/domain?domain=${pct(s)}${r.chance(0.2) ? '&domain=x.test' : ''}`, headers: JSONH };
  }
  const body: Record<string, unknown> = { domain: value };
  if (r.chance(0.1)) delete body.domain;
  sprinkle(r, body, ['backend_name', 'servers']);
  return { kind: 'domain-delete', method: 'DELETE', path: '/api/domain', body: toJson(body), headers: JSONH };
}

function buildIp(r: Rng, n: number, method: 'POST' | 'DELETE', path: string): Req {
  const body: Record<string, unknown> = {};
  const isProxy = path === '/api/trusted-proxies';
  const key = isProxy ? r.pick(['cidr', 'ip_address']) : 'ip_address';
  const existing = path === '/api/blocked-ips' ? BLOCKED_SPELLINGS : path === '/api/trusted-ips' ? TRUSTED_SPELLINGS : PROXY_SPELLINGS;
  let kind = `${method} ${path}`;
  const mode = r.int(0, 9);
  if (mode <= 5) {
    body[key] = ipValue(r);
  } else if (mode <= 7) {
    // Valid-looking, but the right answer is 409 (POST: already there) or 404 (DELETE: not there).
    body[key] = method === 'POST' ? r.pick(existing) : isProxy ? `10.${r.int(200, 250)}.0.0/16` : freshIp(r);
    kind += method === 'POST' ? ' (conflict)' : ' (absent)';
  } else if (mode === 8) {
    // Missing, or null.
    if (r.chance(0.5)) body[key] = null;
  } else {
    // The address in the query string.
    const qk = isProxy ? 'cidr' : 'ip_address';
    const v = ipValue(r);
    const qs = `${qk}=${pct(typeof v === 'string' ? v : JSON.stringify(v))}`;
    return { kind: `${kind} (query)`, method, path: `${path}?${qs}`, body: method === 'DELETE' && r.chance(0.5) ? undefined : '{}', headers: JSONH };
  }
  if (isProxy && key === 'ip_address' && r.chance(0.3)) body.cidr = null;
  sprinkle(r, body, isProxy ? ['note'] : path === '/api/blocked-ips' ? ['reason', 'blocked_by'] : ['note']);
  if (path === '/api/trusted-ips') {
    // A conflict must stay in the real_ip scope (adding TRUSTED as "source" would be a valid new entry).
    if (kind.endsWith('(conflict)')) body.scope = r.pick([undefined, null, 'real_ip', ...SCOPE_WRONG]);
    else if (r.chance(0.5)) body.scope = r.pick(['real_ip', 'source', ...SCOPE_WRONG]);
  }
  return { kind, method, path, body: toJson(body), headers: JSONH };
}

function buildTempBlock(r: Rng): Req {
  const body: Record<string, unknown> = {};
  if (r.chance(0.5)) {
    body.ip_address = ipValue(r);
    if (r.chance(0.6)) body.duration_minutes = r.pick<unknown>([5, 60, 525600, ...DURATION_WRONG]);
  } else {
    body.ip_address = r.pick([freshIp(r), BLOCKED, `::ffff:${BLOCKED}`]);
    body.duration_minutes = r.chance(0.8) ? r.pick(DURATION_WRONG) : poisoned(r);
  }
  sprinkle(r, body, ['reason']);
  return { kind: 'POST /api/security/temporary-block', method: 'POST', path: '/api/security/temporary-block', body: toJson(body), headers: JSONH };
}

function buildServerState(r: Rng, n: number): Req {
  const body: Record<string, unknown> = { backend: 'fuzz', server: 's1', state: r.pick(['ready', 'drain', 'maint']) };
  let kind = 'POST /api/servers/state';
  switch (r.int(0, 4)) {
    case 0:
      body.backend = r.pick([poisoned(r), r.pick(NAME_WRONG), wrongType(r), null, undefined]);
      break;
    case 1:
      body.server = r.pick([poisoned(r), r.pick(NAME_WRONG), wrongType(r), null, undefined]);
      break;
    case 2:
      body.state = r.pick([...STATE_WRONG, poisoned(r), null, undefined]);
      break;
    case 3:
      body.server = `nx${n}`;
      kind += ' (absent server)';
      break;
    default:
      body.backend = r.pick([`nx${n}`, 'fuzz-backend', 'hm-default', 'other-backend', 'FUZZ']);
      kind += ' (absent backend)';
  }
  sprinkle(r, body, ['weight', 'note']);
  return { kind, method: 'POST', path: '/api/servers/state', body: toJson(body), headers: JSONH };
}

const ENDPOINTS: [string, string][] = [
  ['POST', '/api/domain'],
  ['DELETE', '/api/domain'],
  ['POST', '/api/blocked-ips'],
  ['DELETE', '/api/blocked-ips'],
  ['POST', '/api/security/temporary-block'],
  ['POST', '/api/trusted-ips'],
  ['DELETE', '/api/trusted-ips'],
  ['POST', '/api/trusted-proxies'],
  ['DELETE', '/api/trusted-proxies'],
  ['POST', '/api/servers/state'],
];

let GZIP_BOMB: Buffer | undefined;
/** A JSON object that is wrong for every endpoint. */
const ALMOST = toJson({ domain: 'a b', backend_name: 'rawfz', ip_address: '1.1', cidr: '1.1', backend: 'fuzz', server: 's1', state: 'x' });

/** Bodies that are not a JSON object at all, or not JSON, or not acceptable as sent; on any endpoint. */
function buildRaw(r: Rng): Req {
  const [method, path] = r.pick(ENDPOINTS);
  const valid = toJson({ domain: 'rawfz.test', backend_name: 'rawfz', servers: [], ip_address: '192.0.2.200', cidr: '10.222.0.0/16', backend: 'fuzz', server: 's1', state: 'drain' });
  const k = r.int(0, 13);
  const base = { method, path, headers: { ...JSONH } as Record<string, string> };
  switch (k) {
    case 0: {
      const b = Buffer.alloc(r.int(1, 3000));
      for (let i = 0; i < b.length; i++) b[i] = r.int(0, 255);
      return { kind: 'raw: random bytes', ...base, body: b };
    }
    case 1:
      return { kind: 'raw: random text', ...base, body: randomText(r, 400) + r.pick(['{', '[', '"', '']) };
    case 2:
      return { kind: 'raw: truncated JSON', ...base, body: valid.slice(0, r.int(1, valid.length - 1)) };
    case 3:
      return { kind: 'raw: JSON scalar or array', ...base, body: r.pick(['null', 'true', '0', '"x"', '[]', `[${valid}]`, '1e400', '""', '[[[]]]']) };
    case 4:
      return { kind: 'raw: over the body limit', ...base, body: `{"pad":"${'p'.repeat(1024 * 1024 + r.int(1, 50_000))}"}` };
    case 5:
      return { kind: 'raw: deep nesting', ...base, body: r.chance(0.5) ? `${'['.repeat(50_000)}${']'.repeat(50_000)}` : `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}` };
    case 6:
      return { kind: 'raw: deep nesting with __proto__', ...base, body: `${'{"a":'.repeat(10_000)}{"__proto__":{"polluted":1}}${'}'.repeat(10_000)}` };
    case 7:
      return {
        kind: 'raw: prototype pollution keys',
        ...base,
        body: r.pick([
          '{"__proto__":{"polluted":"yes","ip_address":"192.0.2.201","domain":"proto.test","backend_name":"proto"}}',
          '{"constructor":{"prototype":{"polluted":"yes"}}}',
          '{"__proto__":null}',
          '{"ip_address":{"__proto__":{"toString":"1.2.3.4"}}}',
          '{"domain":"proto.test","backend_name":"proto","servers":[{"__proto__":{"name":"s1","address":"127.0.0.1","port":80}}]}',
          '{"backend":"fuzz","server":"s1","state":{"__proto__":{}}}',
          '{"prototype":{"ip_address":"192.0.2.202"},"constructor":{"name":"x"}}',
        ]),
      };
    case 8:
      // Not JSON as far as the content type says; the body is malformed anyway.
      return {
        kind: 'raw: other content types',
        ...base,
        headers: r.pick<Record<string, string>>([{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'multipart/form-data; boundary=x' }, {}, { 'content-type': 'application/xml' }, { 'content-type': 'application/vnd.api+json' }]),
        body: r.pick(['ip_address=1.1&domain=a%0Ab', '<ip_address>1.1</ip_address>', '--x\r\nContent-Disposition: form-data; name="ip_address"\r\n\r\n1.1\r\n--x--', randomText(r, 50), '{"ip_address":"1.1","domain":"a b","backend":"a b","cidr":"1.1"}']),
      };
    case 9:
      return { kind: 'raw: gzip bomb', ...base, headers: { ...JSONH, 'content-encoding': 'gzip' }, body: (GZIP_BOMB ??= gzipSync(Buffer.from(`{"pad":"${'0'.repeat(5 * 1024 * 1024)}"}`))) };
    case 10:
      return { kind: 'raw: bad content-encoding', ...base, headers: { ...JSONH, 'content-encoding': r.pick(['gzip', 'deflate', 'br', 'compress', 'x-evil', 'gzip, gzip']) }, body: r.chance(0.5) ? ALMOST : randomText(r, 100) };
    case 11:
      return { kind: 'raw: charset', ...base, headers: { 'content-type': `application/json; charset=${r.pick(['utf-16', 'utf-7', 'latin1', 'x-evil', 'utf-32be'])}` }, body: Buffer.from('{"ip_address":"1.1"}', 'utf16le') };
    case 12:
      return { kind: 'raw: duplicate keys', ...base, body: '{"ip_address":"192.0.2.203","ip_address":"1.1","domain":"dup.test","domain":"a b","backend_name":"dup","backend":"fuzz","backend":"a b","cidr":"1.1","server":"s1","state":"drain","state":"x"}' };
    default:
      return { kind: 'raw: empty body', ...base, body: r.chance(0.5) ? '' : '   \n ' };
  }
}

function buildRequest(r: Rng, n: number, bePort: number, budget: { haproxy: number }): Req {
  const x = r.int(0, 99);
  if (x < 15) return buildRaw(r);
  if (x < 45) return buildDomainPost(r, n, bePort, budget);
  if (x < 52) return buildDomainDelete(r, n);
  if (x < 59) return buildIp(r, n, 'POST', '/api/blocked-ips');
  if (x < 64) return buildIp(r, n, 'DELETE', '/api/blocked-ips');
  if (x < 71) return buildTempBlock(r);
  if (x < 76) return buildIp(r, n, 'POST', '/api/trusted-ips');
  if (x < 80) return buildIp(r, n, 'DELETE', '/api/trusted-ips');
  if (x < 85) return buildIp(r, n, 'POST', '/api/trusted-proxies');
  if (x < 89) return buildIp(r, n, 'DELETE', '/api/trusted-proxies');
  return buildServerState(r, n);
}

// ---------------------------------------------------------------------------
// Transport and snapshots
// ---------------------------------------------------------------------------

function send(port: number, q: Req, key: string | null): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    let done = false;
    // Authenticated unless the request carries its own (hostile) Authorization header.
    const auth = key && !Object.keys(q.headers ?? {}).some((k) => k.toLowerCase() === 'authorization') ? { authorization: `Bearer ${key}` } : {};
    const withAuth = { ...q.headers, ...auth };
    const headers = q.body === undefined ? withAuth : { ...withAuth, 'content-length': String(Buffer.byteLength(q.body)) };
    const req = http.request({ host: '127.0.0.1', port, path: q.path, method: q.method, headers, agent: false, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        done = true;
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), type: String(res.headers['content-type'] ?? '') });
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    // A server that answers early (413) may reset the connection while the body is still being written.
    req.on('error', (e) => (done ? undefined : reject(e)));
    req.end(q.body);
  });
}

function walk(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, base, out);
    else out.set(p.slice(base.length + 1), readFileSync(p).toString('base64'));
  }
  return out;
}

async function snapshot(t: TestDaemon) {
  const { configPath, generatedDir } = t.daemon.cfg.paths;
  const files = walk(generatedDir);
  const runtime: Record<string, string[]> = {};
  for (const rel of [...files.keys()].sort()) {
    const kind = rel.endsWith('.map') ? 'map' : rel.endsWith('.list') ? 'acl' : null;
    if (!kind) continue;
    const reply = await rawStats(t).send(`show ${kind} ${join(generatedDir, rel)}`);
    runtime[rel] = [...reply.matchAll(/^0x[0-9a-f]+ (\S+)/gm)].map((m) => m[1]!).sort();
  }
  const rows: Record<string, unknown> = {};
  for (const p of ['/api/domains', '/api/blocked-ips', '/api/trusted-ips', '/api/trusted-proxies', '/api/backends']) {
    const r = await t.api('GET', p);
    assert.equal(r.status, 200, `GET ${p}: ${r.body}`);
    rows[p] = r.json();
  }
  return { config: readFileSync(configPath, 'utf8'), files: Object.fromEntries([...files].sort()), runtime, rows };
}

const LEAK = /\n\s+at |\\n\s+at |\bat (?:async )?\S+ \(|\/work\/|node_modules|\.[cm]?[jt]s:\d+:\d+|file:\/\//;

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

const H = HAPROXIES[HAPROXIES.length - 1]!;

test(`${H.name}: ${N} hostile requests (seed ${SEED}) are all refused with 4xx JSON and change nothing`, { timeout: 120_000 }, async (tt) => {
  const be = await startBackend('fuzz');
  const be2 = await startBackend('other');
  const t = await startTestDaemon(H.bin);
  try {
    for (const [m, p, b] of [
      ['POST', '/api/domain', domainBody('fuzz.test', 'fuzz', [be.port])],
      ['POST', '/api/domain', domainBody('other.test', 'other', [be2.port])],
      ['POST', '/api/blocked-ips', { ip_address: BLOCKED, reason: 'fuzz setup' }],
      ['POST', '/api/trusted-ips', { ip_address: TRUSTED, scope: 'real_ip' }],
      ['POST', '/api/trusted-proxies', { cidr: PROXY }],
    ] as [string, string, unknown][]) {
      const r = await t.api(m, p, b);
      assert.ok(r.status === 200 || r.status === 201, `setup ${m} ${p}: ${r.status} ${r.body}`);
    }
    assert.equal((await t.get('fuzz.test')).json<{ server: string }>().server, 'fuzz');
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const start = await snapshot(t);

    const rng = new Rng(SEED);
    const budget = { haproxy: 12 };
    const reqs: Req[] = [];
    for (let n = 0; reqs.length < N; n++) {
      const q = buildRequest(rng, n, be.port, budget);
      const text = q.body === undefined ? '' : Buffer.isBuffer(q.body) ? q.body.toString('latin1') : q.body;
      // An echoed payload must not look like a leak by itself.
      if (LEAK.test(text) || LEAK.test(decodeURIComponent(q.path))) continue;
      reqs.push(q);
    }

    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    const byKind = new Map<string, number>();
    let next = 0;
    const t0 = Date.now();
    const worker = async () => {
      while (next < reqs.length) {
        const i = next++;
        const q = reqs[i]!;
        byKind.set(q.kind, (byKind.get(q.kind) ?? 0) + 1);
        const what = `#${i} [${q.kind}] ${q.method} ${q.path.slice(0, 200)} ${q.body === undefined ? '' : Buffer.isBuffer(q.body) ? `<${q.body.length} bytes>` : JSON.stringify(q.body.slice(0, 300))}`;
        let res: { status: number; text: string; type: string };
        try {
          res = await send(t.apiPort, q, t.apiKey);
        } catch (e) {
          failures.push(`${what}\n   -> transport error: ${(e as Error).message}`);
          continue;
        }
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
        const problems: string[] = [];
        if (res.status < 400 || res.status >= 500) problems.push(`status ${res.status}`);
        if (!/^application\/json/.test(res.type)) problems.push(`content-type ${JSON.stringify(res.type)}`);
        let parsed: unknown;
        let isJson = true;
        try {
          parsed = JSON.parse(res.text);
        } catch {
          isJson = false;
          problems.push('body is not JSON');
        }
        const obj = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as { status?: unknown; message?: unknown }) : null;
        if (isJson && (!obj || obj.status !== 'error' || typeof obj.message !== 'string')) problems.push('body is not {status: "error", message}');
        if (LEAK.test(res.text)) problems.push('body leaks a stack trace or a path');
        if (problems.length) failures.push(`${what}\n   -> ${problems.join(', ')}: ${res.text.slice(0, 400)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const ms = Date.now() - t0;
    tt.diagnostic(`${reqs.length} requests in ${ms} ms; statuses ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`);
    tt.diagnostic(`kinds ${JSON.stringify(Object.fromEntries([...byKind].sort()))}`);

    assert.ok(reqs.length >= 500, `only ${reqs.length} requests`);
    assert.ok(budget.haproxy < 12, 'no request reached `haproxy -c`');
    assert.deepEqual(failures, [], `${failures.length} of ${reqs.length} requests were not answered with a clean 4xx:\n${failures.slice(0, 40).join('\n')}`);

    // Nothing changed.
    const end = await snapshot(t);
    assert.equal(end.config, start.config, 'the live haproxy.cfg changed');
    assert.deepEqual(end.files, start.files, 'a generated file changed');
    assert.deepEqual(end.runtime, start.runtime, "HAProxy's runtime maps/ACLs changed");
    assert.deepEqual(end.rows, start.rows, 'the database changed');
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoKeys, 'Object.prototype was polluted');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');

    // No request was an unexpected (500-class) error inside the daemon.
    const unexpected = t.logs.filter((l) => /unexpected error/i.test(l));
    assert.deepEqual(unexpected.slice(0, 5), [], 'the daemon logged unexpected errors');

    // HAProxy still routes, and the API still works.
    const g = await t.get('fuzz.test');
    assert.equal(g.status, 200);
    assert.equal(g.json<{ server: string }>().server, 'fuzz');
    assert.equal((await t.get('other.test')).json<{ server: string }>().server, 'other');
    assert.equal((await t.api('GET', '/health')).status, 200);
    const ok = await t.api('POST', '/api/domain', domainBody('after-fuzz.test', 'afterfuzz', [be.port]));
    assert.equal(ok.status, 201, ok.body);
    assert.equal((await t.get('after-fuzz.test')).json<{ server: string }>().server, 'fuzz');
  } finally {
    await t.stop();
    await be.close();
    await be2.close();
  }
});
