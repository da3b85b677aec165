/**
 * The policy's `analyse:` section: which incidents go to the LLM tier
 * (analyseEntry in src/pipeline/policy/decide.ts), on the shipped
 * config/policy.yaml, and how parsePolicy checks the section; and its
 * `settled:` section, which keeps incidents the rules settle alone from the
 * LLM tier whatever `analyse` says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPolicy, parsePolicy, PolicyLoadError } from '../../src/pipeline/policy/load.js';
import { analyseEntry, decide, settledEntry } from '../../src/pipeline/policy/decide.js';
import { loadRules } from '../../src/pipeline/triage/load.js';
import { compileRule } from '../../src/pipeline/triage/compile.js';
import { SHIPPED_RULES_DIR } from '../../src/monitor/monitor.js';
import type { Incident } from '../../src/pipeline/incidents/group.js';
import { makeIncident } from '../helpers/incident.js';

const SHIPPED = join(import.meta.dirname, '../../config/policy.yaml');
const policy = loadPolicy({ file: SHIPPED, operatorFile: null }).policy;
const NOW = Date.UTC(2026, 10, 25, 14, 0, 0);

const incident = (over: Partial<Incident> = {}): Incident => makeIncident({ id: 11, count: 40, ...over }, NOW);

function errorsOf(text: string): string[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof PolicyLoadError, `expected a PolicyLoadError, got ${String(e)}`);
    assert.equal(e.message, e.lines.join('\n'));
    return e.lines;
  }
  assert.fail(`expected the policy to be refused:\n${text}`);
}

const withAnalyse = (entries: string) => `version: 1\nanalyse:\n${entries}\nrules: []\n`;

test('the shipped policy has the three documented analyse entries, all enabled', () => {
  assert.deepEqual(
    policy.analyse.map((e) => e.name),
    ['novel-app-errors', 'severe-availability', 'rule-asks'],
  );
  assert.ok(policy.analyse.every((e) => e.enabled));
});

test('shipped policy: a rule that asks for analysis (escalate: true) is sent by rule-asks', () => {
  assert.equal(analyseEntry(policy, incident({ escalate: true })), 'rule-asks');
  // Whatever the category or severity.
  assert.equal(analyseEntry(policy, incident({ escalate: true, category: 'flood', severity: 'info' })), 'rule-asks');
  assert.equal(analyseEntry(policy, incident({ escalate: true, category: 'exposure', severity: 'high' })), 'rule-asks');
});

test('shipped policy: a novel application error is sent by novel-app-errors', () => {
  const inc = incident({ rule: 'novel-app-error', category: 'app-errors', severity: 'low', subject: { type: 'backend', value: 'api' }, actions: [] });
  assert.equal(analyseEntry(policy, inc), 'novel-app-errors');
});

test('shipped policy: a high (or worse) availability incident is sent by severe-availability', () => {
  const avail = (severity: Incident['severity']) =>
    incident({ rule: 'backend-down', category: 'availability', severity, subject: { type: 'backend', value: 'web' }, actions: [{ type: 'notify' }] });
  assert.equal(analyseEntry(policy, avail('high')), 'severe-availability');
  assert.equal(analyseEntry(policy, avail('critical')), 'severe-availability');
  // Below high: the rules settle it.
  assert.equal(analyseEntry(policy, avail('medium')), null);
  // app-errors is listed too.
  assert.equal(analyseEntry(policy, incident({ rule: 'error-rate', category: 'app-errors', severity: 'high' })), 'severe-availability');
});

test('shipped policy: a medium recon incident without escalate stays with the rules', () => {
  assert.equal(analyseEntry(policy, incident()), null);
  // Even a critical attack is not sent unless its rule asks.
  assert.equal(analyseEntry(policy, incident({ severity: 'critical', category: 'injection', rule: 'sql-injection' })), null);
});

test('the first matching entry names the trigger', () => {
  // escalate and novel both hold (novelty findings always ask): the specific entry comes first in the file.
  const inc = incident({ rule: 'novel-app-error', category: 'app-errors', escalate: true });
  assert.equal(analyseEntry(policy, inc), 'novel-app-errors');
  // A high availability incident whose rule asks is named by severe-availability.
  assert.equal(analyseEntry(policy, incident({ rule: 'backend-5xx-storm', category: 'availability', severity: 'high', escalate: true })), 'severe-availability');
});

test('a disabled entry never matches', () => {
  const p = parsePolicy(
    withAnalyse(['  - name: off', '    enabled: false', '    match: { escalate: true }', '  - name: everything-high', '    match: { severity_at_least: high }'].join('\n')),
    'p.yaml',
  );
  assert.equal(p.analyse[0]?.enabled, false);
  assert.equal(analyseEntry(p, incident({ escalate: true })), null);
  assert.equal(analyseEntry(p, incident({ escalate: true, severity: 'high' })), 'everything-high');
  // All disabled: nothing is ever sent.
  const none = parsePolicy(withAnalyse('  - name: off\n    enabled: false\n    match: {}'), 'p.yaml');
  assert.equal(analyseEntry(none, incident({ escalate: true, severity: 'critical' })), null);
});

test('an entry with an empty match sends everything; rule globs and subject types work as in rules', () => {
  const all = parsePolicy(withAnalyse('  - name: all\n    match: {}'), 'p.yaml');
  assert.equal(analyseEntry(all, incident()), 'all');
  const globbed = parsePolicy(withAnalyse("  - name: novel\n    match: { rule: 'novel-*', subject_type: backend }"), 'p.yaml');
  assert.equal(analyseEntry(globbed, incident({ rule: 'novel-app-error', subject: { type: 'backend', value: 'api' } })), 'novel');
  assert.equal(analyseEntry(globbed, incident({ rule: 'novel-app-error' })), null);
  assert.equal(analyseEntry(globbed, incident({ rule: 'path-enumeration', subject: { type: 'backend', value: 'api' } })), null);
});

test('parsePolicy: a policy without analyse parses to analyse: []', () => {
  const p = parsePolicy('version: 1\nrules: []\n', 'p.yaml');
  assert.deepEqual(p.analyse, []);
  assert.equal(analyseEntry(p, incident({ escalate: true, severity: 'critical' })), null);
});

test('parsePolicy: an analyse entry may not match on the analysis (there is none yet)', () => {
  const lines = errorsOf(withAnalyse('  - name: needs-llm\n    match:\n      analysis: { present: true }'));
  assert.deepEqual(lines, ['p.yaml: analyse[0].match: unknown key "analysis"']);
});

test('parsePolicy: an unknown key in an analyse entry is named with its path', () => {
  assert.deepEqual(errorsOf(withAnalyse('  - name: ok\n    match: {}\n  - name: typo\n    mode: enforce\n    match: {}')), ['p.yaml: analyse[1]: unknown key "mode"']);
  assert.deepEqual(errorsOf(withAnalyse('  - name: typo\n    match: { categroy: recon }')), ['p.yaml: analyse[0].match: unknown key "categroy"']);
});

test('parsePolicy: a bad analyse entry name is refused with its path', () => {
  for (const name of ['Rule-Asks', '-lead', 'has space', 'x'.repeat(65)]) {
    const lines = errorsOf(withAnalyse(`  - name: ${JSON.stringify(name)}\n    match: {}`));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^p\.yaml: analyse\[0\]\.name: lower-case letters, digits and dashes, at most 64$/);
  }
});

test('parsePolicy: an analyse entry needs a match, and bad match values are named', () => {
  assert.match(errorsOf(withAnalyse('  - name: nomatch'))[0]!, /^p\.yaml: analyse\[0\]\.match: /);
  assert.match(errorsOf(withAnalyse('  - name: sev\n    match: { severity_at_least: severe }'))[0]!, /^p\.yaml: analyse\[0\]\.match\.severity_at_least: /);
  assert.match(errorsOf('version: 1\nanalyse: { name: x }\nrules: []\n')[0]!, /^p\.yaml: analyse: /);
});

test('an analyse entry name used twice is refused, naming both the entry and the key', () => {
  assert.throws(
    () => parsePolicy(withAnalyse('  - name: a\n    match: { escalate: true }\n  - name: a\n    match: { severity_at_least: high }'), 'p.yaml'),
    (e: unknown) => e instanceof PolicyLoadError && e.lines.length === 1 && e.lines[0] === 'p.yaml: analyse[1] (a).name: appears twice in this file',
  );
});

const withSettled = (entries: string, analyse = '  - name: all\n    match: {}') => `version: 1\nsettled:\n${entries}\nanalyse:\n${analyse}\nrules: []\n`;

const serverDown = (over: Partial<Incident> = {}) =>
  incident({ rule: 'server-down', category: 'availability', severity: 'high', subject: { type: 'server', value: 'be_shop/s1' }, actions: [{ type: 'notify' }], ...over });

test('shipped policy: a server marked DOWN is settled by its rule (settled: server-down) though severe-availability matches it', () => {
  assert.deepEqual(policy.settled.map((e) => e.name), ['server-down']);
  assert.equal(settledEntry(policy, serverDown()), 'server-down');
  assert.equal(analyseEntry(policy, serverDown()), null);
  // Without the settled entry it would have gone, by severe-availability.
  assert.equal(analyseEntry({ ...policy, settled: [] }, serverDown()), 'severe-availability');
  // What follows from it is still analysed: the storm, the backend with no server, the flapping server.
  assert.equal(analyseEntry(policy, incident({ rule: 'backend-5xx-storm', category: 'availability', severity: 'high', escalate: true, subject: { type: 'backend', value: 'be_shop' } })), 'severe-availability');
  assert.equal(analyseEntry(policy, incident({ rule: 'backend-no-server', category: 'availability', severity: 'critical', escalate: true, subject: { type: 'backend', value: 'be_shop' } })), 'severe-availability');
  assert.equal(analyseEntry(policy, serverDown({ rule: 'server-flapping', escalate: true })), 'severe-availability');
});

test('shipped policy: what settles a server-down is the rule\'s own notify, enforced, and nothing else', () => {
  const ds = decide(policy, serverDown(), null, { now: NOW, recentActions: [], currentBlocks: 0, isProtected: () => false, protectedRanges: [] });
  assert.deepEqual(ds.map((d) => [d.action, d.origin, d.mode, d.policyRule]), [['notify', 'rules', 'enforce', 'rules-rest']]);
});

test('shipped data: a settled entry never holds back an incident whose triage rule asks for analysis (escalate: true)', () => {
  const rules = loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: null }).rules.map((r) => compileRule(r, 10));
  const held = rules.filter((r) => settledEntry(policy, incident({ rule: r.name, category: r.category, severity: r.severity, subject: { type: r.subjectType, value: 'x' }, escalate: r.escalate })));
  assert.deepEqual(held.map((r) => r.name), ['server-down'], 'the shipped settled entries match exactly these shipped rules');
  for (const r of held) assert.equal(r.escalate, false, `${r.name} asks for analysis but is settled`);
});

test('settled entries: checked before analyse, a disabled one holds nothing back, matches as analyse does', () => {
  const p = parsePolicy(withSettled('  - name: down\n    description: health checks settle it\n    match: { rule: \'server-*\', subject_type: server }'), 'p.yaml');
  assert.equal(settledEntry(p, serverDown()), 'down');
  assert.equal(analyseEntry(p, serverDown()), null);
  assert.equal(analyseEntry(p, serverDown({ subject: { type: 'backend', value: 'be_shop' } })), 'all', 'another subject type is not matched');
  assert.equal(analyseEntry(p, incident()), 'all');
  const off = parsePolicy(withSettled('  - name: down\n    description: health checks settle it\n    enabled: false\n    match: { rule: server-down }'), 'p.yaml');
  assert.equal(settledEntry(off, serverDown()), null);
  assert.equal(analyseEntry(off, serverDown()), 'all');
  // No settled section: nothing is held back.
  assert.deepEqual(parsePolicy('version: 1\nrules: []\n', 'p.yaml').settled, []);
});

test('parsePolicy: a settled entry needs a description (why the rules settle it), a unique name, and no analysis match', () => {
  assert.deepEqual(errorsOf(withSettled('  - name: down\n    match: { rule: server-down }')), ['p.yaml: settled[0].description: is required: say why the rules settle these incidents']);
  assert.deepEqual(errorsOf(withSettled('  - name: down\n    description: ""\n    match: { rule: server-down }')).length, 1);
  assert.deepEqual(
    errorsOf(withSettled('  - name: down\n    description: a\n    match: {}\n  - name: down\n    description: b\n    match: {}')),
    ['p.yaml: settled[1] (down).name: appears twice in this file'],
  );
  assert.deepEqual(errorsOf(withSettled('  - name: down\n    description: a\n    match:\n      analysis: { present: false }')), ['p.yaml: settled[0].match: unknown key "analysis"']);
  assert.deepEqual(errorsOf(withSettled('  - name: down\n    description: a\n    match: { rule: server-down }\n    send: false')), ['p.yaml: settled[0]: unknown key "send"']);
});
