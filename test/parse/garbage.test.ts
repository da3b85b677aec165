/**
 * parseLine never throws and always returns a well-formed ParsedLine,
 * whatever it is given: random bytes, invalid UTF-8 (U+FFFD), 1 MB lines,
 * lines cut at every position, mutated real lines, prototype-pollution keys.
 * Huge lines are also timed, so no input can make the parser quadratic.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseLine } from '../../src/pipeline/parse/index.js';
import type { ParsedLine, SourceFormat } from '../../src/pipeline/types.js';

const FORMATS: SourceFormat[] = ['haproxy', 'json', 'text'];
const KINDS = new Set(['http', 'tcp', 'event', 'conn_error', 'app', 'unknown']);

function wellFormed(p: ParsedLine, line: string): void {
  const where = `for ${JSON.stringify(line.slice(0, 200))}`;
  assert.equal(typeof p.ok, 'boolean', where);
  assert.ok(KINDS.has(p.kind), `kind ${p.kind} ${where}`);
  assert.ok(p.time === null || Number.isFinite(p.time), `time ${p.time} ${where}`);
  assert.ok(p.fields !== null && typeof p.fields === 'object', where);
  if (!p.ok) assert.equal(p.kind, 'unknown', where);
  // Plain JSON data: numbers finite, nothing that JSON would drop or change.
  const text = JSON.stringify(p.fields);
  assert.deepEqual(JSON.parse(text), p.fields, where);
  // HAProxy's numeric fields are numbers; an application's own keys (kind app: `"status":"ok"`) are whatever it wrote.
  for (const k of p.kind === 'app' ? [] : ['status', 'bytes_read', 'client_port', 'actconn', 'retries']) {
    const v = p.fields[k];
    if (v !== undefined) assert.ok(typeof v === 'number' && Number.isInteger(v), `${k}=${String(v)} ${where}`);
  }
  assert.equal(Object.getPrototypeOf(p.fields), Object.prototype, where);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, `prototype polluted ${where}`);
}

function parseAll(line: string): void {
  for (const f of FORMATS) wellFormed(parseLine(line, f), line);
}

let seed = 1234567;
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}

function fixtureLines(): string[] {
  const dir = join(import.meta.dirname, 'fixtures');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const REAL = fixtureLines();

describe('garbage in, a ParsedLine out', () => {
  it('random bytes, decoded as UTF-8 (replacement characters) and as latin1', () => {
    for (let k = 0; k < 3000; k++) {
      const buf = Buffer.alloc(rnd(300));
      for (let j = 0; j < buf.length; j++) buf[j] = rnd(256);
      parseAll(buf.toString('utf8'));
      parseAll(buf.toString('latin1'));
    }
  });

  it('random lines from the characters HAProxy lines are made of', () => {
    const alphabet = ' []{}|"/:-+~<>=.,0123456789abcdefNOSRVBADREQGET HTTP/1.1\\#()\'@';
    for (let k = 0; k < 5000; k++) {
      let s = '';
      const n = rnd(200);
      for (let j = 0; j < n; j++) s += alphabet[rnd(alphabet.length)];
      parseAll(s);
    }
  });

  it('every real line cut at every position', () => {
    for (const line of REAL) for (let k = 0; k <= line.length; k++) parseAll(line.slice(0, k));
  });

  it('real lines with random mutations', () => {
    const junk = ['\u0000', '\ufffd', '"', '{', '}', '[', ']', ' ', '/', ':', '-1', '\t', '\r', '\n', '#', '=', '~', '\u2028', '😀', '__proto__'];
    for (let k = 0; k < 20000; k++) {
      let s = REAL[rnd(REAL.length)] as string;
      const edits = 1 + rnd(4);
      for (let e = 0; e < edits; e++) {
        const at = rnd(s.length + 1);
        const op = rnd(3);
        if (op === 0) s = s.slice(0, at) + (junk[rnd(junk.length)] as string) + s.slice(at);
        else if (op === 1) s = s.slice(0, at) + s.slice(at + 1 + rnd(5));
        else s = s.slice(0, at) + String.fromCharCode(rnd(0x3000)) + s.slice(at + 1);
      }
      parseAll(s);
    }
  });

  it('prototype keys in JSON, logfmt and key=value words pollute nothing', () => {
    parseAll('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"msg":"x"}');
    parseAll('__proto__=1 constructor=2 msg=x level=error');
    parseAll('1.2.3.4:5 [25/Nov/2026:14:00:00.000] web app/s1 0/0/0/1/1 200 1 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" __proto__=x constructor=y');
    parseAll('[__proto__] (1) : x');
    parseAll('2026-11-25 14:00:00 constructor x');
    assert.equal(parseLine('{"level":"constructor","msg":"x"}', 'json').fields.level, undefined);
  });

  it('1 MB lines of many shapes finish quickly', () => {
    const MB = 1 << 20;
    const head = '1.2.3.4:5 [25/Nov/2026:14:00:00.000] web app/s1 0/0/0/1/1 200 1 - - ---- 1/1/0/0/0 0/0 ';
    const shapes = [
      'x'.repeat(MB),
      ' '.repeat(MB),
      '"'.repeat(MB),
      '{'.repeat(MB),
      '1/'.repeat(MB / 2),
      '9'.repeat(MB),
      '#41'.repeat(MB / 3),
      head + '"GET /' + 'a'.repeat(MB) + ' HTTP/1.1"',
      head + '{' + 'h|'.repeat(MB / 2) + '} "GET / HTTP/1.1"',
      head + '{' + '#41'.repeat(MB / 3) + '} "GET / HTTP/1.1"',
      head + '"GET / HTTP/1.1" ' + 'k=v '.repeat(MB / 4),
      head + '"GET / HTTP/1.1"' + ' "q"'.repeat(MB / 4),
      'Server be/s1 is DOWN, reason: ' + '1'.repeat(MB) + ' x',
      'Server be/s1 is DOWN ' + '1 active and '.repeat(MB / 13),
      '[ALERT] (1) : ' + 'a'.repeat(MB),
      '<134>1 2026-11-25T14:00:00Z h a 1 - ' + '['.repeat(MB),
      '<134>1 2026-11-25T14:00:00Z h a 1 - [x a="' + '\\'.repeat(MB),
      'Nov 25 14:00:00 ' + 'h'.repeat(MB) + ': x',
      '{"msg":"' + 'a'.repeat(MB) + '"}',
      '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
      '{' + Array.from({ length: 20000 }, (_, k) => `"k${k}":{"x":${k}}`).join(',') + '}',
      'a=1 '.repeat(MB / 4),
      'msg="' + 'a\\"'.repeat(MB / 3),
      '2026-11-25 14:00:00 ' + 'ERROR '.repeat(MB / 6),
      '[' + '2026-11-25 14:00:00'.repeat(MB / 19),
      '10.0.0.1 - - [25/Nov/2026:14:00:00 +0000] ' + '"x" '.repeat(MB / 4),
      '10.0.0.1:1 [25/Nov/2026:14:00:00.000] fe/' + 'b'.repeat(MB) + ': SSL handshake failure (' + 'e'.repeat(MB),
    ];
    for (const line of shapes) {
      const t0 = performance.now();
      parseAll(line);
      const ms = performance.now() - t0;
      assert.ok(ms < 1500, `${ms.toFixed(0)} ms for a ${line.length}-char line starting ${JSON.stringify(line.slice(0, 60))}`);
    }
  });

  it('a 1 MB request path is kept whole and the line still parses', () => {
    const path = '/' + 'a'.repeat(1 << 20);
    const p = parseLine(`1.2.3.4:5 [25/Nov/2026:14:00:00.000] web app/s1 0/0/0/1/1 200 1 - - ---- 1/1/0/0/0 0/0 "GET ${path} HTTP/1.1"`, 'haproxy');
    assert.equal(p.kind, 'http');
    assert.equal(p.fields.path, path);
  });

  it('replacement characters inside an otherwise good line do not stop it parsing', () => {
    const p = parseLine('1.2.3.4:5 [25/Nov/2026:14:00:00.000] web app/s1 0/0/0/1/1 200 1 - - ---- 1/1/0/0/0 0/0 {h\ufffd\ufffd.com|Mozilla\ufffd} "GET /\ufffd\ufffd HTTP/1.1"', 'haproxy');
    assert.equal(p.ok, true);
    assert.equal(p.fields.path, '/\ufffd\ufffd');
    assert.equal(p.fields.user_agent, 'Mozilla\ufffd');
  });

  it('something that is not a string gives unknown', () => {
    for (const v of [undefined, null, 42, {}, Buffer.from('x')]) {
      const p = parseLine(v as unknown as string, 'haproxy');
      assert.equal(p.ok, false);
      assert.equal(p.kind, 'unknown');
    }
  });

  it('an unknown format gives unknown', () => {
    assert.deepEqual(parseLine('x', 'yaml' as SourceFormat), { ok: false, kind: 'unknown', time: null, fields: { reason: 'unknown format' } });
  });
});
