/**
 * `haproxy-manager logs templates <file|-> [--json]` (src/cli/logs-templates.ts):
 * one JSON object per input line in input order with the FINAL template of
 * its group, the table without --json, standard input, and unreadable input.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { logsTemplates, readLines } from '../../src/cli/logs-templates.js';
import { groupMessages } from '../../src/pipeline/clustering/group.js';
import { corpora, TUNE_SEED } from './gen/systems.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

async function run(file: string, json: boolean, stdin?: Readable) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await logsTemplates(file, { json }, { stdout, stderr, ...(stdin ? { stdin } : {}) });
  return { code, out: stdout.text, err: stderr.text };
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hm-templates-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('--json', () => {
  test('one object per line, in order; one id per group; the final template of the group', async () => {
    const file = join(dir, 'app.log');
    writeFileSync(
      file,
      [
        'Worker started task copy on queue main for user acme',
        'disk /dev/sda1 is 91% full',
        'Worker started task copy on queue main for user initech',
        '',
        'disk /dev/sdb2 is 97% full',
      ].join('\n') + '\n',
    );
    const r = await run(file, true);
    assert.equal(r.code, 0);
    const rows = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { group: string; template: string });
    assert.equal(rows.length, 5);
    for (const row of rows) assert.deepEqual(Object.keys(row), ['group', 'template']);
    assert.equal(rows[0]!.group, rows[2]!.group);
    assert.equal(rows[1]!.group, rows[4]!.group);
    assert.notEqual(rows[0]!.group, rows[1]!.group);
    // The first line gets the template as it is after the third, not as it was when it was read.
    assert.equal(rows[0]!.template, 'Worker started task copy on queue main for user <*>');
    assert.equal(rows[1]!.template, 'disk <*> is <*> full');
    assert.equal(rows[3]!.template, '');
  });

  test('CRLF line ends, a last line without a newline, and nothing else stripped', async () => {
    const file = join(dir, 'crlf.log');
    writeFileSync(file, '  padded line 1\r\nother\tline 2\r\nlast line 3');
    const rows = (await run(file, true)).out.trimEnd().split('\n');
    assert.equal(rows.length, 3);
  });

  test('grouping of a generated labelled system is the library\'s, line for line', async () => {
    const c = corpora(TUNE_SEED).find((x) => x.system === 'sshd')!;
    const file = join(dir, 'sshd.log');
    writeFileSync(file, c.messages.join('\n') + '\n');
    const rows = (await run(file, true)).out.trimEnd().split('\n').map((l) => JSON.parse(l) as { group: string; template: string });
    const g = groupMessages(c.messages);
    assert.equal(rows.length, c.messages.length);
    assert.deepEqual(rows.map((r) => r.group), c.messages.map((_, i) => g.groupOf(i)));
    assert.deepEqual(rows.map((r) => r.template), c.messages.map((_, i) => g.templateOf(i)));
  });
});

describe('table', () => {
  test('templates most frequent first, with counts and an example, then a summary', async () => {
    const file = join(dir, 'table.log');
    const lines = [];
    for (let i = 0; i < 5; i++) lines.push(`Accepted connection from 10.0.0.${i}:${4000 + i}`);
    lines.push('Configuration reloaded');
    writeFileSync(file, lines.join('\n') + '\n');
    const r = await run(file, false);
    assert.equal(r.code, 0);
    const out = r.out.split('\n');
    assert.match(out[0]!, /^ID +COUNT {2}TEMPLATE$/);
    assert.match(out[1]!, /^[0-9a-f]{12} +5 {2}Accepted connection from <\*>$/);
    assert.match(out[2]!, /^ +e\.g\. Accepted connection from 10\.0\.0\.0:4000$/);
    assert.match(out[3]!, /^[0-9a-f]{12} +1 {2}Configuration reloaded$/);
    assert.equal(out[5], '6 lines, 2 templates');
  });
});

describe('input', () => {
  test('`-` reads standard input', async () => {
    const stdin = Readable.from([Buffer.from('job 1 done\njob 2 do'), Buffer.from('ne\n')]);
    const r = await run('-', true, stdin);
    const rows = r.out.trimEnd().split('\n').map((l) => JSON.parse(l) as { group: string; template: string });
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.group, rows[1]!.group);
    assert.equal(rows[1]!.template, 'job <*> done');
  });

  test('an unreadable file is exit code 1 with a message on stderr', async () => {
    const r = await run(join(dir, 'missing.log'), false);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot read .*missing\.log/);
    assert.equal(r.out, '');
  });

  test('readLines: split on \\n only, one \\r stripped, UTF-8 across chunk borders', async () => {
    const s = new PassThrough();
    const got: string[] = [];
    const done = readLines(s, (l) => got.push(l));
    const bytes = Buffer.from('a\rb\r\n\r\nünï\ncode\n');
    for (const b of bytes) s.write(Buffer.from([b]));
    s.end();
    await done;
    assert.deepEqual(got, ['a\rb', '', 'ünï', 'code']);
  });
});
