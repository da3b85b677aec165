/**
 * Masking before clustering (src/pipeline/clustering/mask.ts): each kind of
 * variable the clusterer must not see, in the shapes different systems
 * write it, and what must survive (the words and the frame around values).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { maskMessage, maskText, MAX_CHARS } from '../../src/pipeline/clustering/mask.js';
import { corpora, TUNE_SEED } from './gen/systems.js';

const m = (line: string, max = 80) => maskMessage(line, max).join(' ');

describe('maskMessage: values', () => {
  const cases: [string, string, string][] = [
    ['integers and decimals', 'took 1234 ms to copy 5.25 units', 'took <*> to copy <*> units'],
    ['negative numbers and ids with a frame', 'Opened pipeline for rep_-73311904227 upstream /10.31.4.7:9866', 'Opened pipeline for rep_<*> upstream /<*>'],
    ['hex with 0x', 'parity fault 3, reg 0x7f31c2a0, bits 0x0c', 'parity fault <*>, reg <*>, bits <*>'],
    ['hex ids without 0x', 'project 9f0c3e71aa0b4d56b2e8c41d07f5a9e2 request c41d07f5 done', 'project <*> request <*> done'],
    ['UUIDs', '[vm 3d1f0a62-7c44-4e0b-9a15-c27e5b80f913] booted', '[vm <*>] booted'],
    ['IPv4 with and without port', 'from 10.0.0.1 to 192.168.1.20:8443 via 8.8.8.8.', 'from <*> to <*> via <*>.'],
    ['IPv6 and MAC addresses', 'peer fe80::1%eth0 and 2001:db8::ff00:42:8329 mac 00:1a:2b:3c:4d:5e', 'peer <*> and <*> mac <*>'],
    ['e-mail and user@host', 'mail for alice@example.com from root@localhost', 'mail for <*> from <*>'],
    ['URLs', 'fetch https://example.com/a/b?c=1&d=2 failed', 'fetch <*> failed'],
    ['digits inside paths keep the path frame', 'GET /v3/9f0c3e71aa0b4d56b2e8c41d07f5a9e2/machines/list', 'GET /v<*>/<*>/machines/list'],
    ['digits inside names', 'node tn417 iface wl0 task_20230611_0042', 'node tn<*> iface wl<*> task_<*>_<*>'],
    ['durations with their unit', 'done in 12ms, then 3.5s, then 1h30m', 'done in <*>, then <*>, then <*>'],
    ['a unit word after a number', 'took 19.84 seconds, freed 5.3 KB of 12 %', 'took <*>, freed <*> of <*>'],
    ['a restated amount in parentheses joins its value', 'sent 1420 bytes (1.38 KB), got 87 bytes', 'sent <*>, got <*>'],
    ['key=value values, empty ones too', 'auth failure owner= uid=0 tty=pts/3 ruser= rhost=1.2.3.4', 'auth failure owner=<*> uid=<*> tty=<*> ruser=<*> rhost=<*>'],
    ['quoted strings', 'open "/var/www/My File.txt" for \'some user\' now', 'open "<*>" for \'<*>\' now'],
    ['apostrophes are not quotes', "can't find child 12, don't retry", "can't find child <*>, don't retry"],
    ['a number behind a sigil', 'browser.exe *64 - host:443 close, in dir #1234', 'browser.exe <*> - host:<*> close, in dir <*>'],
    ['a list of values of one shape is one token', 'drop rep_1 rep_-2 rep_3 and 1 2 3 4', 'drop rep_<*> and <*>'],
  ];
  for (const [name, line, want] of cases) test(name, () => assert.equal(m(line), want));
});

describe('maskMessage: timestamps', () => {
  const cases: [string, string][] = [
    ['at 2017-05-16T00:00:04.123+02:00 ok', 'at <*> ok'],
    ['at 2017-05-16 00:00:04,123 ok', 'at <*> ok'],
    ['peer 1.2.3.4 () seen at Tue Mar 12 04:41:09 2024', 'peer <*> () seen at <*>'],
    ['Mar 12 04:41:09 gateway sshd[4417]: x', '<*> gateway sshd[<*>]: x'],
    ['[12/Mar/2024:04:41:09 +0100] "GET / HTTP/1.1"', '[<*>] "GET / HTTP/<*>"'],
    ['Tue, 12 Mar 2024 04:41:09 GMT expired', '<*> expired'],
    ['24/03/12 04:41:09 INFO started', '<*> INFO started'],
    ['20240312-04:41:09:606|StepSensor|4417|onChanged 812', '<*>-<*>|StepSensor|<*>|onChanged <*>'],
  ];
  for (const [line, want] of cases) test(line, () => assert.equal(m(line), want));
  test('a month name alone is a word', () => assert.equal(m('May the service start'), 'May the service start'));
});

describe('maskMessage: what stays', () => {
  test('a quoted HTTP request line is one value, as subject or as a field', () => {
    assert.equal(m('10.11.10.1 "GET /v3/abc/machines/list HTTP/1.1" status: 200'), '<*> "<*>" status: <*>');
    assert.equal(m('client: 1.2.3.4, request: "GET /x HTTP/1.1", host: "a"'), 'client: <*>, request: "<*>", host: "<*>"');
  });
  test('a quoted text that starts the message is the message', () => {
    assert.equal(m('"Probe failed" probeType="Readiness" pod="default/api-1"'), '"Probe failed" probeType=<*> pod=<*>');
  });
  test('structured lines: JSON keys and the message field stay, other values (an error field too) go', () => {
    assert.equal(
      m('{"level":"warn","msg":"slow query on orders","duration_ms":1234,"request_id":"b9000564-fe1a-409b-b8cc-1e88b294cd1d"}'),
      '{"level":"<*>","msg":"slow query on orders","duration_ms":<*>,"request_id":"<*>"}',
    );
    assert.equal(
      m('level=error ts=2024-03-01T12:00:00Z caller=scrape.go:123 msg="scrape failed" target=http://1.2.3.4:9100/metrics err="context deadline exceeded"'),
      'level=<*> ts=<*> caller=<*> msg="scrape failed" target=<*> err=<*>',
    );
  });
  test('protocol names with a version digit stay words', () => {
    assert.equal(m('open through proxy SOCKS5 over IPV6'), 'open through proxy SOCKS5 over IPV6');
  });
  test('words, case and punctuation are untouched', () => {
    assert.equal(m('Starting TrustedInstaller initialization.'), 'Starting TrustedInstaller initialization.');
  });
  test('whitespace of any kind separates tokens', () => {
    assert.deepEqual(maskMessage('  a\tb  c\u000bd ', 80), ['a', 'b', 'c', 'd']);
  });
  test('an empty message has no tokens', () => assert.deepEqual(maskMessage('', 80), []));
});

describe('maskMessage: bounds', () => {
  test('tokens beyond maxTokens are cut', () => {
    assert.deepEqual(maskMessage('a b c d e f', 3), ['a', 'b', 'c']);
  });
  test(`characters beyond ${MAX_CHARS} are not looked at`, () => {
    const long = 'x '.repeat(MAX_CHARS) + 'tail';
    assert.ok(maskText(long).length <= MAX_CHARS);
    assert.ok(!maskMessage(long, 1_000_000).includes('tail'));
  });
  test('a pathological line costs bounded time', () => {
    const hostile = [
      '"'.repeat(5000),
      '"a'.repeat(3000),
      "'a ".repeat(3000),
      '1.'.repeat(3000),
      ':'.repeat(5000),
      'ab:'.repeat(2000),
      'a=b '.repeat(2000),
      '0x'.repeat(4000),
      'a'.repeat(5000) + '@',
      'a.'.repeat(3000) + '@x',
      'Jan 1 '.repeat(1000),
      'http://' + 'a'.repeat(5000),
    ];
    for (const h of hostile) {
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) maskMessage(h, 80);
      const each = (performance.now() - t0) / 20;
      // Catastrophic backtracking costs seconds; 50 ms leaves room for a loaded machine.
      assert.ok(each < 50, `${each.toFixed(2)} ms for ${JSON.stringify(h.slice(0, 12))}...`);
    }
  });
});

describe('maskMessage on the generated labelled corpora', () => {
  const lines = corpora(TUNE_SEED).flatMap((c) => c.messages);
  test('no digit survives, except in protocol names (SOCKS5, IPV6)', () => {
    for (const line of lines) {
      for (const tok of maskMessage(line, 80)) {
        if (/\d/.test(tok)) assert.match(tok, /(?:^|[^A-Za-z0-9])[A-Z]{2,5}\d(?:$|[^A-Za-z0-9])/, `${tok} in ${line}`);
      }
    }
  });
  test('the same line always masks the same way', () => {
    for (const line of lines.slice(0, 500)) assert.equal(m(line), m(line));
  });
});
