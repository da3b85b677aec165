/**
 * Field schemas shared by the request schemas. Types are strict (a boolean is
 * true or false, not 1 or "true"; an integer is a JSON number) and nothing is
 * repaired: names, addresses and hostnames go through the validators in
 * src/validate/, which canonicalise (an IPv6 address is compressed, a
 * hostname lowercased and punycoded) or refuse, with their own reasons.
 */
import { z } from 'zod';
import { isAppError } from '../../errors.js';
import { normalizeHostname, validateIp, validateName, validateNote, validatePort, validateServerAddress } from '../../validate/names.js';

/** The reason a validator gave, as the field's zod issue. */
function checked<T>(check: (v: unknown) => T) {
  return (v: unknown, ctx: z.RefinementCtx): T => {
    try {
      return check(v);
    } catch (e) {
      if (!isAppError(e)) throw e;
      ctx.addIssue({ code: 'custom', message: e.message });
      return z.NEVER;
    }
  };
}

/** A field checked by one of the validators, described to OpenAPI as `json` says. */
export const validated = <T>(json: Record<string, unknown>, check: (v: unknown) => T) => z.unknown().transform(checked(check)).meta(json);

export const bool = (description: string) => z.boolean({ error: 'must be true or false' }).meta({ description });

/** `?dry_run=`: true, false, 1 or 0, given once (anything else is a 400, never read as false). */
export const dryRunFlag = (description: string) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'must be true, false, 1 or 0, given once' })
    .optional()
    .transform((v) => v === 'true' || v === '1')
    .meta({ description });

export const int = (min: number, max: number, description: string) =>
  z
    .number({ error: `must be an integer from ${min} to ${max}` })
    .int({ error: `must be an integer from ${min} to ${max}` })
    .min(min, { error: `must be an integer from ${min} to ${max}` })
    .max(max, { error: `must be an integer from ${min} to ${max}` })
    .meta({ description });

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T, description: string, message = `must be one of ${values.join(', ')}`) =>
  z.enum(values, { error: message }).meta({ description });

export const hostname = (description: string, opts: { allowWildcard?: boolean } = {}) =>
  validated({ type: 'string', format: 'hostname', maxLength: 253, description }, (v) => normalizeHostname(v, '', opts));

export const name = (description: string, max = 64) => validated({ type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: max, description }, (v) => validateName(v, '', max));

export const serverAddress = (description: string) => validated({ type: 'string', maxLength: 253, description }, (v) => validateServerAddress(v, ''));

export const port = (description: string) => validated({ type: 'integer', minimum: 1, maximum: 65535, description }, (v) => validatePort(v, ''));

/** An address or a range (CIDR), canonical; `exactNetwork`: 10.0.0.1/8 is refused (write 10.0.0.0/8). */
export const ip = (description: string, opts: { allowCidr?: boolean; exactNetwork?: boolean } = { allowCidr: true }) =>
  validated({ type: 'string', description, examples: ['203.0.113.7', '2001:db8::/48'] }, (v) => validateIp(v, '', opts));

/** Free text (a reason, a note): absent, null or "" is none. */
export const note = (description: string, max = 500) => validated({ type: ['string', 'null'], maxLength: max, description }, (v) => validateNote(v, '', max)).optional();

/** A positive id in a path or a query string (digits only). */
export const idParam = (description: string) =>
  z.string().regex(/^[1-9]\d{0,15}$/, { error: 'must be a positive integer (digits only), given once' }).transform(Number).meta({ description, type: 'string', pattern: '^[1-9][0-9]*$' });

/** A query limit. */
export const limitParam = (max: number, dflt: number) =>
  z
    .string({ error: `must be an integer from 1 to ${max}` })
    .regex(/^[1-9]\d{0,5}$/, { error: `must be an integer from 1 to ${max}` })
    .transform(Number)
    .refine((n) => n <= max, { error: `must be an integer from 1 to ${max}` })
    .optional()
    .transform((n) => n ?? dflt)
    .meta({ description: `At most this many, newest first (1 to ${max}; default ${dflt})` });

/**
 * The fields every server takes, in a domain's backend and in a TCP service
 * (the two schemas add their own): name, address, port, check, backup,
 * weight, maxconn. `of`: what the server belongs to, for the descriptions.
 */
export const serverCoreFields = (of: 'backend' | 'service') => ({
  name: name(`The server name, unique in its ${of}`),
  address: serverAddress('An IP address or a hostname (resolved by HAProxy)'),
  port: port('TCP port'),
  check: bool(`Health-check the server${of === 'service' ? ' with a TCP connect' : ''} (default true)`).optional(),
  backup: bool('Use only when no other server is up (default false)').optional(),
  weight: int(0, 256, `Share of the ${of === 'service' ? 'connections' : 'traffic'} (default 100; 0 takes none)`).optional(),
  maxconn: int(1, 1_000_000, 'Concurrent connections to the server; null: no limit').nullable().optional(),
});
