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

export interface SiteOptions {
  https: HttpsOptions;
}

export const DEFAULT_SITE_OPTIONS: SiteOptions = {
  https: { force: false, redirectCode: 301, redirectCodeOther: 308, hsts: null },
};

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

/** The stored JSON as options, every group defaulted where absent or malformed. */
export function readSiteOptions(json: string | null): SiteOptions {
  let v: unknown = null;
  try {
    v = json ? JSON.parse(json) : null;
  } catch {
    v = null;
  }
  const o = isObj(v) ? v : {};
  return { https: readHttps(o.https) };
}

/** Whether a site needs anything beyond plain routing (the frontend's per-site lines). */
export function hasSiteOptions(o: SiteOptions): boolean {
  return o.https.force || o.https.hsts !== null;
}
