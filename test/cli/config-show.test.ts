/**
 * `config show`: the effective configuration with every default filled in,
 * as YAML the daemon reads back or as JSON, and never a secret: secrets are
 * planted in every place a configuration can carry one (the API key from the
 * environment and from api.key_file, credentials and tokens in URLs,
 * webhook URLs and headers, a DNS hook command line) and must not appear in
 * either output.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cli, cleanEnv, json } from './run-cli.js';
import { maskSecrets, MASK } from '../../src/cli/config-show.js';

const SECRETS = {
  envKey: 'env-api-key-7f3a9c1e5b2d4f60',
  fileKey: 'file-api-key-0b1c2d3e4f5a6b7c',
  smtpPassword: 'smtp-pass-91ab',
  webhookSecret: 'hmac-secret-55cd',
  slackToken: 'slackTOKENxoxb1234',
  urlPassword: 'urlpass-8899',
  queryToken: 'qtoken-4455',
  headerToken: 'hdr-token-6677',
  hookPassword: 'hookpass-2233',
};

let dir: string;
let file: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hm-cli-show-'));
  writeFileSync(join(dir, 'api-key'), `${SECRETS.fileKey}\n`);
  writeFileSync(join(dir, 'smtp-password'), `${SECRETS.smtpPassword}\n`);
  writeFileSync(join(dir, 'hook-secret'), `${SECRETS.webhookSecret}\n`);
  file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `state_dir: ${join(dir, 'state')}
haproxy:
  http_port: 8181
api:
  key_file: ${join(dir, 'api-key')}
acme:
  dns_hook: "/usr/local/bin/dns-hook --api https://hook:${SECRETS.hookPassword}@dns.example.test/v1"
analysis:
  base_url: "https://user:${SECRETS.urlPassword}@llm.example.test/v1?token=${SECRETS.queryToken}"
notifications:
  channels:
    slack:
      type: webhook
      format: slack
      url: https://hooks.slack.com/services/T0/B0/${SECRETS.slackToken}
    signed:
      type: webhook
      url: "https://ops:${SECRETS.urlPassword}@hooks.example.test/in?sig=${SECRETS.queryToken}"
      secret_file: ${join(dir, 'hook-secret')}
      headers:
        Authorization: "Bearer ${SECRETS.headerToken}"
    mail:
      type: email
      host: smtp.example.test
      username: alerts
      password_file: ${join(dir, 'smtp-password')}
      from: alerts@example.test
      to: [ops@example.test]
`,
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

const leaks = (text: string) => Object.entries(SECRETS).filter(([, v]) => text.includes(v)).map(([k]) => k);

describe('config show', () => {
  test('YAML: defaults filled in, no secret, masked where one was, and it reads back', async () => {
    for (const env of [cleanEnv(), cleanEnv({ HAPROXY_MANAGER_API_KEY: SECRETS.envKey })]) {
      const r = await cli(['config', 'show', '-c', file], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(leaks(r.stdout + r.stderr), []);
      const doc = parse(r.stdout) as { haproxy: { http_port: number; timeouts: { client: string } }; notifications: { channels: Record<string, { url?: string; headers?: Record<string, string>; password_file?: string; secret_file?: string }> }; analysis: { base_url: string } };
      assert.equal(doc.haproxy.http_port, 8181);
      assert.equal(doc.haproxy.timeouts.client, '5m', 'a default the file does not set');
      assert.equal(doc.notifications.channels.slack!.url, `https://hooks.slack.com/${MASK}`);
      assert.equal(doc.notifications.channels.signed!.headers!.Authorization, MASK);
      assert.equal(doc.notifications.channels.signed!.url, `https://${MASK}@hooks.example.test/${MASK}?${MASK}`);
      assert.equal(doc.analysis.base_url, `https://${MASK}@llm.example.test/v1?${MASK}`);
      // Where a secret is kept is not a secret: the files are named.
      assert.equal(doc.notifications.channels.mail!.password_file, join(dir, 'smtp-password'));
      assert.match(r.stdout, /^# {3}api_key: "\*{8}"$/m, 'the API key is there, masked');
      assert.match(r.stdout, /^# {5}database: .*haproxy-manager\.db$/m);
    }
    // What it prints is a configuration the daemon reads: shown again, it is the same.
    const first = await cli(['config', 'show', '-c', file, '--json']);
    const again = join(dir, 'again.yaml');
    writeFileSync(again, (await cli(['config', 'show', '-c', file])).stdout);
    const second = await cli(['config', 'show', '-c', again, '--json']);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.deepEqual(json<{ config: unknown }>(second).config, json<{ config: unknown }>(first).config);
  });

  test('JSON: {ok, config, derived}, no secret', async () => {
    const r = await cli(['config', 'show', '-c', file, '--json'], { env: cleanEnv({ HAPROXY_MANAGER_API_KEY: SECRETS.envKey }) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(leaks(r.stdout + r.stderr), []);
    const j = json<{ ok: boolean; config: { acme: { dns_hook: string } }; derived: { api_key: string; source: string } }>(r);
    assert.equal(j.ok, true);
    assert.equal(j.derived.api_key, MASK);
    assert.equal(j.derived.source, file);
    assert.equal(j.config.acme.dns_hook, `/usr/local/bin/dns-hook --api https://${MASK}@dns.example.test/v1`);
  });

  test('auth none: no key at all (null, not masked)', async () => {
    const f = join(dir, 'none.yaml');
    writeFileSync(f, `state_dir: ${join(dir, 'state')}\napi:\n  auth: none\n`);
    const j = json<{ derived: { api_key: unknown } }>(await cli(['config', 'show', '-c', f, '--json']));
    assert.equal(j.derived.api_key, null);
  });
});

describe('maskSecrets: secret-named keys, not the names of where secrets are', () => {
  test('key, password, secret, token values masked; *_file, *_env, key_type, token counts kept', () => {
    const out = maskSecrets({
      api_key: 'a',
      password: 'b',
      client_secret: 'c',
      token: 'd',
      nested: { access_token: 'e', hmac: 'f', list: [{ key: 'g' }] },
      key_file: '/k',
      api_key_env: 'ANTHROPIC_API_KEY',
      key_type: 'ecdsa-p256',
      max_tokens: 1024,
      tokens_per_day: 5,
      extra_secret_keys: ['session'],
    });
    assert.deepEqual(out, {
      api_key: MASK,
      password: MASK,
      client_secret: MASK,
      token: MASK,
      nested: { access_token: MASK, hmac: MASK, list: [{ key: MASK }] },
      key_file: '/k',
      api_key_env: 'ANTHROPIC_API_KEY',
      key_type: 'ecdsa-p256',
      max_tokens: 1024,
      tokens_per_day: 5,
      extra_secret_keys: ['session'],
    });
  });
});
