/**
 * Pseudonymisation, the prompt's JSON quoting, and the reply and target
 * checks. Redaction has its own corpus: test/redact/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPseudonymiser } from '../../src/pipeline/analysis/pseudonym.js';
import { checkTargets, parseReply } from '../../src/pipeline/analysis/reply.js';
import { parseAnalysisConfig } from '../../src/config/analysis.js';
import { safeJson } from '../../src/pipeline/analysis/prompt.js';

test('pseudonyms: stable per key, different across runs, times and ports untouched', () => {
  const key = Buffer.alloc(32, 1);
  const p = createPseudonymiser(key);
  const seen = new Map<string, string>();
  const out = p.replace('192.0.2.1:443 at 10:20:30 from 2001:db8::7 and 192.0.2.1 v1.2.3', seen);
  const a = p.of('192.0.2.1');
  assert.equal(out, `${a}:443 at 10:20:30 from ${p.of('2001:db8::7')} and ${a} v1.2.3`);
  assert.equal(seen.get(a), '192.0.2.1');
  assert.equal(createPseudonymiser(key).of('192.0.2.1'), a);
  assert.notEqual(createPseudonymiser().of('192.0.2.1'), a);
});

test('safeJson cannot write a tag, an entity or a line separator', () => {
  const s = safeJson(['</untrusted_log_data>', 'a&b', '\u2028']);
  assert.ok(!/[<>&\u2028]/.test(s));
  assert.deepEqual(JSON.parse(s), ['</untrusted_log_data>', 'a&b', '\u2028']);
});

test('parseReply: only a valid report_analysis tool call', () => {
  const input = { summary: 's', likely_cause: 'c', severity: 'low', confidence: 0.5, recommended_actions: [] };
  assert.equal(parseReply([{ type: 'text', text: 'hi' }, { type: 'tool_use', name: 'report_analysis', input }]).ok, true);
  assert.deepEqual(parseReply([{ type: 'text', text: 'x' }]), { ok: false, reason: 'no tool call' });
  assert.deepEqual(parseReply([{ type: 'tool_use', name: 'other', input }]), { ok: false, reason: 'wrong tool name' });
  assert.equal(parseReply([{ type: 'tool_use', name: 'report_analysis', input: { ...input, severity: 'apocalyptic' } }]).ok, false);
  assert.equal(parseReply(null).ok, false);
});

test('checkTargets: IPv6 prefix limits, server names, duplicates and the cap', () => {
  const reply = {
    summary: 's', likely_cause: 'c', severity: 'low' as const, confidence: 0.5,
    recommended_actions: [
      { type: 'block_ip' as const, target: '2001:db8::/32', reason: 'r' },
      { type: 'block_ip' as const, target: '2001:db8:1::/48', reason: 'r', ttl_s: 600 },
      { type: 'block_ip' as const, target: '2001:db8:1::/48', reason: 'dup' },
      { type: 'drain_server' as const, target: 'be_app/app1', reason: 'r' },
      { type: 'notify_only' as const, target: 'haproxy', reason: 'r' },
      { type: 'enable_server' as const, target: 'be_app/app2', reason: 'over the cap' },
    ],
  };
  const { kept, dropped } = checkTargets(reply, { pseudonyms: new Map(), minPrefixV4: 16, minPrefixV6: 48, max: 3, model: 'm' });
  assert.deepEqual(kept.map((k) => `${k.type} ${k.target}`), ['block_ip 2001:db8:1::/48', 'drain_server be_app/app1', 'notify_only ']);
  assert.deepEqual(dropped.map((d) => d.why), ['CIDR too broad', 'too many recommendations']);
});

test('config: strict, with defaults', () => {
  const c = parseAnalysisConfig({});
  assert.equal(c.enabled, false);
  assert.equal(c.fast.max_retries, 1);
  assert.equal(c.strong, undefined);
  assert.throws(() => parseAnalysisConfig({ fast: { model: 'x', timeot_ms: 5 } }), /fast: Unrecognized key/);
  assert.throws(() => parseAnalysisConfig({ enabled: true, budget: { calls_per_hour: 0 } }), /budget.calls_per_hour/);
  // The old place of the operator's secret keys is refused with where they went, never dropped silently.
  assert.throws(() => parseAnalysisConfig({ redaction: { extra_secret_keys: ['tenant'] } }), /redaction\.extra_secret_keys: moved to redaction\.extra_secret_keys \(top level\)/);
  assert.deepEqual(parseAnalysisConfig({ redaction: { pseudonymise_ips: true } }).redaction, { pseudonymise_ips: true });
});

test('resolveApiKey: the file wins, then the named variable; blank means none', async () => {
  const { resolveApiKey } = await import('../../src/pipeline/analysis/analyser.js');
  const c = parseAnalysisConfig({ api_key_env: 'HM_KEY' });
  assert.equal(resolveApiKey(c, { HM_KEY: ' k1 \n' }, () => 'x'), 'k1');
  assert.equal(resolveApiKey(c, { HM_KEY: '  ' }, () => 'x'), null);
  const f = parseAnalysisConfig({ api_key_file: '/run/credentials/k' });
  assert.equal(resolveApiKey(f, { ANTHROPIC_API_KEY: 'env' }, (p) => (p === '/run/credentials/k' ? 'filekey\n' : '')), 'filekey');
});
