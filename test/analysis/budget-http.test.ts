/**
 * Every HTTP request is booked before it is sent (finding: each timeout or
 * 529 cost two HTTP requests but was booked as one; 2,000 incidents gave 61
 * calls against a 60/hour budget). Counted where it matters: requests
 * received by the loopback Messages API, under concurrency.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createAnalyser } from '../../src/pipeline/analysis/analyser.js';
import { createBudget } from '../../src/pipeline/analysis/budget.js';
import { BudgetRefusedError, createApiFetch, UnbookedRequestError } from '../../src/pipeline/analysis/http.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { startFakeAnthropic, type FakeAnthropic, type ScriptedReply } from '../helpers/anthropic-server.js';
import { makeIncident } from '../helpers/incident.js';

/** One call per incident, as before batching (batch.ts): these tests are about the single call's path. */
const ONE = { max_items: 1, fold: false };

const T0 = Date.UTC(2026, 10, 25, 12);
const KEY = 'sk-ant-test-key-budget';
const GOOD = { summary: 'ok', likely_cause: 'c', severity: 'medium', confidence: 0.5, recommended_actions: [] };

const saved = process.env.ANTHROPIC_BASE_URL;
before(() => { process.env.ANTHROPIC_BASE_URL = 'http://127.0.0.1:9'; });
after(() => {
  if (saved === undefined) delete process.env.ANTHROPIC_BASE_URL;
  else process.env.ANTHROPIC_BASE_URL = saved;
});

const incident = (i: number): Incident => makeIncident({ id: i, rule: `rule-${i}`, subject: { type: 'ip', value: `198.51.100.${i % 250}` }, samples: [`GET /x-${i}`] }, T0);

async function withServer(opts: Parameters<typeof startFakeAnthropic>[0], fn: (s: FakeAnthropic) => Promise<void>) {
  const s = await startFakeAnthropic(opts);
  try { await fn(s); } finally { await s.close(); }
}

const budgetOf = (calls: number, clock = { now: T0 }) =>
  createBudget({ callsPerHour: calls, tokensPerDay: 1e9, backoffBaseMs: 1000, backoffMaxMs: 1000 }, () => clock.now);

test('slots racing for the last requests of the hour: the server receives exactly the budget, never more', async () => {
  // Slow replies keep every request in flight at once: the race is real.
  await withServer({ fallback: { kind: 'tool', input: GOOD, delayMs: 60 } }, async (s) => {
    const now = T0;
    const cfg = parseAnalysisConfig({ enabled: true, batch: ONE, base_url: s.url, budget: { calls_per_hour: 5, tokens_per_day: 1e9 }, fast: { model: 'fast-model', timeout_ms: 2000 } });
    const a = createAnalyser(cfg, { apiKey: KEY, now: () => now });
    const outs = await Promise.all(Array.from({ length: 16 }, (_, i) => a.analyse(incident(i))));
    assert.equal(s.requests.length, 5, 'requests received');
    assert.equal(s.peakInFlight(), 5, 'they were in flight together');
    assert.equal(outs.filter((o) => o.status === 'analysed').length, 5);
    assert.equal(outs.filter((o) => o.status === 'skipped' && o.reason === 'budget_calls').length, 11);
    assert.equal(a.usage().callsLastHour, 5);
    assert.equal(a.usage().byModel['fast-model']?.calls, 5);
  });
});

test('2,000 incidents through timeouts, 529s and 5xx, two at a time: never more requests than the hourly budget, each booked', async () => {
  // Every third request hangs (a timeout), every third is a 529 or 500, the rest answer.
  let k = 0;
  const cycle: ScriptedReply[] = [{ kind: 'hang' }, { kind: 'status', status: 529 }, { kind: 'tool', input: GOOD }, { kind: 'status', status: 500 }, { kind: 'tool', input: GOOD }, { kind: 'hang' }];
  await withServer({ respond: () => cycle[k++ % cycle.length]! }, async (s) => {
    const clock = { now: T0 };
    const cfg = parseAnalysisConfig({
      enabled: true, batch: ONE, base_url: s.url, budget: { calls_per_hour: 60, tokens_per_day: 1e9 }, backoff_s: 1, backoff_max_s: 1,
      fast: { model: 'fast-model', timeout_ms: 100, max_retries: 1 },
    });
    const a = createAnalyser(cfg, { apiKey: KEY, now: () => clock.now });
    const reasons: Record<string, number> = {};
    // Two slots per round; the clock moves past each back-off (1 s) and stays within the hour.
    for (let i = 0; i < 2000; i += 2) {
      const outs = await Promise.all([a.analyse(incident(i)), a.analyse(incident(i + 1))]);
      for (const o of outs) {
        const r = o.status === 'analysed' ? 'analysed' : `${o.status}:${o.reason}`;
        reasons[r] = (reasons[r] ?? 0) + 1;
      }
      clock.now += 1001;
    }
    assert.ok(clock.now - T0 < 3_600_000);
    assert.equal(s.requests.length, 60, `requests received (${JSON.stringify(reasons)})`);
    const u = a.usage();
    assert.equal(u.callsLastHour, 60, 'booked: one per request');
    assert.equal(u.byModel['fast-model']?.calls, 60);
    assert.ok((reasons['skipped:budget_calls'] ?? 0) > 1800, JSON.stringify(reasons));
    assert.ok((reasons['skipped:timeout'] ?? 0) > 0 && (reasons['skipped:overloaded'] ?? 0) > 0 && (reasons['skipped:server_error'] ?? 0) > 0, JSON.stringify(reasons));
  });
});

test('the API fetch: a request outside a call, or a second one in a call, is refused unsent; a spent budget sends nothing', async () => {
  await withServer({ fallback: { kind: 'tool', input: GOOD } }, async (s) => {
    const budget = budgetOf(2);
    const api = createApiFetch({ budget, maxReplyBytes: 1 << 20 });
    const post = () => api.fetch(`${s.url}/v1/messages`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{"model":"m"}' });
    await assert.rejects(post(), UnbookedRequestError);
    assert.equal(s.requests.length, 0);

    await api.run({ estimate: () => 10 }, async () => {
      assert.equal((await post()).status, 200);
      await assert.rejects(post(), (e: Error) => e instanceof UnbookedRequestError && /one request per call/.test(e.message));
    });
    assert.equal(s.requests.length, 1);
    assert.equal(budget.usage().callsLastHour, 1, 'booked before it was sent');

    await api.run({ estimate: () => 10 }, async () => void (await post()));
    await api.run({ estimate: () => 10 }, async () => {
      await assert.rejects(post(), (e: Error) => e instanceof BudgetRefusedError && e.refusal === 'budget_calls');
    });
    assert.equal(s.requests.length, 2);
    assert.equal(budget.usage().callsLastHour, 2);
  });
});

test('budget: a reservation is booked at once, settled to what it cost once, and refusals say when to come back', () => {
  const clock = { now: T0 + 30_000 };
  const b = createBudget({ callsPerHour: 2, tokensPerDay: 1000, backoffBaseMs: 1000, backoffMaxMs: 8000 }, () => clock.now);
  const r1 = b.reserve(400);
  assert.ok(r1.ok);
  assert.deepEqual([b.usage().callsLastHour, b.usage().tokensLastDay], [1, 400]);
  r1.reservation.settle('m', 100, 50, { input: 1, output: 1 });
  r1.reservation.settle('m', 100, 50, { input: 1, output: 1 });
  assert.deepEqual([b.usage().callsLastHour, b.usage().tokensLastDay, b.usage().byModel.m?.calls], [1, 150, 1]);
  const r2 = b.reserve(900);
  assert.deepEqual(r2, { ok: false, refusal: 'budget_tokens', retryAfterMs: 86_400_000 - 30_000 });
  assert.ok(b.reserve(10).ok);
  const r3 = b.reserve(10);
  assert.deepEqual(r3, { ok: false, refusal: 'budget_calls', retryAfterMs: 3_600_000 - 30_000 });
  // Back-off: the server's word (at least a second), else doubling, capped.
  assert.equal(b.pushedBack('overloaded'), 1000);
  assert.equal(b.pushedBack('overloaded'), 2000);
  assert.equal(b.pushedBack('rate_limited', 3_600_000), 8000);
  assert.equal(b.pushedBack('rate_limited', 0), 1000);
  assert.deepEqual(b.reserve(1), { ok: false, refusal: 'backoff', retryAfterMs: 8000 });
  assert.equal(b.usage().backoff?.reason, 'rate_limited', 'the longest back-off in force names its reason');
  b.recovered();
  clock.now += 8000;
  assert.equal(b.pushedBack('server_error'), 1000, 'a new run of failures starts from the base');
});
