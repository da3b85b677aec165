/**
 * The Referer is redacted like the path (issue 16): what is stored or sent is
 * the redacted line, and the Referer parsed from it (this project's
 * `{host|ua|referer}` capture, or a combined-format line) carries no token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor } from '../../src/pipeline/redact/text.js';
import { parseLine } from '../../src/pipeline/parse/index.js';

const SECRET = 'Hk29fQpLx0secretTokenValue77';
const redact = createRedactor();

test('a token in the Referer capture is redacted as the same token in the path is', () => {
  const line = `Nov 25 14:00:00 lb haproxy[1]: 203.0.113.9:51234 [25/Nov/2026:14:00:00.123] web app/s1 0/0/1/2/3 200 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8|https://shop.test/reset?token=${SECRET}&next=%2Fa%3Fapi_key%3D${SECRET}} "GET /reset?token=${SECRET} HTTP/1.1" rip=203.0.113.9 rid=r`;
  const out = redact(line);
  assert.ok(!out.includes(SECRET), out);
  const p = parseLine(out, 'haproxy');
  assert.equal(p.fields.path, '/reset?token=[REDACTED:param]');
  assert.equal(p.fields.referer, 'https://shop.test/reset?token=[REDACTED:param]&next=%2Fa%3Fapi_key%3D[REDACTED:param]');
  assert.equal(p.fields.user_agent, 'curl/8');
});

test('a combined-format Referer: the token redacted, the rest of the line kept', () => {
  const line = `198.51.100.4 - - [25/Nov/2026:14:00:00 +0000] "GET / HTTP/1.1" 200 612 "https://app.test/cb?page=2&access_token=${SECRET}" "Mozilla/5.0"`;
  const out = redact(line);
  assert.ok(!out.includes(SECRET), out);
  const p = parseLine(out, 'haproxy');
  assert.equal(p.fields.referer, 'https://app.test/cb?page=2&access_token=[REDACTED:param]');
  assert.equal(p.fields.user_agent, 'Mozilla/5.0');
  assert.equal(p.fields.client_ip, '198.51.100.4');
});

test("a token holding HAProxy's #XX escape (an escaped | in a capture) is redacted whole", () => {
  const tail = 'TailPartOfTheSecret42';
  const line = `Nov 25 14:00:00 lb haproxy[1]: 203.0.113.9:51234 [25/Nov/2026:14:00:00.123] web app/s1 0/0/1/2/3 200 120 - - ---- 1/1/0/0/0 0/0 {shop.test|curl/8|https://shop.test/cb?token=${SECRET}#7C${tail}} "GET /cb?code=${SECRET}#22${tail} HTTP/1.1" rip=203.0.113.9 rid=r`;
  const out = redact(line);
  assert.ok(!out.includes(SECRET), out);
  assert.ok(!out.includes(tail), out);
  const p = parseLine(out, 'haproxy');
  assert.equal(p.fields.referer, 'https://shop.test/cb?token=[REDACTED:param]');
  // A plain fragment after a value still ends it (not two hex digits).
  assert.equal(redact('GET /a?token=abc#section'), 'GET /a?token=[REDACTED:param]#section');
});
