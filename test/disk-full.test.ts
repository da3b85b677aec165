/**
 * A full disk under the generated files (a small tmpfs, real HAProxy 2.6 and
 * 3.0): a config change and a runtime change both answer 507 with the path,
 * every live file stays byte for byte as it was, the database keeps the
 * previous state, HAProxy serves it, both failures are audited; once there
 * is space again the next change goes through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXIES, startTestDaemon, startBackend, domainBody } from './helpers/harness.js';

/** Every file under `dir` with its content. */
function snapshot(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) snapshot(p, base, out);
    else out.set(p.slice(base.length), readFileSync(p, 'utf8'));
  }
  return out;
}

/** Fills the file system holding `dir` until it refuses another byte. */
function fill(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return file;
}

for (const h of HAPROXIES) {
  test(`${h.name}: a full disk under the generated files refuses changes with 507 and leaves every live file and the database as they were`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'hm-full-'));
    const gen = join(root, 'generated');
    mkdirSync(gen);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', gen]);
    const be = await startBackend('app');
    let t: Awaited<ReturnType<typeof startTestDaemon>> | null = null;
    try {
      t = await startTestDaemon(h.bin, { dir: root, haproxyYaml: `  generated_dir: ${gen}` });
      assert.equal((await t.api('POST', '/api/domain', domainBody('keep.test', 'keep', [be.port]))).status, 201);
      const cfgPath = t.daemon.cfg.paths.configPath;
      const filler = fill(gen);
      const liveBefore = snapshot(gen);
      const cfgBefore = readFileSync(cfgPath, 'utf8');

      const r = await t.api('POST', '/api/domain', domainBody('new.test', 'new', [be.port]));
      assert.equal(r.status, 507, r.body);
      const err = r.json<{ error: string; message: string }>();
      assert.equal(err.error, 'storage');
      assert.match(err.message, /no space left/);
      assert.ok(err.message.includes(gen), err.message);

      const b = await t.api('POST', '/api/blocked-ips', { ip_address: '198.51.100.9', reason: 'test' });
      assert.equal(b.status, 507, b.body);

      assert.deepEqual(snapshot(gen), liveBefore, 'live maps, lists and pages unchanged (no staged leftovers)');
      assert.equal(readFileSync(cfgPath, 'utf8'), cfgBefore, 'haproxy.cfg unchanged');
      assert.deepEqual((await t.api('GET', '/api/domains')).json<{ domain: string }[]>().map((d) => d.domain), ['keep.test'], 'the database holds the previous state');
      assert.deepEqual((await t.api('GET', '/api/blocked-ips')).json(), []);
      assert.equal((await t.get('keep.test')).status, 200, 'HAProxy serves the previous state');
      assert.ok(!(await t.get('new.test')).body.includes('"server":"app"'), 'the refused domain is not routed');
      const audit = (await t.api('GET', '/api/audit?limit=10')).json<{ action: string; result: string; error: string | null }[]>();
      assert.ok(audit.some((a) => a.action === 'domain.upsert' && a.result === 'failed' && /no space/.test(a.error ?? '')), JSON.stringify(audit));
      assert.ok(audit.some((a) => a.action === 'blocked_ip.add' && a.result === 'failed'), JSON.stringify(audit));

      // A reload in this state keeps serving what the database holds (nothing half-written to pick up).
      assert.equal((await t.api('GET', '/api/reload')).status, 200);
      assert.equal((await t.get('keep.test')).status, 200);

      rmSync(filler);
      assert.equal((await t.api('POST', '/api/domain', domainBody('new.test', 'new', [be.port]))).status, 201);
      assert.ok((await t.get('new.test')).body.includes('"server":"app"'), 'routed once there is space');
    } finally {
      await t?.stop();
      await be.close();
      execFileSync('umount', ['-l', gen]);
      rmSync(root, { recursive: true, force: true });
    }
  });
}
