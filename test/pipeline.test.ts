/**
 * The pipeline's stages wired together, offline: novel application errors
 * escalate, incidents resolve after a quiet period of log time and stay
 * bounded, and `monitor replay` prints the documented incident objects,
 * the same on every run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRules } from '../src/pipeline/triage/load.js';
import { createTriage } from '../src/pipeline/triage/engine.js';
import { createPipeline } from '../src/monitor/pipeline.js';
import { createIncidents } from '../src/pipeline/incidents/group.js';
import { SHIPPED_RULES_DIR } from '../src/monitor/monitor.js';
import { builtBin } from './helpers/built-cli.js';

const pipeline = (warmup = 0) =>
  createPipeline({ triage: createTriage(loadRules({ dir: SHIPPED_RULES_DIR }).rules), incidents: { quietMs: 600_000, maxSamples: 5, maxOpen: 1000 }, noveltyWarmup: warmup });

test('a never-seen application error escalates once; the same error again does not open another incident', () => {
  const p = pipeline();
  const t = Date.UTC(2026, 10, 25, 10);
  const line = (i: number, msg: string, level = 'error') => JSON.stringify({ time: new Date(t + i * 1000).toISOString(), level, msg });
  p.process({ source: 'api', line: line(0, 'payment gateway timeout after 3000 ms for order 1234'), format: 'json', receivedAt: 0 });
  p.process({ source: 'api', line: line(1, 'payment gateway timeout after 2800 ms for order 9876'), format: 'json', receivedAt: 0 });
  p.process({ source: 'api', line: line(2, 'user 42 logged in', 'info'), format: 'json', receivedAt: 0 });
  const novel = p.incidents.openIncidents().filter((i) => i.rule === 'novel-app-error');
  assert.equal(novel.length, 1);
  assert.equal(novel[0]!.escalate, true);
  assert.match(novel[0]!.subject.value, /^api:[0-9a-f]{12}$/);
  p.process({ source: 'api', line: line(3, 'database connection refused on 10.0.0.5:5432'), format: 'json', receivedAt: 0 });
  assert.equal(p.incidents.openIncidents().filter((i) => i.rule === 'novel-app-error').length, 2);
});

test('with a warm-up, errors seen while learning are not novel', () => {
  const p = pipeline(3);
  for (let i = 0; i < 3; i++) p.process({ source: 'api', line: JSON.stringify({ time: Date.UTC(2026, 0, 1, 0, 0, i), level: 'error', msg: `disk ${i} failed` }), format: 'json', receivedAt: 0 });
  assert.equal(p.incidents.openIncidents().filter((i) => i.rule === 'novel-app-error').length, 0);
});

test('incidents resolve after a quiet period of log time, and open incidents are bounded', () => {
  const inc = createIncidents({ quietMs: 60_000, maxSamples: 2, maxOpen: 3 });
  const f = (ip: string, time: number) => ({ rule: 'r', category: 'c', severity: 'medium' as const, subject: { type: 'ip' as const, value: ip }, time, count: 1, actions: [], escalate: false, sample: `line ${ip} ${time}` });
  inc.add(f('1.1.1.1', 0));
  inc.add(f('1.1.1.1', 30_000));
  inc.add(f('1.1.1.1', 40_000));
  const one = inc.openIncidents()[0]!;
  assert.equal(one.count, 3);
  assert.equal(one.samples.length, 2, 'samples are bounded');
  assert.deepEqual(inc.tick(90_000), [], 'quiet for 50 s only');
  assert.equal(inc.tick(100_000).length, 1, 'quiet for 60 s: resolved');
  for (let i = 0; i < 10; i++) inc.add(f(`2.2.2.${i}`, 200_000 + i));
  assert.equal(inc.openIncidents().length, 3);
  assert.equal(inc.stats().resolved, 8, 'the least recently seen were resolved to make room');
});

test('monitor replay --json prints one documented object per incident, the same on every run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-replay-'));
  try {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      const s = String(i % 60).padStart(2, '0');
      lines.push(`Nov 25 14:00:${s} lb haproxy[1]: 203.0.113.9:5${String(i).padStart(4, '0')} [25/Nov/2026:14:00:${s}.000] web app-backend/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8} "GET /nope-${i}.php HTTP/1.1"`);
    }
    lines.push('Nov 25 14:01:00 lb haproxy[1]: 198.51.100.7:41000 [25/Nov/2026:14:01:00.000] web app-backend/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8} "GET /.env HTTP/1.1"');
    const file = join(dir, 'haproxy.log');
    writeFileSync(file, lines.join('\n') + '\n');
    const run = () => execFileSync(process.execPath, [builtBin(), 'monitor', 'replay', file, '--json'], { encoding: 'utf8' });
    const out = run();
    assert.equal(out, run(), 'deterministic');
    const objs = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(objs.length >= 2, out);
    for (const o of objs) {
      assert.deepEqual(Object.keys(o), ['rule', 'category', 'severity', 'subject', 'first_seen', 'last_seen', 'count', 'actions']);
      assert.match(String(o.first_seen), /^2026-11-25T14:0\d:\d\d\.\d{3}Z$/);
      assert.ok(['info', 'low', 'medium', 'high', 'critical'].includes(String(o.severity)));
    }
    const sensitive = objs.find((o) => o.rule === 'sensitive-files');
    assert.deepEqual(sensitive?.subject, { type: 'ip', value: '198.51.100.7' });
    assert.ok(objs.some((o) => (o.subject as { value: string }).value === '203.0.113.9'), 'the 404 storm from one client');
    const text = execFileSync(process.execPath, [builtBin(), 'monitor', 'replay', file], { encoding: 'utf8' });
    assert.match(text, /^41 lines in .* 0 unparsed, \d+ incidents$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('haproxy-manager rules test passes on the shipped rules (mismatch detection: test/triage/fixtures.test.ts)', () => {
  const out = execFileSync(process.execPath, [builtBin(), 'rules', 'test'], { encoding: 'utf8' });
  assert.match(out, /ok|pass/i);
});

test('monitor explain - --json: one object per input line, in order, with the documented keys', () => {
  const input = [
    'Nov 25 14:00:00 lb haproxy[1]: 203.0.113.9:51234 [25/Nov/2026:14:00:00.123] web app-backend/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8} "GET /.env?x=1 HTTP/1.1"',
    'not a log line',
    'Nov 25 14:00:01 lb haproxy[1]: Server app-backend/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
  ].join('\n');
  const out = execFileSync(process.execPath, [builtBin(), 'monitor', 'explain', '-', '--json'], { encoding: 'utf8', input });
  const rows = out.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; kind: string; fields: Record<string, unknown>; rules: string[] });
  assert.equal(rows.length, 3);
  for (const r of rows) for (const k of ['ok', 'kind', 'fields', 'rules']) assert.ok(k in r, k);
  assert.equal(rows[0]!.kind, 'http');
  assert.equal(rows[0]!.fields.path, '/.env?x=1');
  assert.equal(rows[0]!.fields.status, 404);
  assert.ok(rows[0]!.rules.includes('sensitive-files'));
  assert.deepEqual([rows[1]!.ok, rows[1]!.kind], [false, 'unknown']);
  assert.equal(rows[2]!.kind, 'event');
  assert.equal(rows[2]!.fields.event, 'server_down');
});

test('an incident opens with the lines that led to its finding, then the one that crossed, bounded; matched counts the window', () => {
  const inc = createIncidents({ quietMs: 60_000, maxSamples: 3, maxOpen: 10 });
  const base = { rule: 'storm', category: 'availability', severity: 'high' as const, subject: { type: 'backend' as const, value: 'web' }, actions: [], escalate: true };
  const i = inc.add({ ...base, time: 0, count: 50, sample: 'crossing', context: ['a', 'b', 'c', 'd'] });
  assert.deepEqual(i.samples, ['c', 'd', 'crossing']);
  assert.equal(i.matched, 50);
  inc.add({ ...base, time: 1000, count: 70, sample: 'later' });
  assert.equal(i.matched, 70);
  assert.equal(i.samples.length, 3, 'still bounded');
});

test('one future-dated line does not resolve the open incidents: its time is clamped to its arrival and counted', async () => {
  const { pipelineFromConfig } = await import('../src/monitor/pipeline.js');
  const { configSchema } = await import('../src/config/schema.js');
  const now = Date.UTC(2026, 11, 4, 12, 0, 0);
  const stamp = (ms: number) => {
    const d = new Date(ms);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${p(d.getUTCDate())}/${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.000`;
  };
  const probe = (ms: number, ip: string, path: string) => `${ip}:51000 [${stamp(ms)}] web app-backend/s1 0/0/1/2/3 404 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8} "GET ${path} HTTP/1.1"`;
  const run = (p: ReturnType<typeof pipelineFromConfig>['pipeline']) => {
    for (const [i, path] of ['/.env', '/.git/config', '/backup.sql', '/wp-config.php.bak'].entries()) {
      p.process({ source: 'haproxy', line: probe(now + i * 1000, '203.0.113.9', path), format: 'haproxy', receivedAt: now + i * 1000 });
    }
    const open = p.incidents.openIncidents().length;
    assert.ok(open >= 1, 'the probes opened an incident');
    // One line that claims to be from next year arrives a second later; the monitor then ticks as it does live.
    p.process({ source: 'haproxy', line: probe(now + 365 * 86_400_000, '198.51.100.7', '/'), format: 'haproxy', receivedAt: now + 5000 });
    p.tick(Math.max(p.clock(), now + 6000));
    return { open, after: p.incidents.openIncidents().length };
  };
  const opts = { shippedRulesDir: SHIPPED_RULES_DIR, isProtected: () => false };

  const { pipeline: guarded } = pipelineFromConfig(configSchema.parse({}), opts);
  const g = run(guarded);
  assert.equal(g.after, g.open, 'every open incident is still open');
  assert.ok(guarded.clock() <= now + 5000, `log time did not jump ahead: ${new Date(guarded.clock()).toISOString()}`);
  assert.equal(guarded.stats().time_clamped, 1);
  assert.equal(guarded.stats().per_source.haproxy!.time_clamped, 1);
  assert.ok(guarded.stats().max_time_ahead_ms > 364 * 86_400_000);

  // The same lines without the guard (as before monitor.max_clock_skew): the one line resolves them all.
  const { pipeline: unguarded } = pipelineFromConfig(configSchema.parse({ monitor: { max_clock_skew: '100000d' } }), opts);
  const u = run(unguarded);
  assert.equal(u.after, 0, 'without the clamp the future line resolves every open incident');
  assert.equal(unguarded.stats().time_clamped, 0);
});
