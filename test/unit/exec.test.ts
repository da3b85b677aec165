import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/util/exec.js';

test('run: output, exit code and input', async () => {
  const r = await run('sh', ['-c', 'cat; echo err >&2; exit 3'], { timeoutMs: 5000, input: 'hello' });
  assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut }, { code: 3, stdout: 'hello', stderr: 'err\n', timedOut: false });
});

test('run: a command that outlives its timeout is killed with what it started, and reported', async () => {
  const t0 = Date.now();
  const r = await run('sh', ['-c', 'sleep 30 & sleep 30'], { timeoutMs: 200 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 < 5000, 'no wait for the grandchild holding the pipes');
});

test('run: a binary that does not exist rejects', async () => {
  await assert.rejects(run('/nonexistent/binary', [], { timeoutMs: 1000 }), /ENOENT/);
});
