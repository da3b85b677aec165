/**
 * A site's options on POST /api/domain, one group per concern (issue 13):
 * structured fields only, never configuration text. A group sent replaces
 * that group (its absent fields take their defaults); a group not sent is
 * kept as stored. The answers show every group, defaults filled in.
 */
import { z } from 'zod';
import { HEADER_NAME, HEADER_VALUE, type HeaderOptions, type HeaderRule, type HttpsOptions } from '../../storage/site-options.js';
import { bool, int } from './fields.js';

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
