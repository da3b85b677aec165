/**
 * Allow entries and rule-level `except`, and the checks on signature
 * entries: the migration tool's .sql downloads are left alone while the
 * same rule still counts everything the entry does not name, and a path
 * that only looks inside the allowed folder before normalization is not
 * allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRules, parseRuleFileFull, RuleLoadError, withAllow } from '../../src/pipeline/triage/load.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { parseLine } from '../../src/pipeline/parse/index.js';
import { runFixture } from '../../src/pipeline/triage/fixtures.js';

const line = (ip: string, path: string, sec: number, backend = 'migrations', host = 'migrate.example.com', status = 200) =>
  `Nov 25 14:00:${String(sec).padStart(2, '0')} lb haproxy[1]: ${ip}:40000 [25/Nov/2026:14:00:${String(sec).padStart(2, '0')}.000] web~ ${backend}/s1 0/0/0/1/1 ${status} 100 - - ---- 1/1/0/0/0 0/0 {${host}|migrate/4.17} "GET ${path} HTTP/1.1"`;

function shippedWithExample() {
  const { rules } = loadRules({ dir: 'config/rules' });
  const ex = parseRuleFileFull(readFileSync('config/rules/examples/allow-migration-tool.yaml', 'utf8'), 'example');
  return withAllow(rules, [{ label: 'example', allow: ex.allow }]);
}

test('the example allow entry leaves the migration tool alone, and only it', () => {
  const engine = createTriage(shippedWithExample());
  const run = (ip: string, paths: string[], backend?: string, host?: string) =>
    paths.flatMap((p, i) => engine.process(parseLine(line(ip, p, i, backend, host), 'haproxy', { now: Date.UTC(2026, 10, 26) }), 'haproxy')).filter((f) => f.rule === 'backup-files');
  assert.deepEqual(run('10.20.0.5', ['/data/migrations/001_a.sql', '/data/migrations/002_b.sql', '//data/migrations/./003_c.sql']), []);
  // The same files on another backend are counted.
  assert.equal(run('10.20.0.6', ['/data/migrations/001_a.sql', '/data/migrations/002_b.sql', '/data/migrations/003_c.sql'], 'web-backend').length, 1);
  // Escaping the folder with dot segments (raw or encoded) is not allowed: the entry reads the normalized path.
  assert.equal(run('10.20.0.7', ['/data/migrations/../../db.sql', '/data/migrations/..%2f..%2fdump.sql', '/data/migrations/%2e%2e/%2e%2e/backup.sql']).length, 1);
  const st = engine.stats().rules.find((r) => r.name === 'backup-files');
  assert.equal(st?.allowed, 3);
});

test('an allow entry naming no rule, and a signature with a back-reference, are load errors naming the file and key', () => {
  const root = mkdtempSync(join(tmpdir(), 'triage-allow-'));
  try {
    mkdirSync(join(root, 'shipped'));
    writeFileSync(join(root, 'shipped', 'a.yaml'), 'allow:\n  - rule: no-such-rule\n    reason: x\n    filter: {backend: {equals: [b]}}\n');
    assert.throws(() => loadRules({ dir: join(root, 'shipped') }), (e: unknown) => e instanceof RuleLoadError && /a\.yaml: allow\[0\]\.rule: no rule named "no-such-rule"/.test(e.message));
    writeFileSync(
      join(root, 'shipped', 'a.yaml'),
      `rules:
  - name: s
    description: d
    category: exploit
    severity: high
    filter: {kind: http}
    group_by: ip
    condition: {type: count, threshold: 1, window: 1m}
    signatures:
      - {id: x, family: rce, product: p, source: 'https://example.com/a', pattern: '(a)\\1', match: [/aa]}
      - {id: y, family: rce, product: p, source: 'http://example.com/a', pattern: 'b', match: [/b]}
`,
    );
    assert.throws(
      () => loadRules({ dir: join(root, 'shipped') }),
      (e: unknown) => e instanceof RuleLoadError && /signatures\[0\]\.pattern: numbered back-references/.test(e.message) && /signatures\[1\]\.source: an https:\/\/ URL/.test(e.message),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without its allow entry the migration corpus raises backup-files at medium (the entry is what keeps it clean)', () => {
  const { rules } = loadRules({ dir: 'config/rules' });
  const text = readFileSync('config/rules/fixtures/normal-migration-tool.log', 'utf8');
  const without = runFixture(text.replace(/^# include:.*$/m, ''), 'normal-migration-tool.log', rules, null, [], 'config/rules');
  assert.equal(without.passed, false);
  assert.match(without.failures.join('\n'), /unexpected finding backup-files ip:10\.20\.0\.5 \(medium/);
  const withIt = runFixture(text, 'normal-migration-tool.log', rules, null, [], 'config/rules');
  assert.deepEqual(withIt.failures, []);
});
