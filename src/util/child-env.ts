/**
 * The environment every child process (HAProxy, `haproxy -c`, journalctl,
 * hooks) starts with: the daemon's own, minus anything that looks like a
 * secret. The management API key and the Anthropic key reach the daemon
 * through its environment in some installs; a child (or whatever a child
 * runs) must never inherit them, and /proc/<pid>/environ of HAProxy's
 * workers must not carry them.
 *
 * Dropped: the variables named by `registerSecretEnv` (the configured
 * analysis key variable), and every name that looks like a secret (KEY,
 * TOKEN, SECRET, PASSW(OR)D, CREDENTIAL anywhere in it, case-insensitive).
 */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSW|CREDENTIAL/i;
const named = new Set<string>(['HAPROXY_MANAGER_API_KEY', 'ANTHROPIC_API_KEY']);

export function registerSecretEnv(name: string): void {
  named.add(name);
}

export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!named.has(k) && !SECRET_NAME.test(k)) out[k] = v;
  return out;
}
