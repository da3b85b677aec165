/**
 * The daemon's Prometheus metrics (prom-client), for GET /metrics.
 *
 * Contract: `createMetrics(deps)` returns a registry of its own (never the
 * library's global one: two daemons in one process keep apart) whose values
 * are read at scrape time from what the status API reads (sources, pipeline,
 * incidents, actions, lists, outbox, analysis, certificates, HAProxy), plus
 * histograms fed by observers (apply phases, runtime commands). Every label
 * value comes from the config or the code (source, rule, severity, action,
 * origin, status, channel, model, reason, certificate, phase); never from a
 * client, so no address is ever a label. Names follow Prometheus conventions:
 * `haproxy_manager_` prefix, base units (seconds, bytes), `_total` for
 * counters. A collector that fails leaves its metric empty and counts the
 * failure in `haproxy_manager_scrape_errors_total`; a scrape never fails
 * because one part of the daemon cannot answer.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../storage/db.js';
import { metricsQueries } from '../storage/metrics.js';
import { blocked } from '../storage/ip-lists.js';
import { serverStates } from '../haproxy/adapters/server-health.js';
import type { StatRow } from '../haproxy/runtime/servers.js';
import type { Applier } from '../haproxy/config/apply.js';
import type { HaproxyControl } from '../haproxy/process/control.js';
import type { HaproxyInfo } from '../haproxy/process/version.js';
import type { Monitor } from '../monitor/monitor.js';
import type { Notifications } from '../pipeline/notify/service.js';
import type { AnalysisStage } from '../pipeline/analysis/stage.js';

export interface MetricsDeps {
  reader: Db;
  applier: Applier;
  control: HaproxyControl;
  info: HaproxyInfo;
  monitor?: Monitor | undefined;
  notifications?: Notifications | undefined;
  analysis?: AnalysisStage | undefined;
}

export interface Metrics {
  registry: Registry;
  /** The text exposition (Prometheus 0.0.4). */
  render(): Promise<string>;
  contentType: string;
  stop(): void;
}

const P = 'haproxy_manager_';

export function createMetrics(d: MetricsDeps): Metrics {
  const registry = new Registry();
  // Registered last (below), so a scrape's own failures show in the same scrape.
  const scrapeErrors = new Counter({ name: `${P}scrape_errors_total`, help: 'Collectors that failed during a scrape, by part', labelNames: ['part'], registers: [] });
  /** Runs a collector with its metric as `this`; a throw is counted, never propagated into the scrape. */
  const guard = <T>(part: string, fn: (this: T) => void | Promise<void>) =>
    async function (this: T) {
      try {
        await fn.call(this);
      } catch {
        scrapeErrors.inc({ part });
      }
    };
  /** A counter whose value is a running total kept elsewhere: set at scrape (reset, then inc). */
  const total = (name: string, help: string, labelNames: string[], part: string, read: () => [Record<string, string>, number][]) =>
    new Counter({
      name: `${P}${name}`,
      help,
      labelNames,
      registers: [registry],
      collect: guard(part, function (this: Counter) {
        this.reset();
        for (const [labels, v] of read()) if (Number.isFinite(v) && v >= 0) this.inc(labels, v);
      }),
    });
  const gauge = (name: string, help: string, labelNames: string[], part: string, read: () => Promise<[Record<string, string>, number][]> | [Record<string, string>, number][]) =>
    new Gauge({
      name: `${P}${name}`,
      help,
      labelNames,
      registers: [registry],
      collect: guard(part, async function (this: Gauge) {
        const rows = await read();
        this.reset();
        for (const [labels, v] of rows) if (Number.isFinite(v)) this.set(labels, v);
      }),
    });

  // --- log sources and the pipeline -----------------------------------------
  const mon = () => d.monitor?.status();
  const sources = () => mon()?.sources ?? [];
  total('source_lines_total', 'Lines delivered by each log source', ['source'], 'sources', () => sources().map((s) => [{ source: s.name }, s.lines]));
  total('source_bytes_total', 'Bytes read by each log source', ['source'], 'sources', () => sources().map((s) => [{ source: s.name }, s.bytes]));
  total('source_decode_errors_total', 'Lines that were not valid UTF-8 or not an entry, by source', ['source'], 'sources', () => sources().map((s) => [{ source: s.name }, s.decode_errors]));
  total('source_truncated_total', 'Lines cut to the maximum length, by source', ['source'], 'sources', () => sources().map((s) => [{ source: s.name }, s.truncated]));
  total('source_dropped_total', "Lines lost or not delivered (garbage, a full queue or receive buffer, the lines HAProxy's ring announced it dropped), by source", ['source'], 'sources', () => sources().map((s) => [{ source: s.name }, s.dropped]));
  gauge('source_lag_bytes', 'Bytes a source has not delivered yet (absent where unknown)', ['source'], 'sources', () =>
    sources().flatMap((s): [Record<string, string>, number][] => (s.lag_bytes === null ? [] : [[{ source: s.name }, s.lag_bytes]])),
  );
  gauge('source_lines_per_second', 'Lines per second by source, over the last 10 s and 60 s', ['source', 'window'], 'sources', () =>
    sources().flatMap((s): [Record<string, string>, number][] => [
      [{ source: s.name, window: '10s' }, s.lines_per_second_10s],
      [{ source: s.name, window: '60s' }, s.lines_per_second],
    ]),
  );
  gauge('source_last_line_timestamp_seconds', 'When each source last delivered a line (Unix time)', ['source'], 'sources', () =>
    sources().flatMap((s): [Record<string, string>, number][] => (s.last_line_at === null ? [] : [[{ source: s.name }, s.last_line_at / 1000]])),
  );
  total('parse_errors_total', 'Lines no parser understood, by source', ['source'], 'pipeline', () =>
    Object.entries(mon()?.pipeline?.per_source ?? {}).map(([source, v]) => [{ source }, v.unparsed]),
  );
  total('lines_time_clamped_total', 'Lines dated further ahead than monitor.max_clock_skew, by source', ['source'], 'pipeline', () =>
    Object.entries(mon()?.pipeline?.per_source ?? {}).map(([source, v]) => [{ source }, v.time_clamped]),
  );
  total('intake_forged_lines_total', 'Lines that reached the intake by another way than HAProxy (dropped)', [], 'intake', () => {
    const i = mon()?.intake;
    return i ? [[{}, i.forged_lines]] : [];
  });
  gauge('intake_listening', '1 when the log intake socket is bound', [], 'intake', () => {
    const i = mon()?.intake;
    return i ? [[{}, i.listening ? 1 : 0]] : [];
  });
  total('findings_total', 'Findings raised by triage, by rule', ['rule'], 'triage', () => (d.monitor?.triageStats()?.rules ?? []).map((r) => [{ rule: r.name }, r.findings]));
  total('findings_suppressed_total', 'Findings held back by once_per, by rule', ['rule'], 'triage', () => (d.monitor?.triageStats()?.rules ?? []).map((r) => [{ rule: r.name }, r.suppressed]));

  // --- incidents, actions, lists (the database) -----------------------------
  total('incidents_opened_total', 'Incidents opened, by rule and severity', ['rule', 'severity'], 'incidents', () =>
    metricsQueries.incidents(d.reader).map((r) => [{ rule: r.rule, severity: r.severity }, r.opened]),
  );
  total('incidents_resolved_total', 'Incidents resolved, by rule and severity', ['rule', 'severity'], 'incidents', () =>
    metricsQueries.incidents(d.reader).map((r) => [{ rule: r.rule, severity: r.severity }, r.resolved]),
  );
  gauge('incidents_open', 'Open incidents, by severity', ['severity'], 'incidents', () => {
    const by = new Map<string, number>();
    for (const r of metricsQueries.incidents(d.reader)) by.set(r.severity, (by.get(r.severity) ?? 0) + r.open);
    return [...by].map(([severity, n]) => [{ severity }, n]);
  });
  total('actions_total', 'Remediation actions recorded, by action, origin (rule, policy, llm, operator) and status', ['action', 'origin', 'status'], 'actions', () =>
    metricsQueries.actions(d.reader).map((r) => [{ action: r.action, origin: r.origin, status: r.status }, r.n]),
  );
  gauge('blocked_ips', 'Live blocks (addresses and ranges)', [], 'lists', () => [[{}, blocked.count(d.reader)]]);
  gauge('trusted_entries', 'Trusted addresses and ranges, by scope', ['scope'], 'lists', () => metricsQueries.trustedCount(d.reader).map((r) => [{ scope: r.scope }, r.n]));

  // --- notifications ---------------------------------------------------------
  gauge('outbox_messages', 'Notification messages in the outbox, by channel and state (pending, delivered, dead)', ['channel', 'state'], 'outbox', () =>
    metricsQueries.outbox(d.reader).flatMap((r): [Record<string, string>, number][] => [
      [{ channel: r.channel, state: 'pending' }, r.pending],
      [{ channel: r.channel, state: 'delivered' }, r.delivered],
      [{ channel: r.channel, state: 'dead' }, r.dead],
    ]),
  );
  total('outbox_failed_attempts_total', 'Delivery attempts that failed, by channel', ['channel'], 'outbox', () =>
    metricsQueries.outbox(d.reader).map((r) => [{ channel: r.channel }, r.failed_attempts]),
  );

  // --- analysis ---------------------------------------------------------------
  const usage = () => d.analysis?.status().usage;
  total('analysis_calls_total', 'Calls made to the model, by model', ['model'], 'analysis', () => Object.entries(usage()?.byModel ?? {}).map(([model, u]) => [{ model }, u.calls]));
  total('analysis_tokens_total', 'Tokens used, by model and direction (input, output)', ['model', 'direction'], 'analysis', () =>
    Object.entries(usage()?.byModel ?? {}).flatMap(([model, u]): [Record<string, string>, number][] => [
      [{ model, direction: 'input' }, u.inputTokens],
      [{ model, direction: 'output' }, u.outputTokens],
    ]),
  );
  total('analysis_cost_usd_total', 'Spend on the model in US dollars, by model', ['model'], 'analysis', () => Object.entries(usage()?.byModel ?? {}).map(([model, u]) => [{ model }, u.usd]));
  total('analysis_cache_hits_total', 'Incidents answered from the analysis cache', [], 'analysis', () => [[{}, usage()?.cacheHits ?? 0]]);
  total('analysis_skipped_total', 'Incidents not sent to the model, by reason', ['reason'], 'analysis', () => Object.entries(usage()?.skipped ?? {}).map(([reason, n]) => [{ reason }, n]));
  total('analysis_failed_total', 'Model calls that failed, by reason', ['reason'], 'analysis', () => Object.entries(usage()?.failed ?? {}).map(([reason, n]) => [{ reason }, n]));

  // --- certificates -----------------------------------------------------------
  gauge('certificate_expiry_timestamp_seconds', 'When each certificate expires (Unix time)', ['certificate'], 'certificates', () =>
    metricsQueries.certificates(d.reader).flatMap((c): [Record<string, string>, number][] => (c.not_after ? [[{ certificate: c.name }, Date.parse(c.not_after) / 1000]] : [])),
  );
  gauge('certificate_renewal_ok', '1 when the last renewal of a certificate succeeded (or none failed since it was issued), 0 when it failed', ['certificate'], 'certificates', () =>
    metricsQueries.certificates(d.reader).map((c) => [{ certificate: c.name }, c.last_error === null ? 1 : 0]),
  );
  gauge('certificate_renewal_failures', 'Renewal failures in a row, by certificate', ['certificate'], 'certificates', () =>
    metricsQueries.certificates(d.reader).map((c) => [{ certificate: c.name }, c.failures]),
  );

  // --- HAProxy ----------------------------------------------------------------
  const serving = () => d.control.status();
  gauge('haproxy_up', '1 when HAProxy serves (master answers, workers run, the listener accepts)', [], 'haproxy', async () => [[{}, (await serving()).serving ? 1 : 0]]);
  gauge('haproxy_workers', 'HAProxy worker processes', [], 'haproxy', async () => [[{}, (await serving()).workers ?? 0]]);
  gauge('haproxy_info', 'The managed HAProxy binary (always 1; the version is the label)', ['version'], 'haproxy', () => [[{ version: d.info.version }, 1]]);

  // Servers as HAProxy sees them: one servers-only stat dump per scrape, shared by the gauges below
  // (memoised by scrape, not by time: a scrape of 10,000 backends must not read them twice). Labels are
  // the configured backend and server names (bounded by the config, never a client's).
  let scrapeNo = 0;
  let healthRead: { scrape: number; value: ReturnType<typeof serverStates> } | null = null;
  const health = () => {
    if (healthRead?.scrape !== scrapeNo) healthRead = { scrape: scrapeNo, value: serverStates(d.control.runtime, metricsQueries.servers(d.reader)) };
    return healthRead.value;
  };
  type Series = [Record<string, string>, number][];
  /** One series per server HAProxy lists; `pick` gives extra labels and the value, or null for none. */
  const perServer = async (pick: (h: StatRow) => [Record<string, string>, number] | null) => {
    const out: Series = [];
    for (const b of (await health()).backends)
      for (const s of b.servers) {
        const got = s.health ? pick(s.health) : null;
        if (got) out.push([{ backend: b.backend, server: s.name, ...got[0] }, got[1]]);
      }
    return out;
  };
  gauge('server_up', '1 when HAProxy has the server UP (taking traffic), 0 when DOWN, in MAINT, DRAIN or NOLB', ['backend', 'server'], 'servers', () => perServer((h) => [{}, h.state === 'UP' ? 1 : 0]));
  gauge('server_state', "The server's operational state as HAProxy reports it (the series of the current state, always 1)", ['backend', 'server', 'state'], 'servers', () => perServer((h) => [{ state: h.state }, 1]));
  gauge('server_check_duration_seconds', "The server's last health check duration (absent when it is not checked)", ['backend', 'server'], 'servers', () =>
    perServer((h) => (h.checkDurationMs === null ? null : [{}, h.checkDurationMs / 1000])),
  );
  gauge('server_check_ok', '1 when the last health check passed (L4OK, L6OK, L7OK), 0 when it failed (absent when not checked)', ['backend', 'server'], 'servers', () =>
    perServer((h) => (h.checkStatus === '' ? null : [{}, /^L\dOK/.test(h.checkStatus.replace(/^\* ?/, '')) ? 1 : 0])),
  );
  gauge('server_current_sessions', 'Sessions the server holds now', ['backend', 'server'], 'servers', () => perServer((h) => (h.currentSessions === null ? null : [{}, h.currentSessions])));
  gauge('server_weight', "The server's effective weight in HAProxy", ['backend', 'server'], 'servers', () => perServer((h) => (h.weight === null ? null : [{}, h.weight])));
  gauge('backend_servers_up', 'Servers of the backend that HAProxy has UP', ['backend'], 'servers', async () => {
    const h = await health();
    return h.live ? h.backends.map((b): [Record<string, string>, number] => [{ backend: b.backend }, b.servers.filter((s) => s.health?.state === 'UP').length]) : [];
  });
  gauge('backend_servers', 'Servers configured in the backend', ['backend'], 'servers', async () => (await health()).backends.map((b) => [{ backend: b.backend }, b.servers.length]));

  const applyDuration = new Histogram({
    name: `${P}apply_duration_seconds`,
    help: 'haproxy -c checks, reloads and whole applies, by phase and outcome',
    labelNames: ['phase', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const runtimeDuration = new Histogram({
    name: `${P}runtime_command_duration_seconds`,
    help: 'Commands on the HAProxy runtime socket, by outcome',
    labelNames: ['outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const runtimeErrors = new Counter({ name: `${P}runtime_command_errors_total`, help: 'Runtime socket commands that failed', registers: [registry] });
  const outcome = (ok: boolean) => (ok ? 'ok' : 'failed');
  const unobserve = [
    d.applier.observe((phase, ms, ok) => applyDuration.observe({ phase, outcome: outcome(ok) }, ms / 1000)),
    d.control.runtime.observe((_command, ms, ok) => {
      runtimeDuration.observe({ outcome: outcome(ok) }, ms / 1000);
      if (!ok) runtimeErrors.inc();
    }),
  ];
  applyDuration.zero({ phase: 'apply', outcome: 'ok' });
  runtimeErrors.inc(0);
  registry.registerMetric(scrapeErrors);

  return {
    registry,
    contentType: registry.contentType,
    render: () => {
      scrapeNo++;
      return registry.metrics();
    },
    stop: () => unobserve.forEach((u) => u()),
  };
}
