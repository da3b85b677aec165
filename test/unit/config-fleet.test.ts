/**
 * The daemon config's `fleet:` section (src/config/fleet.ts, resolved in
 * src/config/load.ts): absent means a single node; the URL from exactly one
 * source, a password only from a 0600 file, TLS with verification unless the
 * database is on loopback, peers validated; every refusal names its key, and
 * no message repeats a password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { redactDatabaseUrl } from '../../src/config/fleet.js';
import { pgConfig } from '../../src/fleet/connection.js';
import { configShowYaml } from '../../src/cli/config-show.js';

const SOURCE = '/etc/hm/config.yaml';
const parse = (yaml: string, env: NodeJS.ProcessEnv = {}) => parseConfig(yaml, SOURCE, { env });

function errorLines(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parse(yaml, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.lines;
  }
  assert.fail(`expected ${JSON.stringify(yaml)} to be refused`);
}

const fleet = (body: string) => `fleet:\n${body.replace(/^/gm, '  ')}\n`;

test('without fleet the daemon is a single node', () => {
  const c = parse('');
  assert.equal(c.fleet, null);
  assert.equal(c.fleetSettings, null);
});

test('a loopback database without TLS, with peers (this node among them)', () => {
  const c = parse(fleet('node_name: edge-a\ndatabase_url: postgres://hm@127.0.0.1:5432/fleet\ntls: { enabled: false }\npeers:\n  - { name: edge-a, address: 10.0.0.1, port: 10000 }\n  - { name: edge-b, address: "2001:db8::2", port: 10000 }'));
  assert.deepEqual(c.fleetSettings, {
    nodeName: 'edge-a',
    databaseUrl: 'postgres://hm@127.0.0.1:5432/fleet',
    host: '127.0.0.1',
    tls: { enabled: false, verify: true, caFile: null },
    peers: [
      { name: 'edge-a', address: '10.0.0.1', port: 10000 },
      { name: 'edge-b', address: '2001:db8::2', port: 10000 },
    ],
    secretKey: null,
  });
});

test('bad input is refused with the key named', () => {
  const cases: [string, RegExp][] = [
    [fleet('database_url: postgres://h/db'), /^fleet\.node_name: /],
    [fleet('node_name: Edge A\ndatabase_url: postgres://h/db'), /^fleet\.node_name: lower-case/],
    [fleet('node_name: a'), /^fleet\.database_url: required/],
    [fleet('node_name: a\ndatabase_url: postgres://h/db\ndatabase_url_file: /x'), /^fleet\.database_url: give database_url or database_url_file, not both/],
    [fleet('node_name: a\ndatabase_url: mysql://h/db'), /^fleet\.database_url: must start with postgres:\/\//],
    [fleet('node_name: a\ndatabase_url: postgres://db.example/fleet?sslmode=disable'), /^fleet\.database_url: takes no \?options/],
    [fleet('node_name: a\ndatabase_url: postgres://db.example'), /^fleet\.database_url: needs a database name/],
    [fleet('node_name: a\ndatabase_url: postgres://db.example/f\ntls: { verify: false }'), /^fleet\.tls\.verify: false is only allowed when the database is on loopback \(it is db\.example\)/],
    [fleet('node_name: a\ndatabase_url: postgres://10.1.2.3/f\ntls: { enabled: false }'), /^fleet\.tls\.enabled: false is only allowed/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\ntls: { verify: yes please }'), /^fleet\.tls\.verify: /],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\ntls: { ca_file: /nonexistent/ca.pem }'), /^fleet\.tls\.ca_file: \/nonexistent\/ca\.pem does not exist/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\nport: 5432'), /^fleet: unknown key "port"/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: b, address: host.example, port: 1 }]'), /^fleet\.peers\.0\.address: an IPv4 or IPv6 address/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.0/24, port: 1 }]'), /^fleet\.peers\.0\.address: an IPv4 or IPv6 address/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: "2001:DB8::1", port: 1 }]'), /^fleet\.peers\.0\.address: not in canonical form \(write 2001:db8::1\)/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 0.0.0.0, port: 1 }]'), /^fleet\.peers\.0\.address: a node's own address, not "every address"/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: "::", port: 1 }]'), /^fleet\.peers\.0\.address: a node's own address/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 239.1.2.3, port: 1 }]'), /^fleet\.peers\.0\.address: a unicast address/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.1, port: 0 }]'), /^fleet\.peers\.0\.port: /],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.1, port: 70000 }]'), /^fleet\.peers\.0\.port: /],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.1, port: "1000" }]'), /^fleet\.peers\.0\.port: /],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: "B x", address: 10.0.0.1, port: 1 }]'), /^fleet\.peers\.0\.name: lower-case/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.1, port: 1, weight: 2 }]'), /^fleet\.peers\.0: unknown key "weight"/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.1, port: 1 }, { name: a, address: 10.0.0.2, port: 1 }]'), /^fleet\.peers\.1\.name: "a" is used twice \(also peers\.0\)/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.1, port: 1 }, { name: b, address: 10.0.0.1, port: 1 }]'), /^fleet\.peers\.1\.port: 10\.0\.0\.1:1 is used twice \(also peers\.0\)/],
    [fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: b, address: 10.0.0.2, port: 1 }]'), /^fleet\.peers: no entry for this node \(node_name a\)/],
    [`haproxy:\n  http_port: 8080\n${fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 127.0.0.1, port: 8080 }]')}`, /^fleet\.peers: this node's peers listener 127\.0\.0\.1:8080 is also haproxy\.http_port/],
    [`haproxy:\n  bind_address: 0.0.0.0\n  stats_port: null\n  https_port: 8443\n${fleet('node_name: a\ndatabase_url: postgres://h/f\npeers: [{ name: a, address: 10.0.0.1, port: 8443 }]')}`, /^fleet\.peers: this node's peers listener 10\.0\.0\.1:8443 is also haproxy\.https_port \(0\.0\.0\.0:8443\)/],
    [fleet('node_name: a\ndatabase_url: "postgres://h/f\\u0007"'), /^fleet\.database_url: /],
  ];
  for (const [yaml, want] of cases) {
    const lines = errorLines(yaml);
    assert.ok(lines.some((l) => want.test(l)), `${yaml}\n→ ${lines.join(' | ')}\n  wanted ${want}`);
  }
});

test('a password in the YAML is refused without echoing it; a 0600 file is the place for it', (t) => {
  const lines = errorLines(fleet('node_name: a\ndatabase_url: postgres://hm:s3cret-pw@127.0.0.1/f'));
  assert.match(lines.join('\n'), /^fleet\.database_url: holds a password.*database_url_file/m);
  assert.doesNotMatch(lines.join('\n'), /s3cret-pw/);

  const dir = mkdtempSync(join(tmpdir(), 'hm-fleet-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'db-url');
  writeFileSync(file, 'postgres://hm:s3cret-pw@db.example:5433/fleet\n');
  chmodSync(file, 0o644);
  const open = errorLines(fleet(`node_name: a\ndatabase_url_file: ${file}`));
  assert.match(open.join('\n'), /^fleet\.database_url_file: .* is readable by others \(mode 644\).*chmod 600/m);
  assert.doesNotMatch(open.join('\n'), /s3cret-pw/);

  chmodSync(file, 0o600);
  const s = parse(fleet(`node_name: a\ndatabase_url_file: ${file}`)).fleetSettings!;
  assert.equal(s.databaseUrl, 'postgres://hm:s3cret-pw@db.example:5433/fleet');
  assert.deepEqual(s.tls, { enabled: true, verify: true, caFile: null });
  assert.equal(redactDatabaseUrl(s.databaseUrl), 'postgres://hm:***@db.example:5433/fleet');
  // `config show` prints the resolved settings under `derived`, never the password, and its YAML reads back.
  const shown = configShowYaml(parse(fleet(`node_name: a\ndatabase_url_file: ${file}`)));
  assert.doesNotMatch(shown, /s3cret-pw/);
  assert.match(shown, /^# +databaseUrl: postgres:\/\/\*+@db\.example:5433\/fleet$/m);
  assert.doesNotMatch(shown.split('\n').filter((l) => !l.startsWith('#')).join('\n'), /fleetSettings|databaseUrl/);

  // The systemd credential wins over the file.
  writeFileSync(join(dir, 'fleet-database-url'), 'postgres://other@127.0.0.1/f2', { mode: 0o600 });
  assert.equal(parse(fleet(`node_name: a\ndatabase_url_file: ${file}`), { CREDENTIALS_DIRECTORY: dir }).fleetSettings!.databaseUrl, 'postgres://other@127.0.0.1/f2');

  const missing = errorLines(fleet(`node_name: a\ndatabase_url_file: ${join(dir, 'nope')}`));
  assert.match(missing.join('\n'), /^fleet\.database_url_file: cannot read .*nope: ENOENT/m);
});

test('redactDatabaseUrl never repeats a password nor unparseable text', () => {
  assert.equal(redactDatabaseUrl('postgres://u@h/d'), 'postgres://u@h/d');
  assert.equal(redactDatabaseUrl('postgres://u:p%40ss@h:1/d'), 'postgres://u:***@h:1/d');
  assert.equal(redactDatabaseUrl('not a url with secret'), '(unparseable database URL)');
});

test('the connection settings carry fleet.tls: verified TLS by default, the CA file read, plain only when turned off', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-fleet-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const remote = pgConfig(parse(fleet(`node_name: a\ndatabase_url: postgres://hm@db.example:5432/fleet\ntls: { ca_file: ${join(dir, 'ca.pem')} }`)).fleetSettings!);
  assert.deepEqual(remote.ssl, { rejectUnauthorized: true, ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
  assert.equal(remote.application_name, 'haproxy-manager a');
  const plain = pgConfig(parse(fleet('node_name: a\ndatabase_url: postgres://hm@127.0.0.1/fleet\ntls: { enabled: false }')).fleetSettings!);
  assert.equal(plain.ssl, false);
});
