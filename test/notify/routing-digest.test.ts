/**
 * Routing (pure), the config schema (strict), one message per state change,
 * digests, and the Slack/Discord/JSON bodies, through the notifier and a real
 * signed webhook receiver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { notificationsSchema } from '../../src/config/notifications.js';
import type { NotificationsConfig } from '../../src/config/notifications.js';
import { routeEvent } from '../../src/pipeline/notify/routing.js';
import { createNotifier } from '../../src/pipeline/notify/notifier.js';
import { createTransitionTracker } from '../../src/pipeline/notify/transitions.js';
import { createChannels } from '../../src/pipeline/notify/channels.js';
import { createOutbox } from '../../src/pipeline/notify/outbox.js';
import { renderWebhookBody } from '../../src/pipeline/notify/render.js';
import { summarize } from '../../src/pipeline/notify/types.js';
import { createIncidents } from '../../src/pipeline/incidents/group.js';
import type { Finding } from '../../src/pipeline/types.js';
import { clock, incident, openTestDb, startReceiver } from './helpers.js';

const baseConfig = {
  channels: {
    mail: { type: 'email', host: 'smtp.example.test', from: 'hm@example.test', to: ['ops@example.test'] },
    hook: { type: 'webhook', url: 'http://127.0.0.1:1/x', secret_file: '/etc/hm/hook.secret' },
    chat: { type: 'webhook', url: 'http://127.0.0.1:1/y', format: 'slack' },
  },
  routes: [
    { kinds: ['test'], channels: ['mail', 'hook', 'chat'] },
    { min_severity: 'critical', channels: ['mail', 'chat'], stop: true },
    { categories: ['attack'], min_severity: 'medium', channels: ['hook'] },
    { kinds: ['resolved'], channels: ['chat'] },
  ],
};

test('config: defaults, strict keys, references and secrets-in-files are checked', () => {
  const c = notificationsSchema.parse(baseConfig);
  assert.equal(c.digest.threshold, 5);
  assert.equal(c.outbox.backoff_base, '2s');
  const mail = c.channels.mail!;
  assert.ok(mail.type === 'email' && mail.tls === 'starttls' && mail.port === 587);
  const bad = (over: unknown) => notificationsSchema.safeParse(over);
  const msgs = (r: ReturnType<typeof bad>) => (r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  assert.match(msgs(bad({ ...baseConfig, extra: 1 })).join(), /extra|Unrecognized/i);
  assert.match(msgs(bad({ ...baseConfig, routes: [{ channels: ['nope'] }] })).join(), /routes\.0\.channels\.0: unknown channel "nope"/);
  assert.match(
    msgs(bad({ channels: { h: { type: 'webhook', url: 'http://x/' } } })).join(),
    /channels\.h\.secret_file: a json webhook must be signed/,
  );
  assert.match(
    msgs(bad({ channels: { m: { type: 'email', host: 'h', from: 'a@b', to: ['c@d'], username: 'u', password: 'inline' } } })).join(),
    /password|Unrecognized/,
  );
});

test('routing: ordered routes, filters, stop, and test messages to one channel', () => {
  const c = notificationsSchema.parse(baseConfig);
  const names = Object.keys(c.channels);
  const r = (kind: 'opened' | 'resolved' | 'escalated' | 'acted' | 'test', severity?: 'low' | 'medium' | 'critical', category?: string, channel?: string) =>
    routeEvent(c.routes, names, { kind, severity, category, channel });
  assert.deepEqual(r('opened', 'critical', 'attack'), ['mail', 'chat'], 'stop ends the walk');
  assert.deepEqual(r('opened', 'medium', 'attack'), ['hook']);
  assert.deepEqual(r('opened', 'low', 'attack'), []);
  assert.deepEqual(r('resolved', 'medium', 'attack'), ['hook', 'chat']);
  assert.deepEqual(r('acted', 'medium', 'backend'), []);
  assert.deepEqual(r('test', undefined, undefined, 'chat'), ['chat']);
  assert.deepEqual(r('test', undefined, undefined, 'missing'), []);
  assert.deepEqual(r('test'), ['mail', 'hook', 'chat']);
});

test('one message per state change: opened, escalated, resolved; count updates are silent', () => {
  const incidents = createIncidents({ quietMs: 60_000, maxSamples: 3, maxOpen: 100 });
  const tracker = createTransitionTracker();
  const finding = (time: number, severity: Finding['severity']): Finding =>
    ({ rule: 'http-scan', category: 'attack', severity, subject: { type: 'ip', value: '203.0.113.7' }, time, escalate: false, actions: [], sample: 'GET /.env' }) as unknown as Finding;
  const kinds: string[] = [];
  const observe = () => {
    for (const inc of incidents.drainChanged()) {
      if (inc.id === 0) inc.id = 7; // storage gives the id
      const k = tracker.observe(inc);
      if (k) kinds.push(k);
    }
  };
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < 20; i++) {
    incidents.add(finding(t0 + i * 1000, i < 10 ? 'medium' : 'high'));
    observe();
  }
  incidents.tick(t0 + 10 * 60_000);
  observe();
  assert.deepEqual(kinds, ['opened', 'escalated', 'resolved']);
  assert.equal(tracker.size(), 0);
});

test('digests: beyond the threshold per window, events merge into one message, delivered once at the window end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-digest-'));
  writeFileSync(join(dir, 'secret'), 'digest-secret\n');
  const rx = await startReceiver({ secret: 'digest-secret' });
  const config: NotificationsConfig = notificationsSchema.parse({
    channels: { hook: { type: 'webhook', url: rx.url, secret_file: join(dir, 'secret') } },
    routes: [{ channels: ['hook'] }],
    digest: { threshold: 3, window: '1m' },
  });
  const { writer: db, close } = openTestDb();
  const c = clock();
  const ob = createOutbox({
    db, channels: createChannels(config, 'edge-1'), log: silentLogger, concurrency: 4, pollIntervalMs: 50,
    backoffBaseMs: 1000, backoffMaxMs: 60_000, giveUpAfterMs: 86_400_000, now: c.now,
  });
  const notifier = createNotifier({ db, config, now: c.now });
  try {
    for (let i = 1; i <= 10; i++) {
      notifier.incident('opened', incident({ id: i, subject: { type: 'ip', value: `198.51.100.${i}` } }));
      c.advance(1000);
      await ob.drain();
    }
    // The same state change again (a retried caller) queues nothing.
    const again = incident({ id: 1, subject: { type: 'ip', value: '198.51.100.1' } });
    assert.equal(notifier.incident('opened', again, { at: Date.UTC(2026, 0, 1) }).length, 0);
    const merged = incident({ id: 5, subject: { type: 'ip', value: '198.51.100.5' } });
    assert.equal(notifier.incident('opened', merged, { at: Date.UTC(2026, 0, 1) + 4000 }).length, 0, 'already inside the digest');
    assert.equal(rx.all.length, 3, 'the first three one by one, the rest wait for the digest');
    c.advance(60_000);
    await ob.drain();
    assert.equal(rx.all.length, 4);
    const digest = rx.all[3]!.body as { kind: string; events: { incident: { id: number } }[] };
    assert.equal(digest.kind, 'digest');
    assert.deepEqual(digest.events.map((e) => e.incident.id), [4, 5, 6, 7, 8, 9, 10]);
    assert.equal(rx.unique.size, 4);
    // After the window, single messages again.
    c.advance(120_000);
    notifier.incident('resolved', incident({ id: 4, status: 'resolved' }));
    await ob.drain();
    assert.equal(rx.all.length, 5);
    assert.equal((rx.all[4]!.body as { kind: string }).kind, 'resolved');
    // A test to one channel, never merged.
    assert.equal(notifier.test('hook', 'hello').length, 1);
    assert.throws(() => notifier.test('nope'), /no notification channel named "nope"/);
    await ob.drain();
    assert.equal((rx.all[5]!.body as { kind: string }).kind, 'test');
    assert.equal(rx.rejected.length, 0);
  } finally {
    await ob.stop();
    await rx.close();
    close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chat bodies: Slack text escaped, Discord mentions off, generic JSON exact', () => {
  const evil = incident({ id: 3, subject: { type: 'path', value: '<!channel> @everyone `x`' }, samples: ['<https://evil|click>'] });
  const payload = { kind: 'opened' as const, events: [{ kind: 'opened' as const, at: 0, incident: summarize(evil) }] };
  const ctx = { messageId: 'm1', payload, source: 'edge-1' };
  const slack = JSON.parse(renderWebhookBody('slack', ctx)) as { text: string };
  assert.ok(!slack.text.includes('<!channel>'));
  assert.match(slack.text, /&lt;!channel&gt;/);
  assert.match(slack.text, /\*HIGH\* opened/);
  const discord = JSON.parse(renderWebhookBody('discord', ctx)) as { content: string; allowed_mentions: { parse: string[] } };
  assert.deepEqual(discord.allowed_mentions, { parse: [] });
  assert.match(discord.content, /\*\*HIGH\*\* opened/);
  const json = JSON.parse(renderWebhookBody('json', ctx)) as { message_id: string; events: { incident: { subject: { value: string }; samples: string[] } }[] };
  assert.equal(json.message_id, 'm1');
  assert.equal(json.events[0]!.incident.subject.value, '<!channel> @everyone `x`');
  assert.deepEqual(json.events[0]!.incident.samples, ['<https://evil|click>']);
});

test('a digest lists at most 100 events and counts the rest', async () => {
  const { enqueueWithDigest, MAX_DIGEST_EVENTS } = await import('../../src/pipeline/notify/digest.js');
  const { renderEmail } = await import('../../src/pipeline/notify/render.js');
  const { writer: db, close } = openTestDb();
  const t = Date.UTC(2026, 0, 1);
  for (let i = 1; i <= 105; i++) {
    enqueueWithDigest(db, 'hook', { kind: 'opened', at: t, incident: summarize(incident({ id: i })) }, { threshold: 1, windowMs: 60_000 }, t, `k${i}`);
  }
  const rows = db.prepare(`SELECT kind, payload FROM outbox ORDER BY id`).all() as { kind: string; payload: string }[];
  assert.deepEqual(rows.map((r) => r.kind), ['opened', 'digest']);
  const p = JSON.parse(rows[1]!.payload) as { events: unknown[]; omitted: number };
  assert.equal(p.events.length, MAX_DIGEST_EVENTS);
  assert.equal(p.omitted, 4);
  const mail = renderEmail({ messageId: 'd', source: 'edge-1', payload: p as never });
  assert.equal(mail.subject, '[haproxy-manager] 104 incident updates');
  assert.match(mail.text, /and 4 more updates not listed/);
  close();
});
