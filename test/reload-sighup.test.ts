/**
 * SIGHUP reloads (issue 14), on the real executable as systemd runs it
 * (`haproxy-manager run`, managed HAProxy): the configuration, the operator's
 * rules and the templates' settings are read again and take effect; HAProxy
 * is never restarted (same master process), only reloaded when what it is
 * given changed; an invalid file (a bad value, a broken rule) is refused with
 * its reason at err and the running daemon goes on unchanged; a setting only
 * a restart can change is named at warning and keeps its value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { builtBin } from './helpers/built-cli.js';
import { HAPROXIES, freePort, httpRequest, waitFor } from './helpers/harness.js';

const CLI = builtBin();
const h = HAPROXIES[HAPROXIES.length - 1]!;

const RULE = (name: string) => `rules:
  - name: ${name}
    description: a test rule read on reload
    category: scanner
    severity: low
    filter:
      kind: http
      path: { prefix: [/reload-probe] }
    group_by: ip
    condition: { type: count, threshold: 1, window: 1m }
    actions:
      - type: notify
    escalate: false
`;

/** The HAProxy master serving `dir`'s daemon: the haproxy process whose parent is not one. */
function masterPid(dir: string): number | null {
  const procs = execFileSync('ps', ['-eo', 'pid=,ppid=,args='])
    .toString()
    .split('\n')
    .filter((l) => l.includes(dir) && /haproxy/.test(l) && !/haproxy-manager/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(0, 2).map(Number) as [number, number]);
  const pids = new Set(procs.map((p) => p[0]));
  const masters = procs.filter((p) => !pids.has(p[1]));
  return masters.length === 1 ? masters[0]![0] : null;
}

test(`${h.name}: SIGHUP reloads settings, rules and templates without restarting HAProxy; an invalid file changes nothing`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-sighup-'));
  const rulesDir = join(dir, 'rules.d');
  mkdirSync(rulesDir);
  const httpPort = await freePort();
  const apiPort = await freePort();
  const settings = {
    mode: 'managed',
    state_dir: join(dir, 'state'),
    haproxy: { binary: h.bin, bind_address: '127.0.0.1', http_port: httpPort, stats_port: await freePort(), noreuseport: true, supervise_interval: '500ms', default_page: { status: 404 } },
    api: { listen: '127.0.0.1', port: apiPort, auth: 'none' },
    acme: { challenge_port: await freePort() },
    monitor: { syslog: null, rules_dir: rulesDir },
    log: { level: 'info' },
  };
  const file = join(dir, 'config.yaml');
  const write = (s: unknown) => writeFileSync(file, toYaml(s));
  write(settings);
  const out: string[] = [];
  const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HAPROXY_MANAGER_API_KEY: '' } });
  for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
  const api = (path: string) => httpRequest({ port: apiPort, path });
  const unknownHost = async () => (await httpRequest({ port: httpPort, path: '/', headers: { host: 'nobody.test' } })).status;
  const rules = async () => (await api('/api/monitor/status')).json<{ rules: number }>().rules;
  const seen = (re: RegExp, from = 0) => out.slice(from).some((l) => re.test(l));
  const hup = async (re: RegExp) => {
    const from = out.length;
    child.kill('SIGHUP');
    assert.ok(await waitFor(() => seen(re, from), 30_000), `no ${re} after SIGHUP:\n${out.slice(from).join('\n')}`);
    return out.slice(from);
  };
  try {
    assert.ok(await waitFor(async () => (await api('/health').catch(() => null))?.status === 200, 30_000), out.join('\n'));
    assert.equal(await unknownHost(), 404);
    const master = masterPid(dir);
    assert.ok(master, 'one HAProxy master');
    const rules0 = await rules();

    // A valid change: a template setting and a new operator rule.
    write({ ...settings, haproxy: { ...settings.haproxy, default_page: { status: 410 } } });
    writeFileSync(join(rulesDir, 'probe.yaml'), RULE('reload-probe'));
    const lines = await hup(/reload done/);
    assert.ok(lines.some((l) => /reload done/.test(l) && /changed=haproxy/.test(l)), lines.join('\n'));
    assert.ok(await waitFor(async () => (await unknownHost().catch(() => 0)) === 410, 10_000), 'the new default page status is served');
    assert.equal(await rules(), rules0 + 1, 'the operator rule is loaded');
    assert.equal(masterPid(dir), master, 'HAProxy was reloaded, not restarted');
    assert.ok(lines.some((l) => /HAProxy reloaded/.test(l)));

    // Nothing changed: no HAProxy reload at all.
    const idle = await hup(/reload done/);
    assert.ok(idle.some((l) => /already runs this configuration/.test(l)), idle.join('\n'));
    assert.ok(!idle.some((l) => /HAProxy reloaded/.test(l)));

    // An invalid value: refused at err with its reason; everything keeps running as it was.
    write({ ...settings, haproxy: { ...settings.haproxy, default_page: { status: 'gone' } } });
    const bad = await hup(/reload refused/);
    assert.ok(bad.some((l) => /reload refused/.test(l) && /default_page\.status/.test(l)), bad.join('\n'));
    assert.ok(!bad.some((l) => /stopping its units/.test(l)), 'nothing was stopped');
    assert.equal(await unknownHost(), 410);
    assert.equal((await api('/health')).status, 200);

    // A broken rule file: refused the same way.
    write({ ...settings, haproxy: { ...settings.haproxy, default_page: { status: 418 } } });
    writeFileSync(join(rulesDir, 'broken.yaml'), 'rules:\n  - name: broken\n    condition: { type: nonsense }\n');
    const broken = await hup(/reload refused/);
    assert.ok(broken.some((l) => /monitor\.rules_dir/.test(l)), broken.join('\n'));
    assert.equal(await unknownHost(), 410, 'the valid part of a refused reload is not applied either');
    rmSync(join(rulesDir, 'broken.yaml'));

    // A setting only a restart applies: named at warning, kept; the rest applied.
    write({ ...settings, state_dir: join(dir, 'elsewhere'), haproxy: { ...settings.haproxy, default_page: { status: 404 } } });
    const moved = await hup(/reload done/);
    assert.ok(moved.some((l) => /only a restart applies them/.test(l) && /paths/.test(l)), moved.join('\n'));
    assert.ok(await waitFor(async () => (await unknownHost().catch(() => 0)) === 404, 10_000));
    assert.equal(masterPid(dir), master);
    assert.equal((await api('/api/domains')).status, 200, 'the same database is served');
  } finally {
    if (process.env.SIGHUP_DEBUG) console.log(out.join('\n'));
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
