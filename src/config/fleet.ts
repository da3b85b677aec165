/**
 * Settings of a fleet: several nodes behind one name sharing state through
 * PostgreSQL (issue 17). Absent `fleet`: the daemon is a single node on SQLite,
 * exactly as before. Pure schema here; resolveFleet() reads the secret file.
 *
 * The database URL is a secret when it holds a password, so the YAML (which
 * may be world-readable) takes only a URL without one; a URL with a password
 * comes from database_url_file (mode 0600 or stricter) or the systemd
 * credential `fleet-database-url`. Whatever is logged goes through
 * redactDatabaseUrl().
 */
import { readFileSync, statSync, existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { safeText } from '../validate/text.js';
import { parseIp } from '../validate/ip.js';
import { ConfigError } from './errors.js';

const port = z.number().int().min(1).max(65535);
/** A node's name: shown in incidents and the audit, used as its identity in the database and HAProxy's peers section. */
export const nodeName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits and ._- (at most 63), starting with a letter or digit');

/**
 * One node's HAProxy peers listener. The address must be one the other nodes
 * connect to: a single unicast address in canonical form (not a network, not
 * 0.0.0.0 or ::, which HAProxy would take as "listen everywhere" for this
 * node and which no other node can connect to).
 */
const peer = z.strictObject({
  /** The node's node_name (HAProxy's peers section names each peer; the local one must be this node's). */
  name: nodeName,
  /** The address its HAProxy peers listener is reached at (and this node's listens on). */
  address: z.string().superRefine((v, ctx) => {
    const p = parseIp(v);
    if (p === null || p.isCidr) return void ctx.addIssue({ code: 'custom', message: 'an IPv4 or IPv6 address' });
    if (p.text !== v) return void ctx.addIssue({ code: 'custom', message: `not in canonical form (write ${p.text})` });
    if (p.text === '0.0.0.0' || p.text === '::') return void ctx.addIssue({ code: 'custom', message: 'a node\'s own address, not "every address": the other nodes connect to it' });
    if (/^(22[4-9]|23\d|24\d|25[0-5])\./.test(p.text) || /^ff/.test(p.text)) ctx.addIssue({ code: 'custom', message: 'a unicast address (not multicast or broadcast)' });
  }),
  port,
});

export const fleetConfigSchema = z
  .strictObject({
    /** This node's name, unique in the fleet. */
    node_name: nodeName,
    /** postgres://user@host:port/db without a password (the YAML may be world-readable). */
    database_url: safeText().min(1).max(2000).optional(),
    /** A file (mode 0600 or stricter) holding the URL, password included. */
    database_url_file: safeText().min(1).optional(),
    tls: z
      .strictObject({
        /** Verify the server's certificate and name. Required when the database is not on loopback. */
        verify: z.boolean().default(true),
        /** CA bundle (PEM) to verify against; default: the system's. */
        ca_file: safeText().min(1).optional(),
        /** Use TLS at all. Off is allowed only to a loopback database. */
        enabled: z.boolean().default(true),
      })
      .prefault({}),
    /**
     * A file (mode 0600 or stricter) holding the fleet's secret key: 32 random
     * bytes in base64 (`openssl rand -base64 32`), the same on every node. It
     * seals certificate private keys in PostgreSQL (fleet/secret-box.ts).
     * Absent (and no credential fleet-secret-key): certificates are not shared.
     */
    secret_key_file: safeText().min(1).optional(),
    /**
     * Every node's HAProxy peers listener, this node's included (the same list
     * on every node): rendered as HAProxy's `peers` section so the rate-limit
     * stick table is shared. The entry named node_name is where this node's
     * HAProxy listens. Empty: no peers section.
     */
    peers: z.array(peer).default([]),
  })
  .superRefine((v, ctx) => {
    const names = new Map<string, number>();
    const addrs = new Map<string, number>();
    v.peers.forEach((p, i) => {
      const where = `${p.address}:${p.port}`;
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['peers', i, 'name'], message: `"${p.name}" is used twice (also peers.${names.get(p.name)})` });
      else names.set(p.name, i);
      if (addrs.has(where)) ctx.addIssue({ code: 'custom', path: ['peers', i, 'port'], message: `${where} is used twice (also peers.${addrs.get(where)}): each node listens on its own address and port` });
      else addrs.set(where, i);
    });
    // HAProxy listens as the peer whose name is its local peer name (`localpeer`): without one, it would not listen at all.
    if (v.peers.length && !names.has(v.node_name)) ctx.addIssue({ code: 'custom', path: ['peers'], message: `no entry for this node (node_name ${v.node_name}): list every node, this one included, with the address and port its HAProxy listens on for the others` });
  });

export type FleetConfigInput = z.input<typeof fleetConfigSchema>;
export type FleetConfigParsed = z.output<typeof fleetConfigSchema>;

/** The resolved fleet settings the daemon uses. */
export interface FleetSettings {
  nodeName: string;
  /** The full URL, password included: never log it (redactDatabaseUrl). */
  databaseUrl: string;
  host: string;
  tls: { enabled: boolean; verify: boolean; caFile: string | null };
  peers: { name: string; address: string; port: number }[];
  /** The 32-byte key certificate private keys are sealed with in PostgreSQL; null: certificates are not shared. Never log it. */
  secretKey: Buffer | null;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** The URL with its password replaced, for logs and messages. Unparseable text is not echoed at all. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

/** A secret file's text: refused when others may read it (the message names the key and never the content). */
function readSecretFile(f: string, what: string, holds: string): string {
  let st;
  try {
    st = statSync(f);
  } catch (e) {
    throw new ConfigError([`${what}: cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  if ((st.mode & 0o077) !== 0) throw new ConfigError([`${what}: ${f} is readable by others (mode ${(st.mode & 0o777).toString(8)}); it holds ${holds}: chmod 600`]);
  return readFileSync(f, 'utf8').replace(/\r?\n$/, '');
}

const readUrlFile = (f: string, what: string) => readSecretFile(f, what, 'a password');

/** The fleet's secret key from the credential fleet-secret-key or secret_key_file: base64 of exactly 32 bytes. */
function readSecretKey(f: FleetConfigParsed, abs: (p: string) => string, env: NodeJS.ProcessEnv): Buffer | null {
  const cred = env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, 'fleet-secret-key') : null;
  let text: string;
  let where: string;
  if (cred && existsSync(cred)) {
    where = 'credential fleet-secret-key';
    text = readSecretFile(cred, where, 'the fleet secret key');
  } else if (f.secret_key_file !== undefined) {
    where = 'fleet.secret_key_file';
    text = readSecretFile(abs(f.secret_key_file), where, 'the fleet secret key');
  } else return null;
  const b64 = text.trim();
  const key = Buffer.from(b64, 'base64');
  // Buffer.from skips what is not base64: check the text round-trips, so a typo is refused, not shortened.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || key.toString('base64') !== b64 || key.length !== 32) {
    throw new ConfigError([`${where}: not a key: want 32 random bytes in base64 (openssl rand -base64 32)`]);
  }
  return key;
}

/**
 * Resolves `fleet`: the URL from the credential, the file or the YAML (exactly
 * one source), checked: postgres(ql):// only, no query options (TLS is
 * `fleet.tls`, one place), a password only from a file, TLS with verification
 * unless the database is on loopback. Errors name the key.
 */
export function resolveFleet(f: FleetConfigParsed | null | undefined, base: string, env: NodeJS.ProcessEnv): FleetSettings | null {
  if (!f) return null;
  const lines: string[] = [];
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const cred = env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, 'fleet-database-url') : null;
  let url: string;
  let where: string;
  if (f.database_url !== undefined && f.database_url_file !== undefined) throw new ConfigError(['fleet.database_url: give database_url or database_url_file, not both']);
  if (cred && existsSync(cred)) {
    url = readUrlFile(cred, 'credential fleet-database-url');
    where = 'credential fleet-database-url';
  } else if (f.database_url_file !== undefined) {
    url = readUrlFile(abs(f.database_url_file), 'fleet.database_url_file');
    where = 'fleet.database_url_file';
  } else if (f.database_url !== undefined) {
    url = f.database_url;
    where = 'fleet.database_url';
  } else {
    throw new ConfigError(['fleet.database_url: required (or database_url_file, or the credential fleet-database-url)']);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError([`${where}: not a URL (postgres://user@host:port/database)`]);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') lines.push(`${where}: must start with postgres:// or postgresql:// (it is ${u.protocol}//)`);
  if (!u.hostname) lines.push(`${where}: needs a host`);
  if (u.search) lines.push(`${where}: takes no ?options (TLS is set by fleet.tls)`);
  if (u.password && where === 'fleet.database_url') lines.push('fleet.database_url: holds a password; the config file may be readable by others: put the URL in database_url_file (mode 0600) instead');
  if (!u.pathname || u.pathname === '/') lines.push(`${where}: needs a database name (postgres://host/<database>)`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = LOOPBACK_HOSTS.has(host);
  if (!loopback && !f.tls.enabled) lines.push(`fleet.tls.enabled: false is only allowed when the database is on loopback (it is ${host})`);
  if (!loopback && !f.tls.verify) lines.push(`fleet.tls.verify: false is only allowed when the database is on loopback (it is ${host})`);
  const caFile = f.tls.ca_file ? abs(f.tls.ca_file) : null;
  if (caFile && !existsSync(caFile)) lines.push(`fleet.tls.ca_file: ${caFile} does not exist`);
  if (lines.length) throw new ConfigError(lines);
  const secretKey = readSecretKey(f, abs, env);
  return { nodeName: f.node_name, databaseUrl: url, host, tls: { enabled: f.tls.enabled, verify: f.tls.verify, caFile }, peers: f.peers, secretKey };
}

/**
 * This node's peers listener against HAProxy's other listeners on the same
 * address (or on every address): HAProxy would fail to bind, or with
 * SO_REUSEPORT share the port and split the traffic. Returns the error line.
 */
export function localPeerClash(s: FleetSettings, h: { bind_address: string; http_port: number; https_port: number | null; stats_port: number | null }): string | null {
  const local = s.peers.find((p) => p.name === s.nodeName);
  if (!local) return null;
  const listeners: [string, number | null, string][] = [
    ['haproxy.http_port', h.http_port, h.bind_address],
    ['haproxy.https_port', h.https_port, h.bind_address],
    ['haproxy.stats_port', h.stats_port, '127.0.0.1'],
  ];
  for (const [key, p, addr] of listeners) {
    if (p !== local.port) continue;
    if (addr === local.address || addr === '0.0.0.0' || addr === '::') return `fleet.peers: this node's peers listener ${local.address}:${local.port} is also ${key} (${addr}:${p}): give it a port of its own`;
  }
  return null;
}
