/**
 * The shared string check (src/validate/text.ts): every forbidden character
 * class is refused with a reason naming the code point, surrounding
 * whitespace is refused rather than trimmed, and what passes comes back
 * unchanged. The zod form gives the same reasons.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkText, safeText, textProblem } from '../../src/validate/text.js';
import { AppError } from '../../src/errors.js';

const hex = (c: number) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

describe('textProblem', () => {
  test('every C0 control character, DEL and every C1 control character is refused, naming it', () => {
    const codes = [...Array.from({ length: 0x20 }, (_, i) => i), 0x7f, ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i)];
    for (const c of codes) {
      assert.equal(textProblem(`a${String.fromCharCode(c)}b`), `contains a control character (${hex(c)})`, hex(c));
    }
  });

  test('the examples of the report: a trailing newline and a U+2028 in a domain', () => {
    assert.equal(textProblem('example.com\n'), 'contains a control character (U+000A)');
    assert.equal(textProblem('example.com\u2028'), 'contains a line or paragraph separator (U+2028)');
    assert.equal(textProblem('exa\u2029mple.com'), 'contains a line or paragraph separator (U+2029)');
  });

  test('tab, CR, NUL and ESC are control characters too', () => {
    assert.match(textProblem('a\tb')!, /U\+0009/);
    assert.match(textProblem('a\r\nb')!, /U\+000D/);
    assert.match(textProblem('\u0000')!, /U\+0000/);
    assert.match(textProblem('\u001b[31mred')!, /U\+001B/);
  });

  test('every bidirectional control is refused', () => {
    for (const c of [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      assert.equal(textProblem(`abc${String.fromCharCode(c)}def`), `contains a bidirectional control character (${hex(c)})`, hex(c));
    }
  });

  test('leading and trailing whitespace is refused, never trimmed', () => {
    assert.equal(textProblem(' example.com'), 'has leading whitespace (U+0020)');
    assert.equal(textProblem('example.com '), 'has trailing whitespace (U+0020)');
    assert.equal(textProblem('\u00a0example.com'), 'has leading whitespace (U+00A0)');
    assert.equal(textProblem('example.com\u3000'), 'has trailing whitespace (U+3000)');
    assert.equal(textProblem('\ufeffexample.com'), 'has leading whitespace (U+FEFF)');
    assert.equal(textProblem('   '), 'has leading whitespace (U+0020)');
  });

  test('a control character is named before surrounding whitespace', () => {
    assert.equal(textProblem(' a\n'), 'contains a control character (U+000A)');
  });

  test('ordinary text passes: inner spaces, punctuation, every script, emoji, the empty string', () => {
    for (const s of ['', 'a', 'abuse report #123; see ticket', 'héllo ü 日本', 'שלום', 'مرحبا', '😀 ok', 'a\u00a0b', 'xn--bcher-kva.de', 'x'.repeat(10_000)]) {
      assert.equal(textProblem(s), null, JSON.stringify(s));
    }
  });

  test('a lone surrogate is not a control character (JSON can carry one; the field checks judge it)', () => {
    assert.equal(textProblem('a\ud800b'), null);
  });
});

describe('checkText', () => {
  test('returns the string unchanged', () => {
    const s = 'exactly as written';
    assert.equal(checkText(s, 'f'), s);
  });

  test('throws a validation error naming the field and the reason', () => {
    assert.throws(
      () => checkText('example.com\n', 'domain'),
      (e: unknown) => e instanceof AppError && e.kind === 'validation' && e.field === 'domain' && e.message === 'contains a control character (U+000A)',
    );
    assert.throws(
      () => checkText(' 10.0.0.1', 'ip_address'),
      (e: unknown) => e instanceof AppError && e.field === 'ip_address' && /leading whitespace/.test(e.message),
    );
  });
});

describe('safeText (zod)', () => {
  test('refuses what textProblem refuses, with the same reason', () => {
    for (const s of ['a\nb', 'a\u0085b', 'a\u2028b', 'a\u202eb', ' a', 'a ']) {
      const r = safeText().safeParse(s);
      assert.equal(r.success, false, JSON.stringify(s));
      assert.equal(r.error!.issues[0]!.message, textProblem(s));
    }
  });

  test('accepts and keeps ordinary text, and composes with further checks', () => {
    assert.equal(safeText().parse('/usr/bin/hook --flag'), '/usr/bin/hook --flag');
    assert.equal(safeText().min(1).safeParse('').success, false);
    assert.equal(safeText().parse('x'), 'x');
    assert.equal(safeText().safeParse(5).success, false);
  });
});
