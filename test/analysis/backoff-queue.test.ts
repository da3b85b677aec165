/**
 * The daemon owns retries (finding: a 429 with retry-after: 3600 made the SDK
 * sleep inside the call, holding both analysis slots while the queue grew).
 * The real analyser and the real queue against the loopback Messages API,
 * on one injected clock: a push-back frees the slots at once, the queue
 * dispatches nothing until the back-off has passed, the incidents wait in
 * the queue and are analysed afterwards, and the status shows the back-off.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAnalyser } from '../../src/pipeline/analysis/analyser.js';
import { createAnalysisQueue, type QueueOutcome } from '../../src/pipeline/analysis/queue.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { silentLogger } from '../../src/log.js';
import { startFakeAnthropic, type FakeAnthropic, type ScriptedReply } from '../helpers/anthropic-server.js';
import { makeIncident } from '../helpers/incident.js';

/** One call per incident, as before batching (batch.ts): these tests are about the single call's path. */
const ONE = { max_items: 1, fold: false };

const T0 = Date.UTC(2026, 10, 25, 12);
const KEY = 'sk-ant-test-key-backoff';

const saved: Record<string, string | undefined> = {};
before(() => {
  for (const k of ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL']) saved[k] = process.env[k];
  process.env.ANTHROPIC_BASE_URL = 'http://127.0.0.1:9';
});
after(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const GOOD = { summary: 'ok', likely_cause: 'c', severity: 'medium', confidence: 0.5, recommended_actions: [] };

const incident = (id: number): Incident => makeIncident({ id, rule: `rule-${id}`, subject: { type: 'ip', value: `203.0.113.${id}` }, samples: [`GET /probe-${id}`] }, T0);

async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(5);
  }
}

/** Analyser and queue on one clock, as the analysis stage wires them. */
function rig(server: FakeAnthropic, over: Record<string, unknown> = {}) {
  const clock = { now: T0 };
  const cfg = parseAnalysisConfig({
    enabled: true, batch: ONE, base_url: server.url, backoff_s: 30, backoff_max_s: 900,
    fast: { model: 'fast-model', timeout_ms: 2000, max_retries: 1 }, ...over,
  });
  const analyser = createAnalyser(cfg, { apiKey: KEY, now: () => clock.now });
  const outcomes: { id: number; o: QueueOutcome }[] = [];
  const queue = createAnalysisQueue({
    analyse: (inc, ctx, opts) => analyser.analyse(inc, ctx, opts),
    readyAt: () => analyser.notBefore(),
    context: () => ({}),
    onOutcome: (inc, _t, o) => void outcomes.push({ id: inc.id, o }),
    log: silentLogger,
    concurrency: 2,
    now: () => clock.now,
  });
  return { clock, analyser, queue, outcomes };
}

async function withServer(script: ScriptedReply[], fn: (s: FakeAnthropic) => Promise<void>) {
  const s = await startFakeAnthropic({ script, fallback: { kind: 'tool', input: GOOD } });
  try { await fn(s); } finally { await s.close(); }
}

test('429 retry-after: 3600 under the queue: both slots freed at once, nothing dispatched until the capped back-off passes, the incidents stay queued and are analysed after', async () => {
  // Both slots take a 429 (the second reply is slow, so both are in flight together).
  await withServer([{ kind: 'status', status: 429, retryAfter: '3600' }, { kind: 'status', status: 429, retryAfter: '3600', delayMs: 50 }], async (s) => {
    const { clock, analyser, queue, outcomes } = rig(s);
    const t0 = Date.now();
    for (const id of [1, 2, 3, 4]) queue.enqueue(incident(id), 'rule-asks');
    await waitFor(() => queue.stats().requeued === 2 && queue.stats().inFlight === 0, 'both slots deferred and released');
    assert.ok(Date.now() - t0 < 1500, `slots held ${Date.now() - t0} ms`);
    assert.equal(s.requests.length, 2, 'one request per slot, no SDK retry');
    assert.equal(outcomes.length, 0, 'nothing given up');

    // The back-off is visible: in the analyser's usage and as the queue's pause.
    const until = T0 + 900_000;
    assert.deepEqual(analyser.usage().backoff, { until: new Date(until).toISOString(), reason: 'rate_limited', failuresInRow: 2 });
    assert.equal(queue.stats().pausedUntil, new Date(until).toISOString());
    assert.equal(queue.stats().queued, 4);

    // More incidents arrive and real time passes: nothing is sent while the back-off holds.
    queue.enqueue(incident(5), 'rule-asks');
    clock.now = until - 1;
    queue.enqueue(incident(6), 'rule-asks');
    await sleep(80);
    assert.equal(s.requests.length, 2, 'no dispatch during the back-off');
    assert.equal(queue.stats().queued, 6);

    // It passes: everything queued is analysed, once each.
    clock.now = until;
    queue.enqueue(incident(7), 'rule-asks');
    await waitFor(() => outcomes.length === 7, 'all analysed');
    assert.ok(outcomes.every((x) => x.o.status === 'analysed'), JSON.stringify(outcomes));
    assert.deepEqual(outcomes.map((x) => x.id).sort(), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(s.requests.length, 9);
    assert.equal(queue.stats().pausedUntil, null);
    assert.equal(analyser.usage().backoff, null);
    await queue.stop();
  });
});

test('a timeout frees the slot and backs off; the incident is tried again after it, then given up after max_retries (failed: timeout)', async () => {
  await withServer([{ kind: 'hang' }, { kind: 'hang' }], async (s) => {
    const { clock, queue, outcomes } = rig(s, { fast: { model: 'fast-model', timeout_ms: 150, max_retries: 1 } });
    queue.enqueue(incident(1), 'rule-asks');
    await waitFor(() => queue.stats().requeued === 1 && queue.stats().inFlight === 0, 'deferred after the timeout');
    assert.equal(queue.stats().pausedUntil, new Date(T0 + 30_000).toISOString());
    clock.now = T0 + 30_000;
    // Incident 1 goes first (back at the head) and hangs again; 2 takes the other slot.
    queue.enqueue(incident(2), 'rule-asks');
    await waitFor(() => outcomes.length === 2, 'incidents 1 and 2 settled');
    assert.deepEqual(outcomes.find((x) => x.id === 1)?.o, { status: 'failed', reason: 'timeout' });
    assert.equal(outcomes.find((x) => x.id === 2)?.o.status, 'analysed');
    assert.deepEqual(s.requests.map((r) => JSON.stringify(r.body?.messages).includes('rule-1')), [true, true, false], 'incident 1 twice, one request each');
    // Its second timeout backed off again (from the base: incident 2's answer ended the run of failures); incident 3 waits.
    queue.enqueue(incident(3), 'rule-asks');
    await sleep(50);
    assert.equal(s.requests.length, 3);
    assert.equal(queue.stats().pausedUntil, new Date(T0 + 60_000).toISOString());
    clock.now = T0 + 60_000;
    queue.enqueue(incident(4), 'rule-asks');
    await waitFor(() => outcomes.length === 4, 'the rest analysed');
    assert.equal(s.requests.length, 5);
    await queue.stop();
  });
});
