/**
 * The engine's plan (engine.ts planFor/toVisit): before running filters, it
 * asks each pattern group once per line and leaves out the rules whose
 * filter needs a pattern that did not match (CompiledFilter.needs). It must
 * change nothing: the same findings in the same order and the same counters
 * as running every filter, on a generated realistic log and on every
 * shipped fixture; and it must leave most rules out of a plain request, but
 * visit the rule a request needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { realisticLog } from '../../scripts/bench/loggen.js';
import { SHIPPED_RULES_DIR } from '../../src/monitor/monitor.js';
import { parseLine } from '../../src/pipeline/parse/index.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { planFor, toVisit } from '../../src/pipeline/triage/engine.js';
import { compileRule } from '../../src/pipeline/triage/compile.js';
import { LineView, MatcherRegistry, CompiledFilter } from '../../src/pipeline/triage/match.js';
import { SignatureSet, TargetVerdicts } from '../../src/pipeline/triage/signatures.js';
import { loadRules } from '../../src/pipeline/triage/load.js';
import type { Finding, ParsedLine } from '../../src/pipeline/types.js';
import { signatureSchema, type RuleSpec } from '../../src/pipeline/triage/schema.js';
import { http, rule, T0 } from './helpers.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const rules = loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: null }).rules;

function run(lines: Iterable<string>, plan: boolean): { findings: Finding[]; stats: unknown } {
  const t = createTriage(rules, { isProtected: () => false, plan, now: () => NOW });
  const findings: Finding[] = [];
  for (const l of lines) findings.push(...t.process(parseLine(l, 'haproxy', { now: NOW }), 'haproxy', l));
  return { findings, stats: t.stats() };
}

test('the plan gives the findings and counters of running every filter, on a realistic log', () => {
  const lines = [...realisticLog(60_000)];
  const a = run(lines, true);
  const b = run(lines, false);
  assert.ok(a.findings.length > 100, `${a.findings.length} findings`);
  assert.deepStrictEqual(a.findings, b.findings);
  assert.deepStrictEqual(a.stats, b.stats);
});

test('the plan gives the findings and counters of running every filter, on every shipped fixture', () => {
  const dir = join(SHIPPED_RULES_DIR, 'fixtures');
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
    const lines = readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== '');
    // Each line several times, so the rules' thresholds are crossed.
    const many = lines.flatMap((l) => Array.from({ length: 12 }, () => l));
    const a = run(many, true);
    const b = run(many, false);
    assert.deepStrictEqual(a.findings, b.findings, f);
    assert.deepStrictEqual(a.stats, b.stats, f);
  }
});

test('a plain request visits few rules; an attack visits the rule that needs its pattern', () => {
  const reg = new MatcherRegistry();
  const targets = new TargetVerdicts();
  const compiled = rules.filter((r) => r.enabled).map((r) => compileRule(r, 1000, reg, targets));
  const http = compiled.filter((r) => r.filter.admitsStatus(404) && r.spec.filter.kind === 'http');
  const plan = planFor(http);
  assert.ok(plan !== null);
  const view = new LineView();
  const out = new Int32Array(http.length);
  const visited = (line: string) => {
    view.reset(parseLine(line, 'haproxy', { now: NOW }), 'haproxy', NOW);
    return [...out.subarray(0, toVisit(http, plan, view, out))].map((i) => http[i]!.name);
  };
  const head = '<134>1 2026-11-25T06:00:00.003000+00:00 lb1 haproxy 2231 - - 198.51.100.4:40000 [25/Nov/2026:06:00:00.003] web~ app/s1 0/0/1/12/13 404 512 - - ---- 3/3/1/1/0 0/0 {shop.example.com|Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0}';
  const plain = visited(`${head} "GET /products/42 HTTP/1.1" rip=- rid=x`);
  assert.ok(plain.length < http.length / 2, `${plain.length} of ${http.length}: ${plain.join(' ')}`);
  assert.ok(!plain.includes('sensitive-files') && !plain.includes('cve-exploits'));
  // Rules without a need are always visited.
  assert.ok(plain.includes('request-flood') && plain.includes('user-agent-churn'));
  const env = visited(`${head} "GET /.env HTTP/1.1" rip=- rid=x`);
  assert.ok(env.includes('sensitive-files'), env.join(' '));
  const cve = visited(`${head} "GET /cgi-bin/.%2e/.%2e/.%2e/bin/sh HTTP/1.1" rip=- rid=x`);
  assert.ok(cve.includes('path-traversal') && cve.includes('cve-exploits'), cve.join(' '));
  // In rule order.
  const order = http.map((r) => r.name);
  assert.deepStrictEqual([...cve].sort((x, y) => order.indexOf(x) - order.indexOf(y)), cve);
});

test('needs: a pattern of the AND; every alternative of an any; none when an alternative has none', () => {
  const reg = new MatcherRegistry();
  const f1 = new CompiledFilter({ kind: 'http', path: { pattern: 'a', ignore_case: false, decode: false } } as never, reg);
  assert.equal(f1.needs()?.length, 1);
  const f2 = new CompiledFilter({ kind: 'http', any: [{ path: { pattern: 'b', ignore_case: false, decode: false } }, { user_agent: { pattern: 'c', ignore_case: false, decode: false } }] } as never, reg);
  assert.equal(f2.needs()?.length, 2);
  const f3 = new CompiledFilter({ kind: 'http', any: [{ path: { pattern: 'b', ignore_case: false, decode: false } }, { status: [400] }] } as never, reg);
  assert.equal(f3.needs(), null);
  const f4 = new CompiledFilter({ kind: 'http', method: ['POST'] } as never, reg);
  assert.equal(f4.needs(), null);
  // `not` is never a need.
  const f5 = new CompiledFilter({ kind: 'http', not: { path: { pattern: 'x', ignore_case: false, decode: false } } } as never, reg);
  assert.equal(f5.needs(), null);
});

test('needs for one status: an any alternative that excludes the status drops out; the termination state is a need', () => {
  const reg = new MatcherRegistry();
  const f = new CompiledFilter({ kind: 'http', any: [{ status: [429] }, { termination_state: { prefix: ['PR', 'PT'], ignore_case: false, decode: false } }] } as never, reg);
  // Any status: the 429 alternative needs nothing, so neither does the filter.
  assert.equal(f.needs(), null);
  assert.equal(f.needs(429), null);
  // A 200 can pass only through the termination state, which is grouped (prefix and equals too, for this field).
  const n = f.needs(200);
  assert.equal(n?.length, 1);
  assert.equal(n![0]!.field, 'termination_state');
  assert.ok(f.needsDependOnStatus());
  // Every alternative excluded: a need that no line meets.
  const g = new CompiledFilter({ kind: 'http', any: [{ status: [429] }, { status: [408] }] } as never, reg);
  assert.deepStrictEqual(g.needs(200), []);
  assert.equal(g.needs(408), null);
});

test('a 200 skips the rules that wait for HAProxy\'s refusals, unless its termination state is one', () => {
  const reg = new MatcherRegistry();
  const targets = new TargetVerdicts();
  const compiled = rules.filter((r) => r.enabled).map((r) => compileRule(r, 1000, reg, targets));
  const list = compiled.filter((r) => r.filter.admitsStatus(200) && r.spec.filter.kind === 'http');
  const plan = planFor(list, 200);
  const view = new LineView();
  const out = new Int32Array(list.length);
  const visited = (state: string) => {
    const line = `<134>1 2026-11-25T06:00:00.003000+00:00 lb1 haproxy 2231 - - 198.51.100.4:40000 [25/Nov/2026:06:00:00.003] web~ app/s1 0/0/1/12/13 200 512 - - ${state} 3/3/1/1/0 0/0 {shop.example.com|Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0} "GET /products/42 HTTP/1.1" rip=- rid=x`;
    view.reset(parseLine(line, 'haproxy', { now: NOW }), 'haproxy', NOW);
    return [...out.subarray(0, toVisit(list, plan, view, out))].map((i) => list[i]!.name);
  };
  const plain = visited('----');
  for (const name of ['rate-limit-denials', 'slow-requests', 'bad-request-flood']) assert.ok(!plain.includes(name), `${name} visited: ${plain.join(' ')}`);
  assert.ok(plain.includes('request-flood'));
  assert.ok(visited('PR--').includes('rate-limit-denials'));
  assert.ok(visited('cR--').includes('slow-requests'));
});

test('the plan changes nothing with more than one word of rules, mixed signature sets and every alternative of an any', () => {
  // The shipped rules, then 24 more that need a path pattern (so a list runs past its first word), one whose
  // signatures read the path and the User-Agent (no need: the agent is not a target group), and anys whose later
  // alternatives are the ones that match.
  const extra: RuleSpec[] = [];
  for (let i = 0; i < 24; i++) extra.push(rule({ name: `extra-${i}`, filter: { kind: 'http', path: { pattern: `^/p${i % 6}/` } }, condition: { type: 'count', threshold: 2, window: '1m' } }));
  const sig = (id: string, field: string, pattern: string, match: string) => ({ id, field, pattern, family: 'rce', product: 'Test', source: 'https://example.org/', match: [match] });
  extra.push(rule({ name: 'mixed-signatures', signatures: [sig('by-path', 'path', '/sigpath', '/sigpath'), sig('by-agent', 'user_agent', 'SigAgent', 'SigAgent/1')], condition: { type: 'count', threshold: 2, window: '1m' } }));
  extra.push(rule({ name: 'late-alternative', filter: { kind: 'http', any: [{ path: { pattern: '^/never-here' } }, { user_agent: { pattern: 'AltAgent' } }, { referer: { pattern: 'alt-ref' } }, { host: { pattern: '^alt\\.' } }] }, condition: { type: 'count', threshold: 2, window: '1m' } }));
  const all = [...rules, ...extra];
  const paths = ['/', '/index.html', '/p0/a', '/p3/b?x=1', '/p5/c', '/sigpath', '/.env', '/a/../../etc/passwd', '/x?id=1%27%20or%201=1--', '/${jndi:ldap://a/b}'];
  const agents = ['Mozilla/5.0 (X11) Firefox/120', 'SigAgent/1', 'AltAgent/2', 'curl/8', '${jndi:ldap://e/v}', 'sqlmap/1.7'];
  const referers = [undefined, 'https://shop.example/', 'https://alt-ref.example/', '${jndi:dns://r/x}'];
  const hosts = ['shop.example.com', 'alt.example.com', '169.254.169.254'];
  let x = 11;
  const pick = <T>(a: T[]): T => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return a[(x >>> 8) % a.length] as T;
  };
  const lines: ParsedLine[] = [];
  for (let i = 0; i < 20_000; i++) {
    const referer = pick(referers);
    // Termination states and statuses that the rules waiting for HAProxy's own refusals meet (rate-limit-denials, slow-requests, bad-request-flood).
    const termination_state = pick(['----', '----', '----', 'PR--', 'PT--', 'cR--', 'CD--', 'PRNN']);
    lines.push(http(T0 + i * 50, { client_ip: `198.51.100.${i % 7}`, path: pick(paths), user_agent: pick(agents), host: pick(hosts), status: pick([200, 200, 404, 403, 401, 500, 429, 408, 400]), method: pick(['GET', 'GET', 'POST']), termination_state, ...(referer ? { referer } : {}) }));
  }
  const go = (plan: boolean) => {
    const t = createTriage(all, { isProtected: () => false, plan });
    const f = lines.flatMap((l) => t.process(l, 'haproxy'));
    return { f, s: t.stats() };
  };
  const a = go(true);
  const b = go(false);
  for (const name of ['extra-23', 'mixed-signatures', 'late-alternative', 'log4shell', 'ssrf-metadata', 'rate-limit-denials', 'slow-requests', 'bad-request-flood']) assert.ok(a.f.some((f) => f.rule === name), `no finding from ${name}`);
  assert.deepStrictEqual(a.f, b.f);
  assert.deepStrictEqual(a.s, b.s);
});

test('signature needs: target and memo groups can be asked on every line; a query-parameter group cannot', () => {
  const targets = new TargetVerdicts();
  const entry = (id: string, field: string, pattern: string, match: string) => signatureSchema.parse({ id, field, pattern, family: 'rce', product: 'Test', source: 'https://example.org/', match: [match] });
  const mixed = new SignatureSet([entry('a', 'path', '/x', '/x'), entry('b', 'user_agent', 'Bot', 'Bot/1'), entry('c', 'host', '^evil', 'evil.example')], targets);
  assert.equal(mixed.needs()?.length, 3);
  const params = new SignatureSet([entry('a', 'path', '/x', '/x'), entry('d', 'query_values', 'http://', 'http://a')], targets);
  assert.equal(params.needs(), null);
  // Each need's answer is the group's own verdict.
  const view = new LineView();
  view.reset(http(T0, { path: '/y', user_agent: 'Bot/2', host: 'shop.example' }), 'x', T0);
  assert.deepStrictEqual(mixed.needs()!.filter((n) => (n.ask(view) & n.bit) !== 0).map((n) => n.field), ['user_agent']);
  assert.equal(mixed.test(view), true);
});
