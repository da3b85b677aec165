/**
 * One LLM analysis per fleet incident, end to end (issue 17): two real
 * daemons, each with its own managed HAProxy (2.6 and 3.0) and log file, a
 * throwaway PostgreSQL, and one loopback server speaking the Anthropic
 * Messages API to the real SDK that both nodes are configured to call.
 *
 * The same escalating attack (probes for secret files, then /.env answered
 * with 200, whose rule asks for analysis) is replayed into both nodes' logs
 * at once: each node opens its own incidents, one fleet incident each; the
 * model server receives ONE call; both nodes' incidents show the analysis
 * (the node that did not call names the one that did, in the API and the
 * console); and each node's own policy acts on it (the model's notify is
 * carried out on both nodes, each under its own guardrails).
 * Waits are bounded conditions, never timed assertions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { HAPROXIES, startTestDaemon, waitFor, type TestDaemon } from './helpers/harness.js';
import { startTestPostgres } from './helpers/postgres.js';
import { startFakeAnthropic } from './helpers/anthropic-server.js';

const API_KEY = 'sk-ant-fleet-e2e-0123456789abcdef';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** An HAProxy log line (syslog prefix, httplog) as a node's file source reads it, at time `at`. */
function probeLine(ip: string, path: string, status: number, at: Date): string {
  const syslog = `${MONTHS[at.getMonth()]} ${String(at.getDate()).padStart(2, ' ')} ${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}`;
  const accept = `${p2(at.getDate())}/${MONTHS[at.getMonth()]}/${at.getFullYear()}:${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
  return `${syslog} lb haproxy[2231]: ${ip}:37296 [${accept}] web~ web-backend/s1 2/0/0/29/32 ${status} 162 - - ---- 12/12/3/1/0 0/0 {shop.test|curl/8.0} "GET ${path} HTTP/1.1"\n`;
}

interface IncidentRow {
  id: number;
  rule: string;
  node: string | null;
  fleet_incident_id: number | null;
}
interface AnalysisRow {
  status: string;
  model: string | null;
  summary: string | null;
  trigger: string;
  analysed_by: string | null;
}
interface ActionRow {
  action: string;
  decided_by: string;
  status: string;
  incident_id: number | null;
  node: string | null;
}

test('fleet analysis: one attack seen by two nodes is analysed once, and both nodes show and act on the analysis', async (t) => {
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('fleet_analysis_e2e');
  const Z = '203.0.113.90';
  const summary = 'A scanner looked for secret files and got /.env.';
  // The reply waits a little, so the second node asks while the first one's call is under way.
  const ai = await startFakeAnthropic({
    fallback: {
      kind: 'tool',
      delayMs: 500,
      input: {
        summary,
        likely_cause: 'an automated scanner looking for leaked secrets',
        severity: 'high',
        confidence: 0.9,
        recommended_actions: [
          { type: 'block_ip', target: Z, ttl_s: 3600, reason: 'scanner' },
          { type: 'notify_only', target: '', reason: 'tell the site owner the file is served' },
        ],
      },
    },
  });
  const names = ['node-a', 'node-b'];
  const nodes: TestDaemon[] = [];
  const replay: string[] = [];
  const dirs: string[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
    await ai.close();
    pgc.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  for (const [i, name] of names.entries()) {
    const dir = mkdtempSync(join(tmpdir(), 'hm-fleet-ai-'));
    dirs.push(dir);
    const file = join(dir, 'replay.log');
    writeFileSync(file, '');
    writeFileSync(join(dir, 'anthropic-key'), API_KEY, { mode: 0o600 });
    replay.push(file);
    nodes.push(
      await startTestDaemon(HAPROXIES[i % HAPROXIES.length]!.bin, {
        config: {
          fleet: { node_name: name, database_url: url, tls: { enabled: false } },
          monitor: { incident_quiet: '10m', sources: [{ name: 'replay', type: 'file', path: file, format: 'haproxy', start_at: 'end' }] },
          analysis: { enabled: true, base_url: ai.url, api_key_file: join(dir, 'anthropic-key'), fast: { model: 'fast-model', timeout_ms: 5000, max_retries: 0 }, backoff_s: 1, batch: { max_wait_s: 0, max_wait_below_high_s: 0 } },
        },
      }),
    );
  }
  const [a, b] = nodes as [TestDaemon, TestDaemon];
  assert.ok(await waitFor(() => nodes.every((n) => n.daemon.fleet!.status().connected), 15_000), 'every node connects to PostgreSQL');

  // The same escalating attack in both nodes' logs at once: probes, then the leak served.
  const at = new Date();
  const lines = [
    probeLine(Z, '/.git/config', 404, at),
    probeLine(Z, '/backup.sql', 404, new Date(at.getTime() + 10)),
    probeLine(Z, '/.env', 200, new Date(at.getTime() + 20)),
  ].join('');
  appendFileSync(replay[0]!, lines);
  appendFileSync(replay[1]!, lines);

  const served = async (n: TestDaemon) => (await n.api('GET', `/api/incidents?subject=${Z}&rule=sensitive-file-served`)).json<IncidentRow[]>();
  let onA: IncidentRow[] = [];
  let onB: IncidentRow[] = [];
  assert.ok(
    await waitFor(async () => {
      onA = await served(a);
      onB = await served(b);
      return onA.length === 1 && onB.length === 1 && onA[0]!.fleet_incident_id !== null && onB[0]!.fleet_incident_id !== null;
    }, 15_000, 100),
    'each node opens its incident and asks the fleet',
  );
  assert.deepEqual([onA[0]!.node, onB[0]!.node], ['node-a', 'node-b']);
  assert.equal(onA[0]!.fleet_incident_id, onB[0]!.fleet_incident_id, 'one fleet incident');

  // Both nodes' incidents show the analysis.
  const analysesOf = async (n: TestDaemon, id: number) => (await n.api('GET', `/api/incidents/${id}`)).json<{ analyses: AnalysisRow[] }>().analyses;
  let ra: AnalysisRow[] = [];
  let rb: AnalysisRow[] = [];
  assert.ok(
    await waitFor(async () => {
      ra = await analysesOf(a, onA[0]!.id);
      rb = await analysesOf(b, onB[0]!.id);
      return ra.length > 0 && rb.length > 0;
    }, 20_000, 100),
    'both incidents are analysed',
  );
  for (const [n, rows] of [['node-a', ra], ['node-b', rb]] as const) {
    assert.equal(rows.length, 1, `${n}: one analysis`);
    assert.deepEqual({ status: rows[0]!.status, model: rows[0]!.model, summary: rows[0]!.summary, trigger: rows[0]!.trigger }, { status: 'analysed', model: 'fast-model', summary, trigger: 'rule-asks' }, n);
  }
  // The model server received ONE call for the two nodes.
  for (const n of nodes) await n.daemon.fleetIncidents!.settled();
  assert.ok(await waitFor(async () => (await Promise.all(nodes.map(async (n) => (await n.api('GET', '/api/monitor/status')).json<{ analysis: { queue: { queued: number } } }>().analysis.queue.queued))).every((q) => q === 0), 5000, 50));
  assert.equal(ai.requests.length, 1, 'one model call for one condition seen by two nodes');
  assert.match(JSON.stringify(ai.requests[0]!.body?.messages), /sensitive-file-served/);
  // The node that called has its own analysis; the other names it.
  const byA = ra[0]!.analysed_by;
  const byB = rb[0]!.analysed_by;
  const caller = byA === null ? 'node-a' : 'node-b';
  assert.deepEqual([byA, byB], caller === 'node-a' ? [null, 'node-a'] : ['node-b', null], 'the attached node names the node whose call it is');
  const usage = async (n: TestDaemon) => (await n.api('GET', '/api/monitor/status')).json<{ analysis: { usage: { by_model: Record<string, { calls: number }> } } }>().analysis.usage.by_model['fast-model']?.calls ?? 0;
  assert.deepEqual([await usage(a), await usage(b)], caller === 'node-a' ? [1, 0] : [0, 1], 'only the calling node paid');

  // Each node's own policy judged the analysis's recommendations for its own incident: the block refused by its
  // guardrails (the rules' block came first), the notify recorded.
  const judged = async (n: TestDaemon, incidentId: number) =>
    (await n.api('GET', '/api/actions')).json<ActionRow[]>().filter((x) => x.decided_by === 'llm' && x.incident_id === incidentId && x.node === n.daemon.cfg.fleetSettings!.nodeName).map((x) => `${x.action}:${x.status}`).sort();
  assert.ok(await waitFor(async () => (await judged(a, onA[0]!.id)).length >= 2 && (await judged(b, onB[0]!.id)).length >= 2, 10_000, 100), `each node's policy judged the shared analysis: ${JSON.stringify([await judged(a, onA[0]!.id), await judged(b, onB[0]!.id)])}`);
  assert.deepEqual(await judged(a, onA[0]!.id), ['block_ip:refused', 'notify:done']);
  assert.deepEqual(await judged(b, onB[0]!.id), ['block_ip:refused', 'notify:done']);

  // The console of the node that did not call shows whose analysis it is.
  const attached = caller === 'node-a' ? { n: b, id: onB[0]!.id } : { n: a, id: onA[0]!.id };
  const origin = `http://127.0.0.1:${attached.n.apiPort}`;
  const login = await fetch(`${origin}/login`, { method: 'POST', redirect: 'manual', headers: { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key: attached.n.apiKey! }).toString() });
  assert.equal(login.status, 302);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const page = await fetch(`${origin}/incidents/${attached.id}`, { headers: { Cookie: cookie } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, new RegExp(`analysed by ${caller} \\(fleet\\)`));
  assert.ok(html.includes(summary), 'the summary is shown');
});
