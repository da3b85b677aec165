/**
 * Where the redactor applies: incidents keep redacted samples, context lines
 * and subjects (addresses untouched, so blocks still target them); the
 * status API's unparsed samples are redacted; notification bodies have no
 * control characters and say which text clients and the model wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIncidents } from '../../src/pipeline/incidents/group.js';
import { createRedactor } from '../../src/pipeline/redact/text.js';
import { stripControls } from '../../src/pipeline/redact/controls.js';
import { createPipeline } from '../../src/monitor/pipeline.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { renderEmail, renderWebhookBody } from '../../src/pipeline/notify/render.js';
import { summarize, type MessagePayload } from '../../src/pipeline/notify/types.js';
import type { Finding } from '../../src/pipeline/types.js';

const finding = (over: Partial<Finding>): Finding => ({
  rule: 'sensitive-file', category: 'attack', severity: 'high', subject: { type: 'ip', value: '203.0.113.7' }, time: 1_000,
  count: 1, actions: [], escalate: false, sample: 'GET /.env', ...over,
});

test('incidents keep redacted samples, context and non-address subjects; operator keys apply', () => {
  const reg = createIncidents({ quietMs: 60_000, maxSamples: 5, maxOpen: 10, redact: createRedactor({ extraKeys: ['voucher'] }) });
  const a = reg.add(finding({ sample: 'GET /.env?token=t0ps3cret&voucher=V-123 HTTP/1.1', context: ['GET /?password=hunter2 HTTP/1.1'] }));
  assert.deepEqual(a.samples, ['GET /?password=[REDACTED:param] HTTP/1.1', 'GET /.env?token=[REDACTED:param]&voucher=[REDACTED:param] HTTP/1.1']);
  assert.deepEqual(a.subject, { type: 'ip', value: '203.0.113.7' });
  reg.add(finding({ sample: 'GET /x?sig=abc HTTP/1.1', time: 2_000 }));
  assert.equal(a.samples[2], 'GET /x?sig=[REDACTED:param] HTTP/1.1');
  const p = reg.add(finding({ subject: { type: 'path', value: '/reset?token=abc' } }));
  assert.equal(p.subject.value, '/reset?token=[REDACTED:param]');
  // The same redacted subject is the same incident.
  assert.equal(reg.add(finding({ subject: { type: 'path', value: '/reset?token=other' } })), p);
  // Without a redactor given, the built-in keys still apply.
  const d = createIncidents({ quietMs: 60_000, maxSamples: 5, maxOpen: 10 }).add(finding({ sample: '/x?api_key=k' }));
  assert.deepEqual(d.samples, ['/x?api_key=[REDACTED:param]']);
});

test('unparsed samples shown by the status API are redacted', () => {
  const p = createPipeline({ triage: createTriage([], { isProtected: () => false }), incidents: { quietMs: 1000, maxSamples: 3, maxOpen: 10 }, noveltyWarmup: 10 });
  p.process({ source: 's', format: 'haproxy', line: 'garbage ?token=abcdef123 here', receivedAt: 0 });
  assert.deepEqual(p.stats().unparsed_samples, [{ source: 's', line: 'garbage ?token=[REDACTED:param] here' }]);
});

test('stripControls: ESC, NUL, C0/C1, DEL, bidi overrides and isolates become U+FFFD; tab, newline and text stay', () => {
  const hostile = 'a\u001b[31mred\u0000\u0007\r\u0085\u009b\u007f\u202e\u202a\u202d\u2066\u2067\u2069\u200f\u2028 b\tc\nd é ✓';
  const out = stripControls(hostile);
  assert.equal(out, `a\ufffd[31mred${'\ufffd'.repeat(14)} b\tc\nd é ✓`);
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(out));
});

test('notification bodies: no control character from a sample, a subject or the model; such text is labelled', () => {
  const reg = createIncidents({ quietMs: 60_000, maxSamples: 5, maxOpen: 10 });
  const inc = reg.add(finding({ sample: 'GET /\u001b]8;;http://evil\u0007x\u202egnp.exe HTTP/1.1', subject: { type: 'host', value: 'shop\u001b[2J.test' } }));
  inc.id = 7;
  const payload: MessagePayload = {
    kind: 'acted',
    events: [{ kind: 'acted', at: 0, incident: summarize(inc), analysis: { summary: 'ok\u001b[1A\u202eevil', likelyCause: 'c\u0000', confidence: 0.5 } }],
  };
  const ctx = { messageId: 'm1', payload, source: 'host' };
  const CTRL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
  const mail = renderEmail(ctx);
  assert.ok(!CTRL.test(mail.text.replace(/\r?\n/g, '')) && !CTRL.test(mail.subject), mail.text);
  assert.match(mail.text, /sample: {3}\[client-written\] "GET \/\ufffd\]8;;http:\/\/evil\ufffdx\ufffdgnp\.exe HTTP\/1\.1"/);
  assert.match(mail.text, /analysis: \[model-written\] ok\ufffd\[1A\ufffdevil/);
  for (const f of ['json', 'slack', 'discord'] as const) {
    const body = renderWebhookBody(f, ctx);
    const parsed = JSON.stringify(JSON.parse(body));
    assert.ok(!CTRL.test(body) && !/\\u001b|\\u0000|\\u0007/.test(body), `${f}: ${body}`);
    assert.ok(!/[\u202a-\u202e]/.test(parsed), f);
  }
  const json = JSON.parse(renderWebhookBody('json', ctx)) as { untrusted: { client_written: string[]; model_written: string[] } };
  assert.deepEqual(json.untrusted, { client_written: ['incident.samples', 'incident.subject.value'], model_written: ['analysis.summary', 'analysis.likely_cause'] });
});
