/**
 * The certificate store: a mismatched key, an empty or partial PEM, or a
 * broken file never replaces a live certificate; a good one is written 0600
 * with the previous one backed up; the combined PEM has no blank line (HAProxy's
 * runtime payload would end there and drop the key).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSigned, publishPem, certFileName } from '../../src/certs/store.js';
import { combine, inspect } from '../../src/certs/pem.js';
import { covers } from '../../src/storage/certificates.js';

test('publishPem refuses what would break the live file, and keeps a backup of what it replaces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-store-'));
  try {
    const certDir = join(dir, 'certs');
    const backups = join(dir, 'backups');
    const a = await createSelfSigned('a.example.test');
    const b = await createSelfSigned('b.example.test');
    const first = publishPem(certDir, backups, 'a.pem', a.chain, a.key);
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    assert.deepEqual(first.info.names, ['a.example.test']);
    const live = readFileSync(first.file);
    for (const [chain, key, re] of [
      [a.chain, b.key, /does not match/],
      ['', a.key, /no certificate/],
      [a.chain, '', /no unencrypted private key/],
      [a.chain, a.key + b.key, /more than one private key/],
      [a.chain, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n', /no unencrypted private key/],
      [a.chain.replace(/[A-Za-z0-9+/]{20}\n/, 'garbage!!\n'), a.key, /./],
    ] as const) {
      assert.throws(() => publishPem(certDir, backups, 'a.pem', chain, key), re);
      assert.deepEqual(readFileSync(first.file), live, 'live file untouched');
    }
    assert.deepEqual(readdirSync(certDir), ['a.pem'], 'no staged leftovers');
    const second = await createSelfSigned('a.example.test');
    publishPem(certDir, backups, 'a.pem', second.chain, second.key);
    assert.notDeepEqual(readFileSync(first.file), live);
    assert.equal(readdirSync(backups).length, 1);
    assert.deepEqual(readFileSync(join(backups, readdirSync(backups)[0]!)), live);
    // A broken live file is replaced but not worth a backup.
    writeFileSync(first.file, 'broken');
    publishPem(certDir, backups, 'a.pem', a.chain, a.key);
    assert.equal(readdirSync(backups).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('combine: leaf first, key last, no blank lines, CRLF tolerated', async () => {
  const a = await createSelfSigned('c.example.test');
  const { pem, leaf } = combine(a.chain.replace(/\n/g, '\r\n') + '\n\n', '\n' + a.key);
  assert.doesNotMatch(pem, /\n\s*\n/);
  assert.match(pem, /^-----BEGIN CERTIFICATE-----[\s\S]*-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----[\s\S]*-----END PRIVATE KEY-----\n$/);
  assert.equal(leaf.serial, inspect(a.chain).serial);
  assert.ok(Date.parse(leaf.notAfter) > Date.now());
});

test('file names and coverage: wildcards get a safe file name and cover one label, never the apex', () => {
  assert.equal(certFileName('*.example.com'), '_wildcard_.example.com.pem');
  assert.equal(certFileName('example.com'), 'example.com.pem');
  for (const bad of ['../x', 'a/b', 'x y', '', '*.']) assert.throws(() => certFileName(bad));
  assert.ok(covers('*.example.com', 'a.example.com'));
  assert.ok(!covers('*.example.com', 'example.com'));
  assert.ok(!covers('*.example.com', 'a.b.example.com'));
  assert.ok(covers('example.com', 'example.com'));
  assert.ok(!covers('example.com', 'www.example.com'));
});
