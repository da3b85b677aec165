/**
 * The Debian package, end to end on this (throwaway, root) machine: built by
 * scripts/build-deb.sh from this checkout, checked by lintian, installed into
 * the real system with dpkg, run as installed (/usr/bin, the unit's command
 * lines and environment, cwd elsewhere), reinstalled over an edited conffile,
 * removed (configuration and state kept) and purged (both gone). The package
 * is purged whatever happens; the test refuses to start where the package, or
 * its directories, already exist (it would destroy them).
 *
 * Not tested here: the unit running under systemd (systemd is not PID 1 in
 * these containers); test/systemd-unit.test.ts judges the unit offline.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unitValues, securityExposure } from './helpers/systemd-unit.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PKG = 'haproxy-manager';
const ETC = '/etc/haproxy-manager';
const STATE = '/var/lib/haproxy-manager';
const UNIT = '/lib/systemd/system/haproxy-manager.service';

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    encoding: 'utf8',
    cwd: opts.cwd ?? REPO,
    env: opts.env ?? { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}
const ok = (r: SpawnSyncReturns<string>, what: string) => assert.equal(r.status, 0, `${what} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);

/** dpkg's status of the package: "install ok installed", "deinstall ok config-files", or null when unknown to dpkg. */
function status(): string | null {
  const r = sh('dpkg-query', ['-W', '-f=${Status}', PKG]);
  return r.status === 0 && !/not-installed/.test(r.stdout) ? r.stdout.trim() : null;
}

const why =
  process.getuid?.() !== 0 ? 'needs root (dpkg -i into the real system)' : !existsSync('/usr/bin/dpkg-deb') ? 'needs dpkg' : null;
const work = mkdtempSync(join(tmpdir(), 'hm-deb-'));
let deb: string | null = null;
let installed = false;
let lintian: Promise<{ code: number | null; out: string }> | null = null;
let lintianChild: ReturnType<typeof spawn> | null = null;

after(() => {
  if (installed || status() !== null) {
    const r = sh('dpkg', ['--purge', PKG]);
    if (r.status !== 0) console.error(`cleanup: dpkg --purge ${PKG} failed:\n${r.stdout}\n${r.stderr}`);
  }
  if (lintianChild && lintianChild.exitCode === null) lintianChild.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('scripts/build-deb.sh builds the package from the checkout', { skip: why ?? false }, () => {
  const before = status();
  assert.equal(before, null, `${PKG} is already known to dpkg (${before}); this test installs and purges it: dpkg --purge ${PKG} first`);
  for (const d of [ETC, STATE]) assert.ok(!existsSync(d), `${d} exists; this test would delete it on purge`);
  const t0 = Date.now();
  const r = sh('bash', ['scripts/build-deb.sh', '--out', work], { timeoutMs: 600_000 });
  ok(r, 'build-deb.sh');
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const arch = sh('dpkg', ['--print-architecture']).stdout.trim();
  deb = join(work, `${PKG}_${version}_${arch}.deb`);
  assert.ok(existsSync(deb), `${deb} was not built:\n${r.stdout}`);
  const bytes = statSync(deb).size;
  const installedKiB = Number(sh('dpkg-deb', ['-f', deb, 'Installed-Size']).stdout.trim());
  console.log(`package ${PKG}_${version}_${arch}.deb: ${(bytes / 1048576).toFixed(1)} MiB (${bytes} bytes), ${(installedKiB / 1024).toFixed(1)} MiB installed, built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const line of r.stdout.trim().split('\n')) console.log(`  build-deb.sh: ${line}`);

  const control = sh('dpkg-deb', ['-f', deb]).stdout;
  assert.match(control, new RegExp(`^Version: ${version.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(control, new RegExp(`^Architecture: ${arch}$`, 'm'));
  const depends = /^Depends: (.*)$/m.exec(control)?.[1] ?? '';
  for (const d of ['nodejs (>= 20)', 'haproxy', 'openssl']) assert.ok(depends.includes(d), `Depends: ${depends} lacks ${d}`);
  const files = sh('dpkg-deb', ['-c', deb]).stdout;
  for (const f of [
    './usr/lib/haproxy-manager/dist/main.js',
    './usr/lib/haproxy-manager/templates/',
    './usr/lib/haproxy-manager/prompts/',
    './usr/lib/haproxy-manager/config/rules/',
    './usr/lib/haproxy-manager/config/policy.yaml',
    './usr/lib/haproxy-manager/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    './lib/systemd/system/haproxy-manager.service',
    './usr/lib/sysctl.d/60-haproxy-manager.conf',
    './etc/haproxy-manager/config.yaml',
    './var/lib/haproxy-manager/',
  ]) {
    assert.ok(files.includes(` ${f}`), `the package lacks ${f}`);
  }
  assert.ok(!/node_modules\/(typescript|tsx|esbuild|puppeteer-core|smtp-server|dns2)\//.test(files), 'no development dependency is packaged');

  // lintian takes a while: it runs beside the installation steps and is judged last.
  lintian = new Promise((resolve) => {
    const c = spawn('lintian', ['--fail-on', 'error', '--no-tag-display-limit', deb!], { stdio: ['ignore', 'pipe', 'pipe'] });
    lintianChild = c;
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('error', (e) => resolve({ code: -1, out: `cannot run lintian: ${e.message}` }));
    c.on('close', (code) => resolve({ code, out }));
  });
});

test('dpkg -i installs it: the key made (0600, never printed), nothing started or enabled, the unit verified', { skip: why ?? false }, () => {
  assert.ok(deb, 'built');
  installed = true;
  const r = sh('dpkg', ['-i', deb]);
  ok(r, 'dpkg -i');
  assert.equal(status(), 'install ok installed');

  const key = readFileSync(`${ETC}/api-key`, 'utf8').trim();
  assert.ok(key.length >= 32, 'a long random key');
  assert.equal(statSync(`${ETC}/api-key`).mode & 0o777, 0o600);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(key), 'the key is never printed');
  assert.equal(statSync(ETC).mode & 0o777, 0o700);
  assert.equal(statSync(STATE).mode & 0o777, 0o700);
  assert.match(readFileSync(`${ETC}/config.yaml`, 'utf8'), /^ {2}key_file: \/etc\/haproxy-manager\/api-key$/m, 'the shipped config points the CLI at the key');
  assert.match(sh('dpkg-query', ['-W', '-f=${Conffiles}', PKG]).stdout, /\/etc\/haproxy-manager\/config\.yaml [0-9a-f]{32}/);

  assert.ok(lstatSync('/usr/bin/haproxy-manager').isSymbolicLink());
  assert.equal(realpathSync('/usr/bin/haproxy-manager'), '/usr/lib/haproxy-manager/bin/haproxy-manager', readlinkSync('/usr/bin/haproxy-manager'));
  // Installed, not enabled, not started: the operator edits the config first.
  assert.ok(!existsSync('/etc/systemd/system/multi-user.target.wants/haproxy-manager.service'), 'not enabled');

  const unit = readFileSync(UNIT, 'utf8');
  assert.equal(unit, readFileSync(join(REPO, 'systemd/haproxy-manager.service'), 'utf8'));
  for (const k of ['ExecStartPre', 'ExecStart', 'ExecReload']) {
    for (const line of unitValues(unit, k)) {
      const exe = line.split(/\s+/)[0]!.replace(/^[-@:+!]+/, '');
      accessSync(exe, constants.X_OK); // throws when the package layout does not have it
    }
  }
  const v = sh('systemd-analyze', ['verify', UNIT]);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stderr.trim(), '', 'systemd-analyze verify: no warning');
  const { exposure } = securityExposure(UNIT);
  assert.ok(exposure <= 2.5, `installed unit exposure ${exposure}`);
});

test('the installed command runs from /usr/bin, anywhere, with the unit environment', { skip: why ?? false }, () => {
  assert.ok(installed, 'installed');
  const cwd = mkdtempSync(join(work, 'cwd-'));
  // The environment the unit gives it, and nothing of this checkout's.
  const unit = readFileSync(UNIT, 'utf8');
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
  for (const e of unitValues(unit, 'Environment')) {
    const i = e.indexOf('=');
    env[e.slice(0, i)] = e.slice(i + 1);
  }
  assert.equal(env.HAPROXY_MANAGER_CONFIG, `${ETC}/config.yaml`);

  const help = sh('haproxy-manager', ['--help'], { cwd, env });
  ok(help, 'haproxy-manager --help');
  assert.match(help.stdout, /config/);
  assert.match(help.stdout, /run/);

  // ExecStartPre and the first ExecReload, exactly as the unit writes them (${VAR} expanded).
  const lines = [...unitValues(unit, 'ExecStartPre'), unitValues(unit, 'ExecReload')[0]!];
  for (const line of lines) {
    const argv = line.split(/\s+/).map((a) => a.replace(/\$\{(\w+)\}/g, (_, n: string) => env[n] ?? ''));
    const r = sh(argv[0]!, argv.slice(1), { cwd, env, timeoutMs: 120_000 });
    ok(r, line);
    assert.match(r.stdout, /configuration OK/);
  }

  // The manual page and the completions, generated by the packaged program itself.
  const man = sh('sh', ['-c', 'zcat /usr/share/man/man1/haproxy-manager.1.gz'], { cwd, env });
  ok(man, 'zcat the man page');
  assert.match(man.stdout, /^\.TH HAPROXY\\-MANAGER 1/m);
  for (const cmd of ['backup', 'restore', 'import', 'completion']) assert.match(man.stdout, new RegExp(cmd), `the man page names ${cmd}`);
  const groff = sh('sh', ['-c', 'zcat /usr/share/man/man1/haproxy-manager.1.gz | groff -man -ww -Tutf8 >/dev/null'], { cwd, env });
  assert.equal(groff.status, 0, groff.stderr);
  assert.equal(groff.stderr.trim(), '', 'groff has nothing to warn about');
  const bash = sh('bash', ['-n', '/usr/share/bash-completion/completions/haproxy-manager'], { cwd, env });
  ok(bash, 'bash -n on the installed completion');
  const zsh = sh('zsh', ['-n', '/usr/share/zsh/vendor-completions/_haproxy-manager'], { cwd, env });
  ok(zsh, 'zsh -n on the installed completion');
});

test('dpkg -i again keeps an edited conffile and the key; dpkg -r keeps configuration and state; --purge removes them', { skip: why ?? false }, () => {
  assert.ok(installed && deb, 'installed');
  const key = readFileSync(`${ETC}/api-key`, 'utf8');
  appendFileSync(`${ETC}/config.yaml`, '# edited by the operator\n');
  ok(sh('dpkg', ['-i', deb]), 'dpkg -i (again)');
  assert.match(readFileSync(`${ETC}/config.yaml`, 'utf8'), /# edited by the operator\n$/);
  assert.equal(readFileSync(`${ETC}/api-key`, 'utf8'), key, 'the key is made once');

  writeFileSync(`${STATE}/haproxy-manager.db`, 'state'); // what the daemon leaves there
  ok(sh('dpkg', ['-r', PKG]), 'dpkg -r');
  assert.equal(status(), 'deinstall ok config-files');
  for (const gone of ['/usr/bin/haproxy-manager', '/usr/lib/haproxy-manager', UNIT]) assert.ok(!existsSync(gone), `${gone} removed`);
  assert.match(readFileSync(`${ETC}/config.yaml`, 'utf8'), /# edited by the operator\n$/, 'the conffile is kept');
  assert.equal(readFileSync(`${ETC}/api-key`, 'utf8'), key, 'the key is kept');
  assert.equal(readFileSync(`${STATE}/haproxy-manager.db`, 'utf8'), 'state', 'the state is kept');

  ok(sh('dpkg', ['--purge', PKG]), 'dpkg --purge');
  installed = false;
  assert.equal(status(), null);
  assert.ok(!existsSync(ETC), `${ETC} removed`);
  assert.ok(!existsSync(STATE), `${STATE} removed`);
  for (const f of ['/etc/systemd/system/haproxy-manager.service', '/var/lib/systemd/deb-systemd-helper-enabled/haproxy-manager.service.dsh-also', '/var/lib/systemd/deb-systemd-helper-masked/haproxy-manager.service']) {
    assert.ok(!existsSync(f), `${f} removed`);
  }
});

test('lintian: no error (warnings printed)', { skip: why ?? false }, async () => {
  assert.ok(lintian, 'lintian started');
  const { code, out } = await lintian;
  const tags = out.split('\n').filter((l) => /^[EW]: /.test(l));
  console.log(`lintian: exit ${code}, ${tags.filter((l) => l.startsWith('E:')).length} errors, ${tags.filter((l) => l.startsWith('W:')).length} warnings`);
  for (const l of tags) console.log(`  ${l}`);
  assert.equal(code, 0, out);
});
