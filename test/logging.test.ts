/**
 * The daemon's own log (one line per event, priorities for journald, no
 * secrets) and HAProxy's access log reaching a configured sink with the Host
 * and the whole User-Agent captured (the original lost everything before the
 * last comma, b2f835a, and sent its logs nowhere, 711c670).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createLogger } from '../src/log.js';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, waitFor } from './helpers/harness.js';

test('log lines: message first, fields after, syslog priority prefixes, secrets redacted, one line per event', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'text', priorityPrefix: true, write: (_l, line) => lines.push(line) });
  log.error('reload failed', { apply_id: 'ab12', error: 'line one\nline two' });
  log.warn('slow', { ms: 1200 });
  log.info('applied', { target: 'a b' });
  log.debug('detail');
  log.child({ unit: 'api' }).info('request', { api_key: 'supersecret', password: 'p', authorization: 'Bearer x' });
  assert.equal(lines[0], '<3>reload failed apply_id=ab12 error="line one\\nline two"');
  assert.equal(lines[1], '<4>slow ms=1200');
  assert.equal(lines[2], '<6>applied target="a b"');
  assert.equal(lines[3], '<7>detail');
  assert.equal(lines[4], '<6>request unit=api api_key=[redacted] password=[redacted] authorization=[redacted]');
  log.notice('blocked_ip.add applied');
  log.crit('incident opened: x');
  assert.deepEqual(lines.slice(5), ['<5>blocked_ip.add applied', '<2>incident opened: x']);
  const multi: string[] = [];
  createLogger({ level: 'info', format: 'text', priorityPrefix: false, write: (_l, line) => multi.push(line) }).info('a\nforged line');
  assert.equal(multi.length, 1);
  assert.equal(multi[0], 'a | forged line');
  const json: string[] = [];
  createLogger({ level: 'warn', format: 'json', priorityPrefix: false, write: (_l, line) => json.push(line) }).info('dropped');
  assert.equal(json.length, 0, 'below the level is dropped');
});

test('priority prefixes follow JOURNAL_STREAM when not forced', () => {
  const lines: string[] = [];
  const prev = process.env.JOURNAL_STREAM;
  process.env.JOURNAL_STREAM = '8:12345';
  try {
    createLogger({ level: 'info', format: 'text', write: (_l, line) => lines.push(line) }).warn('w');
  } finally {
    if (prev === undefined) delete process.env.JOURNAL_STREAM;
    else process.env.JOURNAL_STREAM = prev;
  }
  createLogger({ level: 'info', format: 'text', write: (_l, line) => lines.push(line) }).warn('w');
  assert.deepEqual(lines, prev === undefined ? ['<4>w', 'w'] : ['<4>w', '<4>w']);
});

for (const h of HAPROXIES) {
  test(`${h.name}: HAProxy's access log reaches the configured sink with Host and the whole User-Agent`, async () => {
    const sink = dgram.createSocket('udp4');
    const got: string[] = [];
    sink.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const port = sink.address().port;
    const be = await startBackend('a');
    const t = await startTestDaemon(h.bin, { config: { haproxy: { log_target: `udp://127.0.0.1:${port}` } } });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('log.test', 'log', [be.port]))).status, 201);
      const ua = 'Mozilla/5.0 (X11; Linux x86_64), Tester/1.0, with, commas';
      assert.equal((await t.get('log.test', '/hello', { headers: { 'User-Agent': ua } })).status, 200);
      assert.ok(await waitFor(() => got.some((l) => l.includes('/hello')), 5000), `log lines: ${got.join('\n')}`);
      const line = got.find((l) => l.includes('/hello'))!;
      assert.ok(line.includes(ua), line);
      assert.ok(line.includes('log.test'), line);
      assert.match(line, / rip=127\.0\.0\.1 rid=[0-9a-f-]{36}\s*$/, 'the real client IP and the request id close the line');
      assert.equal(got.filter((l) => l.includes('/hello')).length, 1, 'one log line per request');
    } finally {
      await t.stop();
      await be.close();
      sink.close();
    }
  });
}
