/**
 * Where the management API key comes from, and the key the daemon makes for
 * itself. There is no unauthenticated access to anything but /health unless
 * the operator writes `api.auth: none` (loopback only).
 *
 * Order: HAPROXY_MANAGER_API_KEY; a systemd credential named `api-key`
 * ($CREDENTIALS_DIRECTORY/api-key); api.key_file; else the generated key at
 * <state_dir>/api-key, which the daemon creates (0600) at its first start,
 * once the state directory is locked. Never from the YAML itself, so the
 * config file can be world-readable.
 */
import { existsSync, readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './errors.js';

export const MIN_KEY_LENGTH = 16;

interface KeySources {
  api: { auth: 'key' | 'none'; key_file?: string | undefined };
}

export function readKeyFile(f: string, what: string): string {
  let key: string;
  try {
    key = readFileSync(f, 'utf8').trim();
  } catch (e) {
    throw new ConfigError([`${what}: cannot read ${f}: ${(e as Error).message}`]);
  }
  if (key.length < MIN_KEY_LENGTH) throw new ConfigError([`${what}: the key in ${f} is shorter than ${MIN_KEY_LENGTH} characters`]);
  return key;
}

/** The key the operator configured (env, credential, key file), or null when none was. */
export function configuredApiKey(cfg: KeySources, base: string, env: NodeJS.ProcessEnv): string | null {
  if (cfg.api.auth === 'none') return null;
  const fromEnv = env.HAPROXY_MANAGER_API_KEY;
  if (fromEnv && fromEnv.trim()) {
    if (fromEnv.trim().length < MIN_KEY_LENGTH) throw new ConfigError([`HAPROXY_MANAGER_API_KEY: the key is shorter than ${MIN_KEY_LENGTH} characters`]);
    return fromEnv.trim();
  }
  if (env.CREDENTIALS_DIRECTORY) {
    const f = join(env.CREDENTIALS_DIRECTORY, 'api-key');
    if (existsSync(f)) return readKeyFile(f, 'credential api-key');
  }
  if (cfg.api.key_file) {
    const f = isAbsolute(cfg.api.key_file) ? cfg.api.key_file : resolve(base, cfg.api.key_file);
    // A key file that was asked for and is missing must not silently fall back to another key.
    if (!existsSync(f)) throw new ConfigError([`api.key_file: ${cfg.api.key_file} does not exist`]);
    return readKeyFile(f, 'api.key_file');
  }
  return null;
}

/**
 * The daemon's key: the configured one, else the generated file, created
 * (random, 0600, exclusive create so two starts cannot race) when missing.
 * An existing generated file with loose permissions is tightened.
 */
export function ensureApiKey(configured: string | null, auth: 'key' | 'none', generatedFile: string): { key: string | null; created: boolean } {
  if (auth === 'none') return { key: null, created: false };
  if (configured) return { key: configured, created: false };
  let created = false;
  if (!existsSync(generatedFile)) {
    try {
      writeFileSync(generatedFile, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if ((statSync(generatedFile).mode & 0o077) !== 0) chmodSync(generatedFile, 0o600);
  return { key: readKeyFile(generatedFile, 'api key'), created };
}

/**
 * The key a CLI command sends: --api-key-file, else the configured key, else
 * the daemon's generated file. Null only when the daemon runs with
 * `api.auth: none`. An unreadable key is an error that says what to do.
 */
export function cliApiKey(opts: { apiKeyFile?: string | undefined }, configured: string | null, auth: 'key' | 'none', generatedFile: string): string | null {
  if (opts.apiKeyFile) return readKeyFile(opts.apiKeyFile, '--api-key-file');
  if (configured) return configured;
  if (auth === 'none') return null;
  if (!existsSync(generatedFile)) {
    throw new ConfigError([`no API key: ${generatedFile} does not exist (the daemon creates it at its first start); pass --api-key-file or set HAPROXY_MANAGER_API_KEY`]);
  }
  try {
    return readKeyFile(generatedFile, 'api key');
  } catch (e) {
    throw new ConfigError([`${(e as ConfigError).message.replace(/\n/g, ' ')}; run as the daemon's user (or root), or pass --api-key-file`]);
  }
}

/**
 * The metrics token (GET /metrics only): api.metrics_token_file, which must
 * exist when configured, else <state_dir>/metrics-token, created like the
 * generated API key. Null under `api.auth: none` (everything is open then).
 */
export function ensureMetricsToken(cfg: KeySources & { api: { metrics_token_file?: string | undefined } }, file: string): string | null {
  return ensureTokenFile(cfg, 'metrics_token_file', cfg.api.metrics_token_file, file);
}

/** The console's read-only viewer key: api.viewer_key_file, else <state_dir>/viewer-key; null under `api.auth: none`. */
export function ensureViewerKey(cfg: KeySources & { api: { viewer_key_file?: string | undefined } }, file: string): string | null {
  return ensureTokenFile(cfg, 'viewer_key_file', cfg.api.viewer_key_file, file);
}

/** A secondary token: the configured file (which must exist), else one generated like the API key. */
function ensureTokenFile(cfg: KeySources, field: string, configured: string | undefined, file: string): string | null {
  if (cfg.api.auth === 'none') return null;
  if (configured) {
    if (!existsSync(file)) throw new ConfigError([`api.${field}: ${configured} does not exist`]);
    return readKeyFile(file, `api.${field}`);
  }
  return ensureApiKey(null, 'key', file).key;
}
