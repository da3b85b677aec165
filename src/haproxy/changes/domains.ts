/** Domain and server operations behind the API: config changes through the applier. */
import type { Ops } from './ip-lists.js';
import { join } from 'node:path';
import { deleteDomain, getDomain, getServerState, listBackends, setMaintenance, setServerState, upsertDomain, type DomainInput, type ServerState } from '../../storage/domains.js';
import type { MaintenanceOptions } from '../../storage/site-options.js';
import { AppError } from '../../errors.js';
import { FILES, haproxyBackendName, maintenanceMapFile } from '../config/render.js';
import { listTcpServices, passthroughFor, upsertTcpService, type TcpServiceInput } from '../../storage/tcp-services.js';
import type { Db } from '../../storage/db.js';
import { domainChange, tcpServiceChange } from './fleet-wire.js';

/** In a fleet: shares the domain as it now stands (inside the change's transaction). */
function recordDomain(ops: Ops, db: Db, domain: string): void {
  if (!ops.record) return;
  const c = domainChange(db, domain);
  if (c) ops.record(db, c);
}

/** In a fleet: the servers of `domain` its operator took out of rotation (drain, maint). */
function heldServers(ops: Ops, db: Db, domain: string): { backend: string; server: string }[] {
  const d = ops.record ? getDomain(db, domain) : null;
  const backend = d?.backend_name;
  return backend ? d.servers.filter((s) => s.state !== 'ready').map((s) => ({ backend, server: s.name })) : [];
}

/**
 * In a fleet: a drained or disabled server that an edit or a deletion took
 * away is shared as ready again, so its drain is superseded in the log: a
 * node replaying the log (a new node, one back from an outage) applies the
 * domain's latest state and then each server's latest state, and must not
 * drain a server of that name made afterwards (made anew, it is ready).
 */
function releaseRemoved(ops: Ops, db: Db, held: readonly { backend: string; server: string }[]): void {
  for (const h of held) if (getServerState(db, h.backend, h.server) === null) ops.record?.(db, { kind: 'server_state', ...h, state: 'ready' });
}

export function saveDomain(ops: Ops, actor: string, input: DomainInput) {
  return ops.applier.submit({
    actor,
    action: 'domain.upsert',
    target: input.domain,
    detail: { backend: input.backendName, kind: input.kind, servers: input.servers.length },
    mutate(db) {
      // An HTTPS site and a TLS passthrough of one name cannot both answer on the HTTPS port.
      const tcp = passthroughFor(db, input.domain);
      if (tcp) throw new AppError('conflict', `${input.domain} is passed through to TCP service ${tcp}; remove it first`, { field: 'domain' });
      const held = heldServers(ops, db, input.domain);
      const r = upsertDomain(db, input);
      recordDomain(ops, db, input.domain);
      releaseRemoved(ops, db, held);
      return r;
    },
  });
}

/**
 * Creates several domains and TCP services in ONE applier change (one
 * render, one `haproxy -c`, one reload; all or nothing): the import's apply.
 * Never overwrites: a domain or service that exists when the change runs
 * (created since the plan was made) refuses the whole change with a
 * conflict. Domains are created without their routes first and given them
 * after, so a route may point at any imported site, in any order (even two
 * sites routing to each other).
 */
export function saveDomains(ops: Ops, actor: string, inputs: DomainInput[], tcpServices: TcpServiceInput[] = []) {
  return ops.applier.submit({
    actor,
    action: 'domain.import',
    target: null,
    detail: { domains: inputs.map((i) => i.domain), ...(tcpServices.length ? { tcp_services: tcpServices.map((t) => t.name) } : {}) },
    mutate(db) {
      const created = inputs.map((input) => {
        if (getDomain(db, input.domain)) throw new AppError('conflict', `domain ${input.domain} exists already (created since the import was planned); nothing was imported`, { field: 'config' });
        const tcp = passthroughFor(db, input.domain);
        if (tcp) throw new AppError('conflict', `${input.domain} is passed through to TCP service ${tcp}; nothing was imported`, { field: 'config' });
        const routed = input.site?.routes?.length ? { ...input, site: { ...input.site, routes: [] } } : input;
        return { domain: input.domain, ...upsertDomain(db, routed) };
      });
      for (const input of inputs) if (input.site?.routes?.length) upsertDomain(db, input);
      const names = new Set(listTcpServices(db).map((t) => t.name));
      for (const t of tcpServices) {
        if (names.has(t.name)) throw new AppError('conflict', `TCP service ${t.name} exists already (created since the import was planned); nothing was imported`, { field: 'config' });
        upsertTcpService(db, t);
      }
      for (const input of inputs) recordDomain(ops, db, input.domain);
      if (ops.record) for (const t of tcpServices) ops.record(db, tcpServiceChange(db, t.name));
      return created;
    },
  });
}

export function removeDomain(ops: Ops, actor: string, domain: string) {
  return ops.applier.submit({
    actor,
    action: 'domain.delete',
    target: domain,
    mutate(db) {
      const held = heldServers(ops, db, domain);
      if (!deleteDomain(db, domain)) throw new AppError('not_found', `domain ${domain} not found`, { field: 'domain' });
      ops.record?.(db, { kind: 'domain_delete', domain });
      releaseRemoved(ops, db, held);
      return true;
    },
  });
}

/**
 * Sets a server's administrative state: at once through the runtime API, and
 * in the rendered config (maint = disabled, drain = weight 0) so a reload
 * keeps it. In a fleet the state is shared (key `server_state:<backend>/<server>`,
 * fleet/apply-server-states.ts); another node's change comes back through
 * here with Ops that do not record.
 */
export function changeServerState(ops: Ops, actor: string, backend: string, server: string, state: ServerState) {
  let weight = 100;
  return ops.applier.runtimeChange({
    actor,
    action: 'server.state',
    target: `${backend}/${server}`,
    detail: { state },
    mutate(db) {
      const s = setServerState(db, backend, server, state);
      weight = s.weight;
      ops.record?.(db, { kind: 'server_state', backend, server, state });
      return s;
    },
    files: () => new Map(),
    rewritesConfig: true,
    // servers.setState reads srv_admin_state back; ready also sets the server's configured weight again.
    runtime: (control) => control.runtime.servers.setState(haproxyBackendName(backend), server, state, state === 'ready' ? weight : undefined),
  });
}

/**
 * Switches a site's maintenance mode: live at once through the runtime API
 * (the maintenance map, whose rule is always in the frontend), written to the
 * map file so a reload keeps it, no reload. A site without a backend has
 * nothing to answer for: 409.
 */
export function changeMaintenance(ops: Ops, actor: string, domain: string, m: MaintenanceOptions) {
  let backend = '';
  return ops.applier.runtimeChange({
    actor,
    action: m.enabled ? 'domain.maintenance.on' : 'domain.maintenance.off',
    target: domain,
    detail: { retry_after: m.retryAfter },
    mutate(db) {
      const r = setMaintenance(db, domain, m);
      if (r.backend === null) throw new AppError('conflict', `domain ${domain} has no backend`, { field: 'domain' });
      backend = haproxyBackendName(r.backend);
      recordDomain(ops, db, domain);
      return r;
    },
    files: (db) => new Map([[FILES.maintenanceMap, maintenanceMapFile(listBackends(db))]]),
    runtime: (control) => control.runtime.maps.put(join(ops.cfg.paths.generatedDir, FILES.maintenanceMap), backend, m.enabled ? String(m.retryAfter) : null),
  });
}
