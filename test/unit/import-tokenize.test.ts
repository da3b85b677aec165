/** Unit tests for src/import/tokenize.ts: HAProxy's quoting, escapes, comments, sections and line numbers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sections, splitLine, tokenize } from '../../src/import/tokenize.js';

test('words split on spaces and tabs; # starts a comment outside quotes', () => {
  assert.deepEqual(splitLine('  server\ts1  10.0.0.1:80 check # a comment').words, ['server', 's1', '10.0.0.1:80', 'check']);
  assert.deepEqual(splitLine('http-request set-header X "a # b"').words, ['http-request', 'set-header', 'X', 'a # b']);
  assert.deepEqual(splitLine("acl x path 'a#b'").words, ['acl', 'x', 'path', 'a#b']);
});

test('double quotes take escapes, single quotes are verbatim, a backslash escapes outside quotes', () => {
  assert.deepEqual(splitLine('x "a \\"b\\" c" \'d \\e\' f\\ g \\#h').words, ['x', 'a "b" c', 'd \\e', 'f g', '#h']);
  assert.deepEqual(splitLine('x "\\x41\\t"').words, ['x', 'A\t']);
  assert.deepEqual(splitLine('x ""').words, ['x', ''], 'an empty quoted word is a word');
  assert.deepEqual(splitLine('x a"b c"d').words, ['x', 'ab cd'], 'quotes join with what touches them');
});

test('environment variables: only inside double quotes; a crypt hash outside them is literal', () => {
  assert.equal(splitLine('x "$HOME"').env, true);
  assert.equal(splitLine('x "${HOME}/a"').env, true);
  assert.equal(splitLine("x '$HOME'").env, false);
  assert.equal(splitLine('user a password $6$salt$hash').env, false);
  assert.deepEqual(splitLine('user a password $6$salt$hash').words[3], '$6$salt$hash');
  assert.equal(splitLine('x "\\$HOME"').env, false, 'an escaped $ is literal');
});

test('lines HAProxy would refuse are marked, never guessed at', () => {
  assert.match(splitLine('x "abc').error ?? '', /unterminated double quote/);
  assert.match(splitLine("x 'abc").error ?? '', /unterminated single quote/);
  assert.match(splitLine('x abc\\').error ?? '', /backslash ends the line/);
  assert.match(splitLine('x \\xZZ').error ?? '', /\\x escape/);
});

test('tokenize keeps line numbers (blank and comment lines counted, not returned), CRLF accepted', () => {
  const lines = tokenize('# head\r\n\r\nglobal\r\n  daemon\r\n\n  # c\nbackend b\n  server s 1.2.3.4:80\n', 'f.cfg');
  assert.deepEqual(lines.map((l) => [l.line, l.words]), [[3, ['global']], [4, ['daemon']], [7, ['backend', 'b']], [8, ['server', 's', '1.2.3.4:80']]]);
  assert.equal(lines[1]!.text, 'daemon');
  assert.equal(lines[1]!.file, 'f.cfg');
});

test('sections group lines under their header; lines before any section form their own', () => {
  const s = sections(tokenize('stray\nglobal\n daemon\ndefaults http\n mode http\nfrontend web\n bind :80\nbackend app\n server s 1.2.3.4:80\ncache c\n total-max-size 1\n', 'f'));
  assert.deepEqual(s.map((x) => [x.kind, x.name, x.header.line, x.lines.map((l) => l.line)]), [
    ['', '', 1, [1]], ['global', '', 2, [3]], ['defaults', 'http', 4, [5]], ['frontend', 'web', 6, [7]], ['backend', 'app', 8, [9]], ['cache', 'c', 10, [11]],
  ]);
});
