/**
 * Loading the configuration: YAML -> strict schema -> resolved paths and
 * secrets. Errors come back as `path: message` lines (ConfigError.lines), the
 * form `haproxy-manager config check` and start-up print.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config, type ParsedConfig } from './schema.js';

import { ConfigError } from './errors.js';
import { configuredApiKey } from './api-key.js';
import { localPeerClash, resolveFleet } from './fleet.js';

export { ConfigError };

function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    const where = i.path.length ? i.path.map(String).join('.') : '(root)';
    if (i.code === 'unrecognized_keys') return `${where}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return `${where}: ${i.message}`;
  });
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

/** Parses and validates YAML text; `source` is used for relative paths and messages. */
export function parseConfig(text: string, source: string | null, opts: LoadOptions = {}): Config {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(doc.errors.map((e) => `(yaml): ${e.message.split('\n')[0]}`));
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(['(root): must be a mapping']);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues));
  return resolveConfig(parsed.data, source, opts.env ?? process.env);
}

export function loadConfig(file: string, opts: LoadOptions = {}): Config {
  if (!existsSync(file)) throw new ConfigError([`(file): ${file} does not exist`]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([`(file): cannot read ${file}: ${(e as Error).message}`]);
  }
  return parseConfig(text, resolve(file), opts);
}

export function resolveConfig(cfg: ParsedConfig, source: string | null, env: NodeJS.ProcessEnv = process.env): Config {
  const base = source ? dirname(source) : process.cwd();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const stateDir = abs(cfg.state_dir);
  const runDir = join(stateDir, 'run');
  const managed = cfg.mode === 'managed';
  const configPath = abs(cfg.haproxy.config_path ?? (managed ? join(stateDir, 'haproxy', 'haproxy.cfg') : '/etc/haproxy/haproxy.cfg'));
  const generatedDir = abs(cfg.haproxy.generated_dir ?? join(dirname(configPath), 'haproxy-manager'));
  const lines: string[] = [];
  const apiKey = configuredApiKey(cfg, base, env);
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(cfg.api.listen);
  if (!loopback && cfg.api.auth === 'none') {
    lines.push(`api.auth: "none" is only allowed when api.listen is a loopback address (it is ${cfg.api.listen})`);
  }
  if (cfg.haproxy.https_port !== null && cfg.haproxy.https_port === cfg.haproxy.http_port) lines.push('haproxy.https_port: must differ from haproxy.http_port');
  if (cfg.haproxy.stats_port !== null && cfg.haproxy.stats_port === cfg.haproxy.http_port) lines.push('haproxy.stats_port: must differ from haproxy.http_port');
  if (cfg.haproxy.rate_limits.tarpit_requests_10s > cfg.haproxy.rate_limits.deny_requests_10s) {
    lines.push('haproxy.rate_limits.tarpit_requests_10s: must not be above deny_requests_10s');
  }
  if (cfg.monitor.syslog && !['127.0.0.1', '::1'].includes(cfg.monitor.syslog.address)) lines.push('monitor.syslog.address: must be a loopback address (127.0.0.1 or ::1)');
  cfg.monitor.sources.forEach((s, i) => {
    if (s.type === 'file' && !s.path) lines.push(`monitor.sources[${i}].path: a file source needs a path`);
    if (s.type === 'journald' && s.path) lines.push(`monitor.sources[${i}].path: a journald source reads units, not a path`);
    if (s.regex !== undefined && s.format !== 'text') lines.push(`monitor.sources[${i}].regex: only text sources take a regex`);
    if (cfg.monitor.sources.findIndex((o) => o.name === s.name) !== i || s.name === 'haproxy') lines.push(`monitor.sources[${i}].name: "${s.name}" is used twice${s.name === 'haproxy' ? ' (the syslog listener is "haproxy")' : ''}`);
  });
  if (cfg.analysis.enabled) {
    const u = new URL(cfg.analysis.base_url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (u.protocol !== 'https:' && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
      lines.push(`analysis.base_url: ${u.protocol}// to ${host} would send log samples unencrypted; use https:// (plain http only to loopback)`);
    }
  }
  if (lines.length) throw new ConfigError(lines);
  const fleetSettings = resolveFleet(cfg.fleet, base, env);
  const peerClash = fleetSettings ? localPeerClash(fleetSettings, cfg.haproxy) : null;
  if (peerClash) throw new ConfigError([peerClash]);
  // HAProxy logs to the daemon's intake socket (through a ring), else to the UDP listener,
  // unless the operator chose another target.
  const intake =
    cfg.monitor.enabled && cfg.monitor.intake
      ? {
          socket: cfg.monitor.intake.socket ? abs(cfg.monitor.intake.socket) : managed ? join(runDir, 'log', 'haproxy.sock') : '/run/haproxy-manager/log/haproxy.sock',
          group: cfg.monitor.intake.group !== undefined ? cfg.monitor.intake.group : (cfg.haproxy.group ?? (managed ? null : 'haproxy')),
          ringSize: cfg.monitor.intake.ring_size,
        }
      : null;
  const udpTarget = cfg.monitor.enabled && cfg.monitor.syslog ? `udp://${cfg.monitor.syslog.address.includes(':') ? `[${cfg.monitor.syslog.address}]` : cfg.monitor.syslog.address}:${cfg.monitor.syslog.port}` : null;
  const logTarget = cfg.haproxy.log_target ?? (intake ? null : udpTarget);
  const alsoLogTo = cfg.haproxy.also_log_to ?? (managed ? [] : ['/dev/log']);
  return {
    ...cfg,
    haproxy: { ...cfg.haproxy, log_target: logTarget, also_log_to: alsoLogTo },
    // The ring to the intake socket is rendered only when HAProxy logs nowhere else.
    intake: cfg.haproxy.log_target === null ? intake : null,
    analysis: { ...cfg.analysis, ...(cfg.analysis.api_key_file ? { api_key_file: abs(cfg.analysis.api_key_file) } : {}) },
    source,
    apiKey,
    fleetSettings,
    paths: {
      stateDir,
      database: join(stateDir, 'haproxy-manager.db'),
      apiKeyFile: join(stateDir, 'api-key'),
      metricsTokenFile: cfg.api.metrics_token_file ? abs(cfg.api.metrics_token_file) : join(stateDir, 'metrics-token'),
      viewerKeyFile: cfg.api.viewer_key_file ? abs(cfg.api.viewer_key_file) : join(stateDir, 'viewer-key'),
      configPath,
      generatedDir,
      stagingDir: join(stateDir, 'staging'),
      lkgDir: join(stateDir, 'last-known-good'),
      runDir,
      masterSocket: abs(cfg.haproxy.master_socket ?? (managed ? join(runDir, 'haproxy-master.sock') : '/run/haproxy-master.sock')),
      statsSocket: abs(cfg.haproxy.stats_socket ?? (managed ? join(runDir, 'haproxy.sock') : '/run/haproxy/admin.sock')),
      pidFile: join(runDir, 'haproxy.pid'),
      certDir: join(dirname(configPath), 'certs'),
      certBackupDir: join(stateDir, 'cert-backups'),
      acmeDir: join(stateDir, 'acme'),
    },
  };
}
