/**
 * The console's parts without a browser: sessions expire (absolute and
 * idle), ids are random and bounded; the traffic history turns counters
 * into rates, reads a counter that went down as a reload, and leaves a gap
 * (never a zero) when HAProxy cannot answer; the templates never mark a
 * value safe and hold no inline script, style or event handler (the CSP
 * would refuse them, and they are how an XSS gets in).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSessions } from '../../src/api/sessions.js';
import { createTrafficHistory } from '../../src/metrics/traffic.js';
import { CONSOLE_TEMPLATE_DIR, createRenderer, span } from '../../src/console/render.js';
import type { FrontendCounters } from '../../src/haproxy/runtime/servers.js';

test('sessions: random ids, absolute and idle expiry, logout, a bound on how many', () => {
  let now = 1_000_000;
  const s = createSessions({ ttlMs: 10_000, idleMs: 4_000, max: 3, now: () => now });
  const a = s.create('admin');
  const b = s.create('viewer');
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrf, b.csrf);
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(s.get(a.id)?.role, 'admin');
  assert.equal(s.get('x'.repeat(43)), null);
  assert.equal(s.get(undefined), null);
  // Idle: b is not used for 4 s and ends; a, used every 3 s, lives on until its absolute end.
  for (let i = 0; i < 3; i++) {
    now += 3_000;
    assert.ok(s.get(a.id), `a lives at +${(i + 1) * 3} s`);
  }
  assert.equal(s.get(b.id), null, 'b went idle');
  now += 1_500; // 10.5 s after creation
  assert.equal(s.get(a.id), null, 'a reached its absolute end');
  const c = s.create('admin');
  s.destroy(c.id);
  assert.equal(s.get(c.id), null, 'logout');
  for (let i = 0; i < 5; i++) s.create('admin');
  assert.ok(s.size() <= 3, 'bounded');
});

test('traffic history: rates per second, a reload read as a restart, a gap when HAProxy cannot answer, a bounded window', async () => {
  let now = 0;
  let counters: Map<string, FrontendCounters> | Error = new Map();
  const fe = (requests: number, r4: number, r5: number) => ({ requests, responses4xx: r4, responses5xx: r5 });
  const h = createTrafficHistory({
    read: async () => {
      if (counters instanceof Error) throw counters;
      return counters;
    },
    keep: 4,
    skip: (f) => f === 'hm-stats',
    now: () => now,
  });
  counters = new Map([['web', fe(100, 10, 1)], ['hm-stats', fe(5000, 0, 0)]]);
  await h.sample();
  assert.deepEqual(h.points(), [], 'the first read is the baseline');
  now = 10_000;
  counters = new Map([['web', fe(300, 30, 1)], ['hm-stats', fe(9000, 0, 0)]]);
  await h.sample();
  assert.deepEqual(h.points(), [{ t: 10, requests: 20, responses4xx: 2, responses5xx: 0 }], 'the stats listener is left out');
  now = 20_000;
  counters = new Map([['web', fe(50, 0, 5)]]); // a reload: new workers count from zero
  await h.sample();
  assert.deepEqual(h.points().at(-1), { t: 20, requests: 5, responses4xx: 0, responses5xx: 0.5 });
  now = 30_000;
  counters = new Error('socket gone');
  await h.sample();
  assert.deepEqual(h.points().at(-1), { t: 30, requests: null, responses4xx: null, responses5xx: null }, 'a gap, not a zero');
  now = 40_000;
  counters = new Map([['web', fe(60, 0, 5)]]);
  await h.sample();
  assert.equal(h.points().at(-1)?.t, 30, 'after a gap the next read is a new baseline');
  now = 50_000;
  counters = new Map([['web', fe(160, 0, 5)]]);
  await h.sample();
  assert.deepEqual(h.points().at(-1), { t: 50, requests: 10, responses4xx: 0, responses5xx: 0 });
  assert.equal(h.points().length, 4, 'kept to the window');
});

test('templates: autoescape on, nothing marked safe, no inline script, style or handler', () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.njk')) files.push(join(d, e.name));
    }
  };
  walk(CONSOLE_TEMPLATE_DIR);
  assert.ok(files.length >= 4, 'the console has templates');
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    assert.doesNotMatch(text, /\|\s*safe\b|autoescape\s+false/, `${f} marks nothing safe`);
    assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/, `${f} has no inline script`);
    assert.doesNotMatch(text, /<style\b|\sstyle=/, `${f} has no inline style`);
    assert.doesNotMatch(text, /\son[a-z]+=/i, `${f} has no event handler attribute`);
    assert.doesNotMatch(text, /javascript:/i, `${f} has no javascript: URL`);
  }
  const env = createRenderer();
  const out = env.renderString('{{ v }}|<a title="{{ v }}">', { v: '"><img src=x onerror=alert(1)>' });
  assert.equal(out, '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;|<a title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">');
  assert.equal(span(90_061_000), '1d 1h');
  assert.equal(span(61_000), '1m 1s');
  assert.equal(span(0), '0s');
});
