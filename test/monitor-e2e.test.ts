/**
 * End to end: real traffic through a real HAProxy (2.6 and 3.0) that logs to
 * the daemon's syslog listener opens the expected incident, keyed on the real
 * client IP behind a trusted proxy, with a block suggestion; the monitor's
 * status shows the source's counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor } from './helpers/harness.js';

for (const h of HAPROXIES) {
  test(`${h.name}: probing for sensitive files through HAProxy opens an incident about the real client`, async () => {
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin, { config: { monitor: { syslog: { address: '127.0.0.1', port: await freePort() }, incident_quiet: '10m' } } });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      for (const path of ['/', '/.env', '/.git/config', '/backup.sql', '/wp-config.php.bak']) {
        await t.get('shop.test', path, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '198.51.100.23', 'User-Agent': 'curl/8.0' } });
      }
      // Normal traffic from another client opens nothing.
      for (let i = 0; i < 5; i++) await t.get('shop.test', `/page/${i}`, { localAddress: '127.0.0.11' });
      let found: { id: number; rule: string; subject: { type: string; value: string }; actions: { type: string; target?: string }[]; samples: string[] } | undefined;
      const ok = await waitFor(async () => {
        const list = (await t.api('GET', '/api/incidents')).json<NonNullable<typeof found>[]>();
        found = list.find((i) => i.rule === 'sensitive-files');
        return found !== undefined;
      }, 8000, 200);
      assert.ok(ok && found, 'incident opened');
      assert.deepEqual(found.subject, { type: 'ip', value: '198.51.100.23' });
      assert.ok(found.actions.some((a) => a.type === 'block_ip' && a.target === '198.51.100.23'), JSON.stringify(found.actions));
      assert.ok(found.samples.some((s) => s.includes('/.env') || s.includes('/.git/config')));
      const one = await t.api('GET', `/api/incidents/${found.id}`);
      assert.equal(one.status, 200);
      const all = (await t.api('GET', '/api/incidents')).json<{ subject: { value: string } }[]>();
      assert.ok(!all.some((i) => i.subject.value === '127.0.0.11'), 'normal browsing is not an incident');
      const st = (await t.api('GET', '/api/monitor/status')).json<{ sources: { name: string; lines: number }[]; pipeline: { unparsed: number } }>();
      const src = st.sources.find((s) => s.name === 'haproxy');
      assert.ok(src && src.lines >= 10, JSON.stringify(st.sources));
      assert.equal(st.pipeline.unparsed, 0, 'every HAProxy line parsed');
      assert.equal((await t.api('GET', '/api/incidents/999999')).status, 404);
      assert.equal((await t.api('GET', '/api/incidents?status=bogus')).status, 400);
    } finally {
      await t.stop();
      await be.close();
    }
  });
}

test('an application log file with its own regex: a new kind of error opens an escalated incident; a bad source config is refused', async () => {
  const { mkdtempSync, writeFileSync, appendFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { parseConfig } = await import('../src/config/load.js');
  const dir = mkdtempSync(join(tmpdir(), 'hm-applog-'));
  const file = join(dir, 'app.log');
  writeFileSync(file, '2026-11-25T10:00:00Z INFO service started\n');
  const t = await startTestDaemon(HAPROXIES[0]!.bin, {
    config: {
      monitor: {
        novelty_warmup: 0,
        sources: [{ name: 'app', type: 'file', path: file, format: 'text', start_at: 'beginning', regex: '^(?<time>\\S+) (?<level>[A-Z]+) (?<message>.*)$' }],
      },
    },
  });
  try {
    appendFileSync(file, '2026-11-25T10:00:05Z ERROR payment provider returned 502 for order 8812\n2026-11-25T10:00:06Z ERROR payment provider returned 502 for order 9913\n');
    let found: { rule: string; escalate: boolean; samples: string[] } | undefined;
    assert.ok(
      await waitFor(async () => {
        found = (await t.api('GET', '/api/incidents')).json<NonNullable<typeof found>[]>().find((i) => i.rule === 'novel-app-error');
        return found !== undefined;
      }, 8000, 200),
      'novel error incident',
    );
    assert.equal(found!.escalate, true);
    assert.match(found!.samples[0]!, /payment provider returned 502/);
    const incidents = (await t.api('GET', '/api/incidents')).json<{ rule: string }[]>();
    assert.equal(incidents.filter((i) => i.rule === 'novel-app-error').length, 1, 'one template, one incident');
    const st = (await t.api('GET', '/api/monitor/status')).json<{ sources: { name: string; lines: number }[]; pipeline: { unparsed: number } }>();
    assert.equal(st.sources.find((s) => s.name === 'app')?.lines, 3);
    assert.equal(st.pipeline.unparsed, 0);
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const bad = (yaml: string) => {
    try {
      parseConfig(yaml, '/tmp/x.yaml', { env: {} });
      return [];
    } catch (e) {
      return (e as { lines: string[] }).lines;
    }
  };
  assert.match(bad('monitor:\n  sources:\n    - { name: a, type: file, path: /x, format: text, regex: "(" }\n').join('\n'), /monitor\.sources\.0\.regex: invalid regex/);
  assert.match(bad('monitor:\n  sources:\n    - { name: a, type: file, format: text }\n').join('\n'), /monitor\.sources\[0\]\.path: a file source needs a path/);
  assert.match(bad('monitor:\n  sources:\n    - { name: a, type: file, path: /x, format: json, regex: "(?<m>.*)" }\n').join('\n'), /only text sources take a regex/);
});

test('a future-dated application line does not resolve the open incidents: its time is clamped and counted in the monitor status', async () => {
  const { mkdtempSync, writeFileSync, appendFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'hm-skew-'));
  const file = join(dir, 'app.log');
  const iso = (ms: number) => new Date(ms).toISOString();
  writeFileSync(file, `${iso(Date.now())} INFO service started\n`);
  const t = await startTestDaemon(HAPROXIES[0]!.bin, {
    config: {
      monitor: {
        novelty_warmup: 0,
        incident_quiet: '10m',
        sources: [{ name: 'app', type: 'file', path: file, format: 'text', start_at: 'beginning', regex: '^(?<time>\\S+) (?<level>[A-Z]+) (?<message>.*)$' }],
      },
    },
  });
  type Row = { id: number; rule: string; status: string };
  type Status = { pipeline: { time_clamped: number; max_time_ahead_ms: number; per_source: Record<string, { lines: number; time_clamped: number }> } };
  try {
    appendFileSync(file, `${iso(Date.now())} ERROR payment provider returned 502 for order 8812\n${iso(Date.now())} ERROR disk /var/lib/app is full\n`);
    const open = () => t.api('GET', '/api/incidents?status=open').then((r) => r.json<Row[]>());
    assert.ok(await waitFor(async () => (await open()).length >= 2, 8000, 200), 'two novel-error incidents opened');
    const before = (await open()).map((i) => i.id).sort();

    // One line from a clock a year ahead, then an ordinary one (so we know both were read).
    appendFileSync(file, `${iso(Date.now() + 365 * 86_400_000)} INFO heartbeat\n${iso(Date.now())} INFO still here\n`);
    const status = () => t.api('GET', '/api/monitor/status').then((r) => r.json<Status>());
    assert.ok(await waitFor(async () => ((await status()).pipeline.per_source.app?.lines ?? 0) >= 5, 8000, 200), 'the lines were read');
    // /api/incidents flushes the monitor (as its one-second timer does): a quiet-period tick has run.
    await new Promise((r) => setTimeout(r, 1200));
    const after = (await open()).map((i) => i.id).sort();
    assert.deepEqual(after, before, 'every incident open before the future line is still open');
    const resolved = (await t.api('GET', '/api/incidents?status=resolved')).json<Row[]>();
    assert.equal(resolved.length, 0, JSON.stringify(resolved));
    const st = await status();
    assert.equal(st.pipeline.time_clamped, 1);
    assert.equal(st.pipeline.per_source.app!.time_clamped, 1);
    assert.ok(st.pipeline.max_time_ahead_ms > 364 * 86_400_000, String(st.pipeline.max_time_ahead_ms));
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('notifications: an incident opened by real traffic reaches a signed webhook once; POST /api/notifications/test sends a test', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const http = await import('node:http');
  const { verifyWebhook } = await import('../src/pipeline/notify/signature.js');
  const dir = mkdtempSync(join(tmpdir(), 'hm-hook-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, 'webhook-secret-for-tests\n', { mode: 0o600 });
  const got: { id: string; body: Record<string, unknown>; valid: boolean }[] = [];
  const receiver = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const v = verifyWebhook('webhook-secret-for-tests', req.headers, raw);
      got.push({ id: String(req.headers['x-haproxy-manager-message-id']), body: JSON.parse(raw) as Record<string, unknown>, valid: v.ok });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  const be = await startBackend('app');
  const t = await startTestDaemon(HAPROXIES[1]!.bin, {
    config: {
      monitor: { syslog: { address: '127.0.0.1', port: await freePort() } },
      notifications: { channels: { ops: { type: 'webhook', url, format: 'json', secret_file: secretFile } }, routes: [{ min_severity: 'medium', channels: ['ops'] }] },
    },
  });
  try {
    assert.equal((await t.api('POST', '/api/domain', domainBody('hook.test', 'hook', [be.port]))).status, 201);
    await t.get('hook.test', '/.env', { localAddress: '127.0.0.44' });
    await t.get('hook.test', '/.git/config', { localAddress: '127.0.0.44' });
    assert.ok(await waitFor(() => got.length > 0, 10_000, 200), 'a webhook arrived');
    await new Promise((r) => setTimeout(r, 1500));
    const opened = got.filter((g) => JSON.stringify(g.body).includes('sensitive-files'));
    assert.ok(opened.length >= 1, JSON.stringify(got.map((g) => g.body)));
    assert.ok(got.every((g) => g.valid), 'every body is signed');
    assert.equal(new Set(got.map((g) => g.id)).size, got.length, 'no message twice');
    const before = got.length;
    const test = await t.api('POST', '/api/notifications/test', { channel: 'ops' });
    assert.equal(test.status, 202, test.body);
    assert.ok(await waitFor(() => got.length > before, 5000, 100));
    assert.match(JSON.stringify(got.at(-1)!.body), /test/);
    assert.equal((await t.api('POST', '/api/notifications/test', { channel: 'nope' })).status, 404);
    assert.equal((await t.api('POST', '/api/notifications/test', { channel: 'Bad Name' })).status, 400);
    const st = (await t.api('GET', '/api/monitor/status')).json<{ notifications: { pending: number; delivered: number } }>();
    assert.ok(st.notifications.delivered >= 2, JSON.stringify(st.notifications));
  } finally {
    await t.stop();
    await be.close();
    receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
