/**
 * Unit tests for src/config/load.ts (parseConfig, loadConfig) and the CLI's
 * `config check` and `--help`, run as a subprocess.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { detectHaproxy } from '../../src/haproxy/process/version.js';
import { BINARIES, exec } from './_haproxy.js';
import { builtBin } from '../helpers/built-cli.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = builtBin();
const KEY = 'k3y-0123456789abcdef-XYZ';

const tmpRoot = mkdtempSync(join(tmpdir(), 'hm-config-test-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let seq = 0;
const newDir = () => {
  const d = join(tmpRoot, `d${++seq}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** The ConfigError lines parseConfig throws for `yaml`; fails when it does not throw. */
function errorLines(yaml: string, env: NodeJS.ProcessEnv = {}, source: string | null = '/etc/hm/config.yaml'): string[] {
  try {
    parseConfig(yaml, source, { env });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.message, e.lines.join('\n'));
    return e.lines;
  }
  assert.fail(`expected ${JSON.stringify(yaml)} to be refused`);
}

const ok = (yaml: string, env: NodeJS.ProcessEnv = {}, source: string | null = '/etc/hm/config.yaml'): Config => parseConfig(yaml, source, { env });

describe('parseConfig: defaults', () => {
  test('an empty file gives the documented defaults', () => {
    const c = ok('');
    assert.equal(c.mode, 'managed');
    assert.equal(c.state_dir, './var');
    assert.equal(c.haproxy.binary, 'haproxy');
    assert.equal(c.haproxy.bind_address, '127.0.0.1');
    assert.equal(c.haproxy.http_port, 8080);
    assert.equal(c.haproxy.https_port, null);
    assert.equal(c.haproxy.stats_port, 8404);
    assert.equal(c.haproxy.maxconn, 4000);
    // HAProxy logs to the intake socket (through a ring), not to UDP: no UDP listener by default.
    assert.equal(c.monitor.syslog, null);
    assert.equal(c.haproxy.log_target, null);
    assert.deepEqual(c.intake, { socket: join(c.paths.runDir, 'log', 'haproxy.sock'), group: null, ringSize: 16 * 1024 * 1024 });
    assert.deepEqual(c.haproxy.also_log_to, []);
    // UDP only when configured, and HAProxy logs to it only without an intake.
    assert.equal(ok('monitor:\n  syslog: { port: 5514 }\n').haproxy.log_target, null);
    assert.equal(ok('monitor:\n  intake: null\n  syslog: { port: 5514 }\n').haproxy.log_target, 'udp://127.0.0.1:5514');
    assert.equal(ok('monitor:\n  intake: null\n').intake, null);
    // systemd mode: the socket under /run, group haproxy, and /dev/log kept for /var/log/haproxy.log.
    const sd = ok('mode: systemd\n');
    assert.deepEqual(sd.intake, { socket: '/run/haproxy-manager/log/haproxy.sock', group: 'haproxy', ringSize: 16 * 1024 * 1024 });
    assert.deepEqual(sd.haproxy.also_log_to, ['/dev/log']);
    // An explicit log target replaces the intake's ring.
    assert.equal(ok('haproxy:\n  log_target: stdout\n').intake, null);
    assert.equal(c.haproxy.xff_max_hops, 5);
    assert.equal(c.haproxy.reload_via, 'master_socket');
    assert.deepEqual(c.haproxy.timeouts, { http_request: '30s', connect: '10s', client: '5m', server: '10m', http_keep_alive: '30s', queue: '2m', check: '10s', tarpit: '10s', long_lived: '6h' });
    assert.deepEqual(c.haproxy.rate_limits, { tarpit_requests_10s: 3000, deny_requests_10s: 5000, connections_10s: 500, concurrent_connections: 500, errors_30s: 100, table_size: '200k', table_expire: '10m' });
    assert.deepEqual(c.haproxy.http2, { max_total_streams: 2000, glitches_threshold: 50 });
    assert.deepEqual(c.haproxy.default_page, { title: 'Site not configured', message: 'No site is configured for this address.', status: 404 });
    assert.equal(c.api.listen, '127.0.0.1');
    assert.equal(c.api.port, 8000);
    assert.equal(c.api.key_file, undefined);
    assert.equal(c.api.viewer_key_file, undefined);
    assert.equal(c.api.console, true);
    assert.equal(c.api.session_ttl, '12h');
    assert.equal(c.api.session_idle, '1h');
    assert.deepEqual(c.network.local_ranges, ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']);
    assert.deepEqual(c.log, { level: 'info', format: 'text' });
    assert.equal(c.apiKey, null);
    assert.equal(c.source, '/etc/hm/config.yaml');
  });

  test('managed-mode paths are under state_dir, relative to the config file', () => {
    const c = ok('');
    assert.deepEqual(c.paths, {
      stateDir: '/etc/hm/var',
      database: '/etc/hm/var/haproxy-manager.db',
      apiKeyFile: '/etc/hm/var/api-key',
    metricsTokenFile: '/etc/hm/var/metrics-token',
      viewerKeyFile: '/etc/hm/var/viewer-key',
      configPath: '/etc/hm/var/haproxy/haproxy.cfg',
      generatedDir: '/etc/hm/var/haproxy/haproxy-manager',
      stagingDir: '/etc/hm/var/staging',
      lkgDir: '/etc/hm/var/last-known-good',
      runDir: '/etc/hm/var/run',
      masterSocket: '/etc/hm/var/run/haproxy-master.sock',
      statsSocket: '/etc/hm/var/run/haproxy.sock',
      pidFile: '/etc/hm/var/run/haproxy.pid',
      certDir: '/etc/hm/var/haproxy/certs',
      certBackupDir: '/etc/hm/var/cert-backups',
      acmeDir: '/etc/hm/var/acme',
    });
  });

  test('systemd-mode paths default to the distribution\'s', () => {
    const c = ok('mode: systemd\nstate_dir: /var/lib/hm\n');
    assert.equal(c.paths.configPath, '/etc/haproxy/haproxy.cfg');
    assert.equal(c.paths.generatedDir, '/etc/haproxy/haproxy-manager');
    assert.equal(c.paths.masterSocket, '/run/haproxy-master.sock');
    assert.equal(c.paths.statsSocket, '/run/haproxy/admin.sock');
    assert.equal(c.paths.database, '/var/lib/hm/haproxy-manager.db');
    assert.equal(c.paths.certDir, '/etc/haproxy/certs');
  });

  test('explicit paths win; relative ones are relative to the config file', () => {
    const c = ok('state_dir: state\nhaproxy:\n  config_path: conf/haproxy.cfg\n  generated_dir: /srv/gen\n  stats_socket: s.sock\n');
    assert.equal(c.paths.stateDir, '/etc/hm/state');
    assert.equal(c.paths.configPath, '/etc/hm/conf/haproxy.cfg');
    assert.equal(c.paths.generatedDir, '/srv/gen');
    assert.equal(c.paths.statsSocket, '/etc/hm/s.sock');
  });

  test('values given are kept', () => {
    const c = ok('haproxy:\n  http_port: 80\n  https_port: 443\n  stats_port: null\n  timeouts:\n    client: 1m\n  rate_limits:\n    tarpit_requests_10s: 10\n    deny_requests_10s: 10\nlog:\n  level: debug\n');
    assert.equal(c.haproxy.http_port, 80);
    assert.equal(c.haproxy.https_port, 443);
    assert.equal(c.haproxy.stats_port, null);
    assert.equal(c.haproxy.timeouts.client, '1m');
    assert.equal(c.haproxy.timeouts.server, '10m');
    assert.equal(c.haproxy.rate_limits.tarpit_requests_10s, 10);
    assert.equal(c.log.level, 'debug');
  });
});

describe('parseConfig: unknown keys', () => {
  const cases: [string, string][] = [
    ['x: 1\n', '(root): unknown key "x"'],
    ['api_key: abcdefabcdefabcdef\n', '(root): unknown key "api_key"'],
    ['haproxy:\n  x: 1\n', 'haproxy: unknown key "x"'],
    ['haproxy:\n  timeouts:\n    x: 1s\n', 'haproxy.timeouts: unknown key "x"'],
    ['haproxy:\n  timeouts:\n    x: 1s\n    y: 2s\n', 'haproxy.timeouts: unknown keys "x", "y"'],
    ['haproxy:\n  rate_limits:\n    x: 1\n', 'haproxy.rate_limits: unknown key "x"'],
    ['haproxy:\n  http2:\n    x: 1\n', 'haproxy.http2: unknown key "x"'],
    ['haproxy:\n  default_page:\n    x: 1\n', 'haproxy.default_page: unknown key "x"'],
    ['api:\n  x: 1\n', 'api: unknown key "x"'],
    ['network:\n  x: 1\n', 'network: unknown key "x"'],
    ['blocks:\n  x: 1\n', 'blocks: unknown key "x"'],
    ['log:\n  x: 1\n', 'log: unknown key "x"'],
  ];
  for (const [yaml, line] of cases) {
    test(line, () => assert.deepEqual(errorLines(yaml), [line]));
  }
  test('api.key in the YAML is an unknown key, never an API key', () => {
    assert.deepEqual(errorLines(`api:\n  key: ${KEY}\n`), ['api: unknown key "key"']);
    assert.deepEqual(errorLines(`api:\n  listen: 0.0.0.0\n  key: ${KEY}\n`), ['api: unknown key "key"']);
  });
  test('every problem is reported, not just the first', () => {
    const lines = errorLines('x: 1\nhaproxy:\n  http_port: 0\n  y: 2\nlog:\n  level: loud\n');
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.ok(lines.includes('(root): unknown key "x"'));
    assert.ok(lines.includes('haproxy: unknown key "y"'));
    assert.ok(lines.some((l) => l.startsWith('haproxy.http_port: ')));
    assert.ok(lines.some((l) => l.startsWith('log.level: ')));
  });
});

describe('parseConfig: bad values name their path', () => {
  const cases: [string, string][] = [
    ['haproxy:\n  http_port: 0\n', 'haproxy.http_port'],
    ['haproxy:\n  http_port: 70000\n', 'haproxy.http_port'],
    ['haproxy:\n  http_port: "80"\n', 'haproxy.http_port'],
    ['haproxy:\n  http_port: 80.5\n', 'haproxy.http_port'],
    ['haproxy:\n  https_port: -1\n', 'haproxy.https_port'],
    ['haproxy:\n  maxconn: 0\n', 'haproxy.maxconn'],
    ['haproxy:\n  timeouts:\n    client: 5 minutes\n', 'haproxy.timeouts.client'],
    ['haproxy:\n  timeouts:\n    server: 10\n', 'haproxy.timeouts.server'],
    ['haproxy:\n  rate_limits:\n    table_size: lots\n', 'haproxy.rate_limits.table_size'],
    ['haproxy:\n  rate_limits:\n    errors_30s: 0\n', 'haproxy.rate_limits.errors_30s'],
    ['haproxy:\n  xff_max_hops: 11\n', 'haproxy.xff_max_hops'],
    ['haproxy:\n  log_target: "udp://1.2.3.4:514 x"\n', 'haproxy.log_target'],
    ['haproxy:\n  user: "Root user"\n', 'haproxy.user'],
    ['haproxy:\n  config_path: "/etc/haproxy/ha proxy.cfg"\n', 'haproxy.config_path'],
    ['haproxy:\n  config_path: "/etc/haproxy/haproxy.cfg#x"\n', 'haproxy.config_path'],
    ['haproxy:\n  default_page:\n    status: 99\n', 'haproxy.default_page.status'],
    ['haproxy:\n  reload_via: signal\n', 'haproxy.reload_via'],
    ['haproxy: 5\n', 'haproxy'],
    // Rendered into a `bind` line: must be refused here, not when HAProxy's config is rendered.
    ['haproxy:\n  bind_address: "1.2.3.4 #x"\n', 'haproxy.bind_address'],
    ['haproxy:\n  bind_address: "127.0.0.1\\n  stats socket /tmp/x level admin"\n', 'haproxy.bind_address'],
    ['mode: other\n', 'mode'],
    ['state_dir: "a b"\n', 'state_dir'],
    ['state_dir: "a;b"\n', 'state_dir'],
    ['network:\n  local_ranges: ["01.2.3.4"]\n', 'network.local_ranges.0'],
    ['network:\n  local_ranges: ["10.0.0.0/8", "fe80::1%eth0"]\n', 'network.local_ranges.1'],
    ['api:\n  port: 99999\n', 'api.port'],
    ['api:\n  body_limit: 1gb\n', 'api.body_limit'],
    ['log:\n  level: loud\n', 'log.level'],
    ['blocks:\n  max_duration_minutes: 0\n', 'blocks.max_duration_minutes'],
    // Free-text strings pass the shared text check: refused with the reason, never trimmed.
    ['acme:\n  dns_hook: "/usr/local/bin/hook\\n"\n', 'acme.dns_hook'],
    ['acme:\n  dns_hook: "/usr/local/bin/hook "\n', 'acme.dns_hook'],
    ['haproxy:\n  binary: "/usr/sbin/haproxy\\u2028"\n', 'haproxy.binary'],
    ['haproxy:\n  default_page:\n    title: "Welcome\\u202e"\n', 'haproxy.default_page.title'],
    ['blocks:\n  expiry_schedule: "* * * * *\\r\\n"\n', 'blocks.expiry_schedule'],
    ['monitor:\n  rules_dir: " /etc/rules"\n', 'monitor.rules_dir'],
  ];
  test('the text check gives the reason, naming the character', () => {
    assert.deepEqual(errorLines('acme:\n  dns_hook: "/usr/local/bin/hook\\n"\n'), ['acme.dns_hook: contains a control character (U+000A)']);
    assert.deepEqual(errorLines('monitor:\n  rules_dir: " /etc/rules"\n'), ['monitor.rules_dir: has leading whitespace (U+0020)']);
    const channel = 'notifications:\n  channels:\n    ops:\n      type: email\n      host: smtp.test\n      from: "a@b.test\\r\\nBcc: x@evil.test"\n      to: [ops@b.test]\n';
    assert.deepEqual(errorLines(channel), ['notifications.channels.ops.from: contains a control character (U+000D)']);
  });
  for (const [yaml, path] of cases) {
    test(`${path}: ${JSON.stringify(yaml)}`, () => {
      const lines = errorLines(yaml);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.ok(lines[0]!.startsWith(`${path}: `), lines[0]);
      assert.ok(lines[0]!.length > `${path}: `.length + 3, 'the message says something');
    });
  }
  test('YAML syntax errors and duplicate keys', () => {
    assert.match(errorLines('a: [1\n')[0]!, /^\(yaml\): /);
    assert.match(errorLines('mode: managed\nmode: systemd\n')[0]!, /^\(yaml\): .*unique/);
  });
  test('a root that is not a mapping', () => {
    assert.deepEqual(errorLines('- a\n'), ['(root): must be a mapping']);
    assert.deepEqual(errorLines('"just text"\n'), ['(root): must be a mapping']);
  });
  test('https and stats ports must differ from the http port', () => {
    assert.deepEqual(errorLines('haproxy:\n  https_port: 8080\n'), ['haproxy.https_port: must differ from haproxy.http_port']);
    assert.deepEqual(errorLines('haproxy:\n  stats_port: 8080\n'), ['haproxy.stats_port: must differ from haproxy.http_port']);
  });
  test('tarpit above deny is refused; equal is fine', () => {
    assert.deepEqual(errorLines('haproxy:\n  rate_limits:\n    tarpit_requests_10s: 5001\n'), ['haproxy.rate_limits.tarpit_requests_10s: must not be above deny_requests_10s']);
    assert.deepEqual(errorLines('haproxy:\n  rate_limits:\n    tarpit_requests_10s: 100\n    deny_requests_10s: 99\n'), ['haproxy.rate_limits.tarpit_requests_10s: must not be above deny_requests_10s']);
    assert.equal(ok('haproxy:\n  rate_limits:\n    tarpit_requests_10s: 5000\n').haproxy.rate_limits.tarpit_requests_10s, 5000);
  });
});

describe('parseConfig: api.listen and the API key', () => {
  test('api.auth is key by default; a non-loopback listen without a configured key is allowed (the daemon generates one)', () => {
    for (const addr of ['0.0.0.0', '::', '192.168.1.10']) {
      const c = ok(`api:\n  listen: "${addr}"\n`);
      assert.equal(c.api.auth, 'key');
      assert.equal(c.apiKey, null);
      assert.equal(c.paths.apiKeyFile, join(c.paths.stateDir, 'api-key'));
    }
  });
  test('api.auth: none is refused on a non-loopback listen, and ignores configured keys', () => {
    for (const addr of ['0.0.0.0', '::', '192.168.1.10']) {
      const lines = errorLines(`api:\n  listen: "${addr}"\n  auth: none\n`);
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /^api\.auth: "none" is only allowed when api\.listen is a loopback address/);
    }
    assert.equal(ok('api:\n  auth: none\n', { HAPROXY_MANAGER_API_KEY: KEY }).apiKey, null);
    assert.match(errorLines('api:\n  auth: off\n')[0]!, /^api\.auth: /);
  });
  test('api.listen must be an address, not a hostname', () => {
    assert.match(errorLines('api:\n  listen: "example.com"\n')[0]!, /^api\.listen: /);
  });
  test('loopback api.listen: no configured key (the daemon generates one)', () => {
    for (const addr of ['127.0.0.1', '::1', 'localhost']) assert.equal(ok(`api:\n  listen: "${addr}"\n`).apiKey, null);
  });
  test('the key from HAPROXY_MANAGER_API_KEY (trimmed) allows a non-loopback listen', () => {
    const c = ok('api:\n  listen: 0.0.0.0\n', { HAPROXY_MANAGER_API_KEY: `  ${KEY}\n` });
    assert.equal(c.apiKey, KEY);
    assert.equal(c.api.listen, '0.0.0.0');
  });
  test('a blank HAPROXY_MANAGER_API_KEY is no key', () => {
    assert.equal(ok('', { HAPROXY_MANAGER_API_KEY: '   ' }).apiKey, null);
  });
  test('the key from $CREDENTIALS_DIRECTORY/api-key', () => {
    const cred = newDir();
    writeFileSync(join(cred, 'api-key'), `${KEY}\n`, { mode: 0o600 });
    assert.equal(ok('api:\n  listen: 0.0.0.0\n', { CREDENTIALS_DIRECTORY: cred }).apiKey, KEY);
  });
  test('the key from api.key_file, absolute or relative to the config file', () => {
    const d = newDir();
    writeFileSync(join(d, 'key'), `${KEY}\n`, { mode: 0o600 });
    assert.equal(ok(`api:\n  listen: 0.0.0.0\n  key_file: ${join(d, 'key')}\n`).apiKey, KEY);
    assert.equal(ok('api:\n  listen: 0.0.0.0\n  key_file: key\n', {}, join(d, 'config.yaml')).apiKey, KEY);
  });
  test('precedence: environment, then credential, then key_file', () => {
    const d = newDir();
    const cred = join(d, 'cred');
    mkdirSync(cred);
    writeFileSync(join(cred, 'api-key'), 'from-credential-0123456789');
    writeFileSync(join(d, 'key'), 'from-key-file-0123456789');
    const yaml = `api:\n  key_file: ${join(d, 'key')}\n`;
    assert.equal(ok(yaml, { HAPROXY_MANAGER_API_KEY: 'from-environment-0123456789', CREDENTIALS_DIRECTORY: cred }).apiKey, 'from-environment-0123456789');
    assert.equal(ok(yaml, { CREDENTIALS_DIRECTORY: cred }).apiKey, 'from-credential-0123456789');
    assert.equal(ok(yaml, {}).apiKey, 'from-key-file-0123456789');
    // A credential directory without api-key falls through to key_file.
    assert.equal(ok(yaml, { CREDENTIALS_DIRECTORY: join(d, 'empty') }).apiKey, 'from-key-file-0123456789');
  });
  test('the process environment is not read when env is given', () => {
    const saved = process.env.HAPROXY_MANAGER_API_KEY;
    process.env.HAPROXY_MANAGER_API_KEY = KEY;
    try {
      assert.equal(ok('', {}).apiKey, null);
    } finally {
      if (saved === undefined) delete process.env.HAPROXY_MANAGER_API_KEY;
      else process.env.HAPROXY_MANAGER_API_KEY = saved;
    }
  });
  test('short keys are refused: key_file', () => {
    const d = newDir();
    writeFileSync(join(d, 'key'), 'short\n');
    const lines = errorLines(`api:\n  key_file: ${join(d, 'key')}\n`);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^api\.key_file: .*shorter than 16/);
    writeFileSync(join(d, 'key'), '\n');
    assert.match(errorLines(`api:\n  key_file: ${join(d, 'key')}\n`)[0]!, /^api\.key_file: /);
  });
  test('short keys are refused: credential', () => {
    const cred = newDir();
    writeFileSync(join(cred, 'api-key'), '0123456789abcde'); // 15
    assert.match(errorLines('', { CREDENTIALS_DIRECTORY: cred })[0]!, /shorter than 16/);
    writeFileSync(join(cred, 'api-key'), '0123456789abcdef'); // 16
    assert.equal(ok('', { CREDENTIALS_DIRECTORY: cred }).apiKey, '0123456789abcdef');
  });
  test('short keys are refused: HAPROXY_MANAGER_API_KEY', () => {
    const lines = errorLines('api:\n  listen: 0.0.0.0\n', { HAPROXY_MANAGER_API_KEY: 'short' });
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /shorter than 16|too short|at least 16/);
    assert.throws(() => ok('', { HAPROXY_MANAGER_API_KEY: '0123456789abcde' }), ConfigError);
  });
  test('a key_file that does not exist is an error', () => {
    const d = newDir();
    assert.deepEqual(errorLines(`api:\n  key_file: ${join(d, 'missing')}\n`), [`api.key_file: ${join(d, 'missing')} does not exist`]);
  });
  test('a key_file that does not exist is an error even when a (key-less) credential directory is set', () => {
    const d = newDir();
    const lines = errorLines(`api:\n  key_file: ${join(d, 'missing')}\n`, { CREDENTIALS_DIRECTORY: d });
    assert.match(lines[0]!, /^api\.key_file: .*does not exist/);
  });
  test('an unreadable key_file is an error naming api.key_file', () => {
    // Tests run as root, who reads any file whatever its mode: a directory where the file should be cannot be read by anyone.
    const d = newDir();
    mkdirSync(join(d, 'key'));
    assert.match(errorLines(`api:\n  key_file: ${join(d, 'key')}\n`)[0]!, /^api\.key_file: cannot read/);
  });
});

describe('loadConfig', () => {
  test('a missing file is a (file) line', () => {
    assert.throws(
      () => loadConfig(join(tmpRoot, 'nope.yaml'), { env: {} }),
      (e: unknown) => e instanceof ConfigError && e.lines.length === 1 && e.lines[0] === `(file): ${join(tmpRoot, 'nope.yaml')} does not exist`,
    );
  });
  test('reads, validates and resolves relative to the file', () => {
    const d = newDir();
    writeFileSync(join(d, 'c.yaml'), 'state_dir: st\n');
    const c = loadConfig(join(d, 'c.yaml'), { env: {} });
    assert.equal(c.source, join(d, 'c.yaml'));
    assert.equal(c.paths.stateDir, join(d, 'st'));
  });
});

// --- The CLI ---------------------------------------------------------------

/** The CLI with a clean environment: no key, no credential, no default config. */
function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HAPROXY_MANAGER_API_KEY;
  delete env.CREDENTIALS_DIRECTORY;
  delete env.HAPROXY_MANAGER_CONFIG;
  return exec(process.execPath, [CLI, ...args], { env, cwd: REPO, timeoutMs: 60_000 });
}

describe('CLI: config check', () => {
  test('a bad file: exit 2 and path: message lines on stderr', async () => {
    const d = newDir();
    const file = join(d, 'bad.yaml');
    writeFileSync(file, `haproxy:\n  http_port: 0\n  bogus: 1\n  timeouts:\n    client: soon\napi:\n  key: ${KEY}\n`);
    const r = await cli(['config', 'check', '-c', file]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.split('\n').map((l) => l.trim());
    assert.ok(lines.some((l) => /^haproxy\.http_port: \S/.test(l)), r.stderr);
    assert.ok(lines.includes('haproxy: unknown key "bogus"'), r.stderr);
    assert.ok(lines.some((l) => /^haproxy\.timeouts\.client: \S/.test(l)), r.stderr);
    assert.ok(lines.includes('api: unknown key "key"'), r.stderr);
    assert.ok(!r.stderr.includes(KEY), 'the key must not be echoed');
    assert.doesNotMatch(r.stdout, /configuration OK/);
  });

  test('a non-loopback api.listen with auth none: exit 2 naming api.auth; without a key it passes (the daemon creates one)', async () => {
    const d = newDir();
    const file = join(d, 'c.yaml');
    writeFileSync(file, `state_dir: ${join(d, 'state')}\napi:\n  listen: 0.0.0.0\n  auth: none\n`);
    const r = await cli(['config', 'check', '-c', file]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^\s*api\.auth: "none" is only allowed when api\.listen is a loopback address/m);

    writeFileSync(file, `state_dir: ${join(d, 'state')}\napi:\n  listen: 0.0.0.0\n`);
    const ok = await cli(['config', 'check', '-c', file]);
    assert.doesNotMatch(ok.stderr, /^\s*api\./m, ok.stderr);
  });

  test('a missing file: exit 2', async () => {
    const r = await cli(['config', 'check', '-c', join(tmpRoot, 'missing.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\(file\): .*does not exist/);
  });

  for (const b of BINARIES) {
    test(`a good file with ${b.name}: exit 0, version and protections`, async () => {
      const info = await detectHaproxy(b.bin);
      const d = newDir();
      const file = join(d, 'good.yaml');
      writeFileSync(file, `state_dir: ${join(d, 'state')}\nhaproxy:\n  binary: ${b.bin}\n`);
      const r = await cli(['config', 'check', '-c', file]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(r.stdout.includes(`haproxy ${info.version} (${b.bin})`), r.stdout);
      const is26 = b.name === 'haproxy-2.6';
      assert.match(r.stdout, is26 ? /^\s*inactive\s+http2_rapid_reset\b/m : /^\s*active\s+http2_rapid_reset$/m);
      assert.match(r.stdout, is26 ? /^\s*inactive\s+stats_file\b/m : /^\s*active\s+stats_file$/m);
      for (const p of ['timeouts', 'rate_limits', 'ipv6_client_tracking', 'blocked_ip_map', 'trusted_proxy_header_gate']) assert.match(r.stdout, new RegExp(`^\\s*active\\s+${p}$`, 'm'));
      if (is26) assert.match(r.stdout, /http2_rapid_reset \(tune\.h2\.fe\.\* not supported by HAProxy 2\.6/);
      assert.match(r.stdout, /^configuration OK$/m);
      assert.equal(r.stderr, '');

      const j = await cli(['config', 'check', '-c', file, '--json']);
      assert.equal(j.code, 0, j.stderr);
      const report = JSON.parse(j.stdout) as { ok: boolean; errors: string[]; haproxy: { version: string; protections: { name: string; active: boolean }[] } };
      assert.equal(report.ok, true);
      assert.deepEqual(report.errors, []);
      assert.equal(report.haproxy.version, info.version);
      assert.equal(report.haproxy.protections.find((p) => p.name === 'http2_rapid_reset')?.active, !is26);
    });
  }

  test('the policy, the channels and the analysis key are checked too: exit 1, each named', async () => {
    const d = newDir();
    const file = join(d, 'c.yaml');
    writeFileSync(join(d, 'policy.yaml'), 'version: 1\nrules:\n  - name: Bad Name\n');
    writeFileSync(
      file,
      [
        `state_dir: ${join(d, 'state')}`,
        `haproxy:\n  binary: ${BINARIES[0]!.bin}`,
        `monitor:\n  policy_file: ${join(d, 'policy.yaml')}`,
        `notifications:\n  channels:\n    hook: { type: webhook, url: "http://127.0.0.1:9/h", secret_file: ${join(d, 'missing-secret')} }`,
        'analysis:\n  enabled: true\n  api_key_env: HM_TEST_NO_SUCH_KEY',
      ].join('\n'),
    );
    const r = await cli(['config', 'check', '-c', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /monitor\.policy_file: .*policy\.yaml: rules\[0\].*name/);
    assert.match(r.stderr, /notifications\.channels\.hook: /);
    assert.match(r.stderr, /analysis\.enabled: no API key .*HM_TEST_NO_SUCH_KEY/);
  });

  test('a haproxy binary that does not exist: exit 1, named haproxy.binary', async () => {
    const d = newDir();
    const file = join(d, 'c.yaml');
    writeFileSync(file, `state_dir: ${join(d, 'state')}\nhaproxy:\n  binary: ${join(d, 'no-haproxy')}\n`);
    const r = await cli(['config', 'check', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^haproxy\.binary: /m);
    assert.match(r.stdout, /configuration has errors/);
  });

  test('a config HAProxy rejects: exit 1 with its alert', async () => {
    const d = newDir();
    const file = join(d, 'c.yaml');
    writeFileSync(file, `state_dir: ${join(d, 'state')}\nhaproxy:\n  binary: ${BINARIES[0]!.bin}\n  user: nosuchuserxyz\n`);
    const r = await cli(['config', 'check', '-c', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^haproxy: the rendered configuration is rejected: .*ALERT/m);
  });
});

describe('CLI: --help', () => {
  for (const [args, usage] of [
    [['run', '--help'], 'Usage: haproxy-manager run [options]'],
    [['config', 'check', '--help'], 'Usage: haproxy-manager config check [options]'],
    [['render', '--help'], 'Usage: haproxy-manager render [options]'],
    [['config', '--help'], 'Usage: haproxy-manager config [options] [command]'],
    [['--help'], 'Usage: haproxy-manager [options] [command]'],
  ] as const) {
    test(args.join(' '), async () => {
      const r = await cli([...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith(usage), r.stdout);
      // The commands that read a configuration take -c; the groups do not.
      if (['run', 'render'].includes(args[0]) || args[1] === 'check') assert.match(r.stdout, /-c, --config <file>/);
      assert.match(r.stdout, /-h, --help/);
    });
  }
  test('an unknown command exits 2', async () => {
    const r = await cli(['no-such-command']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command/);
  });
});
