/**
 * A site's options, as the domains table keeps them (the `options` column,
 * JSON, migration 10). One group per concern; a group a change does not
 * name is kept as it was (storage/domains.ts upsertDomain), so a client that
 * knows only the original's fields never wipes what the console set.
 *
 * Contract: values here were validated by the API's schema
 * (api/schemas/site-options.ts); `readSiteOptions` still refuses a stored
 * value of the wrong shape (a hand-edited database) by falling back to the
 * defaults for that group, never by rendering it.
 */

export type HttpsRedirectCode = 301 | 302 | 307 | 308;

export interface HttpsOptions {
  /** Redirect plain HTTP to HTTPS (the ACME challenge path excepted). */
  force: boolean;
  /** For GET and HEAD. */
  redirectCode: HttpsRedirectCode;
  /** For other methods: a code that keeps the method and body. */
  redirectCodeOther: 307 | 308;
  /** Strict-Transport-Security, sent over TLS only; null: none. */
  hsts: { maxAge: number; includeSubdomains: boolean; preload: boolean } | null;
}

/** One header change: set (replace), add (append another), or delete; value null for delete. */
export interface HeaderRule {
  action: 'set' | 'add' | 'del';
  name: string;
  value: string | null;
}

export interface HeaderOptions {
  /** Applied to the request before it goes to the backend. */
  request: HeaderRule[];
  /** Applied to the backend's answer. */
  response: HeaderRule[];
}

/** A path sent to another backend: `prefix` covers the path and everything under it ("/api", "/api/..."). */
export interface PathRoute {
  path: string;
  match: 'prefix' | 'exact';
  /** The target backend's name (another site's backend). */
  backend: string;
  /** Prefix routes only: the backend sees the path without the prefix ("/api/x" -> "/x"). */
  stripPrefix: boolean;
}

export interface AuthUser {
  name: string;
  /** A crypt(3) hash ($5$ or $6$); never shown by the API. */
  hash: string;
}

export interface AccessOptions {
  /** Real client addresses and ranges refused (403); wins over allow. */
  deny: string[];
  /** When not empty, only these real client addresses and ranges are admitted. */
  allow: string[];
  /** Only trusted addresses (the trusted list, by real IP or source) are admitted. */
  trustedOnly: boolean;
  /** HTTP basic auth; `paths` empty: the whole site. */
  auth: { realm: string; users: AuthUser[]; paths: string[] } | null;
}

export type RedirectCode = 301 | 302 | 307 | 308;

/** A site that only redirects: every request (the ACME path excepted) to `to`, with its path and query when keepPath. */
export interface RedirectOptions {
  to: string;
  code: RedirectCode;
  keepPath: boolean;
}

export interface CompressionOptions {
  enabled: boolean;
  types: string[];
}

export interface MaintenanceOptions {
  enabled: boolean;
  /** Seconds, sent as Retry-After with the 503. */
  retryAfter: number;
}

export type ErrorStatus = '502' | '503' | '504';
export const ERROR_STATUSES: readonly ErrorStatus[] = ['502', '503', '504'];

export interface SiteOptions {
  https: HttpsOptions;
  headers: HeaderOptions;
  routes: PathRoute[];
  access: AccessOptions;
  redirect: RedirectOptions | null;
  compression: CompressionOptions;
  maintenance: MaintenanceOptions;
  /** HTML bodies HAProxy serves instead of its own for these statuses. */
  errorPages: Partial<Record<ErrorStatus, string>>;
}

export const DEFAULT_COMPRESSION_TYPES = ['text/html', 'text/plain', 'text/css', 'text/javascript', 'application/javascript', 'application/json', 'image/svg+xml'];

export const DEFAULT_SITE_OPTIONS: SiteOptions = {
  https: { force: false, redirectCode: 301, redirectCodeOther: 308, hsts: null },
  headers: { request: [], response: [] },
  routes: [],
  access: { deny: [], allow: [], trustedOnly: false, auth: null },
  redirect: null,
  compression: { enabled: false, types: DEFAULT_COMPRESSION_TYPES },
  maintenance: { enabled: false, retryAfter: 300 },
  errorPages: {},
};

/** A route or auth path: "/" then URL path characters that are safe as one config word; no "//", no trailing "/". */
export const SITE_PATH = /^(\/[A-Za-z0-9._~%+:@!,=-]+)+$/;
/** A user name in a userlist. */
export const AUTH_USER = /^[A-Za-z0-9._-]{1,64}$/;
/** SHA-256 or SHA-512 crypt, as glibc and libxcrypt make and check them. */
export const CRYPT_HASH = /^\$[56]\$(rounds=[0-9]{4,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{43,86}$/;
/** A realm: letters, digits, spaces inside and a few marks (quoted in the config). */
export const AUTH_REALM = /^[A-Za-z0-9._-][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-]$|^[A-Za-z0-9._-]$/;
/** A media type for compression. */
export const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;
/** A redirect target: an http(s) URL of safe characters, no fragment. */
export const REDIRECT_URL = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~%+:@!,=&?\/-]*)?$/;

/** A header name in the token alphabet (RFC 9110). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** A header value: printable ASCII, spaces inside only. */
export const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]{0,998}[\x21-\x7e])?$/;

/** An access group as a change sends it: a user whose hash is null keeps the stored one (upsertDomain resolves it). */
export type AccessPatch = Omit<AccessOptions, 'auth'> & { auth: { realm: string; users: { name: string; hash: string | null }[]; paths: string[] } | null };

/** Groups a change sets; absent groups keep their stored value. */
export type SiteOptionsPatch = Partial<Omit<SiteOptions, 'access'>> & { access?: AccessPatch };

/**
 * The access group to store: users sent without a password keep their stored
 * hash; one with neither is an error naming the user (a validation error for the API).
 */
export function resolveAccess(patch: AccessPatch, stored: AccessOptions): AccessOptions | { missing: number } {
  if (!patch.auth) return { ...patch, auth: null };
  const old = new Map((stored.auth?.users ?? []).map((u) => [u.name, u.hash]));
  const users: AuthUser[] = [];
  for (const [i, u] of patch.auth.users.entries()) {
    const hash = u.hash ?? old.get(u.name);
    if (!hash) return { missing: i };
    users.push({ name: u.name, hash });
  }
  return { ...patch, auth: { ...patch.auth, users } };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function readHttps(v: unknown): HttpsOptions {
  const d = DEFAULT_SITE_OPTIONS.https;
  if (!isObj(v)) return d;
  const codes = [301, 302, 307, 308];
  const hsts = v.hsts;
  const okHsts = isObj(hsts) && Number.isInteger(hsts.maxAge) && typeof hsts.includeSubdomains === 'boolean' && typeof hsts.preload === 'boolean';
  if (typeof v.force !== 'boolean' || !codes.includes(v.redirectCode as number) || ![307, 308].includes(v.redirectCodeOther as number) || (hsts !== null && !okHsts)) return d;
  return {
    force: v.force,
    redirectCode: v.redirectCode as HttpsRedirectCode,
    redirectCodeOther: v.redirectCodeOther as 307 | 308,
    hsts: okHsts ? { maxAge: hsts.maxAge as number, includeSubdomains: hsts.includeSubdomains as boolean, preload: hsts.preload as boolean } : null,
  };
}

function readRules(v: unknown): HeaderRule[] | null {
  if (!Array.isArray(v)) return null;
  const out: HeaderRule[] = [];
  for (const r of v) {
    if (!isObj(r) || !['set', 'add', 'del'].includes(r.action as string) || typeof r.name !== 'string' || !HEADER_NAME.test(r.name)) return null;
    const value = r.value === null || r.value === undefined ? null : r.value;
    if ((r.action === 'del') !== (value === null) || (value !== null && (typeof value !== 'string' || !HEADER_VALUE.test(value)))) return null;
    out.push({ action: r.action as HeaderRule['action'], name: r.name, value: value as string | null });
  }
  return out;
}

function readHeaders(v: unknown): HeaderOptions {
  if (!isObj(v)) return DEFAULT_SITE_OPTIONS.headers;
  const request = readRules(v.request);
  const response = readRules(v.response);
  return request && response ? { request, response } : DEFAULT_SITE_OPTIONS.headers;
}

const strings = (v: unknown, re?: RegExp): string[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === 'string' && (!re || re.test(x))) ? (v as string[]) : null;

function readRoutes(v: unknown): PathRoute[] {
  if (!Array.isArray(v)) return [];
  const ok = v.every(
    (r) => isObj(r) && typeof r.path === 'string' && SITE_PATH.test(r.path) && (r.match === 'prefix' || r.match === 'exact') && typeof r.backend === 'string' && typeof r.stripPrefix === 'boolean',
  );
  return ok ? (v as PathRoute[]).map((r) => ({ path: r.path, match: r.match, backend: r.backend, stripPrefix: r.stripPrefix })) : [];
}

function readAccess(v: unknown): AccessOptions {
  const d = DEFAULT_SITE_OPTIONS.access;
  if (!isObj(v)) return d;
  const deny = strings(v.deny);
  const allow = strings(v.allow);
  let auth: AccessOptions['auth'] = null;
  if (isObj(v.auth)) {
    const a = v.auth;
    const users = Array.isArray(a.users) && a.users.every((u) => isObj(u) && typeof u.name === 'string' && AUTH_USER.test(u.name) && typeof u.hash === 'string' && CRYPT_HASH.test(u.hash));
    const paths = strings(a.paths, SITE_PATH);
    if (!users || !paths || typeof a.realm !== 'string' || !AUTH_REALM.test(a.realm)) return d;
    auth = { realm: a.realm, users: (a.users as AuthUser[]).map((u) => ({ name: u.name, hash: u.hash })), paths };
  } else if (v.auth !== null && v.auth !== undefined) return d;
  if (!deny || !allow || typeof v.trustedOnly !== 'boolean') return d;
  return { deny, allow, trustedOnly: v.trustedOnly, auth };
}

function readRedirect(v: unknown): RedirectOptions | null {
  if (!isObj(v) || typeof v.to !== 'string' || !REDIRECT_URL.test(v.to) || ![301, 302, 307, 308].includes(v.code as number) || typeof v.keepPath !== 'boolean') return null;
  return { to: v.to, code: v.code as RedirectCode, keepPath: v.keepPath };
}

function readCompression(v: unknown): CompressionOptions {
  const types = isObj(v) ? strings(v.types, MIME_TYPE) : null;
  return isObj(v) && typeof v.enabled === 'boolean' && types && types.length ? { enabled: v.enabled, types } : DEFAULT_SITE_OPTIONS.compression;
}

function readMaintenance(v: unknown): MaintenanceOptions {
  return isObj(v) && typeof v.enabled === 'boolean' && Number.isInteger(v.retryAfter) && (v.retryAfter as number) >= 0
    ? { enabled: v.enabled, retryAfter: v.retryAfter as number }
    : DEFAULT_SITE_OPTIONS.maintenance;
}

function readErrorPages(v: unknown): SiteOptions['errorPages'] {
  if (!isObj(v)) return {};
  const out: SiteOptions['errorPages'] = {};
  for (const s of ERROR_STATUSES) if (typeof v[s] === 'string') out[s] = v[s] as string;
  return out;
}

/** The stored JSON as options, every group defaulted where absent or malformed. */
export function readSiteOptions(json: string | null): SiteOptions {
  let v: unknown = null;
  try {
    v = json ? JSON.parse(json) : null;
  } catch {
    v = null;
  }
  const o = isObj(v) ? v : {};
  return {
    https: readHttps(o.https),
    headers: readHeaders(o.headers),
    routes: readRoutes(o.routes),
    access: readAccess(o.access),
    redirect: readRedirect(o.redirect),
    compression: readCompression(o.compression),
    maintenance: readMaintenance(o.maintenance),
    errorPages: readErrorPages(o.errorPages),
  };
}

/** Whether a site needs anything beyond plain routing (the frontend's per-site lines). */
export function hasSiteOptions(o: SiteOptions): boolean {
  const a = o.access;
  return (
    o.https.force || o.https.hsts !== null || o.headers.request.length > 0 || o.headers.response.length > 0 || o.routes.length > 0 ||
    a.deny.length > 0 || a.allow.length > 0 || a.trustedOnly || a.auth !== null || o.redirect !== null || o.compression.enabled ||
    o.maintenance.enabled || Object.keys(o.errorPages).length > 0
  );
}
