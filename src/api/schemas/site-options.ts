/**
 * A site's options on POST /api/domain, one group per concern (issue 13):
 * structured fields only, never configuration text. A group sent replaces
 * that group (its absent fields take their defaults); a group not sent is
 * kept as stored. The answers show every group, defaults filled in.
 */
import { z } from 'zod';
import type { HttpsOptions } from '../../storage/site-options.js';
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
