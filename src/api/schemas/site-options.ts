/**
 * A site's options on POST /api/domain, one group per concern (issue 13):
 * structured fields only, never configuration text. A group sent replaces
 * that group (its absent fields take their defaults); a group not sent is
 * kept as stored. The answers show every group, defaults filled in.
 */
import { z } from 'zod';
import { encrypt } from 'unixcrypt';
import {
  AUTH_REALM, AUTH_USER, CRYPT_HASH, DEFAULT_COMPRESSION_TYPES, DEFAULT_SITE_OPTIONS, ERROR_STATUSES, HEADER_NAME, HEADER_VALUE, MIME_TYPE, REDIRECT_URL, SITE_PATH,
  type AccessPatch, type SiteOptions, type CompressionOptions, type ErrorStatus, type HeaderOptions, type HeaderRule, type HttpsOptions, type MaintenanceOptions, type PathRoute, type RedirectOptions,
} from '../../storage/site-options.js';
import { bool, int, ip, name } from './fields.js';

const code = <const T extends readonly number[]>(codes: T, description: string) =>
  z
    .number({ error: `must be one of ${codes.join(', ')}` })
    .refine((v): v is T[number] => codes.includes(v), { error: `must be one of ${codes.join(', ')}` })
    .meta({ description, enum: [...codes] });

/** Two years: the longest max-age browsers keep (and what preload lists ask for at least one year of). */
const MAX_AGE_LIMIT = 63_072_000;
const PRELOAD_MIN_AGE = 31_536_000;

export const httpsIn = z
  .strictObject({
    force: bool('Redirect plain HTTP to HTTPS (the ACME challenge path excepted); default false').optional(),
    redirect_code: code([301, 302, 307, 308] as const, 'The redirect for GET and HEAD (default 301)').optional(),
    redirect_code_other: code([307, 308] as const, 'The redirect for other methods, which keeps the method and body (default 308)').optional(),
    hsts: z
      .strictObject({
        max_age: int(0, MAX_AGE_LIMIT, 'Seconds browsers keep to HTTPS (0 tells them to forget)'),
        include_subdomains: bool('Every subdomain too (default false)').optional(),
        preload: bool('Ask to be preloaded by browsers (needs include_subdomains and a max_age of a year or more; default false)').optional(),
      })
      .nullable()
      .optional()
      .meta({ description: 'Strict-Transport-Security, sent on HTTPS answers only; null or absent: none' }),
  })
  .transform((h, ctx): HttpsOptions => {
    const hsts = h.hsts ? { maxAge: h.hsts.max_age, includeSubdomains: h.hsts.include_subdomains ?? false, preload: h.hsts.preload ?? false } : null;
    if (hsts?.preload && (!hsts.includeSubdomains || hsts.maxAge < PRELOAD_MIN_AGE)) {
      ctx.addIssue({ code: 'custom', path: ['hsts', 'preload'], message: `needs include_subdomains: true and a max_age of at least ${PRELOAD_MIN_AGE} (a year)` });
      return z.NEVER;
    }
    return { force: h.force ?? false, redirectCode: h.redirect_code ?? 301, redirectCodeOther: h.redirect_code_other ?? 308, hsts };
  })
  .meta({ description: 'HTTPS: force it with a redirect, and HSTS' });

export const httpsOut = z.strictObject({
  force: z.boolean(),
  redirect_code: z.number().int(),
  redirect_code_other: z.number().int(),
  hsts: z.strictObject({ max_age: z.number().int(), include_subdomains: z.boolean(), preload: z.boolean() }).nullable(),
});

/**
 * Headers the daemon itself sets or that frame the message: a site cannot
 * change them (the real-client-IP headers are how backends trust an
 * address; HSTS is the https group's).
 */
export const RESERVED_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection',
  'x-real-ip', 'x-forwarded-for', 'x-client-ip', 'x-forwarded-proto', 'x-request-reference', 'forwarded', 'cf-connecting-ip', 'true-client-ip',
  'strict-transport-security',
]);

const headerRule = z
  .strictObject({
    action: z.enum(['set', 'add', 'del'], { error: 'must be set, add or del' }).meta({ description: 'set replaces the header, add appends another, del removes it' }),
    name: z
      .string({ error: 'must be a header name' })
      .regex(HEADER_NAME, { error: 'must be a header name of 1 to 100 token characters (letters, digits and !#$%&\'*+.^_`|~-)' })
      .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), { error: 'is set by the daemon (or frames the message) and cannot be changed per site' }),
    value: z
      .string({ error: 'must be a string' })
      .regex(HEADER_VALUE, { error: 'must be 1 to 1000 printable ASCII characters, no surrounding spaces' })
      .optional()
      .meta({ description: 'The value for set and add (sent as written: no expressions); absent for del' }),
  })
  .transform((r, ctx): HeaderRule => {
    if (r.action === 'del' && r.value !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'is not taken by del' });
      return z.NEVER;
    }
    if (r.action !== 'del' && r.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is required for ${r.action}` });
      return z.NEVER;
    }
    return { action: r.action, name: r.name, value: r.value ?? null };
  });

const rules = (what: string) => z.array(headerRule, { error: 'must be a list of header rules' }).max(50, { error: 'must hold at most 50 rules' }).optional().meta({ description: what });

export const headersIn = z
  .strictObject({
    request: rules('Changes to the request before it reaches the backend, in order'),
    response: rules("Changes to the backend's answer, in order"),
  })
  .transform((h): HeaderOptions => ({ request: h.request ?? [], response: h.response ?? [] }))
  .meta({ description: 'Request and response header changes' });

const ruleOut = z.strictObject({ action: z.enum(['set', 'add', 'del']), name: z.string(), value: z.string().nullable() });
export const headersOut = z.strictObject({ request: z.array(ruleOut), response: z.array(ruleOut) });

const sitePath = (description: string) =>
  z
    .string({ error: 'must be a path' })
    .regex(SITE_PATH, { error: 'must be a path like /api/v1: "/" then letters, digits and ._~%+:@!,=- (no "//", no trailing "/", not "/" alone)' })
    .max(200, { error: 'must be at most 200 characters' })
    .meta({ description });

const route = z
  .strictObject({
    path: sitePath('The path (exact) or the prefix ("/api" covers "/api" and "/api/...", not "/apix")'),
    match: z.enum(['prefix', 'exact'], { error: 'must be prefix or exact' }).optional().meta({ description: 'prefix (default) or exact' }),
    backend: name("The backend these requests go to (another site's backend_name)"),
    strip_prefix: bool('Prefix routes: the backend sees the path without the prefix (default false)').optional(),
  })
  .transform((r, ctx): PathRoute => {
    const match = r.match ?? 'prefix';
    if (match === 'exact' && r.strip_prefix) {
      ctx.addIssue({ code: 'custom', path: ['strip_prefix'], message: 'applies to prefix routes only' });
      return z.NEVER;
    }
    return { path: r.path, match, backend: r.backend, stripPrefix: r.strip_prefix ?? false };
  });

export const routesIn = z
  .array(route, { error: 'must be a list of routes' })
  .max(100, { error: 'must hold at most 100 routes' })
  .superRefine((rs, ctx) => {
    const seen = new Set<string>();
    rs.forEach((r, i) => {
      const key = `${r.match} ${r.path}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `${r.match} ${r.path} is routed twice` });
      seen.add(key);
    });
  })
  .meta({ description: "Paths sent to other backends: an exact path first, then the longest prefix; the rest goes to the site's own backend" });

export const routesOut = z.array(z.strictObject({ path: z.string(), match: z.enum(['prefix', 'exact']), backend: z.string(), strip_prefix: z.boolean() }));

/** A user: a new password (hashed here with SHA-512 crypt, never stored or shown as sent), a crypt hash, or neither to keep the stored one. */
const authUser = z
  .strictObject({
    name: z.string({ error: 'must be a user name' }).regex(AUTH_USER, { error: 'must be 1 to 64 letters, digits and ._-' }),
    password: z
      .string({ error: 'must be a string' })
      .min(8, { error: 'must be at least 8 characters' })
      .max(128, { error: 'must be at most 128 characters' })
      .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, { error: 'must not hold control or format characters' })
      .optional()
      .meta({ description: 'A new password (hashed with SHA-512 crypt; never stored or shown as sent)' }),
    password_hash: z
      .string({ error: 'must be a string' })
      .regex(CRYPT_HASH, { error: 'must be a SHA-256 or SHA-512 crypt hash ("$5$..." or "$6$...", as `openssl passwd -6` prints)' })
      .optional()
      .meta({ description: 'A crypt hash instead of password' }),
  })
  .transform((u, ctx): { name: string; hash: string | null } => {
    if (u.password !== undefined && u.password_hash !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['password_hash'], message: 'send password or password_hash, not both' });
      return z.NEVER;
    }
    return { name: u.name, hash: u.password !== undefined ? encrypt(u.password) : u.password_hash ?? null };
  });


const ipList = (description: string) => z.array(ip('An address or a range'), { error: 'must be a list of addresses and ranges' }).max(1000, { error: 'must hold at most 1000 entries' }).optional().meta({ description });

export const accessIn = z
  .strictObject({
    deny: ipList('Real client addresses and ranges refused with 403 (wins over allow)'),
    allow: ipList('When not empty, only these real client addresses and ranges are admitted (403 for the others)'),
    trusted_only: bool('Only trusted addresses are admitted (default false)').optional(),
    auth: z
      .strictObject({
        realm: z.string({ error: 'must be a string' }).regex(AUTH_REALM, { error: 'must be 1 to 64 letters, digits, spaces inside and ._-' }).optional(),
        users: z.array(authUser, { error: 'must be a list of users' }).min(1, { error: 'must name at least one user' }).max(100, { error: 'must hold at most 100 users' }),
        paths: z.array(sitePath('A path prefix that asks for the password'), { error: 'must be a list of paths' }).max(20, { error: 'must hold at most 20 paths' }).optional(),
      })
      .nullable()
      .optional()
      .meta({ description: 'HTTP basic auth (HAProxy userlist, crypt hashes); paths absent or empty: the whole site' }),
  })
  .transform((a, ctx): AccessPatch => {
    const users = a.auth?.users ?? [];
    const seen = new Set<string>();
    for (const [i, u] of users.entries()) {
      if (seen.has(u.name)) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'users', i, 'name'], message: `"${u.name}" is listed twice` });
        return z.NEVER;
      }
      seen.add(u.name);
    }
    return {
      deny: a.deny ?? [],
      allow: a.allow ?? [],
      trustedOnly: a.trusted_only ?? false,
      auth: a.auth ? { realm: a.auth.realm ?? 'Restricted', users, paths: a.auth.paths ?? [] } : null,
    };
  })
  .meta({ description: 'Who may reach the site: address lists judged on the real client IP, trusted addresses only, basic auth' });

export const accessOut = z.strictObject({
  deny: z.array(z.string()),
  allow: z.array(z.string()),
  trusted_only: z.boolean(),
  auth: z.strictObject({ realm: z.string(), users: z.array(z.strictObject({ name: z.string() })), paths: z.array(z.string()) }).nullable().meta({ description: 'Users by name only: hashes are never shown' }),
});

export const redirectIn = z
  .strictObject({
    to: z
      .string({ error: 'must be a URL' })
      .max(500, { error: 'must be at most 500 characters' })
      .regex(REDIRECT_URL, { error: 'must be an http:// or https:// URL of letters, digits and ._~%+:@!,=&?/- (no fragment)' }),
    code: code([301, 302, 307, 308] as const, 'The redirect status (default 301)').optional(),
    keep_path: bool("Append the request's path and query to `to` (default true)").optional(),
  })
  .transform((r, ctx): RedirectOptions => {
    const keepPath = r.keep_path ?? true;
    if (keepPath && /[?]/.test(r.to)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'has a query: with keep_path the request\'s path and query are appended to it (send keep_path: false)' });
      return z.NEVER;
    }
    return { to: r.to, code: r.code ?? 301, keepPath };
  })
  .nullable()
  .meta({ description: 'Make the site a redirect (its servers are not used); null: none' });

export const redirectOut = z.strictObject({ to: z.string(), code: z.number().int(), keep_path: z.boolean() }).nullable();

export const compressionIn = z
  .strictObject({
    enabled: bool('Compress answers of these types (gzip)'),
    types: z
      .array(z.string({ error: 'must be a media type' }).regex(MIME_TYPE, { error: 'must be a lower-case media type like text/html' }), { error: 'must be a list of media types' })
      .min(1, { error: 'must name at least one type' })
      .max(30, { error: 'must hold at most 30 types' })
      .optional()
      .meta({ description: `Media types compressed (default ${DEFAULT_COMPRESSION_TYPES.join(', ')})` }),
  })
  .transform((c): CompressionOptions => ({ enabled: c.enabled, types: c.types ?? DEFAULT_COMPRESSION_TYPES }))
  .meta({ description: 'gzip compression of text answers' });

export const compressionOut = z.strictObject({ enabled: z.boolean(), types: z.array(z.string()) });

export const maintenanceIn = z
  .strictObject({
    enabled: bool('Answer every request (the ACME path excepted) with the maintenance page, 503'),
    retry_after: int(0, 86_400, `Seconds sent as Retry-After (default ${DEFAULT_SITE_OPTIONS.maintenance.retryAfter})`).optional(),
  })
  .transform((m): MaintenanceOptions => ({ enabled: m.enabled, retryAfter: m.retry_after ?? DEFAULT_SITE_OPTIONS.maintenance.retryAfter }))
  .meta({ description: 'Maintenance mode (also switched at runtime, without a reload: POST /api/domains/{domain}/maintenance)' });

export const maintenanceOut = z.strictObject({ enabled: z.boolean(), retry_after: z.number().int() });

const ERROR_PAGE_LIMIT = 65_536;
const errorPage = z
  .string({ error: 'must be an HTML page' })
  .min(1, { error: 'must not be empty (send null for none)' })
  .max(ERROR_PAGE_LIMIT, { error: `must be at most ${ERROR_PAGE_LIMIT} characters` })
  .regex(/^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$/, { error: 'must not hold control characters other than tab and line breaks' })
  .nullable()
  .optional();

export const errorPagesIn = z
  .strictObject({ '502': errorPage, '503': errorPage, '504': errorPage })
  .transform((e): Partial<Record<ErrorStatus, string>> => Object.fromEntries(ERROR_STATUSES.filter((s) => typeof e[s] === 'string').map((s) => [s, e[s] as string])))
  .meta({ description: "HTML pages HAProxy serves instead of its own for 502, 503 and 504 from the site's backend; null or absent: HAProxy's (or the global one)" });

export const errorPagesOut = z.strictObject({ '502': z.string().nullable(), '503': z.string().nullable(), '504': z.string().nullable() });

/** A site's options in the answers' shape (camelCase here; snake_case on the wire): every group, hashes left out. */
export function publicSite(o: SiteOptions) {
  return {
    https: o.https,
    headers: o.headers,
    routes: o.routes,
    access: { ...o.access, auth: o.access.auth ? { ...o.access.auth, users: o.access.auth.users.map((u) => ({ name: u.name })) } : null },
    redirect: o.redirect,
    compression: o.compression,
    maintenance: o.maintenance,
    errorPages: Object.fromEntries(ERROR_STATUSES.map((s) => [s, o.errorPages[s] ?? null])),
  };
}
