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

export interface SiteOptions {
  https: HttpsOptions;
  headers: HeaderOptions;
}

export const DEFAULT_SITE_OPTIONS: SiteOptions = {
  https: { force: false, redirectCode: 301, redirectCodeOther: 308, hsts: null },
  headers: { request: [], response: [] },
};

/** A header name in the token alphabet (RFC 9110). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** A header value: printable ASCII, spaces inside only. */
export const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]{0,998}[\x21-\x7e])?$/;

/** Groups a change sets; absent groups keep their stored value. */
export type SiteOptionsPatch = Partial<SiteOptions>;

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

/** The stored JSON as options, every group defaulted where absent or malformed. */
export function readSiteOptions(json: string | null): SiteOptions {
  let v: unknown = null;
  try {
    v = json ? JSON.parse(json) : null;
  } catch {
    v = null;
  }
  const o = isObj(v) ? v : {};
  return { https: readHttps(o.https), headers: readHeaders(o.headers) };
}

/** Whether a site needs anything beyond plain routing (the frontend's per-site lines). */
export function hasSiteOptions(o: SiteOptions): boolean {
  return o.https.force || o.https.hsts !== null || o.headers.request.length > 0 || o.headers.response.length > 0;
}
