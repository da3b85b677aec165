/** Domains: the original's GET /api/domains, POST /api/domain (upsert), DELETE /api/domain; plus dry runs. */
import type Router from '@koa/router';
import { z } from 'zod';
import { actorOf, type ApiDeps } from '../context.js';
import { listDomains, upsertDomain, type DomainInput } from '../../storage/domains.js';
import { renderedDiff } from './config.js';
import { changeMaintenance, removeDomain, saveDomain } from '../../haproxy/changes/domains.js';
import { mount, route } from '../contract/route.js';
import { domainBody, domainBodyExample, domainOut, domainRemoved, domainSaved, dryRunOut } from '../schemas/domains.js';
import { dryRunQuery } from '../schemas/operations.js';
import { hostname } from '../schemas/fields.js';
import { maintenanceIn, publicSite } from '../schemas/site-options.js';

export const list = route({
  id: 'listDomains',
  method: 'GET',
  path: '/api/domains',
  tag: 'domains',
  summary: 'Every domain with its backend and servers',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The domains, by name. ssl_enabled and ssl_cert_path come from the managed certificates that cover each domain.',
      schema: z.array(domainOut),
      example: [
        {
          id: 1,
          domain: 'app.example.com',
          is_wildcard: false,
          ssl_enabled: true,
          ssl_cert_path: '/var/lib/haproxy-manager/certs/app.example.com.pem',
          backend_name: 'app',
          template_override: 'http_check',
          kind: 'http_check',
          health_check_path: '/healthz',
          balance: 'roundrobin',
          servers: [{ name: 'app1', address: '10.0.0.11', port: 8080, check: true, backup: false, weight: 100, maxconn: null, tls: false, tls_verify: true, tls_ca_file: null, tls_sni: null, state: 'ready' }],
          https: { force: true, redirect_code: 301, redirect_code_other: 308, hsts: { max_age: 31536000, include_subdomains: true, preload: false } },
          headers: { request: [{ action: 'set', name: 'X-Site', value: 'shop' }], response: [{ action: 'del', name: 'Server', value: null }] },
          routes: [{ path: '/api', match: 'prefix', backend: 'api', strip_prefix: true }],
          access: { deny: ['192.0.2.0/24'], allow: [], trusted_only: false, auth: { realm: 'Staff', users: [{ name: 'alice' }], paths: ['/admin'] } },
          redirect: null,
          compression: { enabled: true, types: ['text/html', 'text/css', 'application/javascript', 'application/json'] },
          maintenance: { enabled: false, retry_after: 300 },
          error_pages: { '502': null, '503': '<h1>Back soon</h1>', '504': null },
        },
      ],
    },
  },
});

export const upsert = route({
  id: 'saveDomain',
  method: 'POST',
  path: '/api/domain',
  tag: 'domains',
  summary: 'Create or update a domain with its backend and servers',
  description:
    'The configuration is rendered, checked with `haproxy -c`, swapped in and reloaded; a refused candidate changes nothing and answers 400 with HAProxy\'s own lines in `detail`. With `?dry_run=true`, answers the diff and the check without applying.',
  auth: 'api_key',
  query: dryRunQuery,
  body: domainBody,
  bodyExample: domainBodyExample,
  responses: {
    200: { description: 'Updated (or, with dry_run, the preview)', schema: z.union([domainSaved, dryRunOut]), example: { status: 'success', domain_id: 1, domain: 'app.example.com', created: false, reloaded: true } },
    201: { description: 'Created', schema: domainSaved, example: { status: 'success', domain_id: 2, domain: 'new.example.com', created: true, reloaded: true } },
    409: { description: 'The backend already serves another domain, or other sites route paths to the backend being renamed' },
  },
});

export const remove = route({
  id: 'removeDomain',
  method: 'DELETE',
  path: '/api/domain',
  tag: 'domains',
  summary: 'Remove a domain, its backend and the certificates only it used',
  auth: 'api_key',
  queryOrBody: true,
  body: z.strictObject({ domain: hostname('The domain to remove', { allowWildcard: true }) }),
  bodyExample: { domain: 'app.example.com' },
  responses: {
    200: { description: 'Removed', schema: domainRemoved, example: { status: 'success', message: 'domain app.example.com removed', reloaded: true, certificates_removed: [] } },
    404: { description: 'No such domain' },
    409: { description: "Other sites route paths to the domain's backend" },
  },
});

export const maintenance = route({
  id: 'setMaintenance',
  method: 'POST',
  path: '/api/domains/:domain/maintenance',
  tag: 'domains',
  summary: "Switch a site's maintenance mode at runtime, without a reload",
  description:
    'HAProxy answers every request for the site (the ACME challenge path excepted) with the maintenance page, 503 and Retry-After, from the moment this answers; the change is kept across reloads. The same group can be sent with POST /api/domain (which reloads).',
  auth: 'api_key',
  params: z.strictObject({ domain: hostname('The domain', { allowWildcard: true }) }),
  body: maintenanceIn,
  bodyExample: { enabled: true, retry_after: 600 },
  responses: {
    200: {
      description: 'Switched',
      schema: z.strictObject({ status: z.literal('success'), domain: z.string(), maintenance: z.strictObject({ enabled: z.boolean(), retry_after: z.number().int() }), runtime_updated: z.boolean() }),
      example: { status: 'success', domain: 'app.example.com', maintenance: { enabled: true, retry_after: 600 }, runtime_updated: true },
    },
    404: { description: 'No such domain' },
    409: { description: 'The domain has no backend' },
  },
});

export function domainRoutes(r: Router, d: ApiDeps): void {
  mount(r, maintenance, async (ctx, { params: { domain }, body }) => {
    const res = await changeMaintenance(d.ops, actorOf(ctx), domain, body);
    ctx.body = { status: 'success', domain, maintenance: body, runtime_updated: res.runtimeApplied };
  });

  mount(r, list, (ctx) => {
    // ssl_enabled / ssl_cert_path are derived from the certificates that cover each domain, never stored twice.
    ctx.body = listDomains(d.reader).map(({ site, ...row }) => {
      const c = d.certs.find(row.domain);
      return { ...row, ...publicSite(site), ssl_enabled: c !== null, ssl_cert_path: c?.file ?? null };
    });
  });

  mount(r, upsert, async (ctx, { query, body: input }) => {
    if (query.dry_run) {
      const r = await previewWith(d, input);
      ctx.body = { status: 'success', dry_run: true, diff: r.value, haproxy_check: r.check };
      return;
    }
    const { result, apply } = await saveDomain(d.ops, actorOf(ctx), input);
    ctx.status = result.created ? 201 : 200;
    ctx.body = { status: 'success', domain_id: result.id, domain: input.domain, created: result.created, reloaded: apply.reloaded, ...(apply.warning ? { warning: apply.warning } : {}) };
  });

  mount(r, remove, async (ctx, { body: { domain } }) => {
    const { apply } = await removeDomain(d.ops, actorOf(ctx), domain);
    const certificatesRemoved = await d.certs.pruneFor(domain, actorOf(ctx));
    ctx.body = { status: 'success', message: `domain ${domain} removed`, reloaded: apply.reloaded, certificates_removed: certificatesRemoved };
  });
}

/** The diff a domain change would make to haproxy.cfg and its maps, without applying it. */
function previewWith(d: ApiDeps, input: DomainInput) {
  return d.applier.dryRun((db) => void upsertDomain(db, input), (rendered) => renderedDiff(d, rendered));
}
