/**
 * Domains, their backend and servers: the only place their SQL lives.
 * Inputs are already validated (api/validate-domain.ts); this layer enforces
 * uniqueness and relations and reports conflicts as AppErrors.
 */
import type { Db } from './db.js';
import { AppError } from '../errors.js';
import { readSiteOptions, resolveAccess, type SiteOptions, type SiteOptionsPatch } from './site-options.js';

export type BackendKind = 'default' | 'http_check' | 'long_lived';
export type ServerState = 'ready' | 'drain' | 'maint';

export interface ServerInput {
  name: string;
  address: string;
  port: number;
  check: boolean;
  backup: boolean;
  weight: number;
  maxconn: number | null;
  tls: boolean;
  tlsVerify: boolean;
  tlsCaFile: string | null;
  tlsSni: string | null;
}

export interface Server extends ServerInput {
  state: ServerState;
}

export interface DomainInput {
  domain: string;
  isWildcard: boolean;
  backendName: string;
  kind: BackendKind;
  healthCheckPath: string | null;
  balance: 'roundrobin' | 'leastconn' | 'source';
  servers: ServerInput[];
  /** Option groups to set; a group absent here keeps its stored value (a new domain: the defaults). */
  site?: SiteOptionsPatch;
}

export interface DomainRow {
  id: number;
  domain: string;
  is_wildcard: boolean;
  ssl_enabled: boolean;
  ssl_cert_path: string | null;
  backend_name: string | null;
  /** The original API's name for the backend kind. */
  template_override: string | null;
  kind: BackendKind | null;
  /** The backend's HTTP check path and balance algorithm (null without a backend). */
  health_check_path: string | null;
  balance: Backend['balance'] | null;
  servers: Server[];
  /** The site's options (every group, defaults filled in). */
  site: SiteOptions;
}

export interface Backend {
  name: string;
  kind: BackendKind;
  healthCheckPath: string | null;
  balance: 'roundrobin' | 'leastconn' | 'source';
  servers: Server[];
  domains: string[];
  /** The options of the site it serves (the defaults for a backend without a domain). */
  site: SiteOptions;
}

interface ServerSql {
  backend_id: number;
  name: string;
  address: string;
  port: number;
  check_enabled: number;
  backup: number;
  weight: number;
  maxconn: number | null;
  tls: number;
  tls_verify: number;
  tls_ca_file: string | null;
  tls_sni: string | null;
  state: ServerState;
}

function toServer(r: ServerSql): Server {
  return {
    name: r.name,
    address: r.address,
    port: r.port,
    check: r.check_enabled === 1,
    backup: r.backup === 1,
    weight: r.weight,
    maxconn: r.maxconn,
    tls: r.tls === 1,
    tlsVerify: r.tls_verify === 1,
    tlsCaFile: r.tls_ca_file,
    tlsSni: r.tls_sni,
    state: r.state,
  };
}

/** Servers by backend id: every backend's, or one backend's (`only`; null: none). */
function serversByBackend(db: Db, only?: number | null): Map<number, Server[]> {
  const rows = (
    only === undefined ? db.prepare('SELECT * FROM servers ORDER BY backend_id, id').all() : only === null ? [] : db.prepare('SELECT * FROM servers WHERE backend_id = ? ORDER BY id').all(only)
  ) as ServerSql[];
  const out = new Map<number, Server[]>();
  for (const r of rows) {
    const list = out.get(r.backend_id) ?? [];
    list.push(toServer(r));
    out.set(r.backend_id, list);
  }
  return out;
}

/** Every backend server's address as stored (an IP or a hostname), once each. */
export function serverAddresses(db: Db): string[] {
  return (db.prepare('SELECT DISTINCT address FROM servers ORDER BY address').all() as { address: string }[]).map((r) => r.address);
}

const KIND_TO_TEMPLATE: Record<BackendKind, string | null> = { default: null, http_check: 'http_check', long_lived: 'longlived' };

export function listDomains(db: Db): DomainRow[] {
  return domainRows(db, null);
}

/** Every domain, or the one named `only` (its own servers read alone: the fleet shares one domain per change, thousands in an import). */
function domainRows(db: Db, only: string | null): DomainRow[] {
  const rows = db
    .prepare(
      `SELECT d.id, d.domain, d.is_wildcard, d.ssl_enabled, d.ssl_cert_path, d.options, b.id AS backend_id, b.name AS backend_name, b.kind, b.health_check_path, b.balance
       FROM domains d LEFT JOIN backends b ON b.domain_id = d.id${only === null ? '' : ' WHERE d.domain = ?'} ORDER BY d.domain`,
    )
    .all(...(only === null ? [] : [only])) as {
    id: number;
    options: string;
    domain: string;
    is_wildcard: number;
    ssl_enabled: number;
    ssl_cert_path: string | null;
    backend_id: number | null;
    backend_name: string | null;
    kind: BackendKind | null;
    health_check_path: string | null;
    balance: Backend['balance'] | null;
  }[];
  const servers = only === null ? serversByBackend(db) : serversByBackend(db, rows[0]?.backend_id ?? null);
  return rows.map((r) => ({
    id: r.id,
    domain: r.domain,
    is_wildcard: r.is_wildcard === 1,
    ssl_enabled: r.ssl_enabled === 1,
    ssl_cert_path: r.ssl_cert_path,
    backend_name: r.backend_name,
    template_override: r.kind ? KIND_TO_TEMPLATE[r.kind] : null,
    kind: r.kind,
    health_check_path: r.health_check_path,
    balance: r.balance,
    servers: r.backend_id === null ? [] : servers.get(r.backend_id) ?? [],
    site: readSiteOptions(r.options),
  }));
}

export function getDomain(db: Db, domain: string): DomainRow | null {
  return domainRows(db, domain)[0] ?? null;
}

/** Every backend with its servers and the domains routed to it, for rendering. */
export function listBackends(db: Db): Backend[] {
  const rows = db
    .prepare(
      `SELECT b.id, b.name, b.kind, b.health_check_path, b.balance, d.domain, d.options
       FROM backends b LEFT JOIN domains d ON d.id = b.domain_id ORDER BY b.name`,
    )
    .all() as { id: number; name: string; kind: BackendKind; health_check_path: string | null; balance: Backend['balance']; domain: string | null; options: string | null }[];
  const servers = serversByBackend(db);
  return rows.map((r) => ({
    name: r.name,
    kind: r.kind,
    healthCheckPath: r.health_check_path,
    balance: r.balance,
    servers: servers.get(r.id) ?? [],
    domains: r.domain ? [r.domain] : [],
    site: readSiteOptions(r.options),
  }));
}

/**
 * Creates or updates a domain with its backend and servers (the original's
 * upsert): an existing domain keeps its id and SSL columns, its backend is
 * renamed if asked, its servers are replaced, and a server that keeps its name
 * keeps its administrative state (drain/maint).
 */
export function upsertDomain(db: Db, input: DomainInput): { id: number; created: boolean } {
  const existing = db.prepare('SELECT id FROM domains WHERE domain = ?').get(input.domain) as { id: number } | undefined;
  const other = db.prepare('SELECT b.id, d.domain FROM backends b LEFT JOIN domains d ON d.id = b.domain_id WHERE b.name = ?').get(input.backendName) as
    | { id: number; domain: string | null }
    | undefined;
  if (other && other.domain !== null && other.domain !== input.domain) {
    throw new AppError('conflict', `backend "${input.backendName}" already serves ${other.domain}`, { field: 'backend_name' });
  }
  let domainId: number;
  const stored = readSiteOptions(existing ? (db.prepare('SELECT options FROM domains WHERE id = ?').get(existing.id) as { options: string }).options : null);
  // Groups the change names replace the stored ones; the others stay as they were.
  const { access: accessPatch, ...groups } = input.site ?? {};
  const site: SiteOptions = { ...stored, ...groups };
  if (accessPatch) {
    const access = resolveAccess(accessPatch, stored.access);
    if ('missing' in access) {
      throw new AppError('validation', 'needs password or password_hash: the site has no stored password for this user', { field: `access.auth.users[${access.missing}].password` });
    }
    site.access = access;
  }
  const oldName = existing ? (db.prepare('SELECT name FROM backends WHERE domain_id = ?').get(existing.id) as { name: string } | undefined)?.name : undefined;
  if (oldName !== undefined && oldName !== input.backendName) refuseIfRouted(db, oldName, `renaming backend "${oldName}"`, 'backend_name');
  for (const [i, r] of site.routes.entries()) {
    const target = db.prepare('SELECT 1 FROM backends WHERE name = ?').get(r.backend);
    if (!target || r.backend === oldName) {
      throw new AppError('validation', r.backend === oldName ? "is this site's own backend" : `no backend named "${r.backend}" (add its site first)`, { field: `routes[${i}].backend` });
    }
  }
  const options = JSON.stringify(site);
  if (existing) {
    domainId = existing.id;
    db.prepare(`UPDATE domains SET is_wildcard = ?, options = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`).run(input.isWildcard ? 1 : 0, options, domainId);
  } else {
    domainId = Number(db.prepare('INSERT INTO domains (domain, is_wildcard, options) VALUES (?, ?, ?)').run(input.domain, input.isWildcard ? 1 : 0, options).lastInsertRowid);
  }
  const prevStates = new Map<string, ServerState>();
  const backend = db.prepare('SELECT id FROM backends WHERE domain_id = ?').get(domainId) as { id: number } | undefined;
  let backendId: number;
  if (backend) {
    backendId = backend.id;
    for (const s of db.prepare('SELECT name, state FROM servers WHERE backend_id = ?').all(backendId) as { name: string; state: ServerState }[]) {
      prevStates.set(s.name, s.state);
    }
    if (other && other.id !== backendId) db.prepare('DELETE FROM backends WHERE id = ?').run(other.id);
    db.prepare('UPDATE backends SET name = ?, kind = ?, health_check_path = ?, balance = ? WHERE id = ?').run(
      input.backendName, input.kind, input.healthCheckPath, input.balance, backendId,
    );
    db.prepare('DELETE FROM servers WHERE backend_id = ?').run(backendId);
  } else {
    if (other) db.prepare('DELETE FROM backends WHERE id = ?').run(other.id);
    backendId = Number(
      db.prepare('INSERT INTO backends (name, domain_id, kind, health_check_path, balance) VALUES (?, ?, ?, ?, ?)').run(
        input.backendName, domainId, input.kind, input.healthCheckPath, input.balance,
      ).lastInsertRowid,
    );
  }
  const ins = db.prepare(
    `INSERT INTO servers (backend_id, name, address, port, check_enabled, backup, weight, maxconn, tls, tls_verify, tls_ca_file, tls_sni, state)
     VALUES (@backend_id, @name, @address, @port, @check, @backup, @weight, @maxconn, @tls, @tls_verify, @tls_ca_file, @tls_sni, @state)`,
  );
  for (const s of input.servers) {
    ins.run({
      backend_id: backendId,
      name: s.name,
      address: s.address,
      port: s.port,
      check: s.check ? 1 : 0,
      backup: s.backup ? 1 : 0,
      weight: s.weight,
      maxconn: s.maxconn,
      tls: s.tls ? 1 : 0,
      tls_verify: s.tlsVerify ? 1 : 0,
      tls_ca_file: s.tlsCaFile,
      tls_sni: s.tlsSni,
      state: prevStates.get(s.name) ?? 'ready',
    });
  }
  return { id: domainId, created: !existing };
}

/**
 * Sets a site's maintenance group; returns the site's backend name and every
 * backend with its options (for the maintenance map). Not found: 404 naming the domain.
 */
export function setMaintenance(db: Db, domain: string, maintenance: SiteOptions['maintenance']): { backend: string | null } {
  const row = db.prepare('SELECT d.id, d.options, b.name AS backend FROM domains d LEFT JOIN backends b ON b.domain_id = d.id WHERE d.domain = ?').get(domain) as
    | { id: number; options: string; backend: string | null }
    | undefined;
  if (!row) throw new AppError('not_found', `domain ${domain} not found`, { field: 'domain' });
  const site = { ...readSiteOptions(row.options), maintenance };
  db.prepare(`UPDATE domains SET options = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?`).run(JSON.stringify(site), row.id);
  return { backend: row.backend };
}

/** The sites (domains) whose path routes send requests to `backend`. */
export function sitesRoutingTo(db: Db, backend: string): string[] {
  const rows = db.prepare("SELECT domain, options FROM domains WHERE options LIKE '%\"routes\":[{%' ORDER BY domain").all() as { domain: string; options: string }[];
  return rows.filter((r) => readSiteOptions(r.options).routes.some((x) => x.backend === backend)).map((r) => r.domain);
}

/** A backend other sites route paths to cannot go away under them: 409 naming them. */
function refuseIfRouted(db: Db, backend: string, what: string, field: string): void {
  const users = sitesRoutingTo(db, backend);
  if (users.length) throw new AppError('conflict', `${what}: ${users.join(', ')} route${users.length === 1 ? 's' : ''} paths to it (change those routes first)`, { field });
}

/** Removes a domain with its backend and servers. Returns false if it did not exist. */
export function deleteDomain(db: Db, domain: string): boolean {
  const row = db.prepare('SELECT id FROM domains WHERE domain = ?').get(domain) as { id: number } | undefined;
  if (!row) return false;
  const backend = db.prepare('SELECT name FROM backends WHERE domain_id = ?').get(row.id) as { name: string } | undefined;
  if (backend) refuseIfRouted(db, backend.name, `removing ${domain}`, 'domain');
  db.prepare('DELETE FROM domains WHERE id = ?').run(row.id);
  return true;
}

export function setServerState(db: Db, backendName: string, serverName: string, state: ServerState): Server {
  const r = db
    .prepare('SELECT s.* FROM servers s JOIN backends b ON b.id = s.backend_id WHERE b.name = ? AND s.name = ?')
    .get(backendName, serverName) as ServerSql | undefined;
  if (!r) throw new AppError('not_found', `no server ${serverName} in backend ${backendName}`, { field: 'server' });
  db.prepare('UPDATE servers SET state = ? WHERE backend_id = ? AND name = ?').run(state, r.backend_id, serverName);
  return { ...toServer(r), state };
}

/** A server's stored administrative state; null when the backend has no such server. */
export function getServerState(db: Db, backendName: string, serverName: string): ServerState | null {
  const r = db.prepare('SELECT s.state FROM servers s JOIN backends b ON b.id = s.backend_id WHERE b.name = ? AND s.name = ?').get(backendName, serverName) as { state: ServerState } | undefined;
  return r?.state ?? null;
}
