/**
 * Validation of every name that reaches a HAProxy config line. The contract is
 * "impossible by construction": what passes these checks contains no space,
 * newline, '#', quote, backslash or ';', so it cannot end a config line or
 * chain a runtime command, whatever the caller sends. Nothing is trimmed or
 * cleaned: every string first passes the shared text check (validate/text.ts),
 * so "example.com\n" is refused with the reason, not accepted as "example.com".
 */
import { domainToASCII } from 'node:url';
import { validationError } from '../errors.js';
import { parseIp } from './ip.js';
import { checkText } from './text.js';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A hostname per RFC 1123 in its canonical spelling: IDN converted to
 * punycode, lower case, no trailing dot (hostnames are case-insensitive and
 * "a.test." is "a.test", so these are one name written two ways, not a
 * repair). With `allowWildcard`, a leading "*." is accepted and kept.
 * Surrounding whitespace and control characters are refused, not trimmed.
 * Throws a validation error naming `field`.
 */
export function normalizeHostname(input: unknown, field: string, opts: { allowWildcard?: boolean } = {}): string {
  if (typeof input !== 'string' || input === '') throw validationError(field, 'must be a hostname');
  let raw = checkText(input, field);
  if (raw.length > 300) throw validationError(field, 'is too long');
  let wildcard = false;
  if (raw.startsWith('*.')) {
    if (!opts.allowWildcard) throw validationError(field, 'must not be a wildcard here');
    wildcard = true;
    raw = raw.slice(2);
  }
  if (raw.endsWith('.')) raw = raw.slice(0, -1);
  // Letters (any script, for IDN), digits, dots and hyphens only: domainToASCII would otherwise
  // percent-decode "%70" into "p" and map other punctuation, turning a non-name into a real domain.
  if (/[^\p{L}\p{M}\p{N}.-]/u.test(raw)) throw validationError(field, `is not a valid hostname: ${JSON.stringify(input).slice(0, 80)}`);
  const ascii = domainToASCII(raw);
  if (ascii === '') throw validationError(field, `is not a valid hostname: ${JSON.stringify(input).slice(0, 80)}`);
  if (ascii.length > 253) throw validationError(field, 'is longer than 253 characters');
  const labels = ascii.split('.');
  if (labels.length < 2 && !opts.allowWildcard) {
    // Single-label names (intranet hosts) are valid hostnames; allow them except as wildcard bases.
  }
  for (const l of labels) {
    if (!LABEL.test(l)) throw validationError(field, `has an invalid label ${JSON.stringify(l)}`);
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) throw validationError(field, 'must not end in a numeric label (is it an IP address?)');
  if (wildcard && labels.length < 2) throw validationError(field, 'a wildcard needs at least two labels after "*."');
  return wildcard ? `*.${ascii}` : ascii;
}

/** Names of backends and servers: a safe alphabet, starting with a letter or digit. */
export function validateName(input: unknown, field: string, max = 64): string {
  if (typeof input === 'string') checkText(input, field);
  if (typeof input !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(input)) {
    throw validationError(field, 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"');
  }
  if (input.length > max) throw validationError(field, `must be at most ${max} characters`);
  return input;
}

/** A server address: an IP address or a hostname (IPv6 without brackets). */
export function validateServerAddress(input: unknown, field: string): string {
  if (typeof input !== 'string' || input === '') throw validationError(field, 'must be an IP address or hostname');
  checkText(input, field);
  const unbracketed = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const ip = parseIp(unbracketed);
  if (ip) {
    if (ip.isCidr) throw validationError(field, 'must be a single address, not a range');
    return ip.text;
  }
  return normalizeHostname(input, field);
}

/** A port: a JSON number, an integer from 1 to 65535 (a string of digits is a string, refused). */
export function validatePort(input: unknown, field: string): number {
  if (typeof input !== 'number' || !Number.isInteger(input) || input < 1 || input > 65535) throw validationError(field, 'must be an integer port from 1 to 65535');
  return input;
}

/**
 * An address or CIDR in canonical text. With `exactNetwork`, a CIDR with bits
 * set past its prefix (10.1.2.3/8) is refused rather than reduced: where it
 * creates an entry, the reduced range is not what a person typed.
 */
export function validateIp(input: unknown, field: string, opts: { allowCidr?: boolean; exactNetwork?: boolean } = { allowCidr: true }): string {
  if (typeof input === 'string') checkText(input, field);
  const p = typeof input === 'string' ? parseIp(input) : null;
  if (!p) throw validationError(field, opts.allowCidr ? 'must be an IPv4 or IPv6 address or CIDR' : 'must be an IPv4 or IPv6 address');
  if (p.isCidr && !opts.allowCidr) throw validationError(field, 'must be a single address, not a range');
  if (p.isCidr && opts.exactNetwork) {
    const given = parseIp((input as string).split('/')[0] as string);
    if (given?.text !== p.text.split('/')[0]) throw validationError(field, `${input as string} has bits set past its prefix; the range it names is ${p.text} (send that, or a single address)`);
  }
  return p.text;
}

/**
 * Free text stored for people (reasons, notes): bounded, and through the
 * shared text check (no control characters, separators, bidi controls or
 * surrounding whitespace). Absent, null and "" all mean "no text" (null):
 * the stored value is null either way.
 */
export function validateNote(input: unknown, field: string, max = 500): string | null {
  if (input === undefined || input === null || input === '') return null;
  if (typeof input !== 'string') throw validationError(field, 'must be a string');
  if (input.length > max) throw validationError(field, `must be at most ${max} characters`);
  return checkText(input, field);
}
