/**
 * The engine: event time (replay = live), lines without a time, once_per,
 * protected subjects, group-by keys, bounded memory under a million keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { loadRules } from '../../src/pipeline/triage/load.js';
import type { Finding, ParsedLine } from '../../src/pipeline/types.js';
import { app, event, http, rule, T0 } from './helpers.js';

const S = 1000;
const strip = (fs: Finding[]) => fs.map((f) => JSON.stringify(f));

/** A mixed log of 20,000 lines: attacks inside ordinary traffic, times increasing unevenly. */
function mixedLog(): { line: ParsedLine; source: string }[] {
  const out: { line: ParsedLine; source: string }[] = [];
  let t = T0;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 20_000; i++) {
    t += Math.floor(rnd() * 200);
    const r = rnd();
    const ip = `198.51.100.${Math.floor(rnd() * 50)}`;
    if (r < 0.1) out.push({ line: http(t, { client_ip: '203.0.113.66', status: 404, path: `/enum/${i}` }), source: 'haproxy' });
    else if (r < 0.12) out.push({ line: http(t, { client_ip: ip, method: 'POST', path: '/login', status: 200 }), source: 'haproxy' });
    else if (r < 0.13) out.push({ line: http(t, { client_ip: ip, status: 503, backend: 'api' }), source: 'haproxy' });
    else if (r < 0.135) out.push({ line: app(rnd() < 0.5 ? null : t, 'error', 'db timeout'), source: 'app-api' });
    else if (r < 0.136) out.push({ line: event(t, { event: 'server_down', backend: 'api', server: 's2' }), source: 'haproxy' });
    else out.push({ line: http(t, { client_ip: ip, path: `/page/${i % 40}` }), source: 'haproxy' });
  }
  return out;
}

test('replay gives the same findings as live, whatever the wall clock says', () => {
  const { rules } = loadRules({ dir: 'config/rules' });
  const log = mixedLog();
  const run = (now: () => number) => {
    const t = createTriage(rules, { now });
    return log.flatMap(({ line, source }) => t.process(line, source));
  };
  const a = run(() => 0);
  const b = run(() => Date.now() + 86_400_000 * 365);
  assert.ok(a.length > 5, `findings: ${a.length}`);
  assert.deepEqual(strip(a), strip(b));
  const rulesFired = new Set(a.map((f) => f.rule));
  for (const r of ['path-enumeration', 'slow-path-enumeration', 'server-down', 'server-flapping']) assert.ok(rulesFired.has(r), `${r} fired`);
});

test('a line without a time uses the last time seen on its source', () => {
  const t = createTriage([rule({ filter: { kind: 'app', level: ['error'] }, group_by: 'source', condition: { type: 'count', threshold: 3, window: '10s' } })], {
    now: () => 0,
  });
  t.process(app(T0, 'info', 'started'), 'app-api');
  assert.equal(t.process(app(null, 'error', 'x'), 'app-api').length, 0);
  assert.equal(t.process(app(null, 'error', 'x'), 'app-api').length, 0);
  const f = t.process(app(null, 'ERROR', 'x'), 'app-api');
  assert.equal(f.length, 1);
  assert.equal(f[0]?.time, T0);
  assert.deepEqual(f[0]?.subject, { type: 'backend', value: 'app-api' });
  // Another source's time does not leak into this one.
  t.process(app(T0 + 3_600_000, 'info', 'x'), 'app-web');
  t.process(app(null, 'error', 'x'), 'app-api');
  assert.equal(t.stats().untimed, 4);
  // A broken time (NaN) counts as no time; it does not poison the window.
  t.process(app(T0 + 7_200_000, 'info', 'x'), 'app-api');
  assert.equal(t.process(app(Number.NaN, 'error', 'x'), 'app-api').length, 0);
  assert.equal(t.process(app(null, 'error', 'x'), 'app-api').length, 0);
  assert.equal(t.process(app(T0 + 7_200_001, 'error', 'x'), 'app-api')[0]?.time, T0 + 7_200_001);
});

test('once_per: a subject is reported once per period, then again', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 1, window: '1m' }, once_per: '10m' })]);
  const times: number[] = [];
  for (let i = 0; i < 30 * 60; i += 30) {
    const f = t.process(http(T0 + i * S, {}), 'haproxy');
    if (f.length) times.push(i);
  }
  assert.deepEqual(times, [0, 600, 1200]);
  assert.equal(t.stats().rules[0]?.suppressed, 57);
  // Another subject is not held back by the first one's period.
  assert.equal(t.process(http(T0 + 60 * S, { client_ip: '198.51.100.1' }), 'haproxy').length, 1);
});

test('without once_per a subject can be reported again after a fresh run of matches', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 2, window: '1m' } })]);
  const n = [0, 1, 2, 3].map((i) => t.process(http(T0 + i * S, {}), 'haproxy').length);
  assert.deepEqual(n, [0, 1, 0, 1]);
});

test('group by ip uses real_ip when present, else client_ip', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 1, window: '1m' }, actions: [{ type: 'block_ip', ttl: '1h' }] })]);
  const [a] = t.process(http(T0, { client_ip: '10.0.0.5', real_ip: '198.51.100.20' }), 'haproxy');
  assert.deepEqual(a?.subject, { type: 'ip', value: '198.51.100.20' });
  assert.deepEqual(a?.actions, [{ type: 'block_ip', target: '198.51.100.20', ttl_s: 3600 }]);
  const [b] = t.process(http(T0, { client_ip: '198.51.100.21', real_ip: '-' }), 'haproxy');
  assert.equal(b?.subject.value, '198.51.100.21');
});

test('protected subjects: never a block suggestion; strip keeps the finding, drop drops it', () => {
  const spec = rule({ severity: 'high', condition: { type: 'count', threshold: 1, window: '1m' }, actions: [{ type: 'notify' }, { type: 'block_ip', ttl: '1h' }] });
  const isProtected = (ip: string) => ip === '192.0.2.10';
  const t = createTriage([spec], { isProtected });
  const [kept] = t.process(http(T0, { client_ip: '192.0.2.10' }), 'haproxy');
  assert.ok(kept);
  assert.equal(kept.severity, 'high');
  assert.deepEqual(kept.actions, [{ type: 'notify' }]);
  // Loopback is protected without being listed.
  const [lo] = t.process(http(T0, { client_ip: '127.0.0.1' }), 'haproxy');
  assert.deepEqual(lo?.actions, [{ type: 'notify' }]);
  const [other] = t.process(http(T0, { client_ip: '198.51.100.7' }), 'haproxy');
  assert.equal(other?.actions.some((a) => a.type === 'block_ip'), true);
  assert.equal(t.stats().rules[0]?.protected, 2);

  const d = createTriage([spec], { isProtected, protectedMode: 'drop' });
  assert.deepEqual(d.process(http(T0, { client_ip: '192.0.2.10' }), 'haproxy'), []);
  assert.equal(d.stats().rules[0]?.protected, 1);
  // A proxy's own address behind a real_ip is not the subject: the real client is.
  assert.equal(d.process(http(T0, { client_ip: '192.0.2.10', real_ip: '198.51.100.8' }), 'haproxy')[0]?.subject.value, '198.51.100.8');
});

test('server, backend and host+path subjects; lines without the key are counted, not matched', () => {
  const t = createTriage([
    rule({ name: 'srv', filter: { kind: 'event', event: ['server_down'] }, group_by: 'server', condition: { type: 'count', threshold: 1, window: '1m' } }),
    rule({ name: 'hp', filter: { kind: 'http', method: ['POST'] }, group_by: ['host', 'path'], condition: { type: 'distinct', field: 'ip', threshold: 2, window: '1m' } }),
    rule({ name: 'be', filter: { kind: 'http', status: ['5xx'] }, group_by: 'backend', condition: { type: 'count', threshold: 1, window: '1m' } }),
  ]);
  assert.deepEqual(t.process(event(T0, { event: 'server_down', backend: 'api', server: 's2' }), 'haproxy')[0]?.subject, { type: 'server', value: 'api/s2' });
  t.process(http(T0, { method: 'POST', host: 'Example.COM', path: '/login?next=/', client_ip: '198.51.100.1' }), 'haproxy');
  const [hp] = t.process(http(T0, { method: 'POST', host: 'example.com', path: '/login', client_ip: '198.51.100.2' }), 'haproxy');
  assert.deepEqual(hp?.subject, { type: 'path', value: 'example.com/login' });
  const [be] = t.process(http(T0, { status: 502, backend: 'api' }), 'haproxy');
  assert.deepEqual(be?.subject, { type: 'backend', value: 'api' });
  assert.equal(be?.actions.length, 0);
  t.process(http(T0, { status: 502, backend: undefined }), 'haproxy');
  assert.equal(t.stats().rules.find((r) => r.name === 'be')?.no_key, 1);
});

test('unparsed lines and kinds no rule wants cost nothing and match nothing', () => {
  const t = createTriage([rule({})]);
  assert.deepEqual(t.process({ ok: false, kind: 'unknown', time: null, fields: {} }, 'haproxy'), []);
  assert.deepEqual(t.process({ ok: true, kind: 'tcp', time: T0, fields: { client_ip: '198.51.100.1' } }, 'haproxy'), []);
  assert.equal(t.stats().unparsed, 1);
});

test('the finding carries the raw line as its sample, or a rendering of the fields', () => {
  const t = createTriage([rule({ condition: { type: 'count', threshold: 1, window: '1m' } })]);
  assert.equal(t.process(http(T0, {}), 'haproxy', 'RAW LINE')[0]?.sample, 'RAW LINE');
  assert.match(t.process(http(T0, { client_ip: '198.51.100.3', path: '/x' }), 'haproxy')[0]?.sample ?? '', /client_ip=198\.51\.100\.3 method=GET path=\/x status=200/);
});

test('a rule that asks for analysis and is not grouped by client keeps the lines leading up to its report as context', () => {
  const storm = rule({ name: 'storm', group_by: 'backend', escalate: true, condition: { type: 'count', threshold: 6, window: '1m' } });
  const byIp = rule({ name: 'by-ip', escalate: true, condition: { type: 'count', threshold: 6, window: '1m' } });
  const quiet = rule({ name: 'quiet', group_by: 'backend', condition: { type: 'count', threshold: 6, window: '1m' } });
  const t = createTriage([storm, byIp, quiet]);
  let out: Finding[] = [];
  for (let i = 0; i < 6; i++) out = t.process(http(T0 + i * S, { status: 503 }), 'haproxy', `line ${i}`);
  const f = Object.fromEntries(out.map((x) => [x.rule, x]));
  // The last CONTEXT_LINES (4) before the one that crossed the threshold, oldest first.
  assert.deepEqual(f.storm?.context, ['line 1', 'line 2', 'line 3', 'line 4']);
  assert.equal(f.storm?.sample, 'line 5');
  // Grouped by client address (many subjects) or not escalated: no context kept.
  assert.equal(f['by-ip']?.context, undefined);
  assert.equal(f.quiet?.context, undefined);
  // The next report starts afresh.
  for (let i = 6; i < 12; i++) out = t.process(http(T0 + i * S, { status: 503 }), 'haproxy', `line ${i}`);
  assert.deepEqual(out.find((x) => x.rule === 'storm')?.context, ['line 7', 'line 8', 'line 9', 'line 10']);
});

function gcNow(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

test('a million distinct client addresses: every rule stays under its key cap, memory stays bounded', () => {
  const gc = gcNow();
  const cap = 50_000;
  const t = createTriage(
    [
      rule({ name: 'count', condition: { type: 'count', threshold: 5, window: '1m' } }),
      rule({ name: 'leaky', condition: { type: 'leaky_bucket', capacity: 100, leak_every: '1s' } }),
      rule({ name: 'distinct', condition: { type: 'distinct', field: 'path', threshold: 40, window: '1m' } }),
      // Long keys sliced out of long lines must not keep those lines alive.
      rule({ name: 'paths', group_by: ['host', 'path'], condition: { type: 'count', threshold: 5, window: '1m' } }),
    ],
    { maxKeysPerRule: cap },
  );
  const filler = 'x'.repeat(100);
  // A steady attacker among the spray keeps its state (CLOCK second chance).
  const attacker = '203.0.113.250';
  let attackerFindings = 0;
  gc();
  const before = process.memoryUsage().heapUsed;
  let mid = 0;
  const line = http(T0, {});
  const f = line.fields;
  for (let i = 0; i < 1_000_000; i++) {
    const raw = `${filler} /spray/${i}/${filler}`;
    f.client_ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    f.path = raw.slice(100, raw.length - 101);
    f.host = 'example.com';
    line.time = T0 + i;
    t.process(line, 'haproxy');
    if (i % 1000 === 0) {
      f.client_ip = attacker;
      f.path = `/a/${i}`;
      attackerFindings += t.process(line, 'haproxy').filter((x) => x.rule === 'distinct').length;
    }
    if (i === 500_000) {
      gc();
      mid = process.memoryUsage().heapUsed;
    }
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  const s = t.stats();
  for (const r of s.rules) {
    assert.ok(r.keys <= cap, `${r.name}: ${r.keys} keys`);
    assert.ok(r.evicted >= 1_000_000 - cap, `${r.name}: ${r.evicted} evicted`);
  }
  const grownMb = (after - before) / 1e6;
  const lateMb = (after - mid) / 1e6;
  // Four rules x 50,000 subjects (~75 MB): not the hundreds a million subjects, or the lines their keys were cut from, would take.
  assert.ok(grownMb < 120, `heap grew ${grownMb.toFixed(1)} MB`);
  // And the second half million adds nothing: the tables were already full.
  assert.ok(lateMb < 10, `heap grew ${lateMb.toFixed(1)} MB over the second half`);
  // The attacker hit 'distinct' (40 paths a minute) once every 1000 lines = 1000 lines apart = 1 s: 40 in 40 s, so it fired.
  assert.ok(attackerFindings >= 1, 'the steady attacker survived the spray');
});

test('filters: status classes and ranges, termination prefixes, any/not, decoding (twice), case folding, generic fields', () => {
  const one = { condition: { type: 'count', threshold: 1, window: '1m' } };
  const t = createTriage([
    rule({ ...one, name: 'range', filter: { kind: 'http', status: ['5xx', '401-403'] } }),
    rule({ ...one, name: 'term', filter: { kind: 'http', termination_state: { prefix: ['PR', 'PT'] } } }),
    rule({ ...one, name: 'anynot', filter: { kind: 'http', any: [{ method: ['delete'] }, { path: { pattern: '^/admin' } }], not: { host: { equals: ['INTERNAL.example.com'], ignore_case: true } } } }),
    rule({ ...one, name: 'decoded', filter: { kind: 'http', path: { pattern: '\\.\\./', decode: true } } }),
    rule({ ...one, name: 'raw-only', filter: { kind: 'http', path: { pattern: '\\.\\./' } } }),
    rule({ ...one, name: 'exit', filter: { kind: 'event', fields: { exit_code: { pattern: '^(?!0$)\\d+$' } } }, group_by: 'source' }),
  ]);
  const names = (l: ParsedLine) => t.explain(l, 'haproxy');
  assert.deepEqual(names(http(T0, { status: 503 })), ['range']);
  assert.deepEqual(names(http(T0, { status: 402 })), ['range']);
  assert.deepEqual(names(http(T0, { status: 404 })), []);
  assert.deepEqual(names(http(T0, { termination_state: 'PR--', status: 200 })), ['term']);
  assert.deepEqual(names(http(T0, { termination_state: 'pr--', status: 200 })), []);
  assert.deepEqual(names(http(T0, { method: 'DELETE', host: 'www.example.com' })), ['anynot']);
  assert.deepEqual(names(http(T0, { path: '/admin/x', host: 'internal.example.com' })), []);
  assert.deepEqual(names(http(T0, { path: '/a/%2e%2e%2fetc' })), ['decoded']);
  assert.deepEqual(names(http(T0, { path: '/a/%252e%252e%252fetc' })), ['decoded']);
  assert.deepEqual(names(http(T0, { path: '/a/../etc' })), ['decoded', 'raw-only']);
  assert.deepEqual(names(event(T0, { event: 'worker_exited', exit_code: 139 })), ['exit']);
  assert.deepEqual(names(event(T0, { event: 'worker_exited', exit_code: 0 })), []);
});

test('a snapshot carries windows, distinct sets and once_per holds across a restart; a changed rule starts afresh', () => {
  const count = rule({ name: 'count5', condition: { type: 'count', threshold: 5, window: '1m' }, once_per: '10m' });
  const distinct = rule({ name: 'distinct3', condition: { type: 'distinct', field: 'path', threshold: 3, window: '1m' } });
  const a = createTriage([count, distinct]);
  for (let i = 0; i < 4; i++) assert.deepEqual(a.process(http(T0 + i * S, { path: `/p${i % 2}` }), 'haproxy'), []);
  const snap = JSON.parse(JSON.stringify(a.snapshot(() => true))) as ReturnType<typeof a.snapshot>;
  assert.equal(snap.rules.count5?.subjects.length, 1);

  // Restored: the fifth match fires, and the distinct set already holds two paths.
  const b = createTriage([count, distinct]);
  assert.equal(b.restore(snap), 2);
  const fired = b.process(http(T0 + 4 * S, { path: '/p2' }), 'haproxy').map((f) => f.rule).sort();
  assert.deepEqual(fired, ['count5', 'distinct3']);
  // Without it, the same line finds nothing: the windows start empty.
  assert.deepEqual(createTriage([count, distinct]).process(http(T0 + 4 * S, { path: '/p2' }), 'haproxy'), []);

  // once_per survives too: after the report, a restart does not let the next five through.
  const c = createTriage([count, distinct]);
  c.restore(JSON.parse(JSON.stringify(b.snapshot(() => true))));
  for (let i = 0; i < 6; i++) assert.deepEqual(c.process(http(T0 + (10 + i) * S, { path: '/same' }), 'haproxy').filter((f) => f.rule === 'count5'), []);
  assert.ok(c.stats().rules.find((r) => r.name === 'count5')!.suppressed >= 6);

  // A rule whose definition changed is not given the old state; `keep` leaves subjects out; old subjects are not written.
  const changed = createTriage([{ ...count, condition: { type: 'count', threshold: 6, window: '1m' } }, distinct]);
  assert.equal(changed.restore(snap), 1);
  assert.deepEqual(a.snapshot(() => false).rules, {});
  a.process(http(T0 + 3_600 * S, { client_ip: '198.51.100.9' }), 'haproxy');
  assert.deepEqual(Object.values(a.snapshot(() => true).rules).flatMap((r) => r.subjects.map((s) => s[0])), ['198.51.100.9', '198.51.100.9'], 'the hour-old subject is past every span');
  // A damaged entry is skipped, not restored into a window.
  const bad = { version: 1 as const, at: T0, rules: { count5: { fp: snap.rules.count5!.fp, subjects: [['x', 'oops', null, 1, 0, null, null]] as never } } };
  assert.equal(createTriage([count, distinct]).restore(bad), 0);
});
