/**
 * Loading rules: shipped files, operator overrides, and errors that name the
 * file, the key and the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRules, parseRuleFile, RuleLoadError } from '../../src/pipeline/triage/load.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { http, T0 } from './helpers.js';

const GOOD = `
rules:
  - name: probe
    description: a probe
    category: recon
    severity: medium
    filter:
      kind: http
      path: { pattern: '^/probe', ignore_case: true }
    group_by: ip
    condition: { type: count, threshold: 1, window: 1m }
    actions:
      - type: block_ip
        ttl: 1h
`;

function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof RuleLoadError) return e.lines;
    throw e;
  }
  assert.fail('expected a RuleLoadError');
}

function tempDirs() {
  const root = mkdtempSync(join(tmpdir(), 'triage-rules-'));
  const shipped = join(root, 'shipped');
  const operator = join(root, 'operator');
  mkdirSync(shipped);
  mkdirSync(operator);
  return { root, shipped, operator, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('the shipped rules load and compile', () => {
  const { files, rules } = loadRules({ dir: 'config/rules' });
  assert.ok(files.length >= 10);
  assert.ok(rules.length >= 25);
  const t = createTriage(rules);
  assert.equal(t.rules.length, rules.filter((r) => r.enabled).length);
});

test('a good file parses, with defaults filled in', () => {
  const [r] = parseRuleFile(GOOD, 'x.yaml');
  assert.equal(r?.enabled, true);
  assert.equal(r?.escalate, false);
  assert.equal(r?.filter.path?.decode, false);
});

test('errors name the file, the rule, the key and the reason', () => {
  const cases: [string, RegExp][] = [
    [GOOD.replace('threshold: 1', 'threshold: 0'), /^f\.yaml: rules\[0\] \(probe\)\.condition\.threshold: /],
    [GOOD.replace('window: 1m', 'window: 1 minute'), /^f\.yaml: rules\[0\] \(probe\)\.condition\.window: a duration such as/],
    [GOOD.replace("pattern: '^/probe'", "pattern: '^/(probe'"), /^f\.yaml: rules\[0\] \(probe\)\.filter\.path\.pattern: invalid regular expression/],
    [GOOD.replace('kind: http', 'kind: http\n      paht: /x'), /^f\.yaml: rules\[0\] \(probe\)\.filter: unknown key "paht"/],
    [GOOD.replace('group_by: ip', 'group_by: backend'), /^f\.yaml: rules\[0\] \(probe\)\.actions\[0\]: block_ip needs group_by: ip/],
    [GOOD.replace('severity: medium', 'severity: urgent'), /^f\.yaml: rules\[0\] \(probe\)\.severity: /],
    [GOOD.replace('type: count, threshold: 1, window: 1m', 'type: sliding, threshold: 1, window: 1m'), /^f\.yaml: rules\[0\] \(probe\)\.condition\.type: /],
    [GOOD.replace("path: { pattern: '^/probe', ignore_case: true }", "path: { prefix: ['/a'], pattern: '^/b' }"), /^f\.yaml: rules\[0\] \(probe\)\.filter\.path: give exactly one of equals, prefix or pattern/],
    [GOOD.replace('name: probe', 'name: Probe_1'), /^f\.yaml: rules\[0\] \(Probe_1\)\.name: lower-case letters/],
    [GOOD + GOOD.replace('rules:\n', ''), /^f\.yaml: rules\[1\]\.name: "probe" appears twice in this file/],
    ['rules:\n  - name: x\n   bad indent', /^f\.yaml: \(yaml\) /],
    ['', /^f\.yaml: \(root\): the file is empty/],
    ['- a\n- b\n', /^f\.yaml: \(root\): must be a mapping/],
  ];
  for (const [text, re] of cases) {
    const lines = errorsOf(() => parseRuleFile(text, 'f.yaml'));
    assert.ok(lines.some((l) => re.test(l)), `${re} in:\n${lines.join('\n')}`);
  }
});

test('every bad file is reported at once, each line naming its file', () => {
  const d = tempDirs();
  try {
    writeFileSync(join(d.shipped, 'a.yaml'), GOOD.replace('threshold: 1', 'threshold: -1'));
    writeFileSync(join(d.shipped, 'b.yaml'), GOOD.replace('name: probe', 'name: probe-b').replace('ttl: 1h', 'ttl: forever'));
    writeFileSync(join(d.shipped, 'c.yml'), GOOD);
    const lines = errorsOf(() => loadRules({ dir: d.shipped }));
    assert.ok(lines.some((l) => l.startsWith(join(d.shipped, 'a.yaml') + ': rules[0] (probe).condition.threshold')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(join(d.shipped, 'b.yaml') + ': rules[0] (probe-b).actions[0].ttl')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(join(d.shipped, 'c.yml') + ': (file): rule files end in .yaml')), lines.join('\n'));
  } finally {
    d.done();
  }
});

test('a rule name defined in two files names both', () => {
  const d = tempDirs();
  try {
    writeFileSync(join(d.shipped, 'a.yaml'), GOOD);
    writeFileSync(join(d.operator, 'b.yaml'), GOOD);
    const lines = errorsOf(() => loadRules({ dir: d.shipped, operatorDir: d.operator }));
    assert.deepEqual(lines, [`${join(d.operator, 'b.yaml')}: rules[0].name: "probe" is already defined in ${join(d.shipped, 'a.yaml')}`]);
  } finally {
    d.done();
  }
});

test('operator files replace shipped files of the same name and add new ones; rules: [] switches a file off', () => {
  const d = tempDirs();
  try {
    writeFileSync(join(d.shipped, 'probes.yaml'), GOOD);
    writeFileSync(join(d.shipped, 'other.yaml'), GOOD.replace('name: probe', 'name: other').replace('^/probe', '^/other'));
    // The operator raises the threshold of "probe" and adds a rule of their own.
    writeFileSync(join(d.operator, 'probes.yaml'), GOOD.replace('threshold: 1', 'threshold: 2'));
    writeFileSync(join(d.operator, 'local.yaml'), GOOD.replace('name: probe', 'name: local-rule').replace('^/probe', '^/local'));
    let loaded = loadRules({ dir: d.shipped, operatorDir: d.operator });
    assert.deepEqual(
      loaded.files.map((f) => [f.name, f.origin]),
      [
        ['local.yaml', 'operator'],
        ['other.yaml', 'shipped'],
        ['probes.yaml', 'operator'],
      ],
    );
    const t = createTriage(loaded.rules);
    assert.equal(t.process(http(T0, { path: '/probe' }), 'haproxy').length, 0, 'the operator threshold (2) applies');
    assert.equal(t.process(http(T0 + 1, { path: '/probe' }), 'haproxy')[0]?.rule, 'probe');
    assert.equal(t.process(http(T0, { path: '/local' }), 'haproxy')[0]?.rule, 'local-rule');

    writeFileSync(join(d.operator, 'other.yaml'), 'rules: []\n');
    loaded = loadRules({ dir: d.shipped, operatorDir: d.operator });
    assert.deepEqual(loaded.rules.map((r) => r.name).sort(), ['local-rule', 'probe']);

    // enabled: false keeps a rule in the file but out of the engine.
    writeFileSync(join(d.operator, 'local.yaml'), GOOD.replace('name: probe', 'name: local-rule\n    enabled: false'));
    const t2 = createTriage(loadRules({ dir: d.shipped, operatorDir: d.operator }).rules);
    assert.deepEqual(t2.rules, ['probe']);
  } finally {
    d.done();
  }
});

test('a missing operator directory is no error; a missing rules directory is', () => {
  const d = tempDirs();
  try {
    writeFileSync(join(d.shipped, 'a.yaml'), GOOD);
    assert.equal(loadRules({ dir: d.shipped, operatorDir: join(d.root, 'nope') }).rules.length, 1);
    assert.match(errorsOf(() => loadRules({ dir: join(d.root, 'nope') }))[0] ?? '', /the rules directory does not exist/);
  } finally {
    d.done();
  }
});
