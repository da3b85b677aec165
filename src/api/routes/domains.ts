/** Domains: the original's GET /api/domains, POST /api/domain (upsert), DELETE /api/domain; plus dry runs. */
import type Router from '@koa/router';
import { actorOf, body, bodyOrQuery, type ApiDeps } from '../context.js';
import { listDomains, upsertDomain } from '../../storage/domains.js';
import { renderedDiff } from './config.js';
import { parseDomainInput } from '../domain-input.js';
import { removeDomain, saveDomain } from '../../haproxy/changes/domains.js';
import { normalizeHostname } from '../../validate/names.js';
import { validationError } from '../../errors.js';

/** `?dry_run=`: true or 1 previews, false or 0 (or absent) applies; anything else is a 400, never read as "apply". */
function dryRunOf(v: unknown): boolean {
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw validationError('dry_run', 'must be true, false, 1 or 0, given once');
}

export function domainRoutes(r: Router, d: ApiDeps): void {
  r.get('/api/domains', (ctx) => {
    // ssl_enabled / ssl_cert_path are derived from the certificates that cover each domain, never stored twice.
    ctx.body = listDomains(d.reader).map((row) => {
      const c = d.certs.find(row.domain);
      return { ...row, ssl_enabled: c !== null, ssl_cert_path: c?.file ?? null };
    });
  });

  r.post('/api/domain', async (ctx) => {
    const input = parseDomainInput(body(ctx));
    if (dryRunOf(ctx.query.dry_run)) {
      const r = await previewWith(d, input);
      ctx.body = { status: 'success', dry_run: true, diff: r.value, haproxy_check: r.check };
      return;
    }
    const { result, apply } = await saveDomain(d.ops, actorOf(ctx), input);
    ctx.status = result.created ? 201 : 200;
    ctx.body = { status: 'success', domain_id: result.id, domain: input.domain, created: result.created, reloaded: apply.reloaded, ...(apply.warning ? { warning: apply.warning } : {}) };
  });

  r.delete('/api/domain', async (ctx) => {
    const b = body(ctx);
    const raw = bodyOrQuery(b, ctx, 'domain');
    if (raw === undefined) throw validationError('domain', 'is required');
    const domain = normalizeHostname(raw, 'domain', { allowWildcard: true });
    const { apply } = await removeDomain(d.ops, actorOf(ctx), domain);
    const certificatesRemoved = await d.certs.pruneFor(domain, actorOf(ctx));
    ctx.body = { status: 'success', message: `domain ${domain} removed`, reloaded: apply.reloaded, certificates_removed: certificatesRemoved };
  });
}

/** The diff a domain change would make to haproxy.cfg and its maps, without applying it. */
function previewWith(d: ApiDeps, input: ReturnType<typeof parseDomainInput>) {
  return d.applier.dryRun((db) => void upsertDomain(db, input), (rendered) => renderedDiff(d, rendered));
}
