/**
 * Fleet analysis benchmark (issue 17): what one LLM analysis per fleet
 * incident saves when every condition is seen by three nodes.
 *
 * Three nodes, each with its own SQLite, fleet incidents unit and real
 * analyser (real prompts, the real @anthropic-ai/sdk), share a throwaway
 * PostgreSQL and one loopback fake of the Messages API that answers after an
 * assumed model latency. Each condition (an attacker's leaked /.env on a
 * site of its own, so that no condition folds into another's analysis or is
 * answered from the cache: the saving measured is the fleet's alone; a rule
 * that asks for analysis) is opened on the three nodes within a few tens of
 * milliseconds of each other, as log files read by three nodes would be,
 * and each node asks for its analysis: first each on its own (before), then
 * through the fleet (fleet/analysis.ts). Printed: model calls, tokens and
 * the assumed cost, and how long a node waits for its analysis (the node
 * that calls, and the nodes that take its verdict). Asserts nothing.
 * Network: 127.0.0.1 only.
 *
 *   npm run bench:fleet-analysis
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startTestPostgres } from '../../test/helpers/postgres.js';
import { startFakeAnthropic } from '../../test/helpers/anthropic-server.js';
import { makeIncident } from '../../test/helpers/incident.js';
import { openDatabase } from '../../src/storage/db.js';
import { incidents } from '../../src/storage/incidents.js';
import { createLogger } from '../../src/log.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import { createAnalyser } from '../../src/pipeline/analysis/analyser.js';
import type { AnalysisOutcome } from '../../src/pipeline/analysis/analyser.js';
import { createFleetIncidents } from '../../src/fleet/incidents.js';
import { createFleetAnalysis } from '../../src/fleet/analysis.js';
import { migratePg } from '../../src/storage/pg/schema.js';
import { int, loadAvg, max, median, ms, p95, printFindings, progressClock, t, table } from './stats.js';

const CONDITIONS = 30;
/** Conditions in flight at once. */
const AT_ONCE = 5;
/** The fake model's answer time (assumed: a fast model's tool reply). */
const MODEL_MS = 1500;
const NODES = ['node-a', 'node-b', 'node-c'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const p2 = (n: number) => String(n).padStart(2, '0');
const line = (ip: string, host: string, path: string, status: number, at: Date) =>
  `${MONTHS[at.getMonth()]} ${String(at.getDate()).padStart(2, ' ')} ${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())} lb haproxy[2231]: ${ip}:37296 [${p2(at.getDate())}/${MONTHS[at.getMonth()]}/${at.getFullYear()}:${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}.000] web~ web-backend/s1 2/0/0/29/32 ${status} 162 - - ---- 12/12/3/1/0 0/0 {${host}|curl/8.0} "GET ${path} HTTP/1.1"`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const clock = progressClock('fleet-analysis');
  console.log(`fleet analysis: ${CONDITIONS} conditions, each seen by ${NODES.length} nodes (${AT_ONCE} conditions at once), model answers after ${MODEL_MS} ms (assumed); a throwaway PostgreSQL on loopback; load average ${loadAvg()}`);
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('bench_fleet_analysis');
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  const c = await admin.connect();
  await migratePg(c);
  c.release();
  await admin.end();
  const fake = await startFakeAnthropic({
    fallback: {
      kind: 'tool',
      delayMs: MODEL_MS,
      input: { summary: 'A scanner fetched /.env and got it.', likely_cause: 'an automated scanner looking for leaked secrets', severity: 'high', confidence: 0.9, recommended_actions: [{ type: 'block_ip', target: '', reason: 'scanner' }] },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'hm-bench-fleet-ai-'));
  const log = createLogger({ level: 'error', format: 'text', write: () => undefined });
  const cfg = parseAnalysisConfig({
    enabled: true,
    base_url: fake.url,
    fast: { model: 'fast-model', input_usd_per_mtok: 1, output_usd_per_mtok: 5, timeout_ms: 30_000 },
    budget: { calls_per_hour: 100_000, tokens_per_day: 1_000_000_000 },
    // One incident per call: the fake answers every request with one incident's tool call.
    batch: { max_items: 1, max_wait_s: 0, max_wait_below_high_s: 0 },
  });
  const closers: (() => Promise<void> | void)[] = [];
  const nodes = NODES.map((name) => {
    const { writer, reader } = openDatabase(join(dir, `${name}.db`));
    const settings = { nodeName: name, databaseUrl: url, host: '127.0.0.1', tls: { enabled: false, verify: true, caFile: null }, peers: [], secretKey: null };
    const fleetIncidents = createFleetIncidents({ settings, db: writer, log, windowMs: 600_000 });
    const fleet = createFleetAnalysis({ settings, db: writer, log, analysis: cfg, linked: (id) => fleetIncidents.linked(id), waitMs: 120_000 });
    fleetIncidents.start();
    fleet.start();
    // One analyser per node and per run, so the "before" run's cache does not answer the fleet run.
    const analyser = () => createAnalyser(cfg, { apiKey: 'sk-bench-0123456789', log });
    closers.push(async () => {
      await fleet.stop();
      await fleetIncidents.stop();
      reader.close();
      if (writer !== reader) writer.close();
    });
    return { name, writer, fleetIncidents, fleet, analyser };
  });

  type Run = { label: string; calls: number; input: number; output: number; caller: number[]; taker: number[]; analysed: number };
  const runs: Run[] = [];
  let ipBase = 0;
  for (const mode of ['each node alone (before)', 'one analysis per fleet incident'] as const) {
    const fleetMode = mode !== 'each node alone (before)';
    const analysers = nodes.map((n) => n.analyser());
    const before = { calls: fake.requests.length, input: fake.usage.input, output: fake.usage.output };
    const run: Run = { label: mode, calls: 0, input: 0, output: 0, caller: [], taker: [], analysed: 0 };
    const one = async (k: number) => {
      const ip = `198.51.${100 + Math.floor((ipBase + k) / 250)}.${((ipBase + k) % 250) + 1}`;
      const at = new Date();
      // A site per condition: no condition folds into another's analysis or hits its cache (analysis/fold.ts).
      const host = `site${ipBase + k}.test`;
      const samples = [line(ip, host, '/.git/config', 404, at), line(ip, host, '/.env', 200, at)];
      await Promise.all(
        nodes.map(async (n, i) => {
          // The nodes read the same lines a few tens of ms apart.
          await sleep(Math.floor(Math.random() * 40) + i * 5);
          const inc = makeIncident({ id: 0, rule: 'sensitive-file-served', category: 'exposure', severity: 'high', escalate: true, subject: { type: 'ip', value: ip }, samples, firstSeen: at.getTime(), lastSeen: at.getTime() }, at.getTime());
          inc.id = incidents.write(n.writer, [inc], n.name)[0]!;
          n.fleetIncidents.incident('opened', inc, () => undefined);
          const started = t();
          const local = () => analysers[i]!.analyse(inc, {});
          const o: AnalysisOutcome = fleetMode ? await n.fleet.share(inc, local) : await local();
          const took = t() - started;
          if (o.status === 'analysed') run.analysed++;
          (o.status === 'analysed' && o.by ? run.taker : run.caller).push(took);
        }),
      );
    };
    for (let k = 0; k < CONDITIONS; k += AT_ONCE) await Promise.all(Array.from({ length: Math.min(AT_ONCE, CONDITIONS - k) }, (_, j) => one(k + j)));
    ipBase += CONDITIONS;
    for (const a of analysers) a.stop();
    run.calls = fake.requests.length - before.calls;
    run.input = fake.usage.input - before.input;
    run.output = fake.usage.output - before.output;
    runs.push(run);
    clock.progress(`${mode}: ${run.calls} calls`);
  }

  const usd = (r: Run) => (r.input * 1 + r.output * 5) / 1e6;
  console.log(`\n${CONDITIONS} conditions x ${NODES.length} nodes = ${CONDITIONS * NODES.length} incidents asking for analysis`);
  console.log(table(['', ...runs.map((r) => r.label)], [
    ['analysed incidents', ...runs.map((r) => int(r.analysed))],
    ['model calls', ...runs.map((r) => int(r.calls))],
    ['model calls per condition', ...runs.map((r) => (r.calls / CONDITIONS).toFixed(2))],
    ['input tokens (estimated)', ...runs.map((r) => int(r.input))],
    ['output tokens (estimated)', ...runs.map((r) => int(r.output))],
    ['cost, USD (assumed $1/$5 per Mtok)', ...runs.map((r) => usd(r).toFixed(4))],
    ['node that calls: ms to its analysis p50 / p95 / max', ...runs.map((r) => `${ms(median(r.caller))} / ${ms(p95(r.caller))} / ${ms(max(r.caller))}`)],
    ['node that takes the verdict: p50 / p95 / max', ...runs.map((r) => (r.taker.length ? `${ms(median(r.taker))} / ${ms(p95(r.taker))} / ${ms(max(r.taker))}` : '-'))],
  ]));
  const [alone, fleet] = runs as [Run, Run];
  const findings = [
    `model calls: ${int(alone.calls)} -> ${int(fleet.calls)} (${alone.calls ? Math.round((1 - fleet.calls / alone.calls) * 100) : 0}% fewer); tokens ${int(alone.input + alone.output)} -> ${int(fleet.input + fleet.output)}.`,
    `a node taking another's verdict had it ${ms(median(fleet.taker))} ms after asking at the median (the calling node: ${ms(median(fleet.caller))} ms; the model answers after ${MODEL_MS} ms, verdicts are polled every 500 ms).`,
  ];
  for (const close of closers) await close();
  await fake.close();
  pgc.destroy();
  rmSync(dir, { recursive: true, force: true });
  printFindings(findings, clock.elapsed());
}

await main();
