/**
 * The email channel against a real loopback SMTP server (smtp-server) with
 * STARTTLS on a certificate made here with openssl (the package's own expired
 * in 2025), AUTH allowed only after TLS, and captured mail.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createLogger } from '../../src/log.js';
import { createOutbox } from '../../src/pipeline/notify/outbox.js';
import { createEmailChannel } from '../../src/pipeline/notify/email.js';
import { emailChannelSchema } from '../../src/config/notifications.js';
import type { Channel, MessagePayload } from '../../src/pipeline/notify/types.js';
import { summarize } from '../../src/pipeline/notify/types.js';
import { clock, incident, openTestDb } from './helpers.js';

let dir = '';
let key = '';
let cert = '';
const PASSWORD = 'smtp-pass-s3cret';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hm-smtp-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' },
  );
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  writeFileSync(join(dir, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Mail {
  raw: string;
  headers: Map<string, string>;
  secure: boolean;
  user: string | undefined;
  to: string[];
}

async function startSmtp(opts: { secure?: boolean; port?: number } = {}) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: opts.secure ?? false,
    key,
    cert,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: false, // AUTH only after STARTTLS: a delivered mail proves TLS was used
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'alerts' && auth.password === PASSWORD) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
        const headers = new Map<string, string>();
        for (const line of head.split(/\r?\n/)) {
          const i = line.indexOf(':');
          if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
        }
        mails.push({ raw, headers, secure: session.secure, user: session.user as string | undefined, to: session.envelope.rcptTo.map((r) => r.address) });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function channel(port: number, over: Record<string, unknown> = {}): Channel {
  const config = emailChannelSchema.parse({
    type: 'email',
    host: '127.0.0.1',
    port,
    tls: 'starttls',
    ca_file: join(dir, 'cert.pem'),
    username: 'alerts',
    password_file: join(dir, 'password'),
    from: 'haproxy-manager@example.test',
    to: ['ops@example.test', 'oncall@example.test'],
    timeout: '3s',
    ...over,
  });
  return createEmailChannel({ name: 'mail', config, source: 'edge-1' });
}

const openedPayload: MessagePayload = {
  kind: 'opened',
  events: [{ kind: 'opened', at: Date.UTC(2026, 0, 1), incident: summarize(incident({ id: 42, samples: ['GET /?q=ignore previous instructions\nFAKE: header'] })) }],
};

test('STARTTLS with our own certificate, AUTH from a password file, Message-ID from the message id', async () => {
  const smtp = await startSmtp();
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'text', priorityPrefix: false, write: (_l, line) => lines.push(line) });
  const { writer: db, close } = openTestDb();
  const c = clock();
  const ob = createOutbox({
    db, channels: new Map([['mail', channel(smtp.port)]]), log, concurrency: 2, pollIntervalMs: 50,
    backoffBaseMs: 1000, backoffMaxMs: 60_000, giveUpAfterMs: 86_400_000, timeoutMs: 5000, now: c.now,
  });
  try {
    const id = ob.enqueue('mail', { kind: 'opened', payload: openedPayload })!;
    await ob.drain();
    assert.equal(ob.stats().delivered, 1, JSON.stringify(db.prepare('SELECT last_error FROM outbox').all()));
    assert.equal(smtp.mails.length, 1);
    const m = smtp.mails[0]!;
    assert.equal(m.secure, true, 'upgraded with STARTTLS');
    assert.equal(m.user, 'alerts');
    assert.deepEqual(m.to, ['ops@example.test', 'oncall@example.test']);
    assert.equal(m.headers.get('message-id'), `<${id}@haproxy-manager>`);
    assert.equal(m.headers.get('x-haproxy-manager-message-id'), id);
    assert.equal(m.headers.get('subject'), '[haproxy-manager] HIGH opened: http-scan ip=203.0.113.7');
    assert.match(m.raw, /incident #42/);
    // The attacker's newline stays inside one quoted sample line.
    assert.doesNotMatch(m.raw, /^FAKE: header/m);
    assert.ok(!lines.join('\n').includes(PASSWORD), 'the password is never logged');
  } finally {
    await ob.stop();
    await smtp.close();
    close();
  }
});

test('a wrong password or an untrusted certificate fails (and is retried), never leaking the password', async () => {
  const smtp = await startSmtp();
  writeFileSync(join(dir, 'wrong'), 'not-the-password\n');
  const { writer: db, close } = openTestDb();
  const c = clock();
  const ob = createOutbox({
    db,
    channels: new Map([
      ['bad-auth', channel(smtp.port, { password_file: join(dir, 'wrong') })],
      ['bad-cert', channel(smtp.port, { ca_file: undefined })],
    ]),
    log: createLogger({ level: 'error', format: 'text', write: () => {} }),
    concurrency: 2, pollIntervalMs: 50, backoffBaseMs: 1000, backoffMaxMs: 60_000, giveUpAfterMs: 86_400_000, now: c.now,
  });
  try {
    ob.enqueue('bad-auth', { kind: 'opened', payload: openedPayload });
    ob.enqueue('bad-cert', { kind: 'opened', payload: openedPayload });
    await ob.drain();
    const rows = db.prepare(`SELECT channel, last_error, next_attempt_at FROM outbox ORDER BY channel`).all() as { channel: string; last_error: string; next_attempt_at: number }[];
    assert.equal(smtp.mails.length, 0);
    assert.match(rows[0]!.last_error, /Invalid username or password|auth/i);
    assert.match(rows[1]!.last_error, /certificate/i);
    for (const r of rows) {
      assert.ok(!r.last_error.includes(PASSWORD));
      assert.ok(r.next_attempt_at > c.now(), 'scheduled for a retry');
    }
  } finally {
    await ob.stop();
    await smtp.close();
    close();
  }
});

test('SMTP down then up: the mail arrives once; implicit TLS (port 465 style) works too', async () => {
  const probe = await startSmtp({ secure: true });
  const port = probe.port;
  await probe.close();
  const { writer: db, close } = openTestDb();
  const c = clock();
  const ob = createOutbox({
    db, channels: new Map([['mail', channel(port, { tls: 'tls' })]]), log: createLogger({ level: 'error', format: 'text', write: () => {} }),
    concurrency: 2, pollIntervalMs: 50, backoffBaseMs: 1000, backoffMaxMs: 60_000, giveUpAfterMs: 86_400_000, now: c.now,
  });
  try {
    ob.enqueue('mail', { kind: 'opened', payload: openedPayload });
    await ob.drain();
    assert.equal(ob.stats().failedAttempts, 1);
    const up = await startSmtp({ secure: true, port });
    c.advance(3_600_000);
    await ob.drain();
    await ob.drain();
    assert.equal(ob.stats().delivered, 1);
    assert.equal(up.mails.length, 1);
    assert.equal(up.mails[0]!.secure, true);
    await up.close();
  } finally {
    await ob.stop();
    close();
  }
});
