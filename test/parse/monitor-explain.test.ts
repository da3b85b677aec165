/** `monitor explain`: one JSON object per input line, in order; a readable view; rules shown; hostile text escaped. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { runMonitorExplain } from '../../src/cli/monitor-explain.js';
import { explainLine, explainLines, guessFormat } from '../../src/monitor/explain.js';
import type { ParsedLine } from '../../src/pipeline/types.js';

const LINES = [
  '<134>Nov 25 15:16:00 haproxy[23867]: 127.0.0.1:38970 [25/Nov/2026:15:16:00.763] web app/s1 0/0/0/0/0 404 149 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:18080|sqlmap/1.7} "GET /.env HTTP/1.1"',
  '127.0.0.1:37626 [25/Nov/2026:15:16:05.507] tcpfe tcpapp/t1 1/0/0 143 -- 1/1/0/0/0 0/0',
  '127.0.0.1:42270 [25/Nov/2026:15:16:05.440] web/3: SSL handshake failure (error:0A000416:SSL routines::sslv3 alert certificate unknown)',
  'Server be/s1 is DOWN, reason: Layer4 timeout, check duration: 2001ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.',
  'garbage \u001b[2J\u001b[31m not a log line',
  '',
];

const rules = (p: ParsedLine): string[] => {
  const out: string[] = [];
  if (typeof p.fields.path === 'string' && p.fields.path.includes('.env')) out.push('sensitive-file-probe');
  if (typeof p.fields.user_agent === 'string' && p.fields.user_agent.startsWith('sqlmap')) out.push('scanner-user-agent');
  if (p.fields.event === 'server_down') out.push('server-down');
  return out;
};

describe('monitor explain', () => {
  it('gives one JSON object per input line, in order, with the contract keys', () => {
    const { json } = explainLines(LINES, 'haproxy', rules);
    assert.equal(json.length, LINES.length);
    assert.deepEqual(
      json.map((j) => [j.ok, j.kind]),
      [[true, 'http'], [true, 'tcp'], [true, 'conn_error'], [true, 'event'], [false, 'unknown'], [false, 'unknown']],
    );
    for (const j of json) {
      for (const k of ['ok', 'kind', 'fields', 'rules']) assert.ok(k in j, k);
      assert.ok(Array.isArray(j.rules));
      // survives a JSON round trip unchanged
      assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
    }
    assert.deepEqual(json[0]?.rules, ['sensitive-file-probe', 'scanner-user-agent']);
    assert.equal(json[0]?.time, '2026-11-25T15:16:00.763Z');
    assert.equal(json[0]?.fields.status, 404);
    assert.equal(json[2]?.fields.ssl_error, 'error:0A000416:SSL routines::sslv3 alert certificate unknown');
    assert.deepEqual(json[3]?.rules, ['server-down']);
    assert.equal(json[3]?.fields.event, 'server_down');
    assert.deepEqual(json[4]?.rules, []);
  });

  it('without a rules function, rules are empty', () => {
    assert.deepEqual(explainLines(LINES, 'haproxy').json.map((j) => j.rules), LINES.map(() => []));
  });

  it('a rules function that throws costs that line its rules only', () => {
    const r = explainLine(LINES[0] as string, 'haproxy', () => {
      throw new Error('bad rule');
    });
    assert.deepEqual(r.json.rules, []);
    assert.equal(r.json.rules_error, 'bad rule');
    assert.match(r.text, /rules: error: bad rule/);
  });

  it('the readable view shows kind, key fields and rules, and escapes control characters', () => {
    const { text, summary } = explainLines(LINES, 'haproxy', rules);
    assert.equal(text.length, LINES.length);
    assert.match(text[0] as string, /^#1 http\s+127\.0\.0\.1 "GET \/\.env HTTP\/1\.1" -> 404 {2}web -> app\/s1 {2}----/);
    assert.match(text[0] as string, /user_agent=sqlmap\/1\.7/);
    assert.match(text[0] as string, /rules: sensitive-file-probe, scanner-user-agent/);
    assert.match(text[2] as string, /web\/3: SSL handshake failure \(error:0A000416/);
    assert.match(text[3] as string, /server_down {2}be\/s1 {2}reason Layer4 timeout/);
    assert.match(text[4] as string, /#5 unknown\s+\(not an haproxy line\)/);
    assert.ok(!(text[4] as string).includes('\u001b'), 'escape characters reach the terminal');
    assert.match(text[4] as string, /\\x1b\[2J/);
    assert.equal(summary, '6 lines: http 1, tcp 1, conn_error 1, event 1, unknown 2 (unparsed: not an haproxy line 1, empty 1); 2 matched a rule');
  });

  it('app formats', () => {
    const j = explainLines(['{"level":"error","msg":"db down","time":"2026-11-25T14:00:00Z"}'], 'json').json[0];
    assert.deepEqual([j?.ok, j?.kind, j?.fields.level, j?.fields.message, j?.time], [true, 'app', 'error', 'db down', '2026-11-25T14:00:00.000Z']);
    const t = explainLines(['2026-11-25 14:00:00 ERROR db down'], 'text');
    assert.match(t.text[0] as string, /#1 app\s+error {2}db down/);
  });

  it('guesses the format of a sample', () => {
    assert.equal(guessFormat(LINES), 'haproxy');
    assert.equal(guessFormat(['{"msg":"a"}', '{"msg":"b"}', 'banner']), 'json');
    assert.equal(guessFormat(['2026-11-25 14:00:00 INFO a', 'b']), 'text');
    assert.equal(guessFormat([]), 'haproxy');
  });

  it('streams a file or standard input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'explain-'));
    try {
      const file = join(dir, 'haproxy.log');
      writeFileSync(file, LINES.join('\r\n') + '\n');
      let out = '';
      const counts = await runMonitorExplain({ input: file, json: true, format: 'haproxy', rules, write: (c) => (out += c) });
      assert.deepEqual(counts, { lines: 6, unparsed: 2, matched: 2 });
      const objs = out.trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string });
      assert.deepEqual(objs.map((o) => o.kind), ['http', 'tcp', 'conn_error', 'event', 'unknown', 'unknown']);

      let text = '';
      await runMonitorExplain({ input: '-', json: false, format: 'haproxy', stdin: Readable.from([LINES.slice(0, 2).join('\n')]), write: (c) => (text += c) });
      assert.match(text, /#1 http/);
      assert.match(text, /#2 tcp/);
      assert.match(text, /2 lines: http 1, tcp 1; 0 matched a rule\n$/);

      await assert.rejects(runMonitorExplain({ input: join(dir, 'missing.log'), json: true, format: 'haproxy', write: () => undefined }), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
