/**
 * --json on every command, success and failure alike: stdout is one JSON
 * document (or one object per line where the command streams), failures are
 * {"ok": false, "exit_code", "errors": [{"path"?, "message"}]} with the same
 * exit code as without --json, and nothing goes to stderr. The commands that
 * need a running daemon are in certs.test.ts; here they fail to reach one.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXIES, freePort } from '../helpers/harness.js';
import { cli, json, HTTP_LINE } from './run-cli.js';

type Failure = { ok: false; exit_code: number; errors: { path?: string; message: string }[] };

let dir: string;
let good: string;
let bad: string;
let noHaproxy: string;
let log: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hm-cli-json-'));
  good = join(dir, 'good.yaml');
  writeFileSync(good, `state_dir: ${join(dir, 'state')}\nhaproxy:\n  binary: ${HAPROXIES[0]!.bin}\nmonitor:\n  rules_dir: ${join(dir, 'no-rules.d')}\n  policy_file: ${join(dir, 'no-policy.yaml')}\n`);
  bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'haproxy:\n  http_port: 0\n  bogus: 1\n');
  noHaproxy = join(dir, 'no-haproxy.yaml');
  writeFileSync(noHaproxy, `state_dir: ${join(dir, 'state2')}\nhaproxy:\n  binary: ${join(dir, 'no-such-haproxy')}\n`);
  log = join(dir, 'a.log');
  writeFileSync(log, `${HTTP_LINE}\nnot a log line\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A --json failure: the exit code, JSON on stdout with the same code, nothing on stderr. */
function failure(r: Awaited<ReturnType<typeof cli>>, code: number): Failure {
  assert.equal(r.code, code, r.stdout + r.stderr);
  const j = json<Failure>(r);
  assert.equal(j.ok, false);
  assert.equal(j.exit_code, code);
  assert.ok(Array.isArray(j.errors) && j.errors.length > 0, r.stdout);
  for (const e of j.errors) assert.equal(typeof e.message, 'string');
  assert.equal(r.stderr, '', 'with --json, nothing on stderr');
  return j;
}

describe('config check --json', () => {
  test('an invalid file: exit 2, each problem as {path, message}', async () => {
    const j = failure(await cli(['config', 'check', '-c', bad, '--json']), 2);
    assert.ok(j.errors.some((e) => e.path === 'haproxy.http_port' && e.message.length > 0), JSON.stringify(j));
    assert.ok(j.errors.some((e) => e.path === 'haproxy' && /unknown key "bogus"/.test(e.message)), JSON.stringify(j));
    // The same exit code without --json, the text on stderr.
    const text = await cli(['config', 'check', '-c', bad]);
    assert.equal(text.code, 2);
    assert.match(text.stderr, /^\s+haproxy\.http_port: /m);
  });
  test('a missing file: exit 2, path (file)', async () => {
    const j = failure(await cli(['config', 'check', '-c', join(dir, 'missing.yaml'), '--json']), 2);
    assert.equal(j.errors[0]!.path, '(file)');
  });
  test('a check that fails (no haproxy binary): exit 1, ok false, haproxy.binary named', async () => {
    const r = await cli(['config', 'check', '-c', noHaproxy, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const j = json<Failure>(r);
    assert.equal(j.ok, false);
    assert.equal(j.exit_code, 1);
    assert.ok(j.errors.some((e) => e.path === 'haproxy.binary'), r.stdout);
  });
  test('a good file: exit 0, ok true, errors []', async () => {
    const r = await cli(['config', 'check', '-c', good, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = json<{ ok: boolean; errors: unknown[]; haproxy: { version: string } }>(r);
    assert.deepEqual([j.ok, j.errors], [true, []]);
    assert.match(j.haproxy.version, /^\d+\.\d+/);
  });
});

describe('the other offline commands', () => {
  test('config show --json: ok; an invalid file: exit 2', async () => {
    const r = await cli(['config', 'show', '-c', good, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = json<{ ok: boolean; config: { haproxy: { http_port: number } }; derived: { paths: { database: string } } }>(r);
    assert.equal(j.ok, true);
    assert.equal(j.config.haproxy.http_port, 8080, 'defaults filled in');
    assert.equal(j.derived.paths.database, join(dir, 'state', 'haproxy-manager.db'));
    failure(await cli(['config', 'show', '-c', bad, '--json']), 2);
  });

  test('render --json without a database: exit 1 as JSON', async () => {
    failure(await cli(['render', '-c', good, '--json']), 1);
  });

  test('monitor explain --json: line number and raw line on each object; a missing file: exit 2', async () => {
    const r = await cli(['monitor', 'explain', log, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { line: number; raw: string; ok: boolean; kind: string; rules: string[] });
    assert.deepEqual(rows.map((x) => [x.line, x.raw, x.ok, x.kind]), [
      [1, HTTP_LINE, true, 'http'],
      [2, 'not a log line', false, 'unknown'],
    ]);
    assert.ok(rows[0]!.rules.includes('sensitive-files'));
    const stdin = await cli(['monitor', 'explain', '-', '--json'], { input: `\n${HTTP_LINE}` });
    assert.deepEqual(stdin.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { line: number; raw: string }).line), [1, 2], 'an empty line is line 1');
    const j = failure(await cli(['monitor', 'explain', join(dir, 'missing.log'), '--json']), 2);
    assert.equal(j.errors[0]!.path, join(dir, 'missing.log'));
  });

  test('monitor replay --json: one object per incident; a missing file: exit 2; a bad --format: exit 2', async () => {
    const r = await cli(['monitor', 'replay', log, '--json']);
    assert.equal(r.code, 0, r.stderr);
    for (const l of r.stdout.trimEnd().split('\n').filter(Boolean)) assert.equal(typeof (JSON.parse(l) as { rule: string }).rule, 'string');
    failure(await cli(['monitor', 'replay', join(dir, 'missing.log'), '--json']), 2);
    const f = failure(await cli(['monitor', 'replay', log, '--format', 'xml', '--json']), 2);
    assert.match(f.errors[0]!.message, /--format.*xml.*haproxy, json, text/);
  });

  test('logs templates --json: one object per line; a missing file: exit 2', async () => {
    const r = await cli(['logs', 'templates', log, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 2);
    failure(await cli(['logs', 'templates', join(dir, 'missing.log'), '--json']), 2);
  });

  test('rules test --json: the shipped rules pass; a broken operator rule file: exit 2', async () => {
    const r = await cli(['rules', 'test', '--json']);
    assert.equal(r.code, 0, r.stdout.slice(0, 2000) + r.stderr);
    const j = json<{ ok: boolean; files: { path: string; passed: boolean }[] }>(r);
    assert.equal(j.ok, true);
    assert.ok(j.files.length > 3 && j.files.every((f) => f.passed));
    const local = join(dir, 'broken-rules');
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, 'broken.yaml'), 'rules:\n  - name: Not A Valid Name\n');
    const f = failure(await cli(['rules', 'test', '--local', local, '--json']), 2);
    assert.ok(f.errors.some((e) => /broken\.yaml/.test(`${e.path} ${e.message}`)), JSON.stringify(f));
  });

  test('an unknown command or option with --json: exit 2 as JSON', async () => {
    const a = failure(await cli(['no-such-command', '--json']), 2);
    assert.match(a.errors[0]!.message, /unknown command/);
    failure(await cli(['config', 'show', '--no-such-option', '--json']), 2);
  });
});

describe('commands that need a daemon, with none there: exit 1 as JSON', () => {
  let port: number;
  let cfg: string;
  before(async () => {
    port = await freePort(); // nothing listens on it
    cfg = join(dir, 'api.yaml');
    writeFileSync(join(dir, 'key'), 'k'.repeat(32) + '\n');
    writeFileSync(cfg, `state_dir: ${join(dir, 'state3')}\napi:\n  port: ${port}\n  key_file: ${join(dir, 'key')}\n`);
    writeFileSync(join(dir, 'haproxy.cfg'), 'defaults\n mode http\n');
  });
  for (const args of [
    ['certs', 'status'],
    ['certs', 'renew'],
    ['certs', 'request', 'a.example.test'],
    ['import', 'HAPROXY_CFG'],
  ]) {
    test(args.join(' '), async () => {
      const full = args.map((a) => (a === 'HAPROXY_CFG' ? join(dir, 'haproxy.cfg') : a));
      const j = failure(await cli([...full, '-c', cfg, '--json']), 1);
      assert.match(j.errors[0]!.message, new RegExp(`cannot reach the daemon's API at 127\\.0\\.0\\.1:${port}`));
      // Without --json: the same status, one line on stderr, nothing on stdout.
      const t = await cli([...full, '-c', cfg]);
      assert.equal(t.code, 1);
      assert.match(t.stderr, /^haproxy-manager: cannot reach the daemon's API/);
    });
  }
  test('a bad --url is a usage error: exit 2', async () => {
    const j = failure(await cli(['certs', 'status', '-c', cfg, '--url', 'ftp://x', '--json']), 2);
    assert.equal(j.errors[0]!.path, '--url');
    assert.match(j.errors[0]!.message, /want http:\/\/host:port/);
  });
  test('import: an unreadable file is 2, --dry-run with --apply is 2', async () => {
    failure(await cli(['import', join(dir, 'nope.cfg'), '-c', cfg, '--json']), 2);
    failure(await cli(['import', join(dir, 'haproxy.cfg'), '--dry-run', '--apply', '-c', cfg, '--json']), 2);
  });
});

describe('--help documents the exit codes', () => {
  for (const args of [['--help'], ['config', 'show', '--help'], ['monitor', 'replay', '--help']]) {
    test(args.join(' '), async () => {
      const r = await cli(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Exit codes:\n {2}0 {2}ok\n {2}1 {2}failure.*\n {2}2 {2}bad usage or invalid configuration$/m);
    });
  }
  test('each option shows its default once', async () => {
    for (const args of [['run'], ['config', 'check'], ['config', 'show'], ['certs', 'request'], ['monitor', 'explain'], ['monitor', 'replay']]) {
      const r = await cli([...args, '--help']);
      const options = r.stdout.slice(r.stdout.indexOf('Options:'), r.stdout.indexOf('Exit codes:'));
      // One option's text runs until the next line that starts an option.
      for (const block of options.split(/\n(?= {2}-)/)) {
        const n = (block.match(/default:/g) ?? []).length;
        assert.ok(n <= 1, `${args.join(' ')}: ${block}`);
      }
    }
  });
});
