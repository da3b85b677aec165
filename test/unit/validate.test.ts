/**
 * Unit tests for src/validate/ip.ts and src/validate/names.ts: canonical forms
 * and the "nothing unsafe can come out" contract.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp, ipInRange, rangesOverlap, isValidCidrOrIp } from '../../src/validate/ip.js';
import { normalizeHostname, validateName, validateServerAddress, validatePort, validateNote, validateIp } from '../../src/validate/names.js';
import { AppError } from '../../src/errors.js';

/** Asserts `fn` throws a validation AppError naming `field`. */
function assertValidation(fn: () => unknown, field: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AppError, `expected an AppError, got ${String(e)}`);
    assert.equal(e.kind, 'validation');
    assert.equal(e.field, field);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('parseIp: canonical forms', () => {
  const cases: [string, { text: string; family: 4 | 6; prefix: number; isCidr: boolean }][] = [
    ['1.2.3.4', { text: '1.2.3.4', family: 4, prefix: 32, isCidr: false }],
    ['0.0.0.0', { text: '0.0.0.0', family: 4, prefix: 32, isCidr: false }],
    ['255.255.255.255', { text: '255.255.255.255', family: 4, prefix: 32, isCidr: false }],
    ['2001:DB8:0:0:0:0:0:1', { text: '2001:db8::1', family: 6, prefix: 128, isCidr: false }],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', { text: '2001:db8::ff00:42:8329', family: 6, prefix: 128, isCidr: false }],
    ['FE80::ABCD', { text: 'fe80::abcd', family: 6, prefix: 128, isCidr: false }],
    ['::', { text: '::', family: 6, prefix: 128, isCidr: false }],
    ['::1', { text: '::1', family: 6, prefix: 128, isCidr: false }],
    // IPv4-mapped IPv6 -> IPv4, both dotted and hex tails.
    ['::ffff:1.2.3.4', { text: '1.2.3.4', family: 4, prefix: 32, isCidr: false }],
    ['::FFFF:7f00:1', { text: '127.0.0.1', family: 4, prefix: 32, isCidr: false }],
    // ... and with a prefix: the IPv6 prefix minus 96.
    ['::ffff:1.2.3.0/120', { text: '1.2.3.0/24', family: 4, prefix: 24, isCidr: true }],
    ['::ffff:10.9.8.7/104', { text: '10.0.0.0/8', family: 4, prefix: 8, isCidr: true }],
    ['::ffff:1.2.3.4/128', { text: '1.2.3.4', family: 4, prefix: 32, isCidr: false }],
    // CIDR reduced to the network address.
    ['10.1.2.3/8', { text: '10.0.0.0/8', family: 4, prefix: 8, isCidr: true }],
    ['192.168.77.200/20', { text: '192.168.64.0/20', family: 4, prefix: 20, isCidr: true }],
    ['1.2.3.4/0', { text: '0.0.0.0/0', family: 4, prefix: 0, isCidr: true }],
    ['2001:db8:abcd:1234::1/32', { text: '2001:db8::/32', family: 6, prefix: 32, isCidr: true }],
    ['2001:DB8::/48', { text: '2001:db8::/48', family: 6, prefix: 48, isCidr: true }],
    ['::/0', { text: '::/0', family: 6, prefix: 0, isCidr: true }],
    // Full-length prefixes become plain addresses.
    ['1.2.3.4/32', { text: '1.2.3.4', family: 4, prefix: 32, isCidr: false }],
    ['2001:db8::1/128', { text: '2001:db8::1', family: 6, prefix: 128, isCidr: false }],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${expected.text}`, () => {
      assert.deepEqual(parseIp(input), expected);
    });
  }

  test('canonical text is a fixed point (parsing it again gives itself)', () => {
    for (const [, expected] of cases) assert.equal(parseIp(expected.text)?.text, expected.text);
  });

  test('canonical text only ever holds [0-9a-f.:/]', () => {
    for (const [input] of cases) assert.match(parseIp(input)!.text, /^[0-9a-f.:/]+$/);
  });
});

describe('parseIp: rejections', () => {
  const bad: [string, string][] = [
    ['01.2.3.4', 'octal-looking leading zero'],
    ['1.2.3.010', 'octal-looking last octet'],
    ['1.1', 'short form'],
    ['1', 'single number'],
    ['16909060', 'integer form'],
    ['0x7f.0.0.1', 'hex octet'],
    ['0x7f000001', 'hex integer'],
    ['0x01020304', 'hex integer'],
    ['256.1.1.1', 'octet out of range'],
    ['1.2.3.4.5', 'five parts'],
    ['fe80::1%eth0', 'zone id'],
    ['fe80::1%25eth0', 'percent-encoded zone id'],
    [' 1.2.3.4', 'leading space'],
    ['1.2.3.4 ', 'trailing space'],
    ['1.2. 3.4', 'inner space'],
    ['1.2.3.4;', 'semicolon'],
    ['1.2.3.4;show info', 'chained command'],
    ['1.2.3.4\n', 'trailing newline'],
    ['1.2.3.4\nadd map x y', 'newline then command'],
    ['1.2.3.4#', 'comment'],
    ['', 'empty'],
    ['1.2.3.4/', 'empty prefix'],
    ['1.2.3.4/33', 'prefix above 32'],
    ['2001:db8::/129', 'prefix above 128'],
    ['1.2.3.4/-1', 'negative prefix'],
    ['1.2.3.4/8/8', 'two prefixes'],
    ['::ffff:1.2.3.4/95', 'mapped prefix below 96'],
    ['2001:db8:::1', 'triple colon'],
    ['2001:db8::1::2', 'two compressions'],
    ['[2001:db8::1]', 'brackets'],
    ['example.com', 'hostname'],
    ['abc', 'hex-only word'],
    ['1.2.3.4:80', 'with port'],
  ];
  for (const [input, why] of bad) {
    test(`rejects ${JSON.stringify(input)} (${why})`, () => {
      assert.equal(parseIp(input), null);
      assert.equal(isValidCidrOrIp(input), false);
    });
  }

  test('rejects anything longer than 64 characters, even if otherwise valid-looking', () => {
    const long = '0000:0000:0000:0000:0000:ffff:255.255.255.255/128'.padStart(65, '0');
    assert.equal(long.length, 65);
    assert.equal(parseIp(long), null);
    assert.equal(parseIp('1'.repeat(65)), null);
    assert.equal(parseIp('a'.repeat(100)), null);
  });

  test('rejects non-strings', () => {
    for (const v of [undefined, null, 1234, {}, ['1.2.3.4']]) assert.equal(parseIp(v as unknown as string), null);
  });
});

describe('ipInRange', () => {
  test('IPv4 inside and outside a CIDR', () => {
    assert.equal(ipInRange('10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(ipInRange('10.255.255.255', '10.0.0.0/8'), true);
    assert.equal(ipInRange('11.0.0.0', '10.0.0.0/8'), false);
    assert.equal(ipInRange('9.255.255.255', '10.0.0.0/8'), false);
    assert.equal(ipInRange('172.31.0.1', '172.16.0.0/12'), true);
    assert.equal(ipInRange('172.32.0.1', '172.16.0.0/12'), false);
  });
  test('a non-network CIDR is reduced first', () => {
    assert.equal(ipInRange('10.200.0.1', '10.1.2.3/8'), true);
  });
  test('plain address ranges match only themselves', () => {
    assert.equal(ipInRange('1.2.3.4', '1.2.3.4'), true);
    assert.equal(ipInRange('1.2.3.5', '1.2.3.4'), false);
    assert.equal(ipInRange('1.2.3.4', '1.2.3.4/32'), true);
  });
  test('IPv6', () => {
    assert.equal(ipInRange('2001:db8::5', '2001:db8::/32'), true);
    assert.equal(ipInRange('2001:DB9::5', '2001:db8::/32'), false);
    assert.equal(ipInRange('fd12::1', 'fc00::/7'), true);
    assert.equal(ipInRange('fe00::1', 'fc00::/7'), false);
    assert.equal(ipInRange('::1', '::1/128'), true);
  });
  test('an IPv4-mapped address is judged as IPv4', () => {
    assert.equal(ipInRange('::ffff:10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(ipInRange('10.1.2.3', '::ffff:10.0.0.0/104'), true);
  });
  test('across families, as HAProxy matches: IPv4 clients in IPv6 ranges as ::ffff:a.b.c.d, embedded IPv6 forms in IPv4 ranges', () => {
    assert.equal(ipInRange('10.0.0.1', '::/0'), true);
    assert.equal(ipInRange('10.0.0.1', '::8000:0:0/81'), true);
    assert.equal(ipInRange('10.0.0.1', '::ffff:0:0/96'), true);
    assert.equal(ipInRange('2002:7f00:1::5', '127.0.0.0/8'), true); // 6to4 of 127.0.0.1
    assert.equal(ipInRange('::7f00:1', '127.0.0.0/8'), true); // IPv4-compatible
    assert.equal(ipInRange('::1', '0.0.0.0/8'), true); // ::1 is ::0.0.0.1 to HAProxy's v6tov4
    assert.equal(ipInRange('::1', '10.0.0.0/8'), false);
    assert.equal(ipInRange('10.0.0.1', '2001:db8::/32'), false);
    assert.equal(ipInRange('10.0.0.1', '64:ff9b::/96'), false); // NAT64: HAProxy does not convert it
    assert.equal(ipInRange('2001:db8::1', '0.0.0.0/0'), false);
  });
  test('garbage on either side is false, never a throw', () => {
    assert.equal(ipInRange('bad', '10.0.0.0/8'), false);
    assert.equal(ipInRange('10.0.0.1', 'bad'), false);
    assert.equal(ipInRange('01.0.0.1', '0.0.0.0/0'), false);
  });
});

describe('rangesOverlap', () => {
  test('nested ranges overlap, in either order', () => {
    assert.equal(rangesOverlap('10.0.0.0/8', '10.1.0.0/16'), true);
    assert.equal(rangesOverlap('10.1.0.0/16', '10.0.0.0/8'), true);
    assert.equal(rangesOverlap('2001:db8::/32', '2001:db8:1::/48'), true);
    assert.equal(rangesOverlap('2001:db8:1::/48', '2001:db8::/32'), true);
  });
  test('adjacent but disjoint ranges do not', () => {
    assert.equal(rangesOverlap('10.0.0.0/16', '10.1.0.0/16'), false);
    assert.equal(rangesOverlap('192.168.0.0/25', '192.168.0.128/25'), false);
    assert.equal(rangesOverlap('2001:db8::/48', '2001:db8:1::/48'), false);
  });
  test('an address and a range containing it overlap', () => {
    assert.equal(rangesOverlap('1.2.3.4', '1.2.3.0/24'), true);
    assert.equal(rangesOverlap('1.2.3.0/24', '1.2.3.4'), true);
    assert.equal(rangesOverlap('0.0.0.0/0', '1.2.3.4'), true);
    assert.equal(rangesOverlap('1.2.4.4', '1.2.3.0/24'), false);
  });
  test('identical ranges overlap', () => {
    assert.equal(rangesOverlap('1.2.3.4', '1.2.3.4'), true);
    assert.equal(rangesOverlap('10.0.0.0/8', '10.9.9.9/8'), true);
  });
  test('a range holding ::ffff:0:0/96 overlaps every IPv4 range; an unrelated IPv6 one does not; garbage never overlaps', () => {
    assert.equal(rangesOverlap('10.0.0.0/8', '::/0'), true);
    assert.equal(rangesOverlap('::8000:0:0/81', '127.0.0.1'), true);
    assert.equal(rangesOverlap('2002:7f00::/24', '127.0.0.0/8'), true);
    assert.equal(rangesOverlap('10.0.0.0/8', '2001:db8::/32'), false);
    assert.equal(rangesOverlap('64:ff9b::/96', '10.0.0.0/8'), false);
    assert.equal(rangesOverlap('::/81', '10.0.0.0/8'), true); // it holds ::10.0.0.0/104, the IPv4-compatible form
    assert.equal(rangesOverlap('x', '1.2.3.0/24'), false);
    assert.equal(rangesOverlap('1.2.3.0/24', ''), false);
  });
  test('IPv4-mapped ranges overlap their IPv4 equivalents', () => {
    assert.equal(rangesOverlap('::ffff:10.0.0.0/104', '10.5.0.0/16'), true);
  });
});

describe('normalizeHostname', () => {
  test('IDN becomes punycode', () => {
    assert.equal(normalizeHostname('bücher.de', 'domain'), 'xn--bcher-kva.de');
    assert.equal(normalizeHostname('München.example', 'domain'), 'xn--mnchen-3ya.example');
    assert.equal(normalizeHostname('xn--bcher-kva.de', 'domain'), 'xn--bcher-kva.de');
  });
  test('upper case becomes lower case (ASCII and IDN)', () => {
    assert.equal(normalizeHostname('WWW.Example.COM', 'domain'), 'www.example.com');
    assert.equal(normalizeHostname('BÜCHER.DE', 'domain'), 'xn--bcher-kva.de');
  });
  test('one trailing dot is stripped', () => {
    assert.equal(normalizeHostname('example.com.', 'domain'), 'example.com');
    assert.equal(normalizeHostname('EXAMPLE.COM.', 'domain'), 'example.com');
  });
  test('two trailing dots are not a hostname', () => {
    assertValidation(() => normalizeHostname('example.com..', 'domain'), 'domain');
  });
  test('single-label names are allowed', () => {
    assert.equal(normalizeHostname('localhost', 'domain'), 'localhost');
  });
  test('wildcards only when allowed', () => {
    assertValidation(() => normalizeHostname('*.example.com', 'domain'), 'domain', /wildcard/);
    assertValidation(() => normalizeHostname('*.example.com', 'domain', { allowWildcard: false }), 'domain', /wildcard/);
    assert.equal(normalizeHostname('*.example.com', 'domain', { allowWildcard: true }), '*.example.com');
    assert.equal(normalizeHostname('*.Bücher.DE.', 'domain', { allowWildcard: true }), '*.xn--bcher-kva.de');
  });
  test('wildcards are only "*." as the first label, over at least two labels', () => {
    for (const w of ['*.com', '*.*.example.com', 'foo.*.example.com', '*example.com', 'www.*', '*']) {
      assertValidation(() => normalizeHostname(w, 'domain', { allowWildcard: true }), 'domain');
    }
  });
  test('labels must not start or end with "-"', () => {
    for (const h of ['-a.com', 'a-.com', 'www.-example.com', 'www.example-.com', 'example.com-']) {
      assertValidation(() => normalizeHostname(h, 'domain'), 'domain', /label/);
    }
    assert.equal(normalizeHostname('a-b.c-d.com', 'domain'), 'a-b.c-d.com');
  });
  test('labels are at most 63 characters', () => {
    const l63 = 'a'.repeat(63);
    assert.equal(normalizeHostname(`${l63}.com`, 'domain'), `${l63}.com`);
    assertValidation(() => normalizeHostname(`${'a'.repeat(64)}.com`, 'domain'), 'domain', /label/);
  });
  test('names are at most 253 characters', () => {
    const l63 = 'a'.repeat(63);
    const n253 = [l63, l63, l63, 'a'.repeat(61)].join('.');
    assert.equal(n253.length, 253);
    assert.equal(normalizeHostname(n253, 'domain'), n253);
    const n254 = [l63, l63, l63, 'a'.repeat(62)].join('.');
    assertValidation(() => normalizeHostname(n254, 'domain'), 'domain', /253/);
    assertValidation(() => normalizeHostname([l63, l63, l63, l63, 'com'].join('.'), 'domain'), 'domain');
    assertValidation(() => normalizeHostname('a.'.repeat(200) + 'com', 'domain'), 'domain');
  });
  test('a numeric TLD is refused (IP addresses are not hostnames)', () => {
    for (const h of ['example.123', 'www.example.123', '1.2.3.4', '123']) {
      assertValidation(() => normalizeHostname(h, 'domain'), 'domain');
    }
    assert.equal(normalizeHostname('x.1a', 'domain'), 'x.1a');
  });
  test('characters that could break a config line or a command are refused', () => {
    for (const h of [
      'ex#ample.com',
      'example.com#',
      'ex;ample.com',
      'example.com;show info',
      'ex ample.com',
      'ex\tample.com',
      'ex\nample.com',
      'example.com\nadd map x y',
      'ex\rample.com',
      'ex/ample.com',
      'ex%2fample.com',
      'ex"ample.com',
      "ex'ample.com",
      'ex\\ample.com',
      'ex`ample.com',
      'a.b\u0000c.com',
      'ex_ample.com',
      'user@example.com',
      'example.com:80',
      'exa|mple.com',
      '',
      '   ',
    ]) {
      assertValidation(() => normalizeHostname(h, 'domain'), 'domain');
    }
  });
  test('surrounding whitespace and line ends are refused with the reason, never trimmed', () => {
    assertValidation(() => normalizeHostname('  example.com  ', 'domain'), 'domain', /leading whitespace \(U\+0020\)/);
    assertValidation(() => normalizeHostname('example.com ', 'domain'), 'domain', /trailing whitespace \(U\+0020\)/);
    assertValidation(() => normalizeHostname('example.com\n', 'domain'), 'domain', /control character \(U\+000A\)/);
    assertValidation(() => normalizeHostname('example.com\u2028', 'domain'), 'domain', /separator \(U\+2028\)/);
    assertValidation(() => normalizeHostname('example\u202e.com', 'domain'), 'domain', /bidirectional control character \(U\+202E\)/);
    assertValidation(() => normalizeHostname('example.com\u0085', 'domain'), 'domain', /control character \(U\+0085\)/);
  });
  test('non-strings are refused', () => {
    for (const v of [undefined, null, 5, {}, ['example.com']]) assertValidation(() => normalizeHostname(v, 'domain'), 'domain');
  });
  test('every accepted result holds only [a-z0-9.*-]', () => {
    for (const h of ['bücher.de', 'WWW.EXAMPLE.COM.', 'ｅｘａｍｐｌｅ.com', 'a-b.c']) {
      assert.match(normalizeHostname(h, 'domain', { allowWildcard: true }), /^[a-z0-9.*-]+$/);
    }
  });
  test('percent-encoding and punctuation are refused, not decoded into another name', () => {
    for (const h of ['ex%41mple.com', '%70ct.test', 'a_b.com', 'a!b.com', 'a+b.com', 'a,b.com']) assertValidation(() => normalizeHostname(h, 'domain'), 'domain');
  });
});

describe('validateName', () => {
  test('accepts the safe alphabet', () => {
    for (const n of ['web1', 'Web_1.a-b', '0abc', 'a']) assert.equal(validateName(n, 'name'), n);
    assert.equal(validateName('x'.repeat(64), 'name'), 'x'.repeat(64));
  });
  test('refuses everything else', () => {
    for (const n of ['-a', '_a', '.a', 'a b', 'a;b', 'a#b', 'a\nb', 'a\n', ' a', '', 'a/b', 'a"b', 'ä', 5, null]) {
      assertValidation(() => validateName(n, 'name'), 'name');
    }
  });
  test('length limit, default and custom', () => {
    assertValidation(() => validateName('x'.repeat(65), 'name'), 'name', /64/);
    assertValidation(() => validateName('abcdef', 'name', 5), 'name', /5/);
    assert.equal(validateName('abcde', 'name', 5), 'abcde');
  });
});

describe('validateServerAddress', () => {
  test('bracketed IPv6 is unbracketed and canonical', () => {
    assert.equal(validateServerAddress('[2001:DB8::1]', 'address'), '2001:db8::1');
    assert.equal(validateServerAddress('[2001:db8:0:0::1]', 'address'), '2001:db8::1');
    assert.equal(validateServerAddress('[::ffff:1.2.3.4]', 'address'), '1.2.3.4');
  });
  test('plain IPv6 and IPv4 are canonical', () => {
    assert.equal(validateServerAddress('2001:DB8::1', 'address'), '2001:db8::1');
    assert.equal(validateServerAddress('10.0.0.5', 'address'), '10.0.0.5');
    assert.equal(validateServerAddress('::ffff:10.0.0.5', 'address'), '10.0.0.5');
  });
  test('hostnames are normalized', () => {
    assert.equal(validateServerAddress('Backend.Example.COM.', 'address'), 'backend.example.com');
    assert.equal(validateServerAddress('bücher.de', 'address'), 'xn--bcher-kva.de');
  });
  test('ranges, ports, brackets around non-IPs, wildcards and garbage are refused', () => {
    for (const a of ['10.0.0.0/8', '2001:db8::/64', '[2001:db8::1]:80', '1.2.3.4:80', '[example.com]', '[2001:db8::1', '*.example.com', '01.2.3.4', 'fe80::1%eth0', 'a b', 'a;b', '', null, 5]) {
      assertValidation(() => validateServerAddress(a, 'address'), 'address');
    }
  });
});

describe('validatePort', () => {
  test('JSON numbers', () => {
    assert.equal(validatePort(80, 'port'), 80);
    assert.equal(validatePort(1, 'port'), 1);
    assert.equal(validatePort(65535, 'port'), 65535);
  });
  test('strings, even of digits, are refused (no coercion)', () => {
    for (const p of ['80', '1', '65535']) assertValidation(() => validatePort(p, 'port'), 'port');
  });
  test('out of range, non-integers and non-digit strings are refused', () => {
    for (const p of ['0', 0, '65536', 65536, -1, '-1', 80.5, '80.5', '8a', ' 80', '80 ', '', '1e3', '0x50', '８０', null, undefined, true, NaN, Infinity]) {
      assertValidation(() => validatePort(p, 'port'), 'port');
    }
  });
});

describe('validateIp', () => {
  test('canonical, CIDR allowed by default', () => {
    assert.equal(validateIp('10.1.2.3/8', 'ip'), '10.0.0.0/8');
    assert.equal(validateIp('2001:DB8::1', 'ip'), '2001:db8::1');
  });
  test('CIDR refused when not allowed', () => {
    assertValidation(() => validateIp('10.0.0.0/8', 'ip', { allowCidr: false }), 'ip', /range/);
    assert.equal(validateIp('10.0.0.1/32', 'ip', { allowCidr: false }), '10.0.0.1');
  });
  test('garbage refused', () => {
    for (const v of ['01.2.3.4', 'x', '', 5, null]) assertValidation(() => validateIp(v, 'ip'), 'ip');
  });
  test('surrounding whitespace and control characters are refused with the reason, never trimmed', () => {
    assertValidation(() => validateIp(' 10.1.2.3/8 ', 'ip'), 'ip', /leading whitespace/);
    assertValidation(() => validateIp('10.1.2.3\n', 'ip'), 'ip', /U\+000A/);
    assertValidation(() => validateIp('10.1.2.3\u2028', 'ip'), 'ip', /U\+2028/);
  });
});

describe('validateNote', () => {
  test('empty values are null', () => {
    assert.equal(validateNote(undefined, 'note'), null);
    assert.equal(validateNote(null, 'note'), null);
    assert.equal(validateNote('', 'note'), null);
  });
  test('ordinary text, unicode included, is kept as is', () => {
    assert.equal(validateNote('abuse report #123; see ticket', 'note'), 'abuse report #123; see ticket');
    assert.equal(validateNote('héllo ü 日本', 'note'), 'héllo ü 日本');
  });
  test('control characters are refused', () => {
    for (const n of ['a\nb', 'a\rb', 'a\tb', 'a\u0000b', 'a\u001bb', 'a\u007fb', 'trailing\n', 'a\u0085b']) {
      assertValidation(() => validateNote(n, 'note'), 'note', /control/);
    }
  });
  test('separators, bidi controls and surrounding whitespace are refused', () => {
    assertValidation(() => validateNote('a\u2028b', 'note'), 'note', /U\+2028/);
    assertValidation(() => validateNote('evil\u202etxt.exe', 'note'), 'note', /bidirectional/);
    assertValidation(() => validateNote(' office', 'note'), 'note', /leading whitespace/);
    assertValidation(() => validateNote('office ', 'note'), 'note', /trailing whitespace/);
  });
  test('length limit and type', () => {
    assert.equal(validateNote('x'.repeat(500), 'note'), 'x'.repeat(500));
    assertValidation(() => validateNote('x'.repeat(501), 'note'), 'note', /500/);
    assertValidation(() => validateNote('x'.repeat(11), 'note', 10), 'note', /10/);
    assertValidation(() => validateNote(5, 'note'), 'note', /string/);
  });
});
