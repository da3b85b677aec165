/**
 * A domain or TCP service as the fleet shares it (storage/pg/config-changes.ts):
 * its complete stored state in the API's body shape, so another node checks
 * it with the API's own schemas and replaces whatever it had.
 */
import type { Db } from '../../storage/db.js';
import { getDomain, type DomainRow } from '../../storage/domains.js';
import { listTcpServices, type TcpService } from '../../storage/tcp-services.js';
import { ERROR_STATUSES } from '../../storage/site-options.js';
import type { ConfigChange, DomainWire, TcpServiceWire } from '../../storage/pg/config-changes.js';

/** A stored domain as POST /api/domain's body; null for a domain without a backend (not made by the API: nothing to share). */
export function domainWire(d: DomainRow): DomainWire | null {
  if (d.backend_name === null || d.kind === null || d.balance === null) return null;
  const o = d.site;
  const rule = (r: { action: 'set' | 'add' | 'del'; name: string; value: string | null }) =>
    r.action === 'del' ? { action: r.action, name: r.name } : { action: r.action, name: r.name, value: r.value ?? '' };
  return {
    domain: d.domain,
    is_wildcard: d.is_wildcard,
    backend_name: d.backend_name,
    kind: d.kind,
    health_check_path: d.health_check_path,
    balance: d.balance,
    servers: d.servers.map((s) => ({
      name: s.name,
      address: s.address,
      port: s.port,
      check: s.check,
      backup: s.backup,
      weight: s.weight,
      maxconn: s.maxconn,
      tls: s.tls,
      tls_verify: s.tlsVerify,
      tls_ca_file: s.tlsCaFile,
      tls_sni: s.tlsSni,
    })),
    https: {
      force: o.https.force,
      redirect_code: o.https.redirectCode,
      redirect_code_other: o.https.redirectCodeOther,
      hsts: o.https.hsts ? { max_age: o.https.hsts.maxAge, include_subdomains: o.https.hsts.includeSubdomains, preload: o.https.hsts.preload } : null,
    },
    headers: { request: o.headers.request.map(rule), response: o.headers.response.map(rule) },
    routes: o.routes.map((r) => ({ path: r.path, match: r.match, backend: r.backend, strip_prefix: r.stripPrefix })),
    access: {
      deny: o.access.deny,
      allow: o.access.allow,
      trusted_only: o.access.trustedOnly,
      auth: o.access.auth ? { realm: o.access.auth.realm, users: o.access.auth.users.map((u) => ({ name: u.name, password_hash: u.hash })), paths: o.access.auth.paths } : null,
    },
    redirect: o.redirect ? { to: o.redirect.to, code: o.redirect.code, keep_path: o.redirect.keepPath } : null,
    compression: { enabled: o.compression.enabled, types: o.compression.types },
    maintenance: { enabled: o.maintenance.enabled, retry_after: o.maintenance.retryAfter },
    error_pages: Object.fromEntries(ERROR_STATUSES.map((s) => [s, o.errorPages[s] ?? null])) as DomainWire['error_pages'],
  };
}

/** A stored TCP service as POST /api/tcp-services' body. */
export function tcpServiceWire(t: TcpService): TcpServiceWire {
  return {
    name: t.name,
    kind: t.kind,
    ...(t.sni !== null ? { sni: t.sni } : {}),
    ...(t.port !== null ? { port: t.port } : {}),
    balance: t.balance,
    send_proxy: t.sendProxy,
    servers: t.servers.map((s) => ({ name: s.name, address: s.address, port: s.port, check: s.check, backup: s.backup, weight: s.weight, maxconn: s.maxconn })),
  };
}

/** The change that shares a domain as it now stands in `db` (inside the change's transaction); null when there is nothing to share. */
export function domainChange(db: Db, domain: string): ConfigChange | null {
  const row = getDomain(db, domain);
  if (!row) return { kind: 'domain_delete', domain };
  const body = domainWire(row);
  return body ? { kind: 'domain', domain, body } : null;
}

/** The change that shares a TCP service as it now stands in `db`. */
export function tcpServiceChange(db: Db, name: string): ConfigChange {
  const t = listTcpServices(db).find((x) => x.name === name);
  return t ? { kind: 'tcp_service', name, body: tcpServiceWire(t) } : { kind: 'tcp_service_delete', name };
}
