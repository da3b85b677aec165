/**
 * The analysis queue (src/pipeline/analysis/queue.ts), driven by a
 * hand-written analyser: one outcome per incident, batching by severity,
 * the concurrency cap, deferral on transient skips, give-ups (resolved,
 * expired, queue full), a failing outcome handler, and stop().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAnalysisQueue, type AnalysisQueueDeps, type QueueOutcome } from '../../src/pipeline/analysis/queue.js';
import type { AnalysisOutcome } from '../../src/pipeline/analysis/analyser.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import type { Severity } from '../../src/pipeline/types.js';
import { createLogger, silentLogger } from '../../src/log.js';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function incident(id: number, severity: Severity = 'medium', over: Partial<Incident> = {}): Incident {
  return {
    id,
    rule: 'path-enumeration',
    category: 'recon',
    severity,
    subject: { type: 'ip', value: `203.0.113.${id}` },
    status: 'open',
    firstSeen: T0,
    lastSeen: T0,
    count: 1,
    escalate: true,
    actions: [],
    samples: [`GET /probe-${id}`],
    resolvedAt: null,
    ...over,
  };
}

const analysed = (inc: Incident): AnalysisOutcome => ({
  status: 'analysed',
  fingerprint: `fp-${inc.id}`,
  cached: false,
  strongModel: false,
  result: {
    summary: `incident ${inc.id}`,
    likelyCause: 'a scanner',
    severity: inc.severity,
    confidence: 0.9,
    recommendations: [],
    dropped: [],
    needsStrongerModel: false,
    model: 'fake-model',
  },
});

/** A promise with its resolver, to hold an analysis in flight. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

interface Seen {
  inc: Incident;
  trigger: string;
  outcome: QueueOutcome;
}

/** A queue whose outcomes are collected; `until(n)` waits for n of them. */
function harness(analyse: AnalysisQueueDeps['analyse'], over: Partial<AnalysisQueueDeps> = {}) {
  const outcomes: Seen[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const q = createAnalysisQueue({
    analyse,
    context: () => ({}),
    onOutcome: (inc, trigger, outcome) => {
      outcomes.push({ inc, trigger, outcome });
      const ready = waiters.filter((w) => outcomes.length >= w.n);
      waiters = waiters.filter((w) => outcomes.length < w.n);
      for (const w of ready) w.resolve();
    },
    log: silentLogger,
    ...over,
  });
  const until = (n: number, ms = 2000) =>
    new Promise<void>((resolve, reject) => {
      if (outcomes.length >= n) return resolve();
      const t = setTimeout(() => reject(new Error(`only ${outcomes.length} of ${n} outcomes after ${ms} ms: ${JSON.stringify(outcomes.map((o) => [o.inc.id, o.outcome]))}`)), ms);
      waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  return { q, outcomes, until };
}

/** Lets the queue take the current tick's batch (its setImmediate runs first) and start its calls. */
const tick = () => new Promise<void>((r) => setImmediate(r));

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${cond.toString()}`);
    await sleep(2);
  }
}

const reasonOf = (o: QueueOutcome) => (o.status === 'skipped' || o.status === 'failed' ? o.reason : o.status);

test('every enqueued incident gets exactly one outcome', async () => {
  const calls: number[] = [];
  const { q, outcomes, until } = harness(async (inc) => {
    calls.push(inc.id);
    return analysed(inc);
  });
  for (const id of [1, 2, 3, 4]) assert.equal(q.enqueue(incident(id), 'rule-asks'), true);
  await until(4);
  await sleep(30);
  assert.equal(outcomes.length, 4);
  assert.deepEqual(outcomes.map((o) => o.inc.id).sort(), [1, 2, 3, 4]);
  assert.ok(outcomes.every((o) => o.outcome.status === 'analysed' && o.trigger === 'rule-asks'));
  assert.deepEqual([...calls].sort(), [1, 2, 3, 4]);
  const s = q.stats();
  assert.equal(s.enqueued, 4);
  assert.equal(s.analysed, 4);
  assert.equal(s.queued, 0);
  assert.equal(s.inFlight, 0);
  await q.stop();
});

test('an incident queued twice in one tick is analysed once, with its latest trigger', async () => {
  let calls = 0;
  const { q, outcomes, until } = harness(async (inc) => {
    calls++;
    return analysed(inc);
  });
  const inc = incident(1, 'high');
  assert.equal(q.enqueue(inc, 'rule-asks'), true);
  assert.equal(q.enqueue(inc, 'severe-availability'), false);
  assert.equal(q.stats().queued, 1);
  await until(1);
  await sleep(30);
  assert.equal(calls, 1);
  assert.equal(outcomes.length, 1);
  assert.equal(outcomes[0]!.trigger, 'severe-availability');
  assert.equal(q.stats().enqueued, 1);
  await q.stop();
});

test('an incident still waiting in the queue is not queued again', async () => {
  const hold = gate();
  const calls: number[] = [];
  const { q, outcomes, until } = harness(
    async (inc) => {
      calls.push(inc.id);
      if (inc.id === 1) await hold.p;
      return analysed(inc);
    },
    { concurrency: 1 },
  );
  q.enqueue(incident(1), 'a');
  q.enqueue(incident(2), 'a');
  await waitFor(() => calls.length === 1);
  // 1 is in flight, 2 waits: a second enqueue of 2 (a later tick) is not a second entry.
  assert.equal(q.enqueue(incident(2), 'b'), false);
  hold.open();
  await until(2);
  await sleep(20);
  assert.deepEqual(calls, [1, 2]);
  assert.equal(outcomes.find((o) => o.inc.id === 2)?.trigger, 'b');
  await q.stop();
});

test('a batch is taken most severe first', async () => {
  const order: Severity[] = [];
  const { q, until } = harness(
    async (inc) => {
      order.push(inc.severity);
      return analysed(inc);
    },
    { concurrency: 1 },
  );
  const sev: Severity[] = ['low', 'critical', 'info', 'medium', 'high'];
  sev.forEach((s, i) => q.enqueue(incident(i + 1, s), 'rule-asks'));
  await until(5);
  assert.deepEqual(order, ['critical', 'high', 'medium', 'low', 'info']);
  await q.stop();
});

test('at most `concurrency` analyses run at once', async () => {
  let running = 0;
  let peak = 0;
  const { q, outcomes, until } = harness(
    async (inc) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(25);
      running--;
      return analysed(inc);
    },
    { concurrency: 2 },
  );
  for (let i = 1; i <= 7; i++) q.enqueue(incident(i), 'rule-asks');
  await tick();
  assert.equal(q.stats().inFlight, 2);
  assert.equal(running, 2);
  await until(7);
  assert.equal(peak, 2);
  assert.equal(outcomes.length, 7);
  await q.stop();
});

test('a rate-limited analysis goes back to the head and the queue pauses until its retry-after', async () => {
  // The queue's clock is frozen unless the test moves it: the pause lasts exactly as long as `now` says.
  let clock = T0;
  const calls: { id: number; at: number }[] = [];
  let limited = false;
  const { q, outcomes, until } = harness(
    async (inc) => {
      calls.push({ id: inc.id, at: clock });
      if (inc.id === 1 && !limited) {
        limited = true;
        return { status: 'skipped', reason: 'rate_limited', retryAfterMs: 40 };
      }
      return analysed(inc);
    },
    { concurrency: 1, retryMs: 600_000, now: () => clock },
  );
  q.enqueue(incident(1, 'high'), 'rule-asks');
  q.enqueue(incident(2, 'low'), 'rule-asks');
  await waitFor(() => q.stats().requeued === 1);
  const s = q.stats();
  assert.equal(s.queued, 2);
  assert.equal(s.pausedUntil, new Date(T0 + 40).toISOString());
  // Real time passes (the wake-up timer fires more than once) but not the queue's: still paused.
  await sleep(100);
  assert.deepEqual(calls.map((c) => c.id), [1]);
  assert.equal(outcomes.length, 0);
  clock = T0 + 39;
  await sleep(60);
  assert.deepEqual(calls.map((c) => c.id), [1]);
  // Retry time reached: 1 again first (it went back to the head), then 2.
  clock = T0 + 40;
  await until(2);
  assert.deepEqual(calls, [
    { id: 1, at: T0 },
    { id: 1, at: T0 + 40 },
    { id: 2, at: T0 + 40 },
  ]);
  assert.deepEqual(outcomes.map((o) => [o.inc.id, o.outcome.status]), [[1, 'analysed'], [2, 'analysed']]);
  assert.equal(q.stats().skipped, 0);
  assert.equal(q.stats().pausedUntil, null);
  await q.stop();
});

test('a budget skip without retry-after pauses the queue for retryMs, then the incident is analysed', async () => {
  const calls: { id: number; at: number }[] = [];
  let spent = true;
  const { q, outcomes, until } = harness(
    async (inc) => {
      calls.push({ id: inc.id, at: Date.now() });
      if (spent) {
        spent = false;
        return { status: 'skipped', reason: 'budget_calls' };
      }
      return analysed(inc);
    },
    { concurrency: 2, retryMs: 80 },
  );
  q.enqueue(incident(1), 'rule-asks');
  await waitFor(() => q.stats().requeued === 1);
  // Enqueued during the pause: it waits too (behind the deferred one), although a slot is free.
  q.enqueue(incident(2, 'critical'), 'rule-asks');
  await tick();
  assert.deepEqual(calls.map((c) => c.id), [1]);
  assert.equal(outcomes.length, 0);
  assert.equal(q.stats().inFlight, 0);
  // The wake-up comes by itself (real clock, real timer).
  await until(2);
  assert.deepEqual(calls.map((c) => c.id).slice(0, 2), [1, 1]);
  assert.ok(calls[1]!.at - calls[0]!.at >= 75, `retried after ${calls[1]!.at - calls[0]!.at} ms, expected >= 80`);
  assert.ok(outcomes.every((o) => o.outcome.status === 'analysed'));
  await q.stop();
});

test('a final skip (not transient) is reported, not retried', async () => {
  let calls = 0;
  const { q, outcomes, until } = harness(async () => {
    calls++;
    return { status: 'skipped', reason: 'no_api_key' };
  });
  q.enqueue(incident(1), 'rule-asks');
  await until(1);
  await sleep(30);
  assert.equal(calls, 1);
  assert.equal(reasonOf(outcomes[0]!.outcome), 'no_api_key');
  await q.stop();
});

test('an incident that resolves while queued is skipped as resolved without a call', async () => {
  const hold = gate();
  const calls: number[] = [];
  const { q, outcomes, until } = harness(
    async (inc) => {
      calls.push(inc.id);
      if (inc.id === 1) await hold.p;
      return analysed(inc);
    },
    { concurrency: 1 },
  );
  const waiting = incident(2);
  q.enqueue(incident(1), 'rule-asks');
  q.enqueue(waiting, 'rule-asks');
  await waitFor(() => calls.length === 1);
  waiting.status = 'resolved';
  waiting.resolvedAt = T0 + 1000;
  hold.open();
  await until(2);
  await sleep(20);
  assert.deepEqual(calls, [1]);
  const o = outcomes.find((x) => x.inc.id === 2);
  assert.deepEqual(o?.outcome, { status: 'skipped', reason: 'resolved' });
  await q.stop();
});

test('an incident that waited longer than maxWaitMs is skipped as expired_in_queue', async () => {
  let clock = T0;
  const hold = gate();
  const calls: number[] = [];
  const { q, outcomes, until } = harness(
    async (inc) => {
      calls.push(inc.id);
      if (inc.id === 1) await hold.p;
      return analysed(inc);
    },
    { concurrency: 1, maxWaitMs: 1000, now: () => clock },
  );
  q.enqueue(incident(1), 'rule-asks');
  q.enqueue(incident(2), 'rule-asks');
  await waitFor(() => calls.length === 1);
  clock += 1001;
  hold.open();
  await until(2);
  await sleep(20);
  assert.deepEqual(calls, [1]);
  // The one in flight finished normally; the one waiting gave up.
  assert.equal(outcomes.find((x) => x.inc.id === 1)?.outcome.status, 'analysed');
  assert.deepEqual(outcomes.find((x) => x.inc.id === 2)?.outcome, { status: 'skipped', reason: 'expired_in_queue' });
  await q.stop();
});

test('a transient skip after maxWaitMs is reported, not requeued', async () => {
  let clock = T0;
  let calls = 0;
  const { q, outcomes, until } = harness(
    async () => {
      calls++;
      clock += 2000;
      return { status: 'skipped', reason: 'overloaded', retryAfterMs: 10 };
    },
    { maxWaitMs: 1000, now: () => clock },
  );
  q.enqueue(incident(1), 'rule-asks');
  await until(1);
  await sleep(40);
  assert.equal(calls, 1);
  assert.equal(reasonOf(outcomes[0]!.outcome), 'overloaded');
  await q.stop();
});

test('a full queue drops the least severe, oldest entry as queue_full', async () => {
  const hold = gate();
  const calls: number[] = [];
  const { q, outcomes, until } = harness(
    async (inc) => {
      calls.push(inc.id);
      if (inc.id === 1) await hold.p;
      return analysed(inc);
    },
    { concurrency: 1, maxQueued: 3 },
  );
  q.enqueue(incident(1, 'critical'), 'a');
  await waitFor(() => calls.length === 1);
  // 1 in flight; queue: 2 (low, older), 3 (high).
  q.enqueue(incident(2, 'low'), 'a');
  q.enqueue(incident(3, 'high'), 'a');
  await tick();
  assert.equal(outcomes.length, 0);
  // Next tick: 4 (low, newer) and 5 (medium) overflow by one: 2 goes (low and oldest).
  q.enqueue(incident(4, 'low'), 'a');
  q.enqueue(incident(5, 'medium'), 'a');
  await until(1);
  assert.equal(outcomes[0]!.inc.id, 2);
  assert.deepEqual(outcomes[0]!.outcome, { status: 'skipped', reason: 'queue_full' });
  assert.equal(q.stats().dropped, 1);
  assert.equal(q.stats().queued, 3);
  hold.open();
  await until(5);
  await sleep(20);
  assert.deepEqual(calls, [1, 3, 5, 4]);
  assert.equal(outcomes.length, 5);
  assert.equal(outcomes.filter((o) => o.outcome.status === 'skipped').length, 1);
  await q.stop();
});

test('an onOutcome that throws is logged, never thrown, and the queue goes on', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (_l, line) => lines.push(line) });
  const calls: number[] = [];
  const seen: number[] = [];
  const q = createAnalysisQueue({
    analyse: async (inc) => {
      calls.push(inc.id);
      return analysed(inc);
    },
    context: () => ({}),
    onOutcome: async (inc) => {
      seen.push(inc.id);
      if (inc.id === 1) throw new Error('database is locked');
    },
    log,
    concurrency: 1,
  });
  q.enqueue(incident(1, 'high'), 'a');
  q.enqueue(incident(2, 'low'), 'a');
  await waitFor(() => seen.length === 2);
  assert.deepEqual(seen, [1, 2]);
  const err = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'analysis outcome handler failed');
  assert.ok(err, `no error line in ${JSON.stringify(lines)}`);
  assert.equal(err.level, 'error');
  assert.equal(err.incident_id, 1);
  assert.match(JSON.stringify(err), /database is locked/);
  await q.stop();
});

test('a throwing context builder still analyses, with an empty context', async () => {
  const ctxs: unknown[] = [];
  const { q, outcomes, until } = harness(
    async (inc, ctx) => {
      ctxs.push(ctx);
      return analysed(inc);
    },
    {
      context: () => {
        throw new Error('no stats');
      },
    },
  );
  q.enqueue(incident(1), 'a');
  await until(1);
  assert.deepEqual(ctxs, [{}]);
  assert.equal(outcomes[0]!.outcome.status, 'analysed');
  await q.stop();
});

test('stop() waits for the calls in flight; later enqueues return false', async () => {
  const hold = gate();
  let finished = false;
  const { q, outcomes } = harness(
    async (inc) => {
      await hold.p;
      finished = true;
      return analysed(inc);
    },
    { concurrency: 1 },
  );
  q.enqueue(incident(1), 'a');
  q.enqueue(incident(2), 'a');
  await tick();
  assert.equal(q.stats().inFlight, 1);
  let stopped = false;
  const stopping = q.stop().then(() => (stopped = true));
  await sleep(20);
  assert.equal(stopped, false, 'stop() returned while an analysis was in flight');
  assert.equal(q.enqueue(incident(3), 'a'), false);
  hold.open();
  await stopping;
  assert.equal(finished, true);
  await sleep(20);
  // Nothing new was started after stop(), and no outcome came after it.
  assert.equal(q.stats().inFlight, 0);
  assert.deepEqual(outcomes, []);
  assert.equal(q.enqueue(incident(4), 'a'), false);
});

test('an analyser that throws (it promises not to) ends as failed: internal, and the queue goes on', async () => {
  const { q, outcomes, until } = harness(async (inc) => {
    if (inc.id === 1) throw new Error('boom');
    return analysed(inc);
  }, { concurrency: 1 });
  q.enqueue(incident(1, 'high'), 'a');
  q.enqueue(incident(2, 'low'), 'a');
  await until(2);
  const first = outcomes.find((o) => o.inc.id === 1)!.outcome;
  assert.equal(first.status, 'failed');
  assert.equal(first.status === 'failed' ? first.reason : '', 'internal');
  assert.equal(outcomes.find((o) => o.inc.id === 2)!.outcome.status, 'analysed');
  await q.stop();
});
