/**
 * GET /metrics against a real daemon and real HAProxy (2.6 and 3.0): the
 * page parses as Prometheus text; the names follow the conventions; each
 * metric moves when its event happens (a rule's block, a failing webhook
 * delivery, an apply, log lines); no client address is ever a label; the
 * read-only metrics token opens /metrics and nothing else; HAProxy's own
 * exporter answers on the stats listener.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parse, { type Family } from 'parse-prometheus-text-format';
import ipaddr from 'ipaddr.js';
import { certificates } from '../src/storage/certificates.js';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor, httpRequest, freePort, deadWebhookNotifications } from './helpers/harness.js';

const ATTACKER = '198.51.100.77';
const PROXY = '127.0.0.10';

type Labels = Record<string, string>;
/** The sum of one counter's or gauge's samples whose labels include `labels`; 0 when absent. */
function value(fams: Family[], name: string, labels: Labels = {}): number {
  const f = fams.find((x) => x.name === name);
  if (!f) return 0;
  const want = Object.entries(labels);
  return f.metrics.filter((m) => want.every(([k, v]) => m.labels?.[k] === v)).reduce((a, m) => a + Number(m.value), 0);
}

/**
 * A histogram's `_count` for some labels, read from the text: the parser
 * drops the labels, sums and counts of labelled histograms (it keeps only
 * their buckets), so it checks the page's syntax and this reads the counts.
 */
function count(text: string, name: string, labels: Labels = {}): number {
  let n = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)_count(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) n += Number(m[3]);
  }
  return n;
}

for (const h of HAPROXIES) {
  test(`${h.name}: /metrics parses, follows the naming rules, moves with events, carries no client address, and is opened by the metrics token alone`, async () => {
    const be = await startBackend('app');
    const deadPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'hm-metrics-'));
    const t = await startTestDaemon(h.bin, {
      config: {
        // Nothing listens there: every delivery fails and is retried.
        notifications: deadWebhookNotifications(dir, deadPort),
      },
    }).catch(async (e: unknown) => {
      await be.close();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    });
    try {
      const scrape = async () => {
        const r = await t.api('GET', '/metrics');
        assert.equal(r.status, 200, r.body);
        assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        return { text: r.body, fams: parse(r.body) };
      };
      const before = await scrape();

      // Naming: the prefix, base units, counters end in _total, a help text each.
      for (const f of before.fams) {
        assert.match(f.name, /^haproxy_manager_[a-z0-9_]+$/, f.name);
        assert.ok(f.help.length > 10, `${f.name} has a help text`);
        if (f.type === 'COUNTER') assert.match(f.name, /_total$/, f.name);
        assert.doesNotMatch(f.name, /_(ms|milliseconds|kb|mb)(_|$)/, `${f.name}: base units`);
      }
      const names = new Set(before.fams.map((f) => f.name));
      for (const n of [
        'source_lines_total', 'source_bytes_total', 'source_lag_bytes', 'source_lines_per_second', 'parse_errors_total', 'findings_total',
        'incidents_opened_total', 'incidents_resolved_total', 'incidents_open', 'actions_total', 'blocked_ips', 'trusted_entries',
        'outbox_messages', 'outbox_failed_attempts_total', 'analysis_calls_total', 'analysis_tokens_total', 'analysis_cost_usd_total',
        'analysis_cache_hits_total', 'analysis_skipped_total', 'certificate_expiry_timestamp_seconds', 'certificate_renewal_ok',
        'apply_duration_seconds', 'runtime_command_duration_seconds', 'runtime_command_errors_total', 'haproxy_up', 'haproxy_workers',
        'haproxy_info', 'scrape_errors_total',
      ]) assert.ok(names.has(`haproxy_manager_${n}`), `haproxy_manager_${n} exists`);
      assert.equal(value(before.fams, 'haproxy_manager_haproxy_up'), 1);
      assert.ok(value(before.fams, 'haproxy_manager_haproxy_workers') >= 1);
      assert.equal(value(before.fams, 'haproxy_manager_haproxy_info'), 1);
      assert.match(before.fams.find((f) => f.name === 'haproxy_manager_haproxy_info')!.metrics[0]!.labels!.version!, h.name.endsWith('3.0') ? /^3\.0\./ : /^2\.6\./);
      assert.equal(value(before.fams, 'haproxy_manager_scrape_errors_total'), 0, 'no collector failed');

      // An apply: a domain is added (check, reload and the whole apply are timed).
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: PROXY })).status, 201);
      const applied = await scrape();
      assert.ok(count(applied.text, 'haproxy_manager_apply_duration_seconds', { phase: 'apply', outcome: 'ok' }) > count(before.text, 'haproxy_manager_apply_duration_seconds', { phase: 'apply', outcome: 'ok' }));
      assert.ok(count(applied.text, 'haproxy_manager_apply_duration_seconds', { phase: 'reload', outcome: 'ok' }) >= 1);
      assert.ok(count(applied.text, 'haproxy_manager_runtime_command_duration_seconds') > count(before.text, 'haproxy_manager_runtime_command_duration_seconds'));

      // A scanner through the trusted proxy: lines read, a finding, an incident, a rule's block.
      for (const p of ['/.env', '/.git/config', '/wp-login.php']) {
        await t.get('shop.test', p, { localAddress: PROXY, headers: { 'X-Forwarded-For': ATTACKER, 'User-Agent': 'sqlmap/1.7' } });
      }
      assert.ok(await waitFor(async () => (await t.get('shop.test', '/', { localAddress: PROXY, headers: { 'X-Forwarded-For': ATTACKER } })).status === 403, 20_000, 200), 'the scanner is blocked');
      // The failing webhook has been tried by now, or soon.
      let after = await scrape();
      await waitFor(async () => {
        after = await scrape();
        return value(after.fams, 'haproxy_manager_outbox_failed_attempts_total', { channel: 'hook' }) > 0;
      }, 20_000, 300);
      assert.ok(value(after.fams, 'haproxy_manager_source_lines_total', { source: 'haproxy' }) >= 3, 'lines read from HAProxy');
      assert.ok(value(after.fams, 'haproxy_manager_source_bytes_total', { source: 'haproxy' }) > 0);
      assert.ok(value(after.fams, 'haproxy_manager_findings_total') > value(before.fams, 'haproxy_manager_findings_total'), 'a finding');
      assert.ok(value(after.fams, 'haproxy_manager_incidents_opened_total') >= 1, 'an incident opened');
      assert.ok(value(after.fams, 'haproxy_manager_incidents_open') >= 1);
      assert.ok(value(after.fams, 'haproxy_manager_actions_total', { action: 'block_ip', origin: 'rule', status: 'done' }) >= 1, 'the rule\'s block is counted');
      assert.equal(value(after.fams, 'haproxy_manager_blocked_ips'), 1);
      assert.equal(value(after.fams, 'haproxy_manager_trusted_entries'), 0, 'a trusted proxy is no trusted address');
      assert.ok(value(after.fams, 'haproxy_manager_outbox_failed_attempts_total', { channel: 'hook' }) > 0, 'the failed delivery is counted');
      assert.ok(value(after.fams, 'haproxy_manager_outbox_messages', { channel: 'hook', state: 'pending' }) >= 1);
      // Certificates as the certificate service records them (issuing one takes an ACME server: test/certificates.test.ts).
      const notAfter = '2027-03-01T00:00:00.000Z';
      certificates.save(t.daemon.db.writer, { name: 'shop.test', names: ['shop.test'], file: join(dir, 'shop.test.pem'), issuer: 'test', serial: '01', notBefore: '2026-12-01T00:00:00.000Z', notAfter, keyType: 'ec', challenge: 'http-01', orderUrl: null });
      certificates.save(t.daemon.db.writer, { name: 'api.test', names: ['api.test'], file: join(dir, 'api.test.pem'), issuer: 'test', serial: '02', notBefore: '2026-12-01T00:00:00.000Z', notAfter, keyType: 'ec', challenge: 'http-01', orderUrl: null });
      certificates.recordFailure(t.daemon.db.writer, 'api.test', 'acme: rate limited', '2026-12-06T00:00:00.000Z');
      after = await scrape();
      assert.equal(value(after.fams, 'haproxy_manager_certificate_expiry_timestamp_seconds', { certificate: 'shop.test' }), Date.parse(notAfter) / 1000);
      assert.equal(value(after.fams, 'haproxy_manager_certificate_renewal_ok', { certificate: 'shop.test' }), 1);
      assert.equal(value(after.fams, 'haproxy_manager_certificate_renewal_ok', { certificate: 'api.test' }), 0, 'the failed renewal shows');
      assert.equal(value(after.fams, 'haproxy_manager_certificate_renewal_failures', { certificate: 'api.test' }), 1);

      // No client address anywhere: not as a label value, not in the text at all.
      assert.ok(!after.text.includes(ATTACKER) && !after.text.includes(PROXY), 'no client address in the page');
      for (const f of after.fams) for (const m of f.metrics) for (const [k, v] of Object.entries(m.labels ?? {})) assert.ok(!ipaddr.isValid(v), `${f.name}{${k}="${v}"} is an address`);

      // The metrics token opens /metrics and nothing else; no token, no page; the API key opens it too.
      const token = readFileSync(t.daemon.cfg.paths.metricsTokenFile, 'utf8').trim();
      const as = (path: string, auth?: string, method = 'GET') => httpRequest({ port: t.apiPort, path, method, headers: auth ? { authorization: `Bearer ${auth}` } : {} });
      assert.equal((await as('/metrics', token)).status, 200);
      assert.equal((await as('/api/domains', token)).status, 401, 'the metrics token is no API key');
      assert.equal((await as('/api/certificates/shop.test/key', token)).status, 401);
      assert.equal((await as('/metrics')).status, 401);
      assert.equal((await as('/metrics', 'not-the-token-0123456789')).status, 401);
      const post = await as('/metrics', token, 'POST');
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      assert.ok(!(await as('/metrics', token)).body.includes(token), 'the token is not on the page');

      // HAProxy's own exporter, on the stats listener (both versions have it compiled in).
      const statsPort = t.daemon.cfg.haproxy.stats_port!;
      const own = await httpRequest({ port: statsPort, path: '/metrics' });
      assert.equal(own.status, 200);
      assert.match(own.body, /^haproxy_process_/m);
      assert.ok(parse(own.body).length > 20, 'HAProxy\'s page parses');
    } finally {
      await t.stop();
      await be.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
