/**
 * Console pages: domains and servers.
 *
 * - /domains: every domain with its backend, servers, certificate, health
 *   check path and balance; a GET search by name (filtered here, server side);
 *   below, the TCP services, read-only (GET /api/tcp-services).
 * - /domains/new and /domains/:name: a form with every field POST /api/domain
 *   takes, server rows included (empty rows carry data-skip-empty and are not
 *   sent), and the per-site option groups (templates/console/domains-options.njk:
 *   headers, routes, access, redirect, compression, maintenance, error pages),
 *   each shown as stored and sent only once changed (groups.js); Preview
 *   (?dry_run=true: the diff and `haproxy -c`) and Apply; on the edit page,
 *   Remove (DELETE /api/domain) after a confirmation, and maintenance switched
 *   at runtime (POST /api/domains/{domain}/maintenance).
 * - The domain list shows each site's maintenance state with the same switch.
 * - /servers: every backend's servers with HAProxy's live state and last
 *   check (GET /api/backends), refreshed live; Drain, Disable (maint) and
 *   Enable (ready) through POST /api/servers/state.
 *
 * Reads only through the API in process; changes are the browser's (console.js).
 */
import type { PageRegistrar } from '../console.js';
import type { ItemOf } from '../wire.js';
import type { list as listDomains } from '../../api/routes/domains.js';
import type { list as listTcpServices } from '../../api/routes/tcp-services.js';

type Domain = ItemOf<typeof listDomains>;
type TcpService = ItemOf<typeof listTcpServices>;
type ServerRow = Domain['servers'][number];

/** How many server rows the form shows at least; one more than there are servers, for adding. */
const MIN_ROWS = 3;

/** A blank server row with the API's defaults ticked. */
const blankServer = () => ({ name: '', address: '', port: null, check: true, backup: false, weight: null, maxconn: null, tls: false, tls_verify: true, tls_ca_file: null, tls_sni: null, blank: true });

function formRows(servers: ServerRow[]) {
  const rows: Record<string, unknown>[] = servers.map((s) => ({ ...s, blank: false }));
  const total = Math.max(MIN_ROWS, servers.length + 1);
  while (rows.length < total) rows.push(blankServer());
  return rows;
}

/**
 * The backends a route of `domain` may send paths to: every other site's
 * backend, and those its routes name already (so a stored route always shows
 * its backend, even one the list no longer has).
 */
function routeBackends(all: Domain[], domain: Domain | null): string[] {
  const names = new Set<string>();
  for (const d of all) if (d.backend_name && d.domain !== domain?.domain && d.backend_name !== domain?.backend_name) names.add(d.backend_name);
  for (const r of domain?.routes ?? []) names.add(r.backend);
  return [...names].sort();
}

export function domainsPages(page: PageRegistrar): void {
  page('/domains', async (ctx, { api }) => {
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim().slice(0, 253) : '';
    const saved = typeof ctx.query.saved === 'string' ? ctx.query.saved.slice(0, 253) : '';
    const removed = typeof ctx.query.removed === 'string' ? ctx.query.removed.slice(0, 253) : '';
    const all = await api.get<Domain[]>('/api/domains');
    const needle = q.toLowerCase();
    const domains = needle ? all.filter((d) => d.domain.toLowerCase().includes(needle) || (d.backend_name ?? '').toLowerCase().includes(needle)) : all;
    // TCP services are shown read-only beside the domains (changed through POST /api/tcp-services).
    const tcpServices = await api.get<TcpService[]>('/api/tcp-services');
    return { template: 'domains.njk', data: { title: 'Domains', domains, total: all.length, q, saved, removed, tcpServices } };
  });

  page('/domains/new', async (_ctx, { api }) => {
    const all = await api.get<Domain[]>('/api/domains');
    return { template: 'domains-edit.njk', data: { title: 'Add a domain', domain: null, rows: formRows([]), backends: routeBackends(all, null) } };
  });

  page('/domains/:name', async (ctx, { api }) => {
    const name = String(ctx.params.name ?? '');
    const all = await api.get<Domain[]>('/api/domains');
    const domain = all.find((d) => d.domain === name);
    if (!domain) return { template: 'error.njk', status: 404, data: { title: 'Not found', message: `There is no domain ${name}.` } };
    return { template: 'domains-edit.njk', data: { title: `Domain ${domain.domain}`, domain, rows: formRows(domain.servers), backends: routeBackends(all, domain) } };
  });

  page('/servers', async (_ctx, { api }) => {
    const backends = await api.get<unknown[]>('/api/backends');
    return { template: 'servers.njk', data: { title: 'Servers', backends } };
  });
}
