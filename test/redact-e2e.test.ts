/**
 * Secrets do not leave the host, end to end: the real daemon on real HAProxy
 * (2.6 and 3.0), a real SMTP server, a webhook receiver that checks
 * signatures and a loopback Messages API server. Requests carrying secrets
 * (query strings nested and percent-encoded one to three times, a token in
 * a path segment, a JWT, a Slack token and an address in the User-Agent,
 * an operator key) open sensitive-file incidents through HAProxy's log; an
 * application log line with ESC and bidi overrides opens a novel-error
 * incident. Asserted: no secret in the incidents from the API, the status
 * API, the webhook bodies, the emails or the prompt the model received; the
 * model's reply and the hostile sample reach email and webhook with their
 * control characters replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor } from './helpers/harness.js';
import { startFakeAnthropic } from './helpers/anthropic-server.js';
import { startSmtpCapture, type CapturedMail } from './helpers/smtp.js';
import { startReceiver } from './notify/helpers.js';

const HOOK_SECRET = 'whsec-redact-e2e-0123456789';
const ATTACKER = '198.51.100.77';

const T = {
  query: 'QrYt0k3nPlainValue01',
  nested: 'NeStEdApiKey0002',
  double: 'DoUbLeCode0003',
  triple: 'TrIpLePassw0rd04',
  voucher: 'VOUCHER-77-OPERATOR',
  quoted: 'QuotedSess10n05',
  ghp: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  slack: 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrSt',
  email: 'victim.user@example.org',
  appToken: 'AppL0gS3cr3tT0k3n',
};
/** Substrings that must appear nowhere outside the host (the JWT's signature part alone too). */
const SECRETS = [...Object.values(T), T.jwt.split('.')[2]!, 'victim.user'];

const e = encodeURIComponent;
const PATHS = [
  `/.env?token=${T.query}&voucher=${T.voucher}`,
  `/.env?next=${e(`/login?api_key=${T.nested}&x=1`)}`,
  `/.git/config?redirect_uri=${e(e(`https://app.example/cb?code=${T.double}`))}`,
  `/.env?r=${e(e(e(`/a?password=${T.triple}`)))}`,
  `/.env?session=%22${T.quoted}%22`,
  `/${T.ghp}/.env`,
];
const UA = `Mozilla/5.0 ${T.jwt} ${T.slack} ${T.email}`;
const CTRL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const MODEL_SUMMARY = 'Scanner \u001b[31mfetched\u001b[0m \u202e/.env\u202c files';

/** The text part of a captured mail, transfer encoding undone. */
function mailText(m: CapturedMail): string {
  const head = m.raw.split(/\r?\n\r?\n/)[0]!.toLowerCase();
  if (/content-transfer-encoding:\s*base64/.test(head)) return Buffer.from(m.text.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/content-transfer-encoding:\s*quoted-printable/.test(head)) {
    const soft = m.text.replace(/=\r?\n/g, '');
    const bytes: number[] = [];
    for (let i = 0; i < soft.length; i++) {
      if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
        bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(...Buffer.from(soft[i]!, 'utf8'));
    }
    return Buffer.from(bytes).toString('utf8');
  }
  return m.text;
}

const leaks = (where: string, text: string) => SECRETS.filter((s) => text.includes(s)).map((s) => `${where}: ${s}`);

for (const h of HAPROXIES) {
  test(`${h.name}: secrets sent through HAProxy reach no incident row, status API, webhook, email or prompt; control characters are stripped from notifications`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-redact-'));
    const appLog = join(dir, 'app.log');
    writeFileSync(appLog, '');
    const be = await startBackend('app');
    const ai = await startFakeAnthropic({
      respond: () => ({ kind: 'tool', input: { summary: MODEL_SUMMARY, likely_cause: 'a scanner\u0000\u2066 looking for secrets', severity: 'high', confidence: 0.9, recommended_actions: [{ type: 'notify_only', target: '', reason: 'tell the site owner' }] } }),
    });
    const smtp = await startSmtpCapture();
    const hook = await startReceiver({ secret: HOOK_SECRET });
    writeFileSync(join(dir, 'webhook-secret'), HOOK_SECRET, { mode: 0o600 });
    writeFileSync(join(dir, 'anthropic-key'), 'sk-ant-e2e-redact-key-0123456789', { mode: 0o600 });
    const t = await startTestDaemon(h.bin, {
      config: {
        monitor: {
          syslog: { address: '127.0.0.1', port: await freePort() },
          incident_quiet: '30s',
          novelty_warmup: 0,
          sources: [{ name: 'app', type: 'file', path: appLog, format: 'text', start_at: 'beginning' }],
        },
        redaction: { extra_secret_keys: ['voucher'] },
        analysis: { enabled: true, base_url: ai.url, api_key_file: join(dir, 'anthropic-key'), fast: { model: 'fast-model', timeout_ms: 5000, max_retries: 0 }, backoff_s: 1, batch: { max_wait_s: 5, max_wait_below_high_s: 5 } },
        notifications: {
          channels: {
            mail: { type: 'email', host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'haproxy-manager@example.test', to: ['ops@example.test'], timeout: '3s' },
            hook: { type: 'webhook', url: hook.url, secret_file: join(dir, 'webhook-secret'), timeout: '3s' },
          },
          digest: { threshold: 100, window: '1m' },
          outbox: { concurrency: 4, poll_interval: '200ms', backoff_base: '200ms', backoff_max: '1s', give_up_after: '1h' },
        },
      },
    });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      for (const p of PATHS) {
        const r = await t.get('shop.test', p, { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ATTACKER, 'User-Agent': UA } });
        assert.ok(r.status === 200 || r.status === 403, `${p}: ${r.status}`);
      }
      assert.ok(be.seen.some((s) => s.path.includes(T.query)), 'the secret really went through HAProxy');
      appendFileSync(appLog, `${new Date().toISOString()} ERROR checkout crashed \u001b[2J\u001b]8;;http://evil\u0007click\u202egnp.exe token=${T.appToken}\n`);

      type Inc = { id: number; rule: string; subject: { type: string; value: string }; samples: string[] };
      const incidents = async () => (await t.api('GET', '/api/incidents?limit=100')).json<Inc[]>();
      assert.ok(await waitFor(async () => {
        const list = await incidents();
        return list.some((i) => i.rule === 'sensitive-file-served') && list.some((i) => i.rule === 'novel-app-error');
      }, 15_000, 100), JSON.stringify(await incidents()));
      const list = await incidents();
      const served = list.find((i) => i.rule === 'sensitive-file-served')!;
      const novel = list.find((i) => i.rule === 'novel-app-error')!;

      // Incident rows through the API: redacted, and still readable.
      const found: string[] = [];
      found.push(...leaks('GET /api/incidents', JSON.stringify(list)));
      for (const i of list) {
        const detail = (await t.api('GET', `/api/incidents/${i.id}`)).body;
        found.push(...leaks(`GET /api/incidents/${i.id}`, detail));
      }
      const allSamples = list.flatMap((i) => i.samples).join('\n');
      assert.match(allSamples, /\/\.env\?token=\[REDACTED:param\]&voucher=\[REDACTED:param\]/);
      assert.match(allSamples, /\[REDACTED:jwt\]/);
      assert.match(allSamples, /\[REDACTED:email\]/);
      assert.ok(novel.samples[0]!.includes('\u001b'), 'the stored sample is the line as written (only secrets are redacted)');
      found.push(...leaks('GET /api/monitor/status', (await t.api('GET', '/api/monitor/status')).body));

      // The model was asked about the served file; the prompt is redacted.
      assert.ok(await waitFor(() => ai.requests.length >= 1, 10_000, 50), 'the model was asked');
      for (const r of ai.requests) found.push(...leaks('prompt', r.rawBody));
      assert.match(ai.requests[0]!.rawBody, /REDACTED/);

      // Notifications: both openings and the acted round with the model's summary, by webhook and email.
      const events = () => [...hook.unique.values()].flatMap((r) => (r.body as { events: { kind: string; incident?: { id: number }; analysis?: { summary: string } }[] }).events);
      assert.ok(await waitFor(() => {
        const ev = events();
        return ev.some((x) => x.kind === 'opened' && x.incident?.id === served.id) && ev.some((x) => x.kind === 'opened' && x.incident?.id === novel.id) && ev.some((x) => x.analysis !== undefined);
      }, 15_000, 100), JSON.stringify(events()));
      assert.ok(await waitFor(() => smtp.mails.some((m) => mailText(m).includes('[model-written]')) && smtp.mails.some((m) => mailText(m).includes('checkout crashed')), 15_000, 100), 'mails arrive');
      for (const r of hook.all) {
        const text = JSON.stringify(r.body);
        found.push(...leaks('webhook', text));
        assert.ok(!/\\u00[01][0-9a-f]|\\u007f/.test(text) && !CTRL.test(text), `control characters in a webhook body: ${text}`);
      }
      const summaries = events().flatMap((x) => (x.analysis ? [x.analysis.summary] : []));
      assert.deepEqual(summaries.slice(0, 1), ['Scanner \ufffd[31mfetched\ufffd[0m \ufffd/.env\ufffd files']);
      for (const m of smtp.mails) {
        const text = mailText(m);
        found.push(...leaks('email', `${m.subject}\n${text}`));
        assert.ok(!CTRL.test(text.replace(/\r?\n/g, '')) && !CTRL.test(m.subject), `control characters in an email: ${JSON.stringify(text)}`);
      }
      const novelMail = smtp.mails.map(mailText).find((x) => x.includes('checkout crashed'))!;
      assert.match(novelMail, /sample: {3}\[client-written\] ".*checkout crashed \ufffd\[2J\ufffd\]8;;http:\/\/evil\ufffdclick\ufffdgnp\.exe token=\[REDACTED:param\]"/);
      assert.deepEqual(found, [], 'secrets that left the host');
    } finally {
      await t.stop();
      await Promise.all([be.close(), ai.close(), smtp.close().catch(() => undefined), hook.close().catch(() => undefined)]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
