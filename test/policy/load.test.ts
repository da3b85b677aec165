/** Loading the policy: the shipped file, the operator's override, and errors naming file, rule and key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, parsePolicy, PolicyLoadError } from '../../src/pipeline/policy/load.js';

const SHIPPED = join(import.meta.dirname, '../../config/policy.yaml');

function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof PolicyLoadError) return e.lines;
    throw e;
  }
  assert.fail('expected a PolicyLoadError');
}

const rule = (body: string) => `version: 1\nrules:\n  - name: ok\n    actions: [{ type: notify, mode: enforce }]\n  - name: bad-one\n${body}\n`;

test('the shipped policy loads', () => {
  const l = loadPolicy({ file: SHIPPED, operatorFile: '/nonexistent/policy.yaml' });
  assert.equal(l.origin, 'shipped');
  assert.equal(l.policy.simulation, false);
  assert.ok(l.policy.rules.length >= 4);
  assert.deepEqual(l.policy.rules[0]?.match.category, ['watchdog']);
});

test('every key of the shipped file is commented', async () => {
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(SHIPPED, 'utf8').split('\n');
  const keys = new Set(lines.map((l) => /^\s*(?:- )?([a-z_]+):/.exec(l)?.[1]).filter((k): k is string => !!k));
  const comments = lines.filter((l) => /^\s*#/.test(l)).join('\n');
  for (const k of keys) assert.match(comments, new RegExp(`\\b${k}:`), `key ${k} has no comment`);
});

test('an operator file replaces the shipped one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'));
  try {
    const op = join(dir, 'policy.yaml');
    writeFileSync(op, 'version: 1\nsimulation: true\nrules: []\n');
    const l = loadPolicy({ file: SHIPPED, operatorFile: op });
    assert.equal(l.origin, 'operator');
    assert.equal(l.path, op);
    assert.equal(l.policy.simulation, true);
    writeFileSync(op, 'version: 1\nrules:\n  - name: x\n    on_match: maybe\n');
    assert.deepEqual(errorsOf(() => loadPolicy({ file: SHIPPED, operatorFile: op })), [`${op}: rules[0] (x).on_match: Invalid option: expected one of "stop"|"continue"`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors name the file, the rule and the key', () => {
  const cases: [string, RegExp][] = [
    [rule('    match: { categroy: recon }'), /^f\.yaml: rules\[1\] \(bad-one\)\.match: unknown key "categroy"$/],
    [rule('    actions: [{ type: block_ip, mode: enforce, ttl: 0s }]'), /^f\.yaml: rules\[1\] \(bad-one\)\.actions\[0\]\.ttl: .*a block always expires/],
    [rule('    actions: [{ type: block_ip, mode: enforce, ttl: 90d }]'), /rules\[1\] \(bad-one\)\.actions\[0\]\.ttl: must be between 1s and 30d/],
    [rule('    actions: [{ type: block_ip, mode: enforce, ttl: forever }]'), /\.actions\[0\]\.ttl: a duration/],
    [rule('    actions: [{ type: drop_tables, mode: enforce }]'), /\.actions\[0\]\.type: Invalid option/],
    [rule('    actions: [{ type: notify, mode: yolo }]'), /\.actions\[0\]\.mode: Invalid option/],
    [rule('    actions: [{ type: notify, mode: enforce, ttl: 1h }]'), /\.actions\[0\]\.ttl: ttl and repeat_offenders are for block_ip only/],
    [rule('    actions: [{ type: block_ip, from: policy, mode: enforce }]'), /\.actions\[0\]\.ttl: a block the policy makes itself/],
    [rule('    actions: [{ type: notify, from: somebody, mode: enforce }]'), /\.actions\[0\]\.from/],
    [rule('    match: { severity_at_least: severe }'), /\.match\.severity_at_least: Invalid option/],
    [rule('    match: { analysis: { confidence_at_least: 2 } }'), /\.match\.analysis\.confidence_at_least: /],
    [rule('    match: { rule: "Login(.*)" }'), /\.match\.rule: rule name patterns/],
    ['version: 1\nrules:\n  - name: Bad_Name\n', /rules\[0\] \(Bad_Name\)\.name: lower-case/],
    ['version: 2\nrules: []\n', /^f\.yaml: version: /],
    ['version: 1\nrules: []\nextra: 1\n', /^f\.yaml: \(root\): unknown key "extra"$/],
    ['version: 1\nrules:\n  - name: a\n  - name: a\n', /^f\.yaml: rules\[1\] \(a\)\.name: appears twice/],
    ['', /^f\.yaml: \(root\): the file is empty/],
    ['- 1\n', /^f\.yaml: \(root\): must be a mapping/],
    ['version: 1\nversion: 1\nrules: []\n', /^f\.yaml: \(yaml\) /],
  ];
  for (const [text, re] of cases) {
    const lines = errorsOf(() => parsePolicy(text, 'f.yaml'));
    assert.ok(lines.some((l) => re.test(l)), `${JSON.stringify(text)}:\n${lines.join('\n')}`);
  }
});

test('several problems come back together', () => {
  const lines = errorsOf(() => parsePolicy('version: 1\nrules:\n  - name: a\n    on_match: x\n  - name: b\n    match: { nope: 1 }\n', 'f.yaml'));
  assert.equal(lines.length, 2);
});

test('a missing file is named', () => {
  assert.match(errorsOf(() => loadPolicy({ file: '/nonexistent/policy.yaml' }))[0] ?? '', /^\/nonexistent\/policy\.yaml: \(file\): cannot read/);
});

test('one value or a list; defaults filled in', () => {
  const p = parsePolicy('version: 1\nrules:\n  - name: a\n    match: { category: recon }\n    actions: [{ type: notify, mode: enforce }]\n', 'f');
  const r = p.rules[0]!;
  assert.deepEqual(r.match.category, ['recon']);
  assert.deepEqual(r.actions[0]?.from, ['rules', 'llm']);
  assert.equal(r.on_match, 'stop');
  assert.equal(r.enabled, true);
});
