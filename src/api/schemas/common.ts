/** Answer pieces every resource shares: the success wrapper and the one error envelope. */
import { z } from 'zod';

/** `{status: "success", ...}`, the original's success shape. */
export const ok = <T extends z.ZodRawShape>(shape: T) => z.strictObject({ status: z.literal('success'), ...shape });

export const ERROR_KINDS = [
  'validation',
  'haproxy_check',
  'unauthorized',
  'policy_denied',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'too_large',
  'unsupported_media_type',
  'config',
  'internal',
  'runtime',
  'acme',
  'upstream',
  'unavailable',
  'storage',
  'timeout',
] as const;

/** The one error body (api/errors.ts envelope). */
export const errorEnvelope = z
  .object({
    status: z.literal('error'),
    error: z.enum(ERROR_KINDS).meta({ description: 'The kind of error; the HTTP status follows from it' }),
    message: z.string().meta({ description: 'What went wrong, for a person; starts with the field when there is one' }),
    field: z.string().optional().meta({ description: 'The request field at fault (servers[1].port, (body) for the body itself)' }),
    detail: z.unknown().optional().meta({ description: "Safe detail: HAProxy's own error lines, the guardrail that refused, the allowed methods" }),
  })
  .meta({ description: 'The one error body' });

export const errorExample = { status: 'error', error: 'validation', field: 'servers[0].port', message: 'servers[0].port: must be an integer from 1 to 65535' };
