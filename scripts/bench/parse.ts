/**
 * Micro-benchmark of the parse stage alone: generates realistic HAProxy log
 * lines (httplog with and without captures and syslog headers, the project's
 * own format, tcplog, TLS errors, IPv6 clients, attacks, a few events) and
 * JSON/text application lines, then prints lines per second for each mix.
 *
 *   node --import tsx scripts/bench/parse.ts [lines=400000] [rounds=5] [haproxy|json|text]
 */
import { parseLine } from '../../src/pipeline/parse/index.js';
import type { SourceFormat } from '../../src/pipeline/types.js';

const N = Number(process.argv[2] ?? 400_000);
const ROUNDS = Number(process.argv[3] ?? 5);

let seed = 42;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}
function pick<T>(a: readonly T[]): T {
  return a[rnd(a.length)] as T;
}

const PATHS = ['/', '/index.html', '/api/v1/users/12345', '/api/v1/orders?page=2&sort=desc', '/static/app.3f9a.js', '/login', '/search?q=haproxy+logs', '/.env', '/wp-login.php', '/images/logo.png', "/item?id=1%27%20OR%201=1--", '/../../etc/passwd', '/health'];
const UAS = ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'curl/8.5.0', 'sqlmap/1.7.2#stable', 'Googlebot/2.1 (+http://www.google.com/bot.html)', 'python-requests/2.31.0'];
const STATES = ['----', '----', '----', 'CD--', 'SD--', 'PR--', 'cR--', 'sH--', 'SC--', 'CR--', '--NI', '--VN'];
const STATUS = [200, 200, 200, 200, 301, 304, 404, 404, 403, 429, 500, 502, 503, 408, 400];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'HEAD', 'PUT'];

function ip(): string {
  if (rnd(10) === 0) return `2001:db8::${rnd(65535).toString(16)}`;
  return `${rnd(223) + 1}.${rnd(256)}.${rnd(256)}.${rnd(256)}`;
}
function date(): string {
  return `25/Nov/2026:14:${String(rnd(60)).padStart(2, '0')}:${String(rnd(60)).padStart(2, '0')}.${String(rnd(1000)).padStart(3, '0')}`;
}
function httpLine(): string {
  const st = pick(STATUS);
  const nosrv = st === 429 || st === 503 || st === 408;
  const timers = nosrv ? `-1/-1/-1/-1/${rnd(1000)}` : `${rnd(5)}/0/${rnd(3)}/${rnd(200)}/${rnd(400)}`;
  const caps = rnd(4) === 0 ? '' : ` {www.example.com|${pick(UAS)}}`;
  const req = st === 400 ? '"<BADREQ>"' : `"${pick(METHODS)} ${pick(PATHS)} HTTP/${rnd(3) === 0 ? '2.0' : '1.1'}"`;
  const own = rnd(3) === 0 ? ` rip=${ip()} rid=${rnd(1e9).toString(16)}` : '';
  return `${ip()}:${rnd(64000) + 1024} [${date()}] web${rnd(2) ? '~' : ''} ${nosrv ? 'web/<NOSRV>' : 'be_app/app' + rnd(4)} ${timers} ${st} ${rnd(50000)} - - ${pick(STATES)} ${rnd(900)}/${rnd(800)}/${rnd(50)}/${rnd(20)}/${rnd(3)} 0/0${caps} ${req}${own}`;
}
function haproxyLine(): string {
  const r = rnd(100);
  let body: string;
  if (r < 85) body = httpLine();
  else if (r < 93) body = `${ip()}:${rnd(64000)} [${date()}] tcp_in be_db/db${rnd(3)} ${rnd(3)}/${rnd(3)}/${rnd(90000)} ${rnd(900000)} ${pick(['--', 'CD', 'sD', 'SC'])} ${rnd(90)}/${rnd(80)}/${rnd(9)}/${rnd(9)}/0 0/0`;
  else if (r < 98) body = `${ip()}:${rnd(64000)} [${date()}] https/1: SSL handshake failure${rnd(2) ? ' (error:0A000416:SSL routines::sslv3 alert certificate unknown)' : ''}`;
  else body = pick([`Server be_app/app${rnd(4)} is DOWN, reason: Layer4 timeout, check duration: 2001ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`, 'backend be_app has no server available!', 'Proxy web started.']);
  const h = rnd(4);
  if (h === 0) return `<134>Nov 25 14:00:00 lb1 haproxy[1234]: ${body}`;
  if (h === 1) return `<134>1 2026-11-25T14:00:00.123456+01:00 lb1 haproxy 1234 - - ${body}`;
  if (h === 2) return `2026-11-25T14:00:00.123456+00:00 lb1 haproxy[1234]: ${body}`;
  return body;
}
function jsonLine(): string {
  return JSON.stringify({ time: '2026-11-25T14:00:00.123Z', level: pick(['info', 'warn', 'error', 'debug']), msg: `request handled in ${rnd(900)}ms for user ${rnd(99999)}`, req_id: rnd(1e9).toString(36), status: pick(STATUS) });
}
function textLine(): string {
  return `2026-11-25 14:00:${String(rnd(60)).padStart(2, '0')},${rnd(999)} ${pick(['INFO', 'WARN', 'ERROR', 'DEBUG'])} [worker-${rnd(8)}] payment ${rnd(99999)} failed: timeout after ${rnd(30)}s`;
}

function bench(name: string, format: SourceFormat, gen: () => string): void {
  const lines = Array.from({ length: N }, gen);
  let sink = 0;
  for (let k = 0; k < Math.min(N, 50_000); k++) sink += parseLine(lines[k] as string, format).ok ? 1 : 0; // warm-up
  const rates: number[] = [];
  let bad = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < N; k++) {
      const r = parseLine(lines[k] as string, format);
      if (!r.ok) bad++;
      sink += r.kind.length;
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(N / s);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] as number;
  console.log(`${name.padEnd(10)} ${Math.round(median).toLocaleString('en-US').padStart(11)} lines/s (median of ${ROUNDS} rounds of ${N.toLocaleString('en-US')}; best ${Math.round(rates[rates.length - 1] as number).toLocaleString('en-US')}; unparsed ${bad / ROUNDS}) ${sink > 0 ? '' : '!'}`);
}

const only = process.argv[4];
if (!only || only === 'haproxy') bench('haproxy', 'haproxy', haproxyLine);
if (!only || only === 'json') bench('json', 'json', jsonLine);
if (!only || only === 'text') bench('text', 'text', textLine);
