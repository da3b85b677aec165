/**
 * Changes to the shared configuration (issue 17): domains (each with its
 * backend, servers and site options), TCP services and trusted proxies, as
 * the fleet's change log carries them, and their PostgreSQL state rows (the
 * only place that SQL lives).
 *
 * A domain or TCP service travels as its complete state after the change, in
 * the API's own body shape (POST /api/domain, POST /api/tcp-services; site
 * users by password_hash), so a receiving node checks it with the API's own
 * schemas (fleet/change-schema.ts) and applies it as a whole: whatever it had
 * is replaced (last writer wins). A backend and its servers belong to one
 * domain (backends.domain_id), so the domain's key covers them.
 * A server's administrative state (ready, drain, maint: what an operator
 * sets) travels on its own key, `server_state:<backend>/<server>`, so a
 * drain never rewrites the domain and an edit of the domain keeps every
 * node's state by server name. Health (UP, DOWN) is not shared: each node's
 * HAProxy checks for itself.
 */
import type pg from 'pg';

/** A server of a domain's backend, as POST /api/domain takes it. */
export interface ServerWire {
  name: string;
  address: string;
  port: number;
  check: boolean;
  backup: boolean;
  weight: number;
  maxconn: number | null;
  tls: boolean;
  tls_verify: boolean;
  tls_ca_file: string | null;
  tls_sni: string | null;
}

type HeaderRuleWire = { action: 'set' | 'add'; name: string; value: string } | { action: 'del'; name: string };

/** A domain's complete state, as the body of POST /api/domain (every group sent, so every group is replaced). */
export interface DomainWire {
  domain: string;
  is_wildcard: boolean;
  backend_name: string;
  kind: 'default' | 'http_check' | 'long_lived';
  health_check_path: string | null;
  balance: 'roundrobin' | 'leastconn' | 'source';
  servers: ServerWire[];
  https: { force: boolean; redirect_code: number; redirect_code_other: number; hsts: { max_age: number; include_subdomains: boolean; preload: boolean } | null };
  headers: { request: HeaderRuleWire[]; response: HeaderRuleWire[] };
  routes: { path: string; match: 'prefix' | 'exact'; backend: string; strip_prefix: boolean }[];
  access: { deny: string[]; allow: string[]; trusted_only: boolean; auth: { realm: string; users: { name: string; password_hash: string }[]; paths: string[] } | null };
  redirect: { to: string; code: number; keep_path: boolean } | null;
  compression: { enabled: boolean; types: string[] };
  maintenance: { enabled: boolean; retry_after: number };
  error_pages: { '502': string | null; '503': string | null; '504': string | null };
}

/** A TCP service's complete state, as the body of POST /api/tcp-services. */
export interface TcpServiceWire {
  name: string;
  kind: 'tls_passthrough' | 'tcp';
  sni?: string;
  port?: number;
  balance: 'roundrobin' | 'leastconn' | 'source';
  send_proxy: boolean;
  servers: { name: string; address: string; port: number; check: boolean; backup: boolean; weight: number; maxconn: number | null }[];
}

/** One change to the shared configuration, as every node applies it. */
export type ConfigChange =
  | { kind: 'domain'; domain: string; body: DomainWire }
  | { kind: 'domain_delete'; domain: string }
  | { kind: 'tcp_service'; name: string; body: TcpServiceWire }
  | { kind: 'tcp_service_delete'; name: string }
  | { kind: 'trusted_proxy'; cidr: string; note: string | null }
  | { kind: 'trusted_proxy_remove'; cidr: string }
  | { kind: 'server_state'; backend: string; server: string; state: 'ready' | 'drain' | 'maint' };

export const CONFIG_KINDS: ReadonlySet<string> = new Set(['domain', 'domain_delete', 'tcp_service', 'tcp_service_delete', 'trusted_proxy', 'trusted_proxy_remove', 'server_state']);

/** What a configuration change is about: one key per domain, TCP service, trusted proxy and server (its admin state). */
export function configKey(c: ConfigChange): string {
  switch (c.kind) {
    case 'domain':
    case 'domain_delete':
      return `domain:${c.domain}`;
    case 'tcp_service':
    case 'tcp_service_delete':
      return `tcp_service:${c.name}`;
    case 'trusted_proxy':
    case 'trusted_proxy_remove':
      return `trusted_proxy:${c.cidr}`;
    case 'server_state':
      return `server_state:${c.backend}/${c.server}`;
  }
}

/** Sets the key's state row as the change leaves it (inside writeChanges' transaction). */
export async function applyConfigState(c: pg.ClientBase, ch: ConfigChange, version: number, node: string): Promise<void> {
  switch (ch.kind) {
    case 'domain':
      await c.query(
        `INSERT INTO fleet_domains (domain, body, version, node) VALUES ($1, $2, $3, $4)
         ON CONFLICT (domain) DO UPDATE SET body = excluded.body, version = excluded.version, node = excluded.node`,
        [ch.domain, JSON.stringify(ch.body), version, node],
      );
      return;
    case 'domain_delete':
      await c.query('DELETE FROM fleet_domains WHERE domain = $1', [ch.domain]);
      return;
    case 'tcp_service':
      await c.query(
        `INSERT INTO fleet_tcp_services (name, body, version, node) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET body = excluded.body, version = excluded.version, node = excluded.node`,
        [ch.name, JSON.stringify(ch.body), version, node],
      );
      return;
    case 'tcp_service_delete':
      await c.query('DELETE FROM fleet_tcp_services WHERE name = $1', [ch.name]);
      return;
    case 'trusted_proxy':
      await c.query(
        `INSERT INTO fleet_trusted_proxies (cidr, note, version, node) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cidr) DO UPDATE SET note = excluded.note, version = excluded.version, node = excluded.node`,
        [ch.cidr, ch.note, version, node],
      );
      return;
    case 'trusted_proxy_remove':
      await c.query('DELETE FROM fleet_trusted_proxies WHERE cidr = $1', [ch.cidr]);
      return;
    case 'server_state':
      await c.query(
        `INSERT INTO fleet_server_states (backend, server, state, version, node) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (backend, server) DO UPDATE SET state = excluded.state, version = excluded.version, node = excluded.node`,
        [ch.backend, ch.server, ch.state, version, node],
      );
      return;
  }
}

/** The shared domains now, by name, with the version and node that set each (tests, the bench). */
export async function sharedDomains(pool: pg.Pool): Promise<{ domain: string; version: number; node: string }[]> {
  const r = await pool.query<{ domain: string; version: string; node: string }>('SELECT domain, version, node FROM fleet_domains ORDER BY domain');
  return r.rows.map((x) => ({ domain: x.domain, version: Number(x.version), node: x.node }));
}

/** The shared server administrative states now, with the version and node that set each (tests, the operator). */
export async function sharedServerStates(pool: pg.Pool): Promise<{ backend: string; server: string; state: string; version: number; node: string }[]> {
  const r = await pool.query<{ backend: string; server: string; state: string; version: string; node: string }>('SELECT backend, server, state, version, node FROM fleet_server_states ORDER BY backend, server');
  return r.rows.map((x) => ({ backend: x.backend, server: x.server, state: x.state, version: Number(x.version), node: x.node }));
}
