/**
 * The domain body of POST /api/domain (the original's upsert) and the
 * domain and backend answers. Server options are structured fields; the
 * original's free-text `options` is accepted only as known words separated
 * by spaces. null is accepted only where it is the stored value "none"
 * (maxconn, tls_ca_file, tls_sni, health_check_path, options); a field with
 * a default (booleans, kind, balance, servers, weight) takes it only when
 * absent.
 */
import { z } from 'zod';
import type { BackendKind, DomainInput, ServerInput } from '../../storage/domains.js';
import { bool, hostname, name, oneOf, serverCoreFields } from './fields.js';
import { ok } from './common.js';
import {
  accessIn, accessOut, compressionIn, compressionOut, errorPagesIn, errorPagesOut, headersIn, headersOut, httpsIn, httpsOut, maintenanceIn, maintenanceOut, redirectIn, redirectOut, routesIn, routesOut,
} from './site-options.js';
import type { SiteOptionsPatch } from '../../storage/site-options.js';

const KINDS: Record<string, BackendKind> = {
  default: 'default',
  basic: 'default',
  http_check: 'http_check',
  long_lived: 'long_lived',
  longlived: 'long_lived',
  websocket: 'long_lived',
};
const KIND_NAMES = Object.keys(KINDS) as [string, ...string[]];

/** A path for files HAProxy reads (CA bundles): absolute, safe characters only. */
const filePath = z
  .string({ error: 'must be an absolute path of letters, digits and ._/+- only' })
  .regex(/^\/[A-Za-z0-9._/+-]{1,255}$/, { error: 'must be an absolute path of letters, digits and ._/+- only' })
  .refine((v) => !v.includes('/../'), { error: 'must be an absolute path of letters, digits and ._/+- only' });

const serverIn = z
  .strictObject({
    ...serverCoreFields('backend'),
    tls: bool('Connect to the server over TLS (default false)').optional(),
    tls_verify: bool("Verify the server's certificate when tls is on (default true)").optional(),
    tls_ca_file: filePath.nullable().optional().meta({ description: 'CA bundle for tls_verify; null: the system CAs' }),
    tls_sni: hostname('SNI and the name verified in the certificate').nullable().optional(),
    options: z
      .string({ error: 'must be a string of known words' })
      .nullable()
      .optional()
      .meta({ description: 'The original\'s free-text options, as words: "check", "backup", "ssl" (each the same as its field)' }),
  })
  .transform((raw, ctx): ServerInput => {
    const s: ServerInput = {
      name: raw.name,
      address: raw.address,
      port: raw.port,
      check: raw.check ?? true,
      backup: raw.backup ?? false,
      weight: raw.weight ?? 100,
      maxconn: raw.maxconn ?? null,
      tls: raw.tls ?? false,
      tlsVerify: raw.tls_verify ?? true,
      tlsCaFile: raw.tls_ca_file ?? null,
      tlsSni: raw.tls_sni ?? null,
    };
    if (raw.options) {
      // A word says "true" for its field; beside that field sent as false, it contradicts it.
      const words: Record<string, 'check' | 'backup' | 'tls'> = { check: 'check', backup: 'backup', ssl: 'tls' };
      for (const word of raw.options.split(/ +/)) {
        const key = Object.hasOwn(words, word) ? words[word]! : null;
        if (!key) {
          ctx.addIssue({ code: 'custom', path: ['options'], message: `"${word.slice(0, 40)}" is not supported; use the structured fields check, backup, weight, maxconn, tls, tls_verify, tls_ca_file, tls_sni` });
          return z.NEVER;
        }
        if (raw[key] === false) {
          ctx.addIssue({ code: 'custom', path: ['options'], message: `"${word}" contradicts ${key}: false` });
          return z.NEVER;
        }
        s[key] = true;
      }
    }
    return s;
  });

export const domainBody = z
  .strictObject({
    domain: hostname('The host name served (a wildcard "*.example.com" covers one label)', { allowWildcard: true }),
    backend_name: name('The backend serving it (names starting with "hm-" are reserved)'),
    kind: oneOf(KIND_NAMES, 'The backend kind: default, http_check (HTTP health checks), long_lived (websockets, long polls)').optional(),
    template_override: oneOf(KIND_NAMES, "The original's name for kind").optional(),
    is_wildcard: bool('true makes "example.com" the wildcard "*.example.com"').optional(),
    health_check_path: z
      .string({ error: 'must be a path starting with "/" of letters, digits and ._~/%?=&+- only' })
      .regex(/^\/[A-Za-z0-9._~/%?=&+-]{0,200}$/, { error: 'must be a path starting with "/" of letters, digits and ._~/%?=&+- only' })
      .nullable()
      .optional()
      .meta({ description: 'The path HTTP health checks ask for (kind http_check)' }),
    balance: oneOf(['roundrobin', 'leastconn', 'source'], 'The balance algorithm (default roundrobin)', 'must be roundrobin, leastconn or source').optional(),
    servers: z
      .array(serverIn, { error: 'must be a list of servers (omit it for none)' })
      .max(1000, { error: 'must hold at most 1000 servers' })
      .optional(),
    https: httpsIn.optional(),
    headers: headersIn.optional(),
    routes: routesIn.optional(),
    access: accessIn.optional(),
    redirect: redirectIn.optional(),
    compression: compressionIn.optional(),
    maintenance: maintenanceIn.optional(),
    error_pages: errorPagesIn.optional(),
  })
  .transform((b, ctx): DomainInput => {
    const fail = (path: (string | number)[], message: string) => {
      ctx.addIssue({ code: 'custom', path, message });
      return z.NEVER;
    };
    let domain = b.domain;
    if (b.is_wildcard === false && domain.startsWith('*.')) return fail(['is_wildcard'], `is false, but domain "${domain}" is a wildcard`);
    if (b.is_wildcard && !domain.startsWith('*.')) domain = `*.${domain}`;
    if (b.backend_name.startsWith('hm-')) return fail(['backend_name'], 'names starting with "hm-" are reserved');
    const fromKind = b.kind ? KINDS[b.kind]! : null;
    const fromOverride = b.template_override ? KINDS[b.template_override]! : null;
    if (fromKind && fromOverride && fromKind !== fromOverride) return fail(['template_override'], `contradicts kind "${b.kind}"`);
    const servers = b.servers ?? [];
    const seen = new Set<string>();
    for (const [i, s] of servers.entries()) {
      if (seen.has(s.name)) return fail(['servers', i, 'name'], `"${s.name}" is used twice`);
      seen.add(s.name);
    }
    const site: SiteOptionsPatch = {};
    if (b.https) site.https = b.https;
    if (b.headers) site.headers = b.headers;
    if (b.routes) site.routes = b.routes;
    if (b.access) site.access = b.access;
    if (b.redirect !== undefined) site.redirect = b.redirect;
    if (b.compression) site.compression = b.compression;
    if (b.maintenance) site.maintenance = b.maintenance;
    if (b.error_pages) site.errorPages = b.error_pages;
    for (const [i, r] of (b.routes ?? []).entries()) {
      if (r.backend === b.backend_name) return fail(['routes', i, 'backend'], `is this site's own backend (the rest of its paths go there already)`);
    }
    return {
      domain,
      isWildcard: domain.startsWith('*.'),
      backendName: b.backend_name,
      kind: fromKind ?? fromOverride ?? 'default',
      healthCheckPath: b.health_check_path ?? null,
      balance: b.balance ?? 'roundrobin',
      servers,
      ...(Object.keys(site).length ? { site } : {}),
    };
  });

export const domainBodyExample = {
  domain: 'app.example.com',
  backend_name: 'app',
  kind: 'http_check',
  health_check_path: '/healthz',
  balance: 'leastconn',
  servers: [
    { name: 'app1', address: '10.0.0.11', port: 8080, check: true, weight: 100 },
    { name: 'app2', address: '10.0.0.12', port: 8080, check: true, backup: true, tls: true, tls_verify: true, tls_sni: 'app.internal' },
  ],
  https: { force: true, hsts: { max_age: 31536000, include_subdomains: true } },
};

const kind = z.enum(['default', 'http_check', 'long_lived']);
const balance = z.enum(['roundrobin', 'leastconn', 'source']);

export const serverOut = z.strictObject({
  name: z.string(),
  address: z.string(),
  port: z.number().int(),
  check: z.boolean(),
  backup: z.boolean(),
  weight: z.number().int(),
  maxconn: z.number().int().nullable(),
  tls: z.boolean(),
  tls_verify: z.boolean(),
  tls_ca_file: z.string().nullable(),
  tls_sni: z.string().nullable(),
  state: z.enum(['ready', 'drain', 'maint']).meta({ description: 'The administrative state the daemon keeps (POST /api/servers/state)' }),
});

export const domainOut = z.strictObject({
  id: z.number().int(),
  domain: z.string(),
  is_wildcard: z.boolean(),
  ssl_enabled: z.boolean().meta({ description: 'A managed certificate covers the domain' }),
  ssl_cert_path: z.string().nullable(),
  backend_name: z.string().nullable(),
  template_override: z.string().nullable().meta({ description: "The original's name for kind (null for default)" }),
  kind: kind.nullable(),
  health_check_path: z.string().nullable(),
  balance: balance.nullable(),
  servers: z.array(serverOut),
  https: httpsOut,
  headers: headersOut,
  routes: routesOut,
  access: accessOut,
  redirect: redirectOut,
  compression: compressionOut,
  maintenance: maintenanceOut,
  error_pages: errorPagesOut,
});

const state = z.enum(['UP', 'DOWN', 'MAINT', 'DRAIN', 'NOLB', 'UNKNOWN']);

export const backendOut = z.strictObject({
  name: z.string(),
  kind,
  health_check_path: z.string().nullable(),
  balance,
  domains: z.array(z.string()),
  health: z.strictObject({ state, status: z.string(), current_sessions: z.number().int().nullable() }).nullable().meta({ description: "The backend's own row in HAProxy; null when HAProxy cannot be asked" }),
  servers_up: z.number().int().nullable().meta({ description: 'Servers HAProxy has UP; null when HAProxy cannot be asked' }),
  servers_total: z.number().int(),
  servers: z.array(
    serverOut.extend({
      health: z
        .strictObject({
          state: state.meta({ description: 'What HAProxy does with the server now' }),
          status: z.string().meta({ description: 'HAProxy\'s own status text ("UP", "DOWN 1/2", "no check", "MAINT (via b/s)")' }),
          check_status: z.string().nullable().meta({ description: 'The last check result (L4OK, L7OK, L4CON, L7STS...)' }),
          check_duration_ms: z.number().nullable(),
          last_check: z.string().nullable(),
          weight: z.number().nullable(),
          current_sessions: z.number().int().nullable(),
        })
        .nullable(),
    }),
  ),
});

export const domainSaved = ok({
  domain_id: z.number().int(),
  domain: z.string(),
  created: z.boolean(),
  reloaded: z.boolean(),
  warning: z.string().optional(),
});

export const dryRunOut = ok({
  dry_run: z.literal(true),
  diff: z.string().meta({ description: 'A unified diff of haproxy.cfg and the generated files, live -> what the change renders' }),
  haproxy_check: z.unknown().meta({ description: "`haproxy -c` on the rendered candidate: its verdict and HAProxy's own text" }),
});

export const domainRemoved = ok({ message: z.string(), reloaded: z.boolean(), certificates_removed: z.array(z.string()).meta({ description: 'Certificates no other domain used, removed with it' }) });
