/**
 * The management API needs a key by default (issue 10: with no key
 * configured, user `nobody` downloaded a TLS private key). The daemon makes
 * its own key at first start (0600), the CLI finds it, other local users get
 * 401 and cannot read the key, the database or its WAL/SHM files, and child
 * processes (HAProxy) never inherit a key through their environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAPROXIES, httpRequest, startTestDaemon } from './helpers/harness.js';
import { builtBin } from './helpers/built-cli.js';

const isRoot = process.getuid?.() === 0;
const mode = (f: string) => statSync(f).mode & 0o777;

/** Runs a command as `nobody`: what any other local user could do. Asynchronous: the daemon under test shares this event loop. */
function asNobody(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('runuser', ['-u', 'nobody', '--', cmd, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [builtBin(), ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** Every process whose parent chain leads to `pid` (HAProxy's master and its workers). */
function processTree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out = [pid];
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parent) if (out.includes(pp) && !out.includes(p)) (out.push(p), (grew = true));
  }
  return out;
}

test('no configured key: the daemon creates one (0600), everything but /health needs it, other users get nothing', async () => {
  const saved = process.umask(0o000); // the files must be 0600 whatever the umask
  let t;
  try {
    t = await startTestDaemon(HAPROXIES[0]!.bin);
  } finally {
    process.umask(saved);
  }
  try {
    const keyFile = join(t.dir, 'state', 'api-key');
    assert.ok(existsSync(keyFile), 'the key file is created at first start');
    assert.equal(mode(keyFile), 0o600);
    const key = readFileSync(keyFile, 'utf8').trim();
    assert.ok(key.length >= 32, 'a long random key');
    assert.equal(t.apiKey, key);
    assert.ok(!t.logs.some((l) => l.includes(key)), 'the key never appears in the log');
    assert.ok(t.logs.some((l) => l.includes('created an API key')));

    // A domain with a certificate's worth of state, so there is something to steal.
    assert.equal((await t.api('POST', '/api/domain', { domain: 'auth.example.test', backend_name: 'auth', servers: [{ name: 's1', address: '127.0.0.1', port: 9, check: false }] })).status, 201);
    const raw = (method: string, path: string, auth?: string, body?: string) =>
      httpRequest({ port: t.apiPort, method, path, headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, ...(body ? { body } : {}) });
    assert.equal((await raw('GET', '/health')).status, 200);
    for (const path of ['/api/domains', '/api/certificates/auth.example.test/key', '/api/certificates/status', '/api/blocked-ips', '/api/monitor/status', '/api/config']) {
      const r = await raw('GET', path);
      assert.equal(r.status, 401, `${path} without a key`);
      assert.doesNotMatch(r.body, /PRIVATE KEY|auth\.example\.test/);
    }
    assert.equal((await raw('POST', '/api/domain', undefined, JSON.stringify({ domain: 'evil.example.test', backend_name: 'evil', servers: [] }))).status, 401);
    assert.equal((await raw('POST', '/api/blocked-ips', `Bearer ${key}x`, JSON.stringify({ ip: '203.0.113.9' }))).status, 401);
    const list = (await t.api('GET', '/api/domains')).body;
    assert.match(list, /auth\.example\.test/);
    assert.doesNotMatch(list, /evil\.example\.test/, 'an unauthenticated write changed nothing');

    // The database, its WAL and SHM files: 0600 although the umask was 000.
    const db = join(t.dir, 'state', 'haproxy-manager.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) assert.equal(mode(f), 0o600, f);
    assert.ok(existsSync(`${db}-wal`), 'WAL mode: the -wal file exists and was checked');
    assert.equal(mode(join(t.dir, 'state')) & 0o077, 0, 'the state directory is closed to others');

    if (isRoot) {
      // What another local user can do: ask without a key, read the files.
      const curl = await asNobody('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${t.apiPort}/api/certificates/auth.example.test/key`]);
      assert.equal(curl.out.trim(), '401', curl.out);
      for (const f of [keyFile, db]) assert.notEqual((await asNobody('cat', [f])).code, 0, `nobody reads ${f}`);
    }

    // The CLI finds the generated key through the configuration's state directory ...
    const status = await cli(['certs', 'status', '-c', join(t.dir, 'config.yaml'), '--url', `http://127.0.0.1:${t.apiPort}`]);
    assert.equal(status.code, 0, status.out);
    // ... takes another one from --api-key-file, and says what to do when it is refused or missing.
    writeFileSync(join(t.dir, 'wrong-key'), 'w'.repeat(40), { mode: 0o600 });
    const wrong = await cli(['certs', 'status', '-c', join(t.dir, 'config.yaml'), '--url', `http://127.0.0.1:${t.apiPort}`, '--api-key-file', join(t.dir, 'wrong-key')]);
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /401[\s\S]*--api-key-file/);
    const missing = await cli(['certs', 'status', '-c', join(t.dir, 'config.yaml'), '--api-key-file', join(t.dir, 'nope')]);
    assert.equal(missing.code, 2, missing.out);
    assert.match(missing.out, /--api-key-file: cannot read .*nope/);
    const badUrl = await cli(['certs', 'status', '-c', join(t.dir, 'config.yaml'), '--url', 'ftp://x']);
    assert.equal(badUrl.code, 2, badUrl.out);
    assert.match(badUrl.out, /--url: want http:\/\/host:port/);
  } finally {
    await t.stop();
  }
});

test('the generated key survives a restart; api.auth: none (loopback) makes none and asks for none', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'hm-auth-'));
  const a = await startTestDaemon(HAPROXIES[0]!.bin, { dir });
  const first = a.apiKey;
  await a.stop();
  const b = await startTestDaemon(HAPROXIES[0]!.bin, { dir });
  try {
    assert.equal(b.apiKey, first, 'the same key after a restart');
    assert.ok(!b.logs.some((l) => l.includes('created an API key')));
  } finally {
    await b.stop();
  }
  const open = await startTestDaemon(HAPROXIES[0]!.bin, { config: { api: { auth: 'none' } } });
  try {
    assert.equal(open.apiKey, null);
    assert.ok(!existsSync(join(open.dir, 'state', 'api-key')));
    assert.equal((await httpRequest({ port: open.apiPort, path: '/api/domains' })).status, 200);
  } finally {
    await open.stop();
  }
});

test("HAProxy's processes never inherit a key from the daemon's environment", async () => {
  const planted = { HAPROXY_MANAGER_API_KEY: 'planted-manager-key-0123456789', ANTHROPIC_API_KEY: 'sk-ant-planted-0123456789', SOME_SERVICE_TOKEN: 'planted-token-0123456789' };
  const saved = Object.fromEntries(Object.keys(planted).map((k) => [k, process.env[k]]));
  Object.assign(process.env, planted);
  let t;
  try {
    t = await startTestDaemon(HAPROXIES[0]!.bin, { env: { HAPROXY_MANAGER_API_KEY: planted.HAPROXY_MANAGER_API_KEY } });
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    assert.equal(t.apiKey, planted.HAPROXY_MANAGER_API_KEY);
    const pid = Number(readFileSync(t.daemon.cfg.paths.pidFile, 'utf8').trim());
    const tree = processTree(pid);
    assert.ok(tree.length >= 2, `HAProxy's master and a worker: ${tree.join(',')}`);
    for (const p of tree) {
      const env = readFileSync(`/proc/${p}/environ`, 'utf8');
      for (const [k, v] of Object.entries(planted)) {
        assert.ok(!env.includes(v), `process ${p} has ${k}`);
      }
      assert.match(env, /PATH=/, 'the rest of the environment is kept');
    }
  } finally {
    await t.stop();
  }
});
