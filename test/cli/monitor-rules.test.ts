/**
 * `monitor explain` and `monitor replay` with the operator's rules, as
 * `rules test` takes them: `--local <dir>` over the shipped rules, or the
 * configuration's monitor.rules_dir through `-c`; without either, the
 * shipped rules alone.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, HTTP_LINE } from './run-cli.js';

const RULE = `rules:
  - name: operator-probe
    description: a request for the operator's own canary path
    category: recon
    severity: low
    filter:
      kind: http
      path:
        pattern: '^/operator-canary'
    group_by: ip
    condition:
      type: count
      threshold: 1
      window: 1m
    actions:
      - type: notify
`;

let dir: string;
let rulesDir: string;
let cfg: string;
let log: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hm-cli-rules-'));
  rulesDir = join(dir, 'rules.d');
  mkdirSync(rulesDir);
  writeFileSync(join(rulesDir, 'operator.yaml'), RULE);
  cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `state_dir: ${join(dir, 'state')}\nmonitor:\n  rules_dir: ${rulesDir}\n`);
  log = join(dir, 'a.log');
  writeFileSync(log, `${HTTP_LINE.replace('/.env?x=1', '/operator-canary')}\n${HTTP_LINE}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const explained = async (args: string[]) => {
  const r = await cli(['monitor', 'explain', log, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { rules: string[] }).rules);
};
const replayed = async (args: string[]) => {
  const r = await cli(['monitor', 'replay', log, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trimEnd().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { rule: string }).rule);
};

describe('the operator rules in explain and replay', () => {
  test('explain: shipped rules alone without them; the operator rule with --local or -c; the shipped ones still', async () => {
    const none = await explained([]);
    assert.ok(!none[0]!.includes('operator-probe'));
    assert.ok(none[1]!.includes('sensitive-files'));
    for (const args of [['--local', rulesDir], ['-c', cfg]]) {
      const rows = await explained(args);
      assert.ok(rows[0]!.includes('operator-probe'), `${args.join(' ')}: ${JSON.stringify(rows)}`);
      assert.ok(rows[1]!.includes('sensitive-files'), 'the shipped rules are kept');
    }
  });

  test('replay: the operator rule opens its incident with --local or -c, not without', async () => {
    assert.ok(!(await replayed([])).includes('operator-probe'));
    assert.ok((await replayed(['--local', rulesDir])).includes('operator-probe'));
    assert.ok((await replayed(['-c', cfg])).includes('operator-probe'));
  });

  test('a broken operator rule file: exit 2 naming it', async () => {
    const bad = join(dir, 'bad.d');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'bad.yaml'), 'rules:\n  - name: Bad Name\n');
    const r = await cli(['monitor', 'explain', log, '--local', bad]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /invalid rules:[\s\S]*bad\.yaml/);
  });
});
