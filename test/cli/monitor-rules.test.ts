/**
 * `monitor explain` and `monitor replay` with the operator's rules, as
 * `rules test` takes them: `--local <dir>` over the shipped rules, or the
 * configuration's monitor.rules_dir through `-c`; without either, the
 * shipped rules alone. The same with `monitor replay --threads`.
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

  test('replay --threads 2: the operator rule runs in the shards too; a bad thread count is exit 2 and replays nothing', async () => {
    assert.ok(!(await replayed(['--threads', '2'])).includes('operator-probe'));
    assert.deepEqual(await replayed(['--threads', '2', '--local', rulesDir]), await replayed(['--threads', '1', '--local', rulesDir]));
    assert.deepEqual(await replayed(['--threads', 'auto', '--local', rulesDir]), await replayed(['--threads', '1', '--local', rulesDir]));
    assert.ok((await replayed(['--threads', '2', '-c', cfg])).includes('operator-probe'));
    for (const bad of ['0', '65', '1.5', 'two', '-1', ' 2']) {
      const r = await cli(['monitor', 'replay', log, '--threads', bad]);
      assert.equal(r.code, 2, `--threads ${bad}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /--threads must be a whole number from 1 to 64 or auto/);
      assert.equal(r.stdout, '', 'nothing replayed');
      const j = await cli(['monitor', 'replay', log, '--json', '--threads', bad]);
      assert.equal(j.code, 2);
      assert.deepEqual(JSON.parse(j.stdout), { ok: false, exit_code: 2, errors: [{ path: '--threads', message: 'a whole number from 1 to 64, or auto' }] });
    }
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
