/**
 * The daemon config's `analysis:` section (src/config/schema.ts with the
 * settings of src/config/analysis.ts, checks in src/config/load.ts):
 * defaults, strict keys, plain http only to loopback, a relative key file
 * resolved next to the config file, and a zero call budget refused when on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

const SOURCE = '/etc/hm/config.yaml';

const ok = (yaml: string, source: string | null = SOURCE): Config => parseConfig(yaml, source, { env: {} });

function errorLines(yaml: string): string[] {
  try {
    parseConfig(yaml, SOURCE, { env: {} });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.message, e.lines.join('\n'));
    return e.lines;
  }
  assert.fail(`expected ${JSON.stringify(yaml)} to be refused`);
}

test('defaults: analysis is off, with the documented settings', () => {
  const a = ok('').analysis;
  assert.equal(a.enabled, false);
  assert.equal(a.base_url, 'https://api.anthropic.com');
  assert.equal(a.api_key_env, 'ANTHROPIC_API_KEY');
  assert.equal(a.api_key_file, undefined);
  assert.equal(a.fast.model, 'claude-haiku-4-5');
  assert.equal(a.fast.timeout_ms, 30_000);
  assert.equal(a.fast.max_retries, 1);
  assert.equal(a.strong, undefined);
  assert.deepEqual(a.strong_for_severities, ['high', 'critical']);
  assert.deepEqual(a.budget, { calls_per_hour: 60, tokens_per_day: 500_000 });
  assert.deepEqual(a.cache, { max_entries: 1000, ttl_s: 21_600, max_age_s: 86_400 });
  assert.deepEqual(a.batch, { max_items: 10, max_wait_s: 60, max_wait_below_high_s: 600, fold: true });
  assert.equal(a.backoff_s, 60);
  assert.equal(a.backoff_max_s, 900);
  assert.equal(a.max_reply_bytes, 1024 * 1024);
  assert.deepEqual(a.redaction, { pseudonymise_ips: false });
  // An empty section is the same as none.
  assert.deepEqual(ok('analysis: {}\n').analysis, a);
  // Given values are kept, the rest defaulted.
  const b = ok('analysis:\n  budget:\n    calls_per_hour: 5\n  strong:\n    model: claude-sonnet-4-5\n').analysis;
  assert.deepEqual(b.budget, { calls_per_hour: 5, tokens_per_day: 500_000 });
  assert.equal(b.strong?.model, 'claude-sonnet-4-5');
  assert.equal(b.strong?.timeout_ms, 30_000);
  assert.equal(b.fast.model, 'claude-haiku-4-5');
});

test('a cached analysis lives at most max_age_s, which is at least ttl_s; the batch waits are bounded', () => {
  assert.deepEqual(errorLines('analysis:\n  cache:\n    ttl_s: 90000\n'), ['analysis.cache.max_age_s: must be at least ttl_s (90000)']);
  assert.deepEqual(ok('analysis:\n  cache:\n    ttl_s: 90000\n    max_age_s: 90000\n').analysis.cache, { max_entries: 1000, ttl_s: 90_000, max_age_s: 90_000 });
  assert.match(errorLines('analysis:\n  cache:\n    max_age_s: 0\n')[0]!, /^analysis\.cache\.max_age_s: /);
  assert.match(errorLines('analysis:\n  batch:\n    max_wait_below_high_s: 3601\n')[0]!, /^analysis\.batch\.max_wait_below_high_s: /);
  assert.match(errorLines('analysis:\n  batch:\n    max_wait_below_high_s: "10"\n')[0]!, /^analysis\.batch\.max_wait_below_high_s: /);
});

test('the back-off cap is at least backoff_s; the reply cap is bounded', () => {
  assert.deepEqual(errorLines('analysis:\n  backoff_s: 120\n  backoff_max_s: 60\n'), ['analysis.backoff_max_s: must be at least backoff_s (120)']);
  assert.equal(ok('analysis:\n  backoff_s: 120\n  backoff_max_s: 120\n').analysis.backoff_max_s, 120);
  assert.match(errorLines('analysis:\n  max_reply_bytes: 100\n')[0]!, /^analysis\.max_reply_bytes: /);
  assert.match(errorLines('analysis:\n  max_reply_bytes: 1073741824\n')[0]!, /^analysis\.max_reply_bytes: /);
});

test('an unknown key under analysis is refused, naming analysis.<key>', () => {
  assert.deepEqual(errorLines('analysis:\n  enable: true\n'), ['analysis: unknown key "enable"']);
  assert.deepEqual(errorLines('analysis:\n  api_key: sk-ant-not-here\n'), ['analysis: unknown key "api_key"']);
  assert.deepEqual(errorLines('analysis:\n  budget:\n    calls_per_day: 10\n'), ['analysis.budget: unknown key "calls_per_day"']);
  assert.deepEqual(errorLines('analysis:\n  fast:\n    model: m\n    temperature: 0\n'), ['analysis.fast: unknown key "temperature"']);
  // Bad values name their key too.
  assert.match(errorLines('analysis:\n  enabled: yes please\n')[0]!, /^analysis\.enabled: /);
  assert.match(errorLines('analysis:\n  api_key_env: lower-case\n')[0]!, /^analysis\.api_key_env: /);
  assert.match(errorLines('analysis:\n  base_url: not a url\n')[0]!, /^analysis\.base_url: /);
  assert.match(errorLines('analysis:\n  strong_for_severities: [severe]\n')[0]!, /^analysis\.strong_for_severities\.0: /);
});

test('enabled with plain http to a non-loopback host is refused; loopback and https are accepted', () => {
  const lines = errorLines('analysis:\n  enabled: true\n  base_url: http://api.example.com\n');
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /^analysis\.base_url: http:\/\/ to api\.example\.com would send log samples unencrypted; use https:\/\//);
  // Not only the obvious spelling.
  assert.match(errorLines('analysis:\n  enabled: true\n  base_url: http://10.0.0.5:8080/v1\n')[0]!, /^analysis\.base_url: .*10\.0\.0\.5/);
  assert.match(errorLines('analysis:\n  enabled: true\n  base_url: http://127.0.0.1.example.com\n')[0]!, /^analysis\.base_url: /);

  for (const url of ['http://127.0.0.1:9999', 'http://[::1]:9999/', 'http://localhost:9999', 'https://api.example.com', 'https://api.anthropic.com']) {
    const a = ok(`analysis:\n  enabled: true\n  base_url: ${JSON.stringify(url)}\n`).analysis;
    assert.equal(a.enabled, true, url);
    assert.equal(a.base_url, url);
  }
  // Off: the URL is not used, so it is not judged.
  assert.equal(ok('analysis:\n  base_url: http://api.example.com\n').analysis.enabled, false);
});

test('a relative api_key_file is resolved next to the config file; an absolute one is kept', () => {
  assert.equal(ok('analysis:\n  api_key_file: secrets/anthropic.key\n').analysis.api_key_file, '/etc/hm/secrets/anthropic.key');
  assert.equal(ok('analysis:\n  api_key_file: ../keys/a.key\n', '/srv/hm/conf/config.yaml').analysis.api_key_file, '/srv/hm/keys/a.key');
  assert.equal(ok('analysis:\n  api_key_file: /run/credentials/hm/anthropic\n').analysis.api_key_file, '/run/credentials/hm/anthropic');
  assert.match(errorLines('analysis:\n  api_key_file: ""\n')[0]!, /^analysis\.api_key_file: /);
});

test('budget.calls_per_hour 0 is refused when analysis is enabled, allowed when it is off', () => {
  assert.deepEqual(errorLines('analysis:\n  enabled: true\n  budget:\n    calls_per_hour: 0\n'), ['analysis.budget.calls_per_hour: must be > 0 when analysis is enabled']);
  assert.equal(ok('analysis:\n  enabled: false\n  budget:\n    calls_per_hour: 0\n').analysis.budget.calls_per_hour, 0);
  assert.match(errorLines('analysis:\n  budget:\n    calls_per_hour: -1\n')[0]!, /^analysis\.budget\.calls_per_hour: /);
});
