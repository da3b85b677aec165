/**
 * Certificate private keys sealed for the fleet's PostgreSQL
 * (src/fleet/secret-box.ts) and the fleet secret key's settings
 * (fleet.secret_key_file, the credential fleet-secret-key): a sealed key
 * opens with the same key and context only; another key, another
 * certificate, an altered or truncated value are refused with a message
 * that holds no key material; the key file must be 0600 and hold exactly 32
 * bytes in base64; `config show` never prints it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyId, seal, unseal } from '../../src/fleet/secret-box.js';
import { AppError } from '../../src/errors.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { configShowYaml } from '../../src/cli/config-show.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const refused = (f: () => unknown, why: RegExp) =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof AppError);
    assert.equal(e.kind, 'validation');
    assert.match(e.message, why);
    assert.doesNotMatch(e.message, /BEGIN|MIGHAgEA/);
    return true;
  });

test('a sealed key opens with the same key and certificate, and only then', () => {
  const key = randomBytes(32);
  const sealed = seal(key, PEM, 'shop.test\0ABC123');
  assert.doesNotMatch(sealed, /PRIVATE|MIGHAgEA/, 'nothing of the key is readable');
  assert.equal(sealed.split(':')[1], keyId(key));
  assert.equal(unseal(key, sealed, 'shop.test\0ABC123'), PEM);
  assert.notEqual(seal(key, PEM, 'shop.test\0ABC123'), sealed, 'a fresh IV each time');

  const other = randomBytes(32);
  refused(() => unseal(other, sealed, 'shop.test\0ABC123'), new RegExp(`sealed with another fleet key \\(key id ${keyId(key)}; this node's is ${keyId(other)}\\)`));
  refused(() => unseal(key, sealed, 'other.test\0ABC123'), /does not authenticate/);
  refused(() => unseal(key, sealed, 'shop.test\0ABC124'), /does not authenticate/);
  const parts = sealed.split(':');
  const ct = Buffer.from(parts[4]!, 'base64');
  ct[0]! ^= 1;
  refused(() => unseal(key, [...parts.slice(0, 4), ct.toString('base64')].join(':'), 'shop.test\0ABC123'), /does not authenticate/);
  const shortTag = Buffer.from(parts[3]!, 'base64').subarray(0, 8).toString('base64');
  refused(() => unseal(key, [parts[0], parts[1], parts[2], shortTag, parts[4]].join(':'), 'shop.test\0ABC123'), /does not authenticate/);
  refused(() => unseal(key, 'hm2:x:y:z:w', 'shop.test\0ABC123'), /unknown format/);
  refused(() => unseal(key, PEM, 'shop.test\0ABC123'), /unknown format/);
});

test('the fleet secret key: a 0600 file with 32 bytes in base64, or the credential; never shown', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-fleet-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fleet.key');
  const key = randomBytes(32);
  const yaml = `fleet:\n  node_name: a\n  database_url: postgres://hm@127.0.0.1/f\n  tls: { enabled: false }\n  secret_key_file: ${file}\n`;
  const lines = (y: string, env: NodeJS.ProcessEnv = {}) => {
    try {
      parseConfig(y, '/etc/hm/config.yaml', { env });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.lines.join('\n');
    }
    return '';
  };

  writeFileSync(file, key.toString('base64') + '\n');
  chmodSync(file, 0o640);
  assert.match(lines(yaml), /^fleet\.secret_key_file: .* is readable by others \(mode 640\); it holds the fleet secret key: chmod 600$/m);
  chmodSync(file, 0o600);
  const cfg = parseConfig(yaml, '/etc/hm/config.yaml', { env: {} });
  assert.ok(cfg.fleetSettings!.secretKey!.equals(key));
  const shown = configShowYaml(cfg);
  assert.match(shown, /secretKey: \(set\)/);
  assert.ok(!shown.includes(key.toString('base64')) && !shown.includes(key.toString('hex')), 'config show never prints the key');

  for (const bad of [randomBytes(16).toString('base64'), randomBytes(32).toString('hex'), key.toString('base64').slice(0, -2) + '!!', '']) {
    writeFileSync(file, bad + '\n');
    assert.match(lines(yaml), /^fleet\.secret_key_file: not a key: want 32 random bytes in base64 \(openssl rand -base64 32\)$/m, JSON.stringify(bad));
  }
  assert.doesNotMatch(lines(yaml), /[A-Za-z0-9+/]{40}/, 'the message never echoes the file');

  // The systemd credential wins over the file.
  writeFileSync(file, key.toString('base64'));
  const other = randomBytes(32);
  const credDir = mkdtempSync(join(dir, 'cred-'));
  writeFileSync(join(credDir, 'fleet-secret-key'), other.toString('base64') + '\n', { mode: 0o600 });
  assert.ok(parseConfig(yaml, '/etc/hm/config.yaml', { env: { CREDENTIALS_DIRECTORY: credDir } }).fleetSettings!.secretKey!.equals(other));

  // Without one, certificates are not shared (null), and nothing else changes.
  assert.equal(parseConfig(yaml.replace(/ {2}secret_key_file: .*\n/, ''), '/etc/hm/config.yaml', { env: {} }).fleetSettings!.secretKey, null);
});
