/**
 * The shipped unit, judged by systemd's own tools offline (systemd is not PID 1
 * in these containers, so the unit itself cannot run here):
 * - `systemd-analyze security --offline=true` rates it 2.5 or lower (printed);
 * - `systemd-analyze verify` accepts it without a word, with its command lines
 *   pointed at this checkout's bin/ (the package test verifies the installed
 *   unit as it is, against /usr/bin/haproxy-manager);
 * - what the sandbox leaves the daemon is what the unit's comments promise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { securityExposure, unitValues } from './helpers/systemd-unit.js';

const UNIT = fileURLToPath(new URL('../systemd/haproxy-manager.service', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/haproxy-manager', import.meta.url));
const MAX_EXPOSURE = 2.5;

test(`systemd-analyze security rates the unit ${MAX_EXPOSURE} or lower`, (t) => {
  const { exposure, open } = securityExposure(UNIT);
  console.log(`systemd-analyze security --offline=true systemd/haproxy-manager.service: exposure ${exposure}`);
  t.diagnostic(`exposure ${exposure}; still open: ${open.join(', ')}`);
  assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}; open: ${open.join(', ')}`);
});

test('systemd-analyze verify accepts the unit (its commands pointed at this checkout)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-unit-'));
  try {
    const text = readFileSync(UNIT, 'utf8');
    assert.ok(text.includes('/usr/bin/haproxy-manager '), 'the unit runs the packaged /usr/bin/haproxy-manager');
    const copy = join(dir, 'haproxy-manager.service');
    writeFileSync(copy, text.replaceAll('/usr/bin/haproxy-manager ', `${BIN} `));
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warning either');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the sandbox is what the comments say: capabilities, filters, reload, paths', () => {
  const text = readFileSync(UNIT, 'utf8');
  const one = (k: string) => {
    const v = unitValues(text, k);
    assert.equal(v.length, 1, `${k}= once`);
    return v[0]!;
  };
  assert.deepEqual(one('CapabilityBoundingSet').split(/\s+/).sort(), ['CAP_CHOWN', 'CAP_DAC_READ_SEARCH', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETGID', 'CAP_SETUID']);
  assert.deepEqual(unitValues(text, 'SystemCallFilter'), ['@system-service pkey_alloc pkey_free pkey_mprotect', '~@resources']);
  assert.equal(one('SystemCallErrorNumber'), 'EPERM', 'a call outside the list fails instead of killing Node');
  assert.equal(one('RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6');
  assert.equal(one('ProtectProc'), 'invisible');
  assert.equal(one('NoNewPrivileges'), 'true');
  assert.deepEqual(unitValues(text, 'MemoryDenyWriteExecute'), [], "V8's JIT needs writable then executable pages");
  assert.deepEqual(unitValues(text, 'PrivateUsers'), []);
  assert.deepEqual(one('ReadWritePaths').split(/\s+/), ['/etc/haproxy', '-/run/haproxy', '-/run/haproxy-master.sock'], "'-': HAProxy's sockets may not exist yet");
  assert.match(one('Wants'), /\bhaproxy\.service\b/);
  assert.deepEqual(unitValues(text, 'ExecReload'), ['/usr/bin/haproxy-manager config check --config ${HAPROXY_MANAGER_CONFIG}', '/bin/kill -HUP $MAINPID']);
  assert.equal(one('ExecStart'), '/usr/bin/haproxy-manager run --config ${HAPROXY_MANAGER_CONFIG}');
});
