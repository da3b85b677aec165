/**
 * Batching and folding (issue 15), through the real analyser and SDK against
 * the loopback Messages API, then the real policy and guardrails:
 * - several incidents are answered by one call, each reply item tied to its
 *   incident and checked on its own; a missing or malformed item, or one
 *   about an incident not asked, loses only itself (asked again alone);
 * - an item naming another incident's subject is refused for that incident
 *   only (target_not_subject);
 * - near-identical incidents (same rule, same kind of line, same backend)
 *   are folded into one analysis, re-aimed at each subject and judged there;
 * - a critical incident does not wait for the batch window.
 * The batch window runs on a hand-driven scheduler: nothing here is timed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createAnalyser, type AnalysisOutcome } from '../../src/pipeline/analysis/analyser.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import { parseBatchReply, BATCH_TOOL_NAME } from '../../src/pipeline/analysis/batch-reply.js';
import { foldKey } from '../../src/pipeline/analysis/fold.js';
import { loadPolicy } from '../../src/pipeline/policy/load.js';
import { decide } from '../../src/pipeline/policy/decide.js';
import { fromAnalysisResult } from '../../src/pipeline/policy/analysis.js';
import type { PolicyContext } from '../../src/pipeline/policy/types.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { askedIncidents, fencedData, startFakeAnthropic, type FakeAnthropic, type RecordedRequest, type ScriptedReply } from '../helpers/anthropic-server.js';
import { makeIncident } from '../helpers/incident.js';

const T0 = Date.UTC(2026, 10, 25, 12);
const KEY = 'sk-ant-test-batch';
const shipped = loadPolicy({ file: join(import.meta.dirname, '../../config/policy.yaml') }).policy;

/** A scheduler the test fires by hand. */
function manualClock() {
  let timers: { fn: () => void }[] = [];
  return {
    schedule: (_ms: number, fn: () => void) => {
      const t = { fn };
      timers.push(t);
      return () => { timers = timers.filter((x) => x !== t); };
    },
    pending: () => timers.length,
    fire() {
      const due = timers;
      timers = [];
      for (const t of due) t.fn();
    },
  };
}

const line = (ip: string, path: string, be = 'be_app', status = 200) =>
  `Nov 25 12:00:00 lb haproxy[1]: ${ip}:40000 [25/Nov/2026:12:00:00.000] fe_https ${be}/s1 0/0/1/2/3 ${status} 900 - - ---- 1/1/0/0/0 0/0 {app.example.com|curl/8.0} "GET ${path} HTTP/1.1"`;

/** A served secret; the rule's own block is left out so that the model's recommendations are what the policy judges. */
const served = (id: number, ip: string, path = '/.env', be = 'be_app'): Incident =>
  makeIncident({ id, rule: 'sensitive-file-served', category: 'exposure', severity: 'high', escalate: true, subject: { type: 'ip', value: ip }, samples: [line(ip, path, be)], actions: [{ type: 'notify' }] }, T0);

const item = (incident: number, recs: { type: string; target: string }[], over: Record<string, unknown> = {}) => ({
  incident, summary: `analysis of ${incident}`, likely_cause: 'a scanner', severity: 'high', confidence: 0.9,
  recommended_actions: recs.map((r) => ({ ...r, reason: 'from the samples', ...(r.type === 'block_ip' ? { ttl_s: 3600 } : {}) })), ...over,
});

/** The subject each incident of a batch request was shown, by id. */
function subjects(req: RecordedRequest): Map<number, string> {
  const content = req.body?.messages?.[0]?.content;
  const m = /<untrusted_log_data>\n([\s\S]*)\n<\/untrusted_log_data>/.exec(String(content));
  const data = JSON.parse(m![1]!) as { incidents: { incident: number; subject: string }[] };
  return new Map(data.incidents.map((i) => [i.incident, i.subject]));
}

function setup(ai: FakeAnthropic, batch: Record<string, unknown> = {}) {
  const clock = manualClock();
  const cfg = parseAnalysisConfig({ enabled: true, base_url: ai.url, fast: { model: 'fast-model', timeout_ms: 3000, max_retries: 0 }, batch: { max_items: 10, max_wait_s: 600, ...batch } });
  return { clock, analyser: createAnalyser(cfg, { apiKey: KEY, now: () => T0, schedule: clock.schedule }) };
}

const ctx = (protectedIps: string[] = []): PolicyContext => ({ now: T0, recentActions: [], currentBlocks: 0, isProtected: (ip) => protectedIps.includes(ip), protectedRanges: protectedIps });

const analysed = (o: AnalysisOutcome) => {
  assert.equal(o.status, 'analysed', JSON.stringify(o));
  return (o as Extract<AnalysisOutcome, { status: 'analysed' }>).result;
};

test('several incidents, one call: each reply item is tied to its incident by id and kept for it alone', async () => {
  const ai = await startFakeAnthropic({
    respond: (req) => ({ kind: 'tool', name: BATCH_TOOL_NAME, input: { analyses: [...subjects(req)].map(([id, s]) => item(id, [{ type: 'block_ip', target: s }])) } }),
  });
  try {
    const { clock, analyser } = setup(ai);
    const incs = [served(1, '203.0.113.1', '/.env', 'be_a'), served(2, '203.0.113.2', '/.git/config', 'be_b'), served(3, '203.0.113.3', '/.env', 'be_c')];
    const outs = incs.map((i) => analyser.analyse(i));
    assert.equal(ai.requests.length, 0, 'they wait for the window');
    clock.fire();
    const results = (await Promise.all(outs)).map(analysed);
    assert.equal(ai.requests.length, 1, 'one call for three incidents');
    assert.deepEqual(askedIncidents(ai.requests[0]!), [1, 2, 3]);
    assert.equal((ai.requests[0]!.body?.tools?.[0] as { name: string }).name, BATCH_TOOL_NAME);
    for (const [i, r] of results.entries()) {
      assert.equal(r.summary, `analysis of ${incs[i]!.id}`);
      assert.deepEqual(r.recommendations.map((x) => [x.type, x.target]), [['block_ip', incs[i]!.subject.value]]);
    }
    // One data block for all of them: the fence holds as for one incident.
    const user = JSON.stringify(ai.requests[0]!.body?.messages);
    assert.equal(user.split('</untrusted_log_data>').length, 2);
    assert.equal(analyser.usage().byModel['fast-model']?.calls, 1);
  } finally {
    await ai.close();
  }
});

test('a missing item, a malformed one and one about an incident not asked lose only themselves: those incidents are asked again alone', async () => {
  const single = (s: string): ScriptedReply => ({ kind: 'tool', input: { summary: `alone: ${s}`, likely_cause: 'x', severity: 'medium', confidence: 0.5, recommended_actions: [{ type: 'notify_only', target: '', reason: 'tell' }] } });
  const ai = await startFakeAnthropic({
    respond: (req) => {
      const ids = askedIncidents(req);
      if (ids === null) return single(fencedData(req)!.subject);
      return {
        kind: 'tool', name: BATCH_TOOL_NAME,
        input: {
          analyses: [
            item(11, [{ type: 'block_ip', target: '203.0.113.11' }]),
            // 12: missing. 13: malformed (confidence out of range). 99: never asked.
            item(13, [], { confidence: 7 }),
            item(99, [{ type: 'trust_ip', target: '1.2.3.4' }]),
            item(14, [{ type: 'block_ip', target: '203.0.113.14' }]),
            // A second item for 11 does not replace the first.
            item(11, [{ type: 'trust_ip', target: '203.0.113.11' }], { summary: 'the second answer for 11' }),
          ],
        },
      };
    },
  });
  try {
    const { clock, analyser } = setup(ai);
    const incs = [11, 12, 13, 14].map((id) => served(id, `203.0.113.${id}`, '/.env', `be_${id}`));
    const outs = incs.map((i) => analyser.analyse(i));
    clock.fire();
    const [r11, r12, r13, r14] = (await Promise.all(outs)).map(analysed);
    assert.equal(r11!.summary, 'analysis of 11');
    assert.deepEqual(r11!.recommendations.map((x) => x.type), ['block_ip']);
    assert.equal(r14!.summary, 'analysis of 14');
    assert.equal(r12!.summary, 'alone: 203.0.113.12');
    assert.equal(r13!.summary, 'alone: 203.0.113.13');
    assert.equal(ai.requests.length, 3, 'one batch call, then 12 and 13 alone');
    assert.deepEqual(ai.requests.slice(1).map((r) => fencedData(r)!.subject).sort(), ['203.0.113.12', '203.0.113.13']);
    assert.ok(!JSON.stringify([r11, r12, r13, r14]).includes('1.2.3.4'), 'the unknown incident\'s item went nowhere');
  } finally {
    await ai.close();
  }
});

test('an item naming another incident\'s subject is refused for that incident only (target_not_subject); the other keeps its own', async () => {
  const A = '203.0.113.21';
  const B = '203.0.113.22';
  const ai = await startFakeAnthropic({
    respond: () => ({
      kind: 'tool', name: BATCH_TOOL_NAME,
      input: { analyses: [item(21, [{ type: 'block_ip', target: B }, { type: 'trust_ip', target: B }]), item(22, [{ type: 'block_ip', target: B }])] },
    }),
  });
  try {
    const { clock, analyser } = setup(ai);
    const a = served(21, A, '/.env', 'be_x');
    const b = served(22, B, '/.env', 'be_y');
    const outs = [analyser.analyse(a), analyser.analyse(b)];
    clock.fire();
    const [ra, rb] = (await Promise.all(outs)).map(analysed);
    const da = decide(shipped, a, fromAnalysisResult(ra!), ctx()).filter((d) => d.origin === 'llm');
    const db = decide(shipped, b, fromAnalysisResult(rb!), ctx()).filter((d) => d.origin === 'llm');
    assert.deepEqual(da.map((d) => [d.action, d.target, d.mode, d.guardrail]), [['block_ip', B, 'refused', 'target_not_subject'], ['trust_ip', B, 'refused', 'target_not_subject']]);
    assert.deepEqual(db.map((d) => [d.action, d.target, d.mode]), [['block_ip', B, 'propose']], 'B\'s own item stands: its block of its own subject is proposed');
  } finally {
    await ai.close();
  }
});

test('near-identical incidents (same rule, same kind of line, same backend) are folded: one item, the verdict applied to each subject and judged there', async () => {
  const PROT = '198.51.100.10';
  const ai = await startFakeAnthropic({
    respond: (req) => ({ kind: 'tool', name: BATCH_TOOL_NAME, input: { analyses: [...subjects(req)].map(([id, s]) => item(id, [{ type: 'block_ip', target: s }, { type: 'trust_ip', target: s }])) } }),
  });
  try {
    const { clock, analyser } = setup(ai);
    // Four clients fetch secrets from the same catch-all backend; a fifth incident is on another backend.
    const same = [served(31, '203.0.113.31', '/.env'), served(32, '203.0.113.32', '/.git/config'), served(33, PROT, '/.env.production'), served(34, '203.0.113.34', '/.env')];
    const other = served(35, '203.0.113.35', '/.env', 'be_other');
    assert.equal(new Set(same.map(foldKey)).size, 1, 'one fold key for the same rule, kind of line and backend');
    assert.notEqual(foldKey(other), foldKey(same[0]!));
    const outs = [...same, other].map((i) => analyser.analyse(i));
    clock.fire();
    const results = (await Promise.all(outs)).map(analysed);
    assert.equal(ai.requests.length, 1, 'one call');
    assert.deepEqual(askedIncidents(ai.requests[0]!), [31, 35], 'the folded ones are one item');
    assert.match(String(ai.requests[0]!.body?.messages?.[0]?.content), /3 more incident\(s\) of the same rule/);
    // The verdict, re-aimed at each one's own subject, then judged by the same guardrails.
    for (const [i, inc] of [...same, other].entries()) {
      const r = results[i]!;
      assert.deepEqual(r.recommendations.map((x) => x.target), [inc.subject.value, inc.subject.value], `incident ${inc.id}`);
      const ds = decide(shipped, inc, fromAnalysisResult(r), ctx([PROT])).filter((d) => d.origin === 'llm');
      const block = ds.find((d) => d.action === 'block_ip')!;
      const trust = ds.find((d) => d.action === 'trust_ip')!;
      if (inc.subject.value === PROT) {
        assert.equal(block.guardrail, 'protected', 'the protected client is refused, the others are not');
        assert.equal(trust.mode, 'refused');
      } else {
        assert.equal(block.mode, 'propose');
        assert.equal(trust.mode, 'propose', 'widening access on a model\'s word waits for a person, folded or not');
      }
    }
    // Later incidents of the same key are answered by the fold, without a call.
    const later = await analyser.analyse(served(36, '203.0.113.36', '/.aws/credentials'));
    assert.equal(later.status === 'analysed' && later.cached, true);
    assert.equal(ai.requests.length, 1);
  } finally {
    await ai.close();
  }
});

test('fold keys: a template subject folds on the template whatever its lines mask to; other lines keep their masked text, and rules and sources stay apart', () => {
  const tmpl = (id: number, rule: string, subject: string, msg: string) =>
    makeIncident({ id, rule, category: 'app-errors', severity: 'medium', escalate: true, subject: { type: 'path', value: subject }, samples: [msg], actions: [{ type: 'notify' }] }, T0);
  // The clusterer put both lines in template 21bc...: one question, whichever line came last.
  const a = tmpl(51, 'app-error-template-burst', 'app-api:21bc19283cff', 'upstream be_app request failed: connect timeout after 9871 ms');
  const b = tmpl(52, 'app-error-template-burst', 'app-api:21bc19283cff', 'upstream be_app request failed: read timeout after 21491 ms');
  assert.equal(foldKey(a), foldKey(b));
  assert.notEqual(foldKey(a), foldKey(tmpl(53, 'app-error-template-burst', 'app-api:f54ca595ad7d', 'upstream be_app request failed: connect timeout after 9871 ms')), 'another template');
  assert.notEqual(foldKey(a), foldKey(tmpl(54, 'novel-app-error', 'app-api:21bc19283cff', 'upstream be_app request failed: connect timeout after 9871 ms')), 'another rule');
  // An application burst (its subject is the source, not a template) keeps the masked text of its line.
  const burst = (id: number, msg: string) =>
    makeIncident({ id, rule: 'app-error-burst', category: 'app-errors', severity: 'medium', escalate: true, subject: { type: 'backend', value: 'app-api' }, samples: [JSON.stringify({ level: 'error', message: msg })], actions: [{ type: 'notify' }] }, T0);
  assert.equal(foldKey(burst(55, 'upstream be_api request failed: read timeout after 11561 ms')), foldKey(burst(56, 'upstream be_api request failed: read timeout after 2797 ms')));
  assert.notEqual(foldKey(burst(55, 'upstream be_api request failed: read timeout after 11561 ms')), foldKey(burst(57, 'upstream be_api request failed: connection refused after 6689 ms')));
});

test('a critical incident does not wait for the window: it goes at once and takes along what is waiting', async () => {
  const ai = await startFakeAnthropic({
    respond: (req) => ({ kind: 'tool', name: BATCH_TOOL_NAME, input: { analyses: [...subjects(req)].map(([id]) => item(id, [{ type: 'notify_only', target: '' }])) } }),
  });
  try {
    const { clock, analyser } = setup(ai);
    const waiting = analyser.analyse(served(41, '203.0.113.41', '/.env', 'be_1'));
    assert.equal(clock.pending(), 1, 'a window is open');
    const critical = makeIncident({ id: 42, rule: 'backend-no-server', category: 'availability', severity: 'critical', escalate: true, subject: { type: 'backend', value: 'be_shop' }, samples: ['Nov 25 12:00:00 lb haproxy[1]: backend be_shop has no server available!'], actions: [{ type: 'notify' }] }, T0);
    const [o41, o42] = await Promise.all([waiting, analyser.analyse(critical)]);
    analysed(o41!);
    analysed(o42!);
    assert.equal(ai.requests.length, 1);
    assert.deepEqual(askedIncidents(ai.requests[0]!), [41, 42]);
    assert.equal(clock.pending(), 0, 'the window was closed by the critical incident');
  } finally {
    await ai.close();
  }
});

test('a batch reply invalid as a whole (another tool, no items) is not retried as a batch: each incident is asked alone', async () => {
  const ai = await startFakeAnthropic({
    respond: (req) => (askedIncidents(req) === null
      ? { kind: 'tool', input: { summary: `alone: ${fencedData(req)!.subject}`, likely_cause: 'x', severity: 'low', confidence: 0.3, recommended_actions: [] } }
      : { kind: 'tool', input: { summary: 'a single analysis where a batch was asked', likely_cause: 'x', severity: 'low', confidence: 0.3, recommended_actions: [] } }),
  });
  try {
    const { clock, analyser } = setup(ai);
    const outs = [served(51, '203.0.113.51', '/.env', 'be_5'), served(52, '203.0.113.52', '/.env', 'be_6')].map((i) => analyser.analyse(i));
    clock.fire();
    const [r51, r52] = (await Promise.all(outs)).map(analysed);
    assert.equal(r51!.summary, 'alone: 203.0.113.51');
    assert.equal(r52!.summary, 'alone: 203.0.113.52');
    assert.equal(ai.requests.length, 3, 'the batch once, then each alone');
    assert.equal(analyser.usage().invalidReplies, 1);
  } finally {
    await ai.close();
  }
});

test('parseBatchReply: no tool call or a wrong one is invalid as a whole; items are checked one by one', () => {
  assert.equal(parseBatchReply([{ type: 'text', text: 'hi' }], [1]).ok, false);
  assert.equal(parseBatchReply([{ type: 'tool_use', name: 'report_analysis', input: {} }], [1]).ok, false);
  const r = parseBatchReply([{ type: 'tool_use', name: BATCH_TOOL_NAME, input: { analyses: [item(1, []), { incident: 2 }, 'junk', item(3, [{ type: 'format_disk', target: '' }])] } }], [1, 2, 3]);
  assert.ok(r.ok);
  assert.deepEqual([...r.replies.keys()], [1]);
  assert.deepEqual(r.missing, [2, 3]);
  assert.equal(r.refused.length, 3);
});
