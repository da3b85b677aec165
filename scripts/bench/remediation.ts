/**
 * Remediation benchmark: the time from an attack request's log line to the
 * attacker being refused by HAProxy, through the whole daemon (HAProxy logs
 * to the daemon's syslog listener -> parse -> triage -> incident -> policy
 * -> block in the runtime map). Prints figures; asserts nothing.
 *
 *   npm run bench:remediation   (node --import tsx scripts/bench/remediation.ts)
 *
 * Per HAProxy version, against a real in-process daemon and a real managed
 * HAProxy (test/helpers/harness.ts), loopback only, clients behind a trusted
 * proxy (127.0.0.10) so each attacker has its own real address:
 *   1. rule tier alone: one request for /.env (the shipped `sensitive-files`
 *      rule fires on its first line) per attacker, 40 attackers one after
 *      another; the clock starts when the attack response arrives (HAProxy
 *      writes the log line as it ends the request) and stops at the first
 *      403 for that address (polled every 5 ms with GET /);
 *   2. the same with the LLM tier on (a loopback Messages API server that
 *      takes 300 ms to answer): the block must not wait for the model.
 *
 * Environment knobs: BENCH_VERSIONS=2.6,3.0, BENCH_ATTACKERS=40.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HAPROXIES, domainBody, freePort, sleep, startBackend, startTestDaemon, type TestDaemon } from '../../test/helpers/harness.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../test/helpers/anthropic-server.js';
import { int, loadAvg, max, median, ms, p95, printFindings, selectedVersions, t, table } from './stats.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ATTACKERS = Number(process.env.BENCH_ATTACKERS ?? 40);

interface Run {
  latencies: number[];
  missed: number;
  llmCalls: number;
  cacheHits: number;
}

/** The delay the fake model takes: the block must not wait for it. */
const MODEL_DELAY_MS = 300;

/** The model's reply: a valid analysis recommending only a notification. */
const startModel = (): Promise<FakeAnthropic> =>
  startFakeAnthropic({
    respond: () => ({
      kind: 'tool',
      input: { summary: 'A scanner.', likely_cause: 'scanner', severity: 'high', confidence: 0.9, recommended_actions: [{ type: 'notify_only', target: '', reason: 'tell' }] },
    }),
  });

async function scenario(bin: string, withLlm: boolean, base: number): Promise<Run> {
  const be = await startBackend('app');
  const dir = mkdtempSync(join(tmpdir(), 'hm-bench-rem-'));
  let ai: FakeAnthropic | null = null;
  let delayProxy: http.Server | null = null;
  const config: Record<string, unknown> = { monitor: { syslog: { address: '127.0.0.1', port: await freePort() } } };
  if (withLlm) {
    ai = await startModel();
    // A front that holds each request MODEL_DELAY_MS before passing it on (a slow API).
    const target = new URL(ai.url);
    delayProxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        setTimeout(() => {
          const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          });
          up.end(Buffer.concat(chunks));
        }, MODEL_DELAY_MS),
      );
    });
    await new Promise<void>((r) => delayProxy!.listen(0, '127.0.0.1', () => r()));
    const port = (delayProxy.address() as AddressInfo).port;
    writeFileSync(join(dir, 'key'), 'sk-bench-not-a-real-key', { mode: 0o600 });
    config.analysis = { enabled: true, base_url: `http://127.0.0.1:${port}`, api_key_file: join(dir, 'key'), fast: { model: 'bench-model', max_retries: 0 }, budget: { calls_per_hour: 10_000 } };
  }
  const d: TestDaemon = await startTestDaemon(bin, { config });
  const out: Run = { latencies: [], missed: 0, llmCalls: 0, cacheHits: 0 };
  try {
    await d.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]));
    await d.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' });
    const via = (path: string, ip: string) => d.get('shop.test', path, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ip } });
    for (let i = 0; i < ATTACKERS; i++) {
      const ip = `198.51.${100 + Math.floor((base + i) / 250)}.${((base + i) % 250) + 1}`;
      await via('/', ip); // a normal first request: not an attack
      await via('/.env', ip);
      const t0 = t();
      let refused = false;
      while (t() - t0 < 5000) {
        if ((await via('/', ip)).status === 403) {
          refused = true;
          break;
        }
        await sleep(5);
      }
      if (refused) out.latencies.push(t() - t0);
      else out.missed++;
    }
    if (ai) {
      await sleep(MODEL_DELAY_MS * 2);
      out.llmCalls = ai.requests.length;
      out.cacheHits = (await d.api('GET', '/api/monitor/status')).json<{ analysis: { usage: { cacheHits: number } } }>().analysis.usage.cacheHits;
    }
  } finally {
    await d.stop();
    await be.close();
    if (delayProxy) await new Promise<void>((r) => delayProxy!.close(() => r()));
    if (ai) await ai.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<void> {
  const start = t();
  console.log(`remediation: attack log line -> block live in HAProxy, ${ATTACKERS} attackers per row; load average ${loadAvg()}`);
  const rows: (string | number)[][] = [];
  const findings: string[] = [];
  let base = 0;
  for (const h of selectedVersions(HAPROXIES)) {
    for (const withLlm of [false, true]) {
      const r = await scenario(h.bin, withLlm, base);
      base += ATTACKERS;
      const name = `${h.name}, ${withLlm ? `rules + LLM tier (model answers in ${MODEL_DELAY_MS} ms)` : 'rule tier alone'}`;
      rows.push([name, int(r.latencies.length), ms(median(r.latencies)), ms(p95(r.latencies)), ms(max(r.latencies)), r.missed, withLlm ? int(r.llmCalls) : '-', withLlm ? int(r.cacheHits) : '-']);
      if (r.missed) findings.push(`${name}: ${r.missed} attackers not refused within 5 s`);
      const over = r.latencies.filter((x) => x >= 1000).length;
      if (over) findings.push(`${name}: ${over} blocks took a second or more (target: under one second)`);
    }
  }
  console.log(table(['scenario', 'blocked', 'p50 ms', 'p95 ms', 'max ms', 'missed', 'LLM calls', 'cache hits'], rows));
  console.log('\n  clock: from the attack response (HAProxy logs the request as it ends it) to the first 403 for that address, polled every 5 ms.');
  console.log('  LLM: every attacker opens a `sensitive-file-served` incident that the shipped policy escalates; identical incidents share one analysis (cache).');
  printFindings(findings, `${((t() - start) / 1000).toFixed(1)} s`);
}

await main();
