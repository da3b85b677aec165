/**
 * The daemon commands' output styles against a real daemon (HAProxy, pebble
 * as the CA): `certs request`, `certs renew` and `certs status` print one
 * line per certificate and a summary (status: a table with a header), or
 * one JSON document with --json; their exit codes; and `render --json` on the
 * daemon's database. One HAProxy version: the CLI's output does not depend
 * on it (certificates*.test.ts cover both).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { HAPROXIES, type TestDaemon } from '../helpers/harness.js';
import type { Pebble, TestDns } from '../helpers/pebble.js';
import { startAcmeStack } from '../helpers/acme-stack.js';
import { cli, json } from './run-cli.js';

type Result = { domain: string; status: string; not_after?: string; error?: string; message?: string };
type Batch = { ok: boolean; summary: { total: number; successful: number; skipped: number; failed: number }; results: Result[] };

describe('certs commands: one style, --json, exit codes', () => {
  let t: TestDaemon;
  let dns: TestDns;
  let pebble: Pebble;
  let cfg: string;
  const run = (args: string[]) => cli([...args, '-c', cfg]);
  before(async () => {
    ({ t, dns, pebble } = await startAcmeStack(HAPROXIES[0]!.bin, (d) => ({ self_check_resolver: `127.0.0.1:${d.port}` })));
    const settings = parse(readFileSync(join(t.dir, 'config.yaml'), 'utf8')) as { api: { port: number; key_file?: string } };
    settings.api.port = t.apiPort;
    writeFileSync(join(t.dir, 'cli-key'), `${t.apiKey}\n`);
    settings.api.key_file = join(t.dir, 'cli-key');
    cfg = join(t.dir, 'cli.yaml');
    writeFileSync(cfg, stringify(settings));
  });
  after(async () => {
    await t?.stop();
    await pebble?.stop();
    await dns?.stop();
  });

  test('request: --json is one document with every result; the lines and the summary without', async () => {
    const r = await run(['certs', 'request', 'json-a.example.test', 'json-b.example.test', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = json<Batch>(r);
    assert.equal(j.ok, true);
    assert.deepEqual(j.summary, { total: 2, successful: 2, skipped: 0, failed: 0 });
    assert.deepEqual(j.results.map((x) => [x.domain, x.status]).sort(), [['json-a.example.test', 'success'], ['json-b.example.test', 'success']]);
    assert.equal(r.stderr, '', 'no progress line on a pipe');
    const h = await run(['certs', 'request', 'json-a.example.test']);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /^skipped json-a\.example\.test: /m);
    assert.match(h.stdout, /^1 of 1 done, 0 failed$/m);
    assert.doesNotMatch(h.stdout + h.stderr, /\r/);
  });

  test('request: a name that fails is FAILED, exit 1, ok false in JSON; a wildcard without a hook is exit 2', async () => {
    dns.setA('away-cli.example.test', '127.0.0.2');
    const r = await run(['certs', 'request', 'away-cli.example.test', '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const j = json<Batch>(r);
    assert.equal(j.ok, false);
    assert.equal(j.results[0]!.status, 'failed');
    assert.match(j.results[0]!.error!, /self-check failed/);
    const w = await run(['certs', 'request', '*.w.example.test', '--json']);
    assert.equal(w.code, 2, w.stdout + w.stderr);
    const f = json<{ ok: boolean; exit_code: number; errors: { message: string }[] }>(w);
    assert.deepEqual([f.ok, f.exit_code], [false, 2]);
    assert.match(f.errors[0]!.message, /^409: .*wildcard/);
  });

  test('renew: the same lines as request (renewed, FAILED) and a summary, or JSON; exit 1 when one failed', async () => {
    const r = await run(['certs', 'renew', '--domain', 'json-b.example.test', '--force']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^renewed json-b\.example\.test \(until \d{4}-/m);
    assert.match(r.stdout, /^1 of 1 done, 0 failed$/m);
    assert.doesNotMatch(r.stdout, /^\{/m, 'not the raw API answer');
    const none = await run(['certs', 'renew']);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /^skipped json-a\.example\.test: not due$/m, 'a certificate that is not due is said so');
    assert.match(none.stdout, /^(\d+) of \1 done, 0 failed$/m);
    dns.setA('json-a.example.test', '127.0.0.2');
    const j = await run(['certs', 'renew', '--domain', 'json-a.example.test', '--force', '--json']);
    assert.equal(j.code, 1, j.stdout + j.stderr);
    const b = json<Batch>(j);
    assert.equal(b.ok, false);
    assert.deepEqual(b.summary, { total: 1, successful: 0, skipped: 0, failed: 1 });
    const h = await run(['certs', 'renew', '--domain', 'json-a.example.test', '--force']);
    assert.equal(h.code, 1);
    assert.match(h.stdout, /^FAILED {2}json-a\.example\.test: /m);
    dns.setA('json-a.example.test', '127.0.0.1');
  });

  test('status: a table with a header and a summary, or {ok, certificates}', async () => {
    const r = await run(['certs', 'status']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^DOMAIN +EXPIRES +DAYS +STATE$/);
    assert.ok(lines.some((l) => /^json-b\.example\.test +\d{4}-\d\d-\d\dT\S+ +\d+ +ok$/.test(l)), r.stdout);
    assert.match(lines.at(-1)!, /^\d+ certificates?, \d+ due for renewal$/);
    const j = json<{ ok: boolean; certificates: { domain: string; last_error: string | null }[] }>(await run(['certs', 'status', '--json']));
    assert.equal(j.ok, true);
    assert.ok(j.certificates.some((c) => c.domain === 'json-a.example.test' && /self-check/.test(c.last_error ?? '')));
  });

  test('a refused key: exit 1, the hint on stderr, JSON with --json', async () => {
    writeFileSync(join(t.dir, 'wrong-key'), 'w'.repeat(32) + '\n');
    const r = await run(['certs', 'status', '--api-key-file', join(t.dir, 'wrong-key')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused the status request \(401\).*--api-key-file/s);
    const j = await run(['certs', 'status', '--api-key-file', join(t.dir, 'wrong-key'), '--json']);
    assert.equal(j.code, 1);
    assert.equal(json<{ ok: boolean }>(j).ok, false);
  });

  test("render --json: the daemon's database rendered, with its files", async () => {
    const r = await run(['render', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = json<{ ok: boolean; config: string; files: Record<string, string> }>(r);
    assert.equal(j.ok, true);
    assert.match(j.config, /^frontend /m);
    assert.ok(Object.keys(j.files).length > 0);
    const text = await run(['render']);
    assert.equal(text.stdout, j.config);
  });
});
