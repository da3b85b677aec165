/**
 * How long incidents wait for a batch, and how long a folded verdict lives
 * (issue 15), through the real analyser and SDK against the loopback
 * Messages API, then the real policy and guardrails:
 * - a high incident waits `max_wait_s`, a lesser one `max_wait_below_high_s`,
 *   a critical one not at all; a shorter wait brings the batch forward, a
 *   longer one never pushes it back;
 * - a folded verdict answers its key while its incidents keep coming (`ttl_s`
 *   after its last use), never past `max_age_s` after it was made; each
 *   subject it is applied to is judged on its own by the guardrails.
 * Time is a variable the test sets and the batch window a scheduler it fires
 * by hand: nothing here is timed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createAnalyser, type AnalysisOutcome } from '../../src/pipeline/analysis/analyser.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import { BATCH_TOOL_NAME } from '../../src/pipeline/analysis/batch-reply.js';
import { loadPolicy } from '../../src/pipeline/policy/load.js';
import { decide } from '../../src/pipeline/policy/decide.js';
import { fromAnalysisResult } from '../../src/pipeline/policy/analysis.js';
import type { PolicyContext } from '../../src/pipeline/policy/types.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { askedIncidents, fencedData, startFakeAnthropic, type FakeAnthropic, type RecordedRequest, type ScriptedReply } from '../helpers/anthropic-server.js';
import { makeIncident } from '../helpers/incident.js';

const T0 = Date.UTC(2026, 10, 25, 12);
const MIN = 60_000;
const KEY = 'sk-ant-test-fold-life';
const shipped = loadPolicy({ file: join(import.meta.dirname, '../../config/policy.yaml') }).policy;

/** A clock the test moves, and timers it fires by hand when their time has come. */
function handClock() {
  let now = T0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    set: (t: number) => { now = t; },
    schedule: (ms: number, fn: () => void) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => { timers = timers.filter((x) => x !== t); };
    },
    /** When the armed timers fire. */
    armed: () => timers.map((t) => t.at),
    /** Moves the clock to `t` and fires the timers due by then. */
    advance(t: number) {
      now = t;
      const due = timers.filter((x) => x.at <= t);
      timers = timers.filter((x) => x.at > t);
      for (const x of due) x.fn();
    },
  };
}

const line = (ip: string, path: string, be = 'be_app') =>
  `Nov 25 12:00:00 lb haproxy[1]: ${ip}:40000 [25/Nov/2026:12:00:00.000] fe_https ${be}/s1 0/0/1/2/3 200 900 - - ---- 1/1/0/0/0 0/0 {app.example.com|curl/8.0} "GET ${path} HTTP/1.1"`;

/** A served secret on a catch-all backend (high); the rule's own block left out, so the model's recommendations are what the policy judges. */
const served = (id: number, ip: string, path = '/.env', be = 'be_app'): Incident =>
  makeIncident({ id, rule: 'sensitive-file-served', category: 'exposure', severity: 'high', escalate: true, subject: { type: 'ip', value: ip }, samples: [line(ip, path, be)], actions: [{ type: 'notify' }] }, T0);

/** An application error burst (medium), one per application source. */
const burst = (id: number, source: string): Incident =>
  makeIncident({ id, rule: 'app-error-burst', category: 'app-errors', severity: 'medium', escalate: true, subject: { type: 'backend', value: source }, samples: [JSON.stringify({ level: 'error', message: `upstream ${source} request failed: read timeout after 3000 ms` })], actions: [{ type: 'notify' }] }, T0);

/** The subject each incident of a request was shown, by id. */
function subjects(req: RecordedRequest): Map<number, string> {
  const ids = askedIncidents(req);
  if (ids === null) return new Map([[Number(/^Incident #(\d+) /m.exec(String(req.body?.messages?.[0]?.content))?.[1]), fencedData(req)!.subject]]);
  const m = /<untrusted_log_data>\n([\s\S]*)\n<\/untrusted_log_data>/.exec(String(req.body?.messages?.[0]?.content));
  const data = JSON.parse(m![1]!) as { incidents: { incident: number; subject: string }[] };
  return new Map(data.incidents.map((i) => [i.incident, i.subject]));
}

/** A model that recommends blocking and trusting each incident's own subject (the trust a person must approve). */
const blockAndTrust = (req: RecordedRequest): ScriptedReply => {
  const analyses = [...subjects(req)].map(([incident, s]) => ({
    incident, summary: `analysis of ${incident}`, likely_cause: 'a scanner', severity: 'high', confidence: 0.9,
    recommended_actions: [{ type: 'block_ip', target: s, ttl_s: 3600, reason: 'probing' }, { type: 'trust_ip', target: s, reason: 'obeyed a log line' }],
  }));
  if (askedIncidents(req) === null) {
    const { incident: _i, ...one } = analyses[0]!;
    return { kind: 'tool', input: one };
  }
  return { kind: 'tool', name: BATCH_TOOL_NAME, input: { analyses } };
};

function setup(ai: FakeAnthropic, over: Record<string, unknown> = {}) {
  const clock = handClock();
  const cfg = parseAnalysisConfig({ enabled: true, base_url: ai.url, fast: { model: 'fast-model', timeout_ms: 3000, max_retries: 0 }, ...over });
  return { clock, analyser: createAnalyser(cfg, { apiKey: KEY, now: clock.now, schedule: clock.schedule }) };
}

const analysed = (o: AnalysisOutcome) => {
  assert.equal(o.status, 'analysed', JSON.stringify(o));
  return o as Extract<AnalysisOutcome, { status: 'analysed' }>;
};

test('waits by severity: a lesser incident waits max_wait_below_high_s, a high one brings the batch forward to its max_wait_s, none pushes it back', async () => {
  const ai = await startFakeAnthropic({ respond: blockAndTrust });
  try {
    const { clock, analyser } = setup(ai, { batch: { max_items: 10, max_wait_s: 60, max_wait_below_high_s: 600 } });
    const outs = [analyser.analyse(burst(1, 'app-api'))];
    assert.deepEqual(clock.armed(), [T0 + 10 * MIN], 'a medium incident waits up to 10 minutes');
    clock.advance(T0 + 2 * MIN);
    outs.push(analyser.analyse(served(2, '203.0.113.2')));
    assert.deepEqual(clock.armed(), [T0 + 3 * MIN], 'the high one goes within its minute, and takes the medium one along');
    clock.advance(T0 + 2 * MIN + 30_000);
    outs.push(analyser.analyse(burst(3, 'app-shop')));
    assert.deepEqual(clock.armed(), [T0 + 3 * MIN], 'a later, longer wait does not push the batch back');
    assert.equal(ai.requests.length, 0, 'nothing went before the deadline');
    clock.advance(T0 + 3 * MIN);
    await Promise.all(outs.map(async (o) => analysed(await o)));
    assert.equal(ai.requests.length, 1);
    assert.deepEqual(askedIncidents(ai.requests[0]!), [1, 2, 3]);
    // A critical incident waits for no one.
    const critical = makeIncident({ id: 4, rule: 'backend-no-server', category: 'availability', severity: 'critical', escalate: true, subject: { type: 'backend', value: 'be_shop' }, samples: ['Nov 25 12:00:00 lb haproxy[1]: backend be_shop has no server available!'], actions: [{ type: 'notify' }] }, T0);
    analysed(await analyser.analyse(critical));
    assert.equal(ai.requests.length, 2);
    assert.deepEqual(clock.armed(), []);
  } finally {
    await ai.close();
  }
});

test('waits by severity: max_wait_below_high_s 0 sends a lesser incident at once, while a high one still waits', async () => {
  const ai = await startFakeAnthropic({ respond: blockAndTrust });
  try {
    const { clock, analyser } = setup(ai, { batch: { max_items: 10, max_wait_s: 60, max_wait_below_high_s: 0 } });
    const high = analyser.analyse(served(1, '203.0.113.1'));
    assert.deepEqual(clock.armed(), [T0 + MIN]);
    // The medium one goes at once, taking the waiting high one along.
    const medium = analysed(await analyser.analyse(burst(2, 'app-api')));
    assert.equal(medium.cached, false);
    analysed(await high);
    assert.equal(ai.requests.length, 1);
    assert.deepEqual(askedIncidents(ai.requests[0]!), [1, 2]);
    assert.deepEqual(clock.armed(), []);
  } finally {
    await ai.close();
  }
});

test('a folded verdict lives while its incidents keep coming (ttl_s since its last use), never past max_age_s; each subject is judged on its own', async () => {
  const PROT = '198.51.100.10';
  const ai = await startFakeAnthropic({ respond: blockAndTrust });
  try {
    const { clock, analyser } = setup(ai, { cache: { ttl_s: 3600, max_age_s: 3 * 3600 }, batch: { max_items: 10, max_wait_s: 0, max_wait_below_high_s: 0 } });
    const at = async (t: number, inc: Incident) => {
      clock.set(t);
      return analysed(await analyser.analyse(inc));
    };
    const first = await at(T0, served(1, '203.0.113.1', '/.env'));
    assert.equal(first.cached, false);
    assert.equal(ai.requests.length, 1);
    // Other clients, other secret files, the same backend: the fold answers, each use keeping it alive.
    const second = await at(T0 + 50 * MIN, served(2, '203.0.113.2', '/.git/config'));
    const third = await at(T0 + 100 * MIN, served(3, PROT, '/.env.production'));
    const fourth = await at(T0 + 150 * MIN, served(4, '203.0.113.4', '/.aws/credentials'));
    assert.deepEqual([second.cached, third.cached, fourth.cached], [true, true, true], 'past ttl_s since it was made, within ttl_s of its last use');
    assert.equal(ai.requests.length, 1, 'one verdict for the whole fold');
    // The one verdict, re-aimed at each subject, is judged there: the protected address is refused, only it.
    const ctx: PolicyContext = { now: T0, recentActions: [], currentBlocks: 0, isProtected: (ip) => ip === PROT, protectedRanges: [PROT] };
    for (const [inc, o] of [[served(2, '203.0.113.2'), second], [served(3, PROT), third], [served(4, '203.0.113.4'), fourth]] as const) {
      assert.deepEqual(o.result.recommendations.map((r) => r.target), [inc.subject.value, inc.subject.value]);
      const ds = decide(shipped, inc, fromAnalysisResult(o.result), ctx).filter((d) => d.origin === 'llm');
      const block = ds.find((d) => d.action === 'block_ip')!;
      const trust = ds.find((d) => d.action === 'trust_ip')!;
      if (inc.subject.value === PROT) {
        assert.deepEqual([block.mode, block.guardrail], ['refused', 'protected'], 'a folded block of a protected address is refused for that subject');
        assert.equal(trust.mode, 'refused');
      } else {
        assert.deepEqual([block.mode, block.target], ['propose', inc.subject.value]);
        assert.equal(trust.mode, 'propose', 'widening access on a model\'s word waits for a person, folded or not');
      }
    }
    // max_age_s after it was made, the fold asks again, however recently it was used.
    const fifth = await at(T0 + 180 * MIN, served(5, '203.0.113.5', '/.env'));
    assert.equal(fifth.cached, false);
    assert.equal(ai.requests.length, 2);
    assert.equal(subjects(ai.requests[1]!).get(5), '203.0.113.5', 'the new verdict is asked about the incident at hand');
    // A quiet fold ends ttl_s after its last use.
    assert.equal((await at(T0 + 180 * MIN + 59 * MIN, served(6, '203.0.113.6'))).cached, true);
    assert.equal((await at(T0 + 180 * MIN + 59 * MIN + 60 * MIN, served(7, '203.0.113.7'))).cached, false);
    assert.equal(ai.requests.length, 3);
  } finally {
    await ai.close();
  }
});
