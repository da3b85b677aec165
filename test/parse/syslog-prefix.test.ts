/** Syslog headers: where the message starts and what the header says. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSyslogPrefix } from '../../src/pipeline/parse/syslog-prefix.js';

const NOW = Date.UTC(2026, 11, 1);

function read(line: string) {
  const p = parseSyslogPrefix(line, NOW);
  return { ...p, time: p.time === null ? null : new Date(p.time).toISOString(), message: line.slice(p.start) };
}

describe('syslog headers', () => {
  it('traditional, with PRI, host and tag', () => {
    const p = read('<134>Nov 25 14:00:00 lb1 haproxy[123]: hello world');
    assert.deepEqual([p.pri, p.host, p.program, p.pid, p.time, p.offsetMin, p.message], [134, 'lb1', 'haproxy', 123, '2026-11-25T14:00:00.000Z', null, 'hello world']);
  });
  it('traditional as HAProxy sends it: no host', () => {
    const p = read('<134>Nov 25 14:00:00 haproxy[123]: hello');
    assert.deepEqual([p.host, p.program, p.pid, p.message], [null, 'haproxy', 123, 'hello']);
  });
  it('traditional without PRI, space-padded day, tag without pid', () => {
    const p = read('Nov  5 14:00:00 lb1 haproxy: hello');
    assert.deepEqual([p.pri, p.host, p.program, p.pid, p.time, p.message], [null, 'lb1', 'haproxy', null, '2026-11-05T14:00:00.000Z', 'hello']);
  });
  it('RFC 3339 (rsyslog) keeps its offset', () => {
    const p = read('2026-11-25T14:00:00.123456+01:00 lb1 haproxy[123]: hello');
    assert.deepEqual([p.host, p.program, p.pid, p.time, p.offsetMin, p.message], ['lb1', 'haproxy', 123, '2026-11-25T13:00:00.123Z', 60, 'hello']);
  });
  it('RFC 5424 with `-` fields', () => {
    const p = read('<134>1 2026-11-25T14:00:00.123Z - haproxy 123 - - hello');
    assert.deepEqual([p.pri, p.host, p.program, p.pid, p.time, p.offsetMin, p.message], [134, null, 'haproxy', 123, '2026-11-25T14:00:00.123Z', 0, 'hello']);
  });
  it('RFC 5424 with structured data, escapes inside, several elements, a BOM', () => {
    const p = read('<134>1 2026-11-25T14:00:00Z host app 77 ID47 [a x="1"][b y="q \\] \\" z"] \ufeffhello');
    assert.deepEqual([p.host, p.program, p.pid, p.message], ['host', 'app', 77, 'hello']);
  });
  it('RFC 5424 with a nil timestamp and no message', () => {
    const p = read('<134>1 - - - - - -');
    assert.deepEqual([p.time, p.message], [null, '']);
  });
  it("HAProxy's iso and timed formats: a time and the message, no host or tag", () => {
    const a = read('2026-11-25T14:00:00.1+00:00 1.2.3.4:5 [25/Nov/2026:14:00:00.000] web/1: SSL handshake failure');
    assert.deepEqual([a.host, a.program, a.message.slice(0, 9)], [null, null, '1.2.3.4:5']);
    const b = read('<6>2026-11-25T14:00:00+00:00 Server be/s1 is DOWN');
    assert.deepEqual([b.pri, b.host, b.program, b.message], [6, null, null, 'Server be/s1 is DOWN']);
  });
  it('priority only, and raw', () => {
    assert.equal(read('<134>backend be has no server available!').message, 'backend be has no server available!');
    const raw = read('1.2.3.4:5 [25/Nov/2026:14:00:00.000] web app/s1');
    assert.deepEqual([raw.start, raw.time, raw.pri], [0, null, null]);
  });
  it('a frontend/bind of a connection error is not taken for a tag', () => {
    const p = read('2026-11-25T14:00:00Z web/3: SSL handshake failure');
    assert.deepEqual([p.program, p.message], [null, 'web/3: SSL handshake failure']);
  });
  it('a tag with a path only when it has a pid', () => {
    assert.equal(read('Nov 25 14:00:00 mx postfix/smtpd[42]: connect').program, 'postfix/smtpd');
  });
  it('what is not a header is left alone', () => {
    for (const s of ['<999>x', '<>x', '<13', 'Novel 25 x', '2026-11-25Tx', '']) assert.equal(read(s).message.length <= s.length, true, s);
    assert.equal(read('<999>x').start, 0);
  });
});
