/**
 * The fixture runner behind `haproxy-manager rules test`: every shipped
 * rule's fixtures pass (including the normal-traffic ones, against all
 * rules), and the runner itself catches each kind of mismatch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFixtureReport, rulesTestCommand, runRuleFixtures } from '../../src/pipeline/triage/fixtures.js';
import { loadRules } from '../../src/pipeline/triage/load.js';

test('every shipped rule file has fixtures, every rule fires in them, and all of them pass', () => {
  const report = runRuleFixtures({ dir: 'config/rules' });
  const text = formatFixtureReport(report);
  assert.equal(report.passed, true, text);
  assert.deepEqual(report.missing, [], text);
  const loaded = loadRules({ dir: 'config/rules' });
  for (const f of loaded.files) {
    const stem = f.name.replace(/\.yaml$/, '');
    assert.ok(report.files.some((r) => r.path.endsWith(`fixtures/${stem}.log`)), `fixtures for ${f.name}`);
  }
  // The normal-traffic fixtures run against every rule and raise nothing medium or worse.
  const normal = report.files.filter((f) => /normal-/.test(f.path));
  assert.deepEqual(normal.map((f) => f.path.replace(/.*\//, '')).sort(), ['normal-broken-images.log', 'normal-crawler.log', 'normal-office.log', 'normal-spa.log', 'normal-uptime-monitor.log']);
  for (const f of normal) {
    assert.equal(f.scope, 'all');
    assert.ok(f.lines > 500, `${f.path}: ${f.lines} lines`);
  }
});

const RULES = `
rules:
  - name: probe
    description: a probe
    category: recon
    severity: medium
    filter: { kind: http, path: { pattern: '^/probe' } }
    group_by: ip
    condition: { type: count, threshold: 2, window: 1m }
    actions: [{ type: block_ip, ttl: 1h }]
  - name: never
    description: never fires in the fixture below
    category: recon
    severity: low
    filter: { kind: http, path: { pattern: '^/never' } }
    group_by: ip
    condition: { type: count, threshold: 1, window: 1m }
`;

const line = (ip: string, path: string, sec = 0) =>
  `Nov 25 14:00:${String(sec).padStart(2, '0')} lb haproxy[1]: ${ip}:40000 [25/Nov/2026:14:00:${String(sec).padStart(2, '0')}.000] web web/s1 0/0/0/1/1 404 100 - - ---- 1/1/0/0/0 0/0 "GET ${path} HTTP/1.1"`;

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'triage-fx-'));
  const shipped = join(root, 'shipped');
  const operator = join(root, 'operator');
  mkdirSync(join(shipped, 'fixtures'), { recursive: true });
  mkdirSync(join(operator, 'fixtures'), { recursive: true });
  writeFileSync(join(shipped, 'probes.yaml'), RULES);
  return { root, shipped, operator, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('mismatches are reported per line and make the result non-zero', () => {
  const d = dirs();
  try {
    writeFileSync(
      join(d.shipped, 'fixtures', 'probes.log'),
      [
        '# first probe: nothing yet (a line without expectation must produce nothing)',
        line('203.0.113.1', '/probe'),
        '# expect: {"rule": "probe", "subject": "203.0.113.9"}',
        line('203.0.113.1', '/probe', 1),
        '# expect: {"rule": "probe", "subject": "203.0.113.2"}',
        line('203.0.113.2', '/probe', 2),
        line('203.0.113.3', '/probe', 3),
        line('203.0.113.3', '/probe', 4),
        'this is not an haproxy line',
        '# expect: {"rule": "probe", "subjetc": "x"}',
        line('203.0.113.4', '/x', 5),
      ].join('\n'),
    );
    const report = runRuleFixtures({ dir: d.shipped });
    assert.equal(report.passed, false);
    const failures = report.files[0]?.failures ?? [];
    const at = (n: number) => failures.filter((f) => f.includes(`probes.log:${n}:`));
    assert.match(at(4)[0] ?? '', /expected \{"rule":"probe","subject":"203\.0\.113\.9"\}, got probe ip:203\.0\.113\.1/);
    assert.match(at(4)[1] ?? '', /unexpected finding probe ip:203\.0\.113\.1/);
    assert.match(at(6)[0] ?? '', /expected .*203\.0\.113\.2.*got no finding/);
    assert.match(at(8)[0] ?? '', /unexpected finding probe ip:203\.0\.113\.3 \(medium, count 2, block\)/);
    assert.match(at(9)[0] ?? '', /did not parse/);
    assert.match(at(10)[0] ?? '', /unknown expectation key "subjetc"/);
    assert.ok(failures.some((f) => /rule never never fires/.test(f)), failures.join('\n'));
    let out = '';
    assert.equal(
      rulesTestCommand({ dir: d.shipped }, (s) => (out += s)),
      1,
    );
    assert.match(out, /^FAIL probes\.log/m);
    assert.match(out, /1 fixture files, 1 failed/);
  } finally {
    d.done();
  }
});

test('repeat, source/format, scope: all with tolerate, protected addresses; missing fixtures fail for shipped files only', () => {
  const d = dirs();
  try {
    writeFileSync(
      join(d.shipped, 'fixtures', 'probes.log'),
      [
        '# protected: 192.0.2.0/24',
        '# expect: {"rule": "probe", "subject": "203.0.113.1", "count": 2, "block": true}',
        '# repeat: 2',
        line('203.0.113.1', '/probe'),
        '# expect: {"rule": "probe", "subject": "192.0.2.7", "block": false}',
        '# repeat: 3',
        line('192.0.2.7', '/probe'),
        '# expect: {"rule": "never", "severity": "low"}',
        line('203.0.113.5', '/never'),
        '# source: app',
        '# format: text',
        '# expect: unparsed',
        '\u0001\u0002\u0003\u0004\u0005\u0006',
        '# expect: none',
        '2026-11-25 14:00:00 ERROR something broke',
      ].join('\n'),
    );
    // A scope: all fixture without a rule file; "never" (low) is tolerated, "probe" (medium) is not.
    writeFileSync(join(d.shipped, 'fixtures', 'normal.log'), ['# scope: all', '# tolerate: low', line('198.51.100.1', '/never'), line('198.51.100.1', '/probe', 1), line('198.51.100.1', '/probe', 2)].join('\n'));
    let report = runRuleFixtures({ dir: d.shipped });
    const probes = report.files.find((f) => f.path.endsWith('probes.log'));
    const normal = report.files.find((f) => f.path.endsWith('normal.log'));
    assert.deepEqual(probes?.failures, []);
    assert.equal(probes?.lines, 8);
    assert.equal(normal?.tolerated, 1);
    assert.equal(normal?.failures.length, 1);
    assert.match(normal?.failures[0] ?? '', /normal\.log:5: unexpected finding probe ip:198\.51\.100\.1 \(medium/);

    // A fixture for no rule file must say scope: all.
    writeFileSync(join(d.shipped, 'fixtures', 'normal.log'), line('198.51.100.1', '/x'));
    report = runRuleFixtures({ dir: d.shipped });
    assert.match(report.files.find((f) => f.path.endsWith('normal.log'))?.failures[0] ?? '', /no rule file normal\.yaml/);

    // An operator file without fixtures is a warning; a shipped one without is a failure.
    rmSync(join(d.shipped, 'fixtures', 'normal.log'));
    writeFileSync(join(d.operator, 'mine.yaml'), RULES.replace('name: probe', 'name: mine').replace('name: never', 'name: mine-never'));
    report = runRuleFixtures({ dir: d.shipped, operatorDir: d.operator });
    assert.equal(report.passed, true, formatFixtureReport(report));
    assert.match(formatFixtureReport(report), /^warn .*mine\.yaml: no fixtures/m);
    writeFileSync(join(d.shipped, 'other.yaml'), RULES.replace('name: probe', 'name: other').replace('name: never', 'name: other-never'));
    report = runRuleFixtures({ dir: d.shipped, operatorDir: d.operator });
    assert.equal(report.passed, false);
    assert.match(formatFixtureReport(report), /^FAIL .*other\.yaml: no fixtures/m);
  } finally {
    d.done();
  }
});

test("an operator's replacement of a shipped file is tested with the operator's fixtures", () => {
  const d = dirs();
  try {
    writeFileSync(join(d.shipped, 'fixtures', 'probes.log'), ['# expect: {"rule": "never"}', line('203.0.113.5', '/never'), line('203.0.113.1', '/probe'), '# expect: {"rule": "probe"}', line('203.0.113.1', '/probe', 1)].join('\n'));
    assert.equal(runRuleFixtures({ dir: d.shipped }).passed, true);
    // The operator lowers the threshold to 1: the shipped fixture would now fail, the operator's own passes.
    writeFileSync(join(d.operator, 'probes.yaml'), RULES.replace('threshold: 2', 'threshold: 1'));
    writeFileSync(join(d.operator, 'fixtures', 'probes.log'), ['# expect: {"rule": "never"}', line('203.0.113.5', '/never'), '# expect: {"rule": "probe", "count": 1}', line('203.0.113.1', '/probe')].join('\n'));
    const report = runRuleFixtures({ dir: d.shipped, operatorDir: d.operator });
    assert.equal(report.passed, true, formatFixtureReport(report));
    assert.ok(report.files[0]?.path.startsWith(d.operator));
  } finally {
    d.done();
  }
});
