/** Text sources with an operator's regular expression. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTextPattern } from '../../src/pipeline/parse/index.js';

describe('text patterns', () => {
  const parse = compileTextPattern('^(?<time>\\S+ \\S+) \\[(?<level>\\w+)\\] (?<component>[\\w.]+): (?<message>.*)$');

  it('named groups become fields; time, level and message are normalised', () => {
    const p = parse('2026-11-25 14:00:00,250 [SEVERE] db.pool: connection refused');
    assert.deepEqual(p, {
      ok: true,
      kind: 'app',
      time: Date.UTC(2026, 10, 25, 14, 0, 0, 250),
      fields: { time: '2026-11-25T14:00:00.250Z', level: 'error', component: 'db.pool', message: 'connection refused' },
    });
  });

  it('a line the expression does not match is unknown', () => {
    assert.deepEqual(parse('Traceback (most recent call last):'), { ok: false, kind: 'unknown', time: null, fields: { reason: 'pattern did not match' } });
  });

  it('without a message group the whole line is the message; optional groups that did not match are left out', () => {
    const p2 = compileTextPattern('^(?<user>\\w+)(?: (?<extra>\\d+))?');
    assert.deepEqual(p2('bob did it').fields, { user: 'bob', message: 'bob did it' });
  });

  it('a bad expression stops start-up with the reason', () => {
    assert.throws(() => compileTextPattern('(?<x>'), /invalid regex/);
    assert.throws(() => compileTextPattern('^\\w+ (.*)$'), /no named group/);
  });
});
