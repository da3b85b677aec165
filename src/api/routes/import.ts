/** POST /api/import: create the domains an existing haproxy.cfg expresses (issue 13). */
import type Router from '@koa/router';
import { actorOf, type ApiDeps } from '../context.js';
import { mount, route } from '../contract/route.js';
import { importBody, importBodyExample, importOut } from '../schemas/import.js';
import { domainBody } from '../schemas/domains.js';
import { translate } from '../../import/translate.js';
import { settle, settleTcpServices, type BodyIssue } from '../../import/settle.js';
import { listDomains, type DomainInput } from '../../storage/domains.js';
import { listTcpServices, type TcpServiceInput } from '../../storage/tcp-services.js';
import { saveDomains } from '../../haproxy/changes/domains.js';
import { tcpServiceRefusal } from '../../haproxy/changes/tcp-services.js';
import { tcpServiceBody } from '../schemas/tcp-services.js';

export const importConfig = route({
  id: 'importConfig',
  method: 'POST',
  path: '/api/import',
  tag: 'domains',
  summary: 'Import the domains, backends, servers and site options (and this daemon\'s own TCP services) an existing haproxy.cfg expresses',
  description:
    'Reads the configuration (and the map, list and page files it names, given in `maps`), plans one POST /api/domain body per host it routes, checks each with the same schema as POST /api/domain, and reports every line it cannot express with its file, line and reason. ' +
    'A configuration this daemon rendered itself also gives its TCP services as POST /api/tcp-services bodies (`tcp_services`). ' +
    'Without `apply: true` nothing changes. With it, every planned domain and TCP service is created in ONE change: one render, one `haproxy -c`, one reload, all or nothing. Existing domains and services are reported and never overwritten.',
  auth: 'api_key',
  documents: ['config', 'maps'],
  body: importBody,
  bodyExample: importBodyExample,
  responses: {
    200: {
      description: 'The plan (and, with apply, what was created)',
      schema: importOut,
      example: {
        status: 'success',
        applied: false,
        reloaded: false,
        domains: [{ domain: 'app.example.com', backend_name: 'app', servers: [{ name: 's1', address: '10.0.0.11', port: 8080, check: true }] }],
        tcp_services: [],
        skipped: [{ file: 'haproxy.cfg', line: 2, text: 'bind :80', reason: 'a global setting: the daemon renders its own global section (config.yaml)' }],
        notes: [],
      },
    },
    409: { description: 'A planned domain was created by someone else meanwhile: nothing was imported' },
  },
});

/** Answers never echo a clear password. */
function redacted(body: Record<string, unknown>): Record<string, unknown> {
  const access = body.access as { auth?: { users?: Record<string, unknown>[] } } | undefined;
  if (!access?.auth?.users?.some((u) => 'password' in u)) return body;
  return { ...body, access: { ...access, auth: { ...access.auth, users: access.auth.users.map((u) => ('password' in u ? { ...u, password: '(hashed on apply)' } : u)) } } };
}

type Parsed<T> = { success: true; data: T } | { success: false; error: { issues: { code: string; path: PropertyKey[]; message: string; keys?: string[] }[] } };

/** A schema's answer as settle takes it: the value, or the first issue (an unknown field first). */
function validator<T>(schema: { safeParse(b: unknown): Parsed<T> }) {
  return (b: Record<string, unknown>): { ok: true; value: T } | { ok: false; issue: BodyIssue } => {
    const p = schema.safeParse(b);
    if (p.success) return { ok: true, value: p.data };
    const i = p.error.issues.find((x) => x.code === 'unrecognized_keys') ?? p.error.issues[0]!;
    return { ok: false, issue: { path: i.path.filter((x): x is string | number => typeof x !== 'symbol'), message: i.message, ...(i.code === 'unrecognized_keys' && i.keys ? { unknownKeys: i.keys } : {}) } };
  };
}

export function importRoutes(r: Router, d: ApiDeps): void {
  mount(r, importConfig, async (ctx, { body }) => {
    const file = body.file_name ?? 'haproxy.cfg';
    const plan = translate(body.config, file, body.maps ?? {});
    const settled = settle<DomainInput>(plan, validator(domainBody));
    const services = settleTcpServices<TcpServiceInput>(plan.tcp_services, validator(tcpServiceBody), settled.skipped);
    // Never overwritten: existing domains, and backend names another domain's backend has, are reported.
    const existing = listDomains(d.reader);
    const byDomain = new Map(existing.map((x) => [x.domain, x]));
    const byBackend = new Map(existing.filter((x) => x.backend_name).map((x) => [x.backend_name!, x.domain]));
    const create = settled.domains.filter((x) => {
      const reason = byDomain.has(x.parsed.domain)
        ? `${x.parsed.domain} exists already: kept as it is (an import never overwrites)`
        : byBackend.has(x.parsed.backendName)
          ? `${x.parsed.domain}: backend name ${x.parsed.backendName} is taken by ${byBackend.get(x.parsed.backendName)!}`
          : null;
      if (reason) settled.skipped.push({ ...x.at, reason });
      return reason === null;
    });
    // A route needs its target backend: an imported one or one that exists here (a refused domain takes the routes to it along).
    for (let changed = true; changed; ) {
      changed = false;
      const names = new Set([...byBackend.keys(), ...create.map((x) => x.parsed.backendName)]);
      for (const [i, x] of create.entries()) {
        const lost = (x.parsed.site?.routes ?? []).find((rt) => !names.has(rt.backend));
        if (!lost) continue;
        settled.skipped.push({ ...x.at, reason: `${x.parsed.domain}: not imported: its route ${lost.path} goes to backend ${lost.backend}, which is not imported` });
        create.splice(i, 1);
        changed = true;
        break;
      }
    }
    // TCP services: never overwritten either; a port or SNI taken here, or settings that cannot take one, are reported.
    const existingTcp = listTcpServices(d.reader);
    const domainNames = new Set([...byDomain.keys(), ...create.map((x) => x.parsed.domain)]);
    const createTcp = services.filter((x) => {
      const t = x.parsed;
      const same = existingTcp.find((e) => e.name === t.name);
      const port = t.port === null ? undefined : existingTcp.find((e) => e.port === t.port);
      const sni = t.sni === null ? undefined : existingTcp.find((e) => e.sni === t.sni);
      const refused = tcpServiceRefusal(d.ops, t);
      const reason = same
        ? `TCP service ${t.name} exists already: kept as it is (an import never overwrites)`
        : port ? `TCP service ${t.name}: port ${t.port} is used by service ${port.name}`
        : sni ? `TCP service ${t.name}: SNI ${t.sni} is passed through by service ${sni.name}`
        : t.sni !== null && domainNames.has(t.sni) ? `TCP service ${t.name}: ${t.sni} is an HTTP domain (both cannot answer on the HTTPS port)`
        : refused ? `TCP service ${t.name}: ${refused.message}`
        : null;
      if (reason) settled.skipped.push({ ...x.at, reason });
      return reason === null;
    });
    let applied = false;
    let reloaded = false;
    let warning: string | undefined;
    if (body.apply && (create.length || createTcp.length)) {
      const { apply } = await saveDomains(d.ops, actorOf(ctx), create.map((x) => x.parsed), createTcp.map((x) => x.parsed));
      applied = true;
      reloaded = apply.reloaded;
      warning = apply.warning;
    }
    ctx.body = {
      status: 'success',
      applied,
      reloaded,
      domains: create.map((x) => redacted(x.body)),
      tcp_services: createTcp.map((x) => x.body),
      skipped: settled.skipped,
      notes: plan.notes,
      ...(warning ? { warning } : {}),
    };
  });
}
