/**
 * Parsing the original API's domain body into a DomainInput. Every field is
 * checked; the first bad one throws a validation error naming it
 * (`servers[1].port`). Server options are structured fields: the original's
 * free-text `options` is accepted only as a list of known words separated by
 * spaces. Types are strict: a boolean is true or false (not 1, not "true"), a
 * list is a list, and null is accepted only where it is the stored value
 * "none" (maxconn, tls_ca_file, tls_sni, health_check_path, options); a field
 * with a default (booleans, kind, balance, servers, weight) takes it only when
 * absent. Nothing is trimmed: strings pass the shared text check first.
 */
import { validationError } from '../errors.js';
import type { BackendKind, DomainInput, ServerInput } from '../storage/domains.js';
import { normalizeHostname, validateName, validatePort, validateServerAddress } from '../validate/names.js';
import { checkText } from '../validate/text.js';

const KINDS: Record<string, BackendKind> = {
  default: 'default',
  basic: 'default',
  http_check: 'http_check',
  long_lived: 'long_lived',
  longlived: 'long_lived',
  websocket: 'long_lived',
};

const KNOWN_KEYS = new Set(['domain', 'backend_name', 'template_override', 'kind', 'is_wildcard', 'servers', 'health_check_path', 'balance']);
const SERVER_KEYS = new Set(['name', 'address', 'port', 'options', 'check', 'backup', 'weight', 'maxconn', 'tls', 'tls_verify', 'tls_ca_file', 'tls_sni']);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON boolean; `dflt` only when the field is absent (null, 0, 1 and "true" are refused). */
function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw validationError(field, 'must be true or false');
  return v;
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw validationError(field, `must be an integer from ${min} to ${max}`);
  return v;
}

/** A path for files HAProxy reads (CA bundles): absolute, safe characters only. */
function filePath(v: unknown, field: string): string {
  if (typeof v === 'string') checkText(v, field);
  if (typeof v !== 'string' || !/^\/[A-Za-z0-9._/+-]{1,255}$/.test(v) || v.includes('/../')) {
    throw validationError(field, 'must be an absolute path of letters, digits and ._/+- only');
  }
  return v;
}

function parseServer(raw: unknown, i: number): ServerInput {
  const f = (k: string) => `servers[${i}].${k}`;
  if (!isObj(raw)) throw validationError(`servers[${i}]`, 'must be an object');
  for (const k of Object.keys(raw)) if (!SERVER_KEYS.has(k)) throw validationError(f(k.slice(0, 40)), 'is not a known server field');
  const s: ServerInput = {
    name: validateName(raw.name, f('name')),
    address: validateServerAddress(raw.address, f('address')),
    port: validatePort(raw.port, f('port')),
    check: bool(raw.check, f('check'), true),
    backup: bool(raw.backup, f('backup'), false),
    weight: raw.weight === undefined ? 100 : int(raw.weight, f('weight'), 0, 256),
    maxconn: raw.maxconn === undefined || raw.maxconn === null ? null : int(raw.maxconn, f('maxconn'), 1, 1_000_000),
    tls: bool(raw.tls, f('tls'), false),
    tlsVerify: bool(raw.tls_verify, f('tls_verify'), true),
    tlsCaFile: raw.tls_ca_file === undefined || raw.tls_ca_file === null ? null : filePath(raw.tls_ca_file, f('tls_ca_file')),
    tlsSni: raw.tls_sni === undefined || raw.tls_sni === null ? null : normalizeHostname(raw.tls_sni, f('tls_sni')),
  };
  // The original's free-text options, accepted only as known words separated by spaces. A
  // control character (a newline would start another HAProxy line) is refused by the text check.
  if (raw.options !== undefined && raw.options !== null && raw.options !== '') {
    if (typeof raw.options !== 'string') throw validationError(f('options'), 'must be a string of known words');
    // A word says "true" for its field; beside that field sent as false, it contradicts it (as kind and template_override).
    const set = (key: 'check' | 'backup' | 'tls', word: string) => {
      if (raw[key] === false) throw validationError(f('options'), `"${word}" contradicts ${key}: false`);
      s[key] = true;
    };
    for (const word of checkText(raw.options, f('options')).split(/ +/)) {
      if (word === 'check') set('check', word);
      else if (word === 'backup') set('backup', word);
      else if (word === 'ssl') set('tls', word);
      else throw validationError(f('options'), `"${word.slice(0, 40)}" is not supported; use the structured fields check, backup, weight, maxconn, tls, tls_verify, tls_ca_file, tls_sni`);
    }
  }
  return s;
}

export function parseDomainInput(body: unknown): DomainInput {
  if (!isObj(body)) throw validationError('(body)', 'must be a JSON object');
  for (const k of Object.keys(body)) if (!KNOWN_KEYS.has(k)) throw validationError(k.slice(0, 40), 'is not a known field');
  if (body.domain === undefined) throw validationError('domain', 'is required');
  if (body.backend_name === undefined) throw validationError('backend_name', 'is required');
  const wildcardFlag = bool(body.is_wildcard, 'is_wildcard', false);
  let domain = normalizeHostname(body.domain, 'domain', { allowWildcard: true });
  // is_wildcard: true makes "example.com" the wildcard "*.example.com" (documented); false beside a wildcard contradicts it.
  if (body.is_wildcard === false && domain.startsWith('*.')) throw validationError('is_wildcard', `is false, but domain "${domain}" is a wildcard`);
  if (wildcardFlag && !domain.startsWith('*.')) domain = `*.${domain}`;
  const backendName = validateName(body.backend_name, 'backend_name');
  if (backendName.startsWith('hm-')) throw validationError('backend_name', 'names starting with "hm-" are reserved');
  const kindOf = (v: unknown, field: string): BackendKind | null => {
    if (v === undefined) return null;
    if (typeof v !== 'string' || !Object.hasOwn(KINDS, v)) throw validationError(field, `must be one of ${Object.keys(KINDS).join(', ')}`);
    return KINDS[v]!;
  };
  const fromKind = kindOf(body.kind, 'kind');
  const fromOverride = kindOf(body.template_override, 'template_override');
  if (fromKind && fromOverride && fromKind !== fromOverride) throw validationError('template_override', `contradicts kind "${String(body.kind)}"`);
  const kind = fromKind ?? fromOverride ?? 'default';
  let healthCheckPath: string | null = null;
  if (body.health_check_path !== undefined && body.health_check_path !== null) {
    if (typeof body.health_check_path === 'string') checkText(body.health_check_path, 'health_check_path');
    if (typeof body.health_check_path !== 'string' || !/^\/[A-Za-z0-9._~/%?=&+-]{0,200}$/.test(body.health_check_path)) {
      throw validationError('health_check_path', 'must be a path starting with "/" of letters, digits and ._~/%?=&+- only');
    }
    healthCheckPath = body.health_check_path;
  }
  const balance = body.balance === undefined ? 'roundrobin' : body.balance;
  if (balance !== 'roundrobin' && balance !== 'leastconn' && balance !== 'source') throw validationError('balance', 'must be roundrobin, leastconn or source');
  const serversRaw = body.servers === undefined ? [] : body.servers;
  if (!Array.isArray(serversRaw)) throw validationError('servers', 'must be a list of servers (omit it for none)');
  if (serversRaw.length > 1000) throw validationError('servers', 'must hold at most 1000 servers');
  const servers = serversRaw.map(parseServer);
  const seen = new Set<string>();
  servers.forEach((s, i) => {
    if (seen.has(s.name)) throw validationError(`servers[${i}].name`, `"${s.name}" is used twice`);
    seen.add(s.name);
  });
  return { domain, isWildcard: domain.startsWith('*.'), backendName, kind, healthCheckPath, balance, servers };
}
