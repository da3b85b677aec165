/**
 * The Grafana dashboard shipped in config/grafana/haproxy-manager.json,
 * checked three ways:
 *  - its structure: it parses, imports (schemaVersion, uid, title, __inputs,
 *    a `datasource` variable every panel and query goes through), every
 *    panel has a unique id, a grid position, a type and non-empty queries;
 *  - its names: every metric a query reads is a family on a live scrape of a
 *    real daemon (with a domain and traffic) or of HAProxy's own exporter,
 *    and queries select the job labels the README's scrape config sets, so
 *    renaming a metric fails here;
 *  - its queries: `promtool check metrics` passes the daemon's page, then a
 *    throwaway Prometheus (Debian's `prometheus`, scripts/install.sh --test)
 *    scrapes the daemon and HAProxy every second and evaluates every query,
 *    instant and over a range, as Grafana would send it: no PromQL error, and
 *    data for every panel but the few that stay empty on a daemon with no
 *    model configured.
 */
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificates } from '../src/storage/certificates.js';
import { launchBrowser } from './helpers/browser.js';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor, httpRequest, freePort, sleep, deadWebhookNotifications } from './helpers/harness.js';

const DASHBOARD = new URL('../config/grafana/haproxy-manager.json', import.meta.url);
const README = new URL('../README.md', import.meta.url);
const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const MANAGER_JOB = 'haproxy-manager';
const HAPROXY_JOB = 'haproxy';
const SHOTS = fileURLToPath(new URL('../test-artifacts/metrics/', import.meta.url));

interface Target {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  title: string;
  uid: string;
  __inputs?: { name: string; type: string; pluginId: string }[];
  __requires?: { type: string; id: string }[];
  templating: { list: { name: string; type: string; query: string; current?: { value?: string } }[] };
  panels: Panel[];
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
/** Every panel, rows' nested panels included. */
const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const queryPanels = () => allPanels(dashboard.panels).filter((p) => p.type !== 'row');
const queries = () => queryPanels().flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));

/**
 * The expression as Grafana sends it to Prometheus, its global variables
 * replaced: $__rate_interval as Grafana computes it for a data source with
 * the default 15 s scrape interval (at least four of them).
 */
function grafanaExpr(expr: string): string {
  const vars: Record<string, string> = { __rate_interval: '1m', __interval: '15s', __interval_ms: '15000', __range: '1h', __range_s: '3600', __range_ms: '3600000' };
  const out = expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? whole);
  assert.ok(!out.includes('$'), `a variable is left in ${out}`);
  return out;
}

/** Metric names an expression reads (histogram series names as written). */
const metricNames = (expr: string) => [...new Set([...expr.matchAll(/\b(haproxy_manager_[a-z0-9_]+|haproxy_[a-z0-9_]+)\b/g)].map((m) => m[1]!))];

/** Families of a text exposition page: name -> type, from its `# TYPE` lines. */
function families(page: string): Map<string, string> {
  return new Map([...page.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The family a series name belongs to: itself, or a histogram's or summary's for _bucket, _sum and _count. */
function familyOf(name: string, fams: Map<string, string>): string | null {
  if (fams.has(name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && ['histogram', 'summary'].includes(fams.get(m[1]!) ?? '') && (m[2] !== 'bucket' || fams.get(m[1]!) === 'histogram')) return m[1]!;
  return null;
}

/**
 * Panels that may stay empty in this test: the analysis stage has no model
 * here (no calls, tokens, spend, skips or failures by model or reason), the
 * log source is the intake socket (no lag to report), and no collector fails
 * (the counter has no series until one does).
 */
const MAY_BE_EMPTY = new Set([
  'Model calls per second',
  'Tokens per second',
  'Spend (US dollars per hour)',
  'Skipped per second, by reason',
  'Failed calls per second, by reason',
  'Source lag',
  'Collector failures per second, by part',
]);

test('the dashboard is an importable Grafana dashboard: schema version, uid, a datasource variable every panel uses, unique ids, grid positions, queries', () => {
  assert.equal(dashboard.schemaVersion, 39);
  assert.equal(dashboard.title, 'haproxy-manager');
  assert.match(dashboard.uid, /^[a-zA-Z0-9_-]{1,40}$/);
  // "Import dashboard" asks for the data source input and writes it into the variable's default.
  const input = dashboard.__inputs?.find((i) => i.type === 'datasource' && i.pluginId === 'prometheus');
  assert.ok(input, 'a Prometheus data source input');
  assert.ok(dashboard.__requires?.some((r) => r.type === 'datasource' && r.id === 'prometheus'));
  const v = dashboard.templating.list.find((x) => x.name === 'datasource');
  assert.ok(v, 'a datasource variable');
  assert.equal(v.type, 'datasource');
  assert.equal(v.query, 'prometheus');
  assert.equal(v.current?.value, `\${${input.name}}`, 'the imported data source is its default');

  const panels = allPanels(dashboard.panels);
  assert.ok(panels.length >= 30, `${panels.length} panels`);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const panelTypes = new Set(dashboard.__requires?.filter((r) => r.type === 'panel').map((r) => r.id));
  for (const p of panels) {
    assert.ok(Number.isInteger(p.id) && p.id > 0, `${p.title}: id`);
    assert.ok(typeof p.type === 'string' && p.type.length > 0, `${p.title}: type`);
    assert.ok(typeof p.title === 'string' && p.title.length > 0, `panel ${p.id}: title`);
    const g = p.gridPos;
    assert.ok(g && [g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && n >= 0) && g.w >= 1 && g.h >= 1 && g.x + g.w <= 24, `${p.title}: gridPos`);
    if (p.type === 'row') continue;
    assert.ok(panelTypes.has(p.type), `${p.title}: ${p.type} is in __requires`);
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: the panel's data source is the variable`);
    assert.ok(p.targets && p.targets.length > 0, `${p.title}: queries`);
    const refIds = p.targets.map((t) => t.refId);
    assert.equal(new Set(refIds).size, refIds.length, `${p.title}: refIds are unique`);
    for (const t of p.targets) {
      assert.ok(typeof t.expr === 'string' && t.expr.trim().length > 0, `${p.title} ${t.refId}: an expr`);
      assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title} ${t.refId}: the query's data source is the variable`);
    }
  }
  // No two panels overlap on the grid.
  const cells = new Map<string, string>();
  for (const p of panels) {
    const g = p.gridPos!;
    for (let y = g.y; y < g.y + g.h; y++)
      for (let x = g.x; x < g.x + g.w; x++) {
        const other = cells.get(`${x},${y}`);
        assert.ok(!other, `${p.title} overlaps ${other}`);
        cells.set(`${x},${y}`, p.title);
      }
  }
});

test('every query selects the job the README scrape config names', () => {
  const readme = readFileSync(README, 'utf8');
  assert.match(readme, new RegExp(`job_name: ${MANAGER_JOB}\\b`));
  assert.match(readme, new RegExp(`job_name: ${HAPROXY_JOB}\\n`));
  assert.match(readme, /config\/grafana\/haproxy-manager\.json/, 'the README names the dashboard');
  for (const q of queries()) {
    const names = metricNames(q.expr);
    assert.ok(names.length > 0, `${q.panel}: reads a metric`);
    for (const n of names) {
      const job = n.startsWith('haproxy_manager_') ? MANAGER_JOB : HAPROXY_JOB;
      // Each metric selector carries its job: name{job="..."...}.
      for (const m of q.expr.matchAll(new RegExp(`\\b${n}\\b(\\{[^}]*\\})?`, 'g'))) assert.ok(m[1]?.includes(`job="${job}"`), `${q.panel}: ${m[0]} selects job="${job}"`);
    }
  }
});

test(`${HAPROXIES[0]!.name}: every metric the dashboard reads exists on a live scrape, promtool passes the page, and a real Prometheus evaluates every panel's query`, async (t) => {
  assert.ok(existsSync(PROMETHEUS) && existsSync(PROMTOOL), 'prometheus and promtool are installed (scripts/install.sh --test)');
  const h = HAPROXIES[0]!;
  const be = await startBackend('app');
  const deadPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hm-grafana-'));
  let prom: ChildProcess | null = null;
  const promLog: string[] = [];
  const d = await startTestDaemon(h.bin, {
    config: {
      // Deliveries fail, so the outbox panels have data.
      notifications: deadWebhookNotifications(dir, deadPort),
    },
  }).catch(async (e: unknown) => {
    await be.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  try {
    // A domain, traffic through it, and certificates as the certificate service records them.
    const body = domainBody('shop.test', 'shop', [be.port]);
    body.servers[0]!.check = true; // a checked server: the health check panel has data
    assert.equal((await d.api('POST', '/api/domain', body)).status, 201);
    assert.equal((await d.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
    assert.equal((await d.api('POST', '/api/trusted-ips', { ip_address: '192.0.2.10', scope: 'real_ip', note: 'monitoring' })).status, 201);
    for (let i = 0; i < 5; i++) assert.equal((await d.get('shop.test', `/page/${i}`)).status, 200);
    const notAfter = new Date(Date.now() + 40 * 86_400_000).toISOString();
    for (const name of ['shop.test', 'api.test'])
      certificates.save(d.daemon.db.writer, { name, names: [name], file: join(dir, `${name}.pem`), issuer: 'test', serial: '01', notBefore: new Date().toISOString(), notAfter, keyType: 'ec', challenge: 'http-01', orderUrl: null });
    certificates.recordFailure(d.daemon.db.writer, 'api.test', 'acme: rate limited', new Date().toISOString());

    // --- names: every metric a query reads is a family on the live pages ---------
    const statsPort = d.daemon.cfg.haproxy.stats_port!;
    const managerPage = await httpRequest({ port: d.apiPort, path: '/metrics', headers: { authorization: `Bearer ${d.apiKey}` } });
    assert.equal(managerPage.status, 200);
    const haproxyPage = await httpRequest({ port: statsPort, path: '/metrics' });
    assert.equal(haproxyPage.status, 200);
    const managerFams = families(managerPage.body);
    const haproxyFams = families(haproxyPage.body);
    assert.ok(managerFams.size > 30 && haproxyFams.size > 50, `${managerFams.size} and ${haproxyFams.size} families`);
    const read = new Set<string>();
    for (const q of queries())
      for (const n of metricNames(q.expr)) {
        const fams = n.startsWith('haproxy_manager_') ? managerFams : haproxyFams;
        const fam = familyOf(n, fams);
        assert.ok(fam, `${q.panel}: ${n} is no metric on the ${n.startsWith('haproxy_manager_') ? "daemon's" : "HAProxy exporter's"} page`);
        read.add(fam);
      }
    t.diagnostic(`${read.size} metric families read by ${queries().length} queries`);

    // --- promtool check metrics on the daemon's page ------------------------------
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: managerPage.body, encoding: 'utf8', timeout: 10_000 });
    const lintOut = `${lint.stdout}${lint.stderr}`.trim();
    t.diagnostic(`promtool check metrics (daemon): exit ${lint.status}${lintOut ? `: ${lintOut}` : ', no problems'}`);
    assert.equal(lint.status, 0, `promtool check metrics: ${lintOut}`);

    // --- a throwaway Prometheus scraping both every second ----------------------------
    const promPort = await freePort();
    const promDir = join(dir, 'prometheus');
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(
      configFile,
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        `  - job_name: ${MANAGER_JOB}`,
        `    authorization: { credentials_file: ${JSON.stringify(d.daemon.cfg.paths.metricsTokenFile)} }`,
        `    static_configs: [{ targets: ['127.0.0.1:${d.apiPort}'] }]`,
        `  - job_name: ${HAPROXY_JOB}`,
        `    static_configs: [{ targets: ['127.0.0.1:${statsPort}'] }]`,
        '',
      ].join('\n'),
    );
    const checked = spawnSync(PROMTOOL, ['check', 'config', configFile], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(checked.status, 0, `promtool check config: ${checked.stdout}${checked.stderr}`);
    prom = spawn(PROMETHEUS, [`--config.file=${configFile}`, `--storage.tsdb.path=${promDir}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [prom.stdout!, prom.stderr!]) s.on('data', (b: Buffer) => promLog.push(b.toString()));
    const api = async <T>(path: string): Promise<{ status: string; data: T; error?: string; errorType?: string }> => {
      const r = await httpRequest({ port: promPort, path, timeoutMs: 5_000 });
      return JSON.parse(r.body) as { status: string; data: T; error?: string };
    };
    type Targets = { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
    const up = await waitFor(async () => {
      try {
        const r = await api<Targets>('/api/v1/targets?state=active');
        return r.data.activeTargets.length === 2 && r.data.activeTargets.every((x) => x.health === 'up');
      } catch {
        return false;
      }
    }, 15_000, 200);
    assert.ok(up, `both targets up: ${JSON.stringify((await api<Targets>('/api/v1/targets').catch(() => null))?.data)} ${promLog.join('')}`);

    // Scanner traffic through the trusted proxy, now that Prometheus watches: a finding, an incident, the rule's block.
    const scanner = { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '198.51.100.77', 'User-Agent': 'sqlmap/1.7' } };
    for (const p of ['/.env', '/.git/config', '/wp-login.php']) await d.get('shop.test', p, scanner);
    assert.ok(await waitFor(async () => (await d.get('shop.test', '/', scanner)).status === 403, 15_000, 200), 'the scanner is blocked');

    type Vector = { resultType: string; result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
    const instant = (expr: string) => api<Vector>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    // The block seen by a few scrapes (and so enough samples for a rate over $__rate_interval).
    assert.ok(
      await waitFor(async () => (await instant(`count_over_time(haproxy_manager_actions_total{job="${MANAGER_JOB}",action="block_ip",status="done"}[15s]) >= 3`)).data.result.length > 0, 10_000, 250),
      'Prometheus has scraped the block',
    );
    const isUp = await instant(`haproxy_manager_haproxy_up{job="${MANAGER_JOB}"} == 1`);
    assert.equal(isUp.data.result.length, 1, 'haproxy_manager_haproxy_up == 1 in Prometheus');
    assert.equal((await instant(`up{job="${HAPROXY_JOB}"} == 1`)).data.result.length, 1, "HAProxy's exporter is up");

    // --- every query: no PromQL error, instant and over a range; data where there should be ---------
    const end = Math.floor(Date.now() / 1000);
    const empty: string[] = [];
    const panelHasData = new Map<string, boolean>();
    for (const q of queries()) {
      const expr = grafanaExpr(q.expr);
      const a = await instant(expr);
      assert.equal(a.status, 'success', `${q.panel} ${q.refId}: ${expr}: ${a.errorType} ${a.error}`);
      const r = await api<Vector>(`/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${end - 20}&end=${end}&step=1`);
      assert.equal(r.status, 'success', `${q.panel} ${q.refId} (range): ${expr}: ${r.errorType} ${r.error}`);
      assert.equal(r.data.resultType, 'matrix');
      const has = a.data.result.length > 0;
      panelHasData.set(q.panel, (panelHasData.get(q.panel) ?? false) || has);
      if (!has) empty.push(`${q.panel} ${q.refId}`);
    }
    t.diagnostic(`${queries().length} queries evaluated; empty: ${empty.join('; ') || 'none'}`);
    for (const [panel, has] of panelHasData) if (!MAY_BE_EMPTY.has(panel)) assert.ok(has, `${panel}: no data`);

    // The values the key panels show.
    const val = async (expr: string) => (await instant(expr)).data.result.map((x) => [x.metric, Number(x.value![1])] as const);
    const days = await val(grafanaExpr(`(haproxy_manager_certificate_expiry_timestamp_seconds{job="${MANAGER_JOB}"} - time()) / 86400`));
    assert.equal(days.length, 2);
    for (const [, v] of days) assert.ok(v > 39 && v <= 40, `${v} days left`);
    assert.deepEqual((await val(`haproxy_manager_certificate_renewal_ok{job="${MANAGER_JOB}"} == 0`)).map(([m]) => m.certificate), ['api.test']);
    assert.ok((await val(`sum(haproxy_manager_blocked_ips{job="${MANAGER_JOB}"})`))[0]![1] === 1, 'one block');
    assert.ok((await val(`sum(haproxy_manager_incidents_open{job="${MANAGER_JOB}"})`))[0]![1] >= 1, 'an open incident');
    assert.equal((await val(`haproxy_manager_backend_servers_up{job="${MANAGER_JOB}"}`)).find(([m]) => m.backend === 'shop')?.[1], 1, 'the backend has its server up');
    assert.ok((await val(`sum(haproxy_frontend_http_requests_total{job="${HAPROXY_JOB}"})`))[0]![1] >= 5, "HAProxy's request counter");
    assert.ok((await val(`haproxy_backend_status{job="${HAPROXY_JOB}", state="UP"} == 1`)).some(([m]) => m.proxy?.startsWith('shop')), 'the shop backend is UP');

    // A picture of some panels' queries, graphed by Prometheus's own (classic) UI in Chromium: Grafana
    // is not in Debian's archive, so this is what the data looks like short of the dashboard itself.
    const graphs = [
      `sum by (source) (rate(haproxy_manager_source_lines_total{job="${MANAGER_JOB}"}[30s]))`,
      `sum by (code) (rate(haproxy_frontend_http_responses_total{job="${HAPROXY_JOB}"}[30s]))`,
      `haproxy_manager_incidents_open{job="${MANAGER_JOB}"}`,
    ];
    const qs = graphs.map((g, i) => `g${i}.expr=${encodeURIComponent(g)}&g${i}.tab=0&g${i}.range_input=30s`).join('&');
    const b = await launchBrowser();
    try {
      const page = await b.browser.newPage();
      await page.setViewport({ width: 1280, height: 2400 });
      await page.goto(`http://127.0.0.1:${promPort}/classic/graph?${qs}`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('.graph svg path', { timeout: 10_000 });
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, 'prometheus-queries.png') });
    } finally {
      await b.close();
    }
  } finally {
    if (prom && prom.exitCode === null) {
      const exited = new Promise<void>((r) => prom!.once('exit', () => r()));
      prom.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      if (prom.exitCode === null && prom.signalCode === null) prom.kill('SIGKILL');
    }
    await d.stop();
    await be.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
