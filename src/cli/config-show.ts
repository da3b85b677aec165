/**
 * `haproxy-manager config show`: the effective configuration, every default
 * filled in (config/schema.ts) and the mode- and path-dependent ones
 * resolved (config/load.ts), as YAML the daemon would read back, or as JSON.
 * The paths derived from it (database, sockets, key files) come after, as
 * comments in YAML and under `derived` in JSON.
 *
 * Secrets are masked, never printed (MASK): the API key (whatever its
 * source), any value under a key that names a secret (`*key`, `*password`,
 * `*secret`, `*token`, `*credential(s)`, except `*_file`, `*_env`, `*_type`
 * that name where a secret is or what kind it is), every extra header of a
 * webhook (Authorization and the like), the path and query of webhook URLs
 * (Slack's and Discord's carry the token in the path), and the user
 * information and query of any other URL.
 */
import { stringify } from 'yaml';
import type { Config } from '../config/schema.js';
import { redactDatabaseUrl } from '../config/fleet.js';

export const MASK = '********';

/** A key whose value is a secret itself (not the name of a file or variable that holds one). */
const SECRET_KEY = /(^|_)(api_?key|key|password|passwd|secret|token|credentials?|hmac)$/i;

/** A URL's user information, and its query values, masked; the path too with `path`. Text that is not a URL comes back unchanged. */
export function maskUrl(v: string, path = false): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    // Not a URL: mask anything that looks like user:password@ inside it anyway.
    return v.replace(/(\w+:\/\/)[^/@\s:]+:[^/@\s]+@/g, `$1${MASK}@`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return v.replace(/(\w+:\/\/)[^/@\s]+@/g, `$1${MASK}@`);
  const auth = u.username || u.password ? `${MASK}@` : '';
  const query = u.search ? `?${MASK}` : '';
  const p = path && u.pathname !== '/' ? `/${MASK}` : u.pathname;
  return `${u.protocol}//${auth}${u.host}${p === '/' && !query ? '' : p}${query}`;
}

/** A deep copy of `value` with every secret masked (see the module comment). */
export function maskSecrets(value: unknown, key = '', parents: readonly string[] = []): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, key, parents));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const isHeaders = key === 'headers';
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isHeaders && v !== null && v !== undefined ? MASK : maskSecrets(v, k, [...parents, key]);
    }
    return out;
  }
  if (typeof value !== 'string') return SECRET_KEY.test(key) ? MASK : value;
  if (SECRET_KEY.test(key)) return MASK;
  // A webhook URL: Slack and Discord put the token in the path.
  if (key === 'url' && parents.includes('channels')) return maskUrl(value, true);
  return /^\w+:\/\//.test(value) || /:\/\/[^/\s]*@/.test(value) ? maskUrl(value) : value;
}

/** The effective configuration as the file would write it (defaults filled, resolved values), secrets masked. */
export function effectiveConfig(cfg: Config): { config: Record<string, unknown>; derived: Record<string, unknown> } {
  const { paths, apiKey, source, intake, fleetSettings, ...config } = cfg;
  return {
    config: maskSecrets(config) as Record<string, unknown>,
    derived: maskSecrets({
      source,
      api_key: apiKey === null ? null : MASK,
      intake,
      paths,
      // The resolved fleet settings (from the file, a credential or the
      // YAML): where the database is, never its password.
      fleet: fleetSettings === null ? null : { ...fleetSettings, databaseUrl: redactDatabaseUrl(fleetSettings.databaseUrl), secretKey: fleetSettings.secretKey ? '(set)' : null },
    }) as Record<string, unknown>,
  };
}

/** The YAML text of `config show`: the configuration, then what is derived from it as comments. */
export function configShowYaml(cfg: Config): string {
  const { config, derived } = effectiveConfig(cfg);
  const head = `# The effective configuration${cfg.source ? ` of ${cfg.source}` : ''}: every default filled in, secrets masked (${MASK}).\n`;
  const tail = stringify({ derived }, { lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n');
  return `${head}${stringify(config, { lineWidth: 0 })}\n# What the daemon derives from it (not configuration keys):\n${tail}\n`;
}
