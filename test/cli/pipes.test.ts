/**
 * Output through pipes: every line reaches a reader whose stdout is a pipe
 * (the commands used to exit right after writing and lose the tail), a
 * reader that stops early (`| head -1`) ends the command quietly with status
 * 0, and progress lines never go into a pipe (only onto a terminal, checked
 * with script(1) giving the command a pseudo-terminal).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { cli, sh, HTTP_LINE, BIN, ROOT, cleanEnv } from './run-cli.js';

const LINES = 6000;
let dir: string;
let log: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hm-cli-pipes-'));
  log = join(dir, 'big.log');
  // Distinct client addresses and seconds, so replay opens many incidents too.
  const out: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const s = String(i % 60).padStart(2, '0');
    const m = String(Math.floor(i / 60) % 60).padStart(2, '0');
    out.push(HTTP_LINE.replace('203.0.113.9', `198.51.${Math.floor(i / 250)}.${i % 250}`).replace('14:00:00.123', `14:${m}:${s}.123`).replace('14:00:00 lb', `14:${m}:${s} lb`));
  }
  writeFileSync(log, out.join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('every line through a pipe', () => {
  test(`monitor explain --json: ${LINES} objects, numbered 1..${LINES}, exit 0`, async () => {
    const r = await cli(['monitor', 'explain', log, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split('\n');
    assert.equal(rows.length, LINES);
    const last = JSON.parse(rows.at(-1)!) as { line: number; raw: string };
    assert.equal(last.line, LINES);
    assert.match(last.raw, /^Nov 25 14:\d\d:\d\d lb haproxy/);
    assert.equal(r.stderr, '');
  });

  test('monitor explain (readable): four lines per input line and the summary line last', async () => {
    const r = await cli(['monitor', 'explain', log]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, LINES * 4 + 1);
    assert.match(lines.at(-1)!, new RegExp(`^${LINES} lines: http ${LINES}; ${LINES} matched a rule$`));
  });

  test('monitor explain through a shell pipe into wc -l: every line', async () => {
    const r = await sh(`hm monitor explain ${JSON.stringify(log)} --json | wc -l`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), LINES);
  });

  test('monitor replay --json from standard input: every incident, the same as from the file', async () => {
    const fromFile = await cli(['monitor', 'replay', log, '--json']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const n = fromFile.stdout.trimEnd().split('\n').length;
    assert.ok(n > 10, `expected many incidents, got ${n}`);
    const r = await sh(`cat ${JSON.stringify(log)} | hm monitor replay - --json | wc -l`);
    assert.equal(Number(r.stdout.trim()), n);
  });

  test('logs templates --json: one object per input line', async () => {
    const r = await cli(['logs', 'templates', log, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, LINES);
  });
});

/**
 * The CLI with stdout as a pipe read by a slow reader: each chunk is taken,
 * then the pipe is left full for a moment, so the command's writes block and
 * its exit has to wait for them. Returns what arrived and the exit code.
 */
function slowRead(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => {
      chunks.push(d);
      p.stdout.pause();
      setTimeout(() => p.stdout.resume(), 10);
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks).toString('utf8') }));
  });
}

describe('every line to a slow reader (the writer exits only once all is written)', () => {
  for (let round = 1; round <= 3; round++) {
    test(`monitor explain --json, round ${round}: ${LINES} objects, the last one numbered ${LINES}`, async () => {
      const r = await slowRead(['monitor', 'explain', log, '--json']);
      assert.equal(r.code, 0);
      assert.ok(r.stdout.endsWith('\n'), 'the output ends with a whole line');
      const rows = r.stdout.trimEnd().split('\n');
      assert.equal(rows.length, LINES);
      assert.equal((JSON.parse(rows.at(-1)!) as { line: number }).line, LINES);
    });
  }
  test('monitor explain (readable) to a slow reader: four lines per input line, the summary last', async () => {
    const r = await slowRead(['monitor', 'explain', log]);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, LINES * 4 + 1);
    assert.match(lines.at(-1)!, new RegExp(`^${LINES} lines: `));
  });
  test('monitor replay --json to a slow reader, twice: the same incidents as a fast reader gets', async () => {
    const fast = await cli(['monitor', 'replay', log, '--json']);
    assert.equal(fast.code, 0, fast.stderr);
    const n = fast.stdout.trimEnd().split('\n').length;
    assert.ok(n > 10, `expected many incidents, got ${n}`);
    for (let round = 0; round < 2; round++) {
      const r = await slowRead(['monitor', 'replay', log, '--json']);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, fast.stdout);
    }
  });
});

describe('a reader that stops early: quiet, status 0', () => {
  for (const args of [['monitor', 'explain', '$LOG'], ['monitor', 'explain', '$LOG', '--json'], ['logs', 'templates', '$LOG', '--json'], ['completion', 'bash'], ['man'], ['--help']]) {
    test(`${args.join(' ')} | head -1`, async () => {
      const r = await sh(`set -o pipefail; LOG=${JSON.stringify(log)}; hm ${args.join(' ')} 2>err.txt | head -1; echo "status=\${PIPESTATUS[0]}"; cat err.txt >&2; rm -f err.txt`);
      const [first, status] = r.stdout.trimEnd().split('\n');
      assert.ok(first && first.length > 0, r.stdout);
      assert.equal(status, 'status=0', r.stdout + r.stderr);
      assert.equal(r.stderr, '', 'no EPIPE stack trace');
    });
  }
  test('a command that has failed keeps its status when the reader leaves', async () => {
    const r = await sh(`hm config check -c /nonexistent.yaml --json | head -1; echo "status=\${PIPESTATUS[0]}"`);
    assert.match(r.stdout, /"ok":false/);
    assert.match(r.stdout, /status=2$/m);
  });
});

describe('progress lines: on a terminal only', () => {
  test('replay into a pipe: stderr empty, no carriage return anywhere', async () => {
    const r = await cli(['monitor', 'replay', log]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.doesNotMatch(r.stdout, /\r|\x1b\[/);
  });

  const script = spawnSync('script', ['--version'], { encoding: 'utf8' });
  test('replay on a pseudo-terminal (script(1)): a progress bar drawn and erased', { skip: script.status !== 0 ? 'script(1) is not installed' : false }, async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} monitor replay ${JSON.stringify(log)}`;
    const r = await sh(`script -qec ${JSON.stringify(cmd)} /dev/null`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\r\x1b\[Kreplay \[[#.]+\] +\d+%/);
    assert.match(r.stdout, /\r\x1b\[K6000 lines in /, 'the bar is erased before the summary');
    assert.ok(existsSync(BIN));
  });
});
