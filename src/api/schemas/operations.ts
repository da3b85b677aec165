/**
 * Health, configuration (regenerate, reload, preview), server state, the
 * security table and certificates: request bodies and answers.
 */
import { z } from 'zod';
import { bool, dryRunFlag, hostname, name } from './fields.js';
import { ok } from './common.js';

const iso = z.iso.datetime({ offset: true });

export const healthOut = z.strictObject({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  degraded: z.array(z.string()).optional().meta({ description: 'Why the monitor cannot see what HAProxy serves (HAProxy itself serves)' }),
  haproxy_status: z.enum(['running', 'stopped']),
  database: z.enum(['connected', 'error']),
  reason: z.string().optional(),
  haproxy: z.strictObject({ version: z.string(), mode: z.string(), master_pid: z.number().int().nullable(), workers: z.number().int() }),
  protections: z.array(z.strictObject({ name: z.string(), active: z.boolean(), note: z.string().optional() })),
});

export const appliedOk = ok({ reloaded: z.boolean(), warning: z.string().optional() });
export const previewOk = ok({ config: z.string(), files: z.record(z.string(), z.string()), diff: z.string() });

export const dryRunQuery = z.strictObject({
  dry_run: dryRunFlag('true: answer the diff and `haproxy -c` verdict of the change without applying it'),
});

export const domainParam = z.strictObject({ domain: hostname('A domain of a managed certificate', { allowWildcard: true }) });

export const serverStateBody = z.strictObject({
  backend: name('The backend, as named in POST /api/domain'),
  server: name('The server'),
  state: z.enum(['ready', 'drain', 'maint'], { error: 'must be ready, drain or maint' }).meta({ description: 'ready: takes traffic; drain: no new sessions; maint: none at all' }),
});
export const serverStateOk = ok({ backend: z.string(), server: z.string(), state: z.enum(['ready', 'drain', 'maint']), runtime_updated: z.boolean() });

const intString = (min: number, max: number, dflt: number, description: string) =>
  z
    .string()
    .regex(/^\d{1,10}$/, { error: `must be an integer from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: `must be an integer from ${min} to ${max}` })
    .optional()
    .transform((n) => n ?? dflt)
    .meta({ description });

export const securityStatsQuery = z.strictObject({
  limit: intString(1, 1000, 50, 'At most this many sources (default 50)'),
  min_req_rate: intString(0, 1_000_000_000, 1, 'Only sources with at least this request rate (default 1)'),
});

export const securityStatsOk = ok({
  table: z.string(),
  table_size: z.number().int(),
  total_tracked_ips: z.number().int(),
  sources_with_activity: z.number().int(),
  counters: z.array(z.string()),
  counter_windows_ms: z.record(z.string(), z.number()),
  returned: z.number().int(),
  min_req_rate: z.number().int(),
  sources: z.array(z.strictObject({ ip: z.string(), conn_cur: z.number(), conn_rate: z.number(), http_req_rate: z.number(), http_err_rate: z.number() })),
});

// --- certificates --------------------------------------------------------------

const names = (max: number, description: string) =>
  z
    .union([hostname('A hostname', { allowWildcard: true }), z.array(hostname('A hostname', { allowWildcard: true }), { error: 'must be a hostname or a non-empty list of hostnames' })], {
      error: 'must be a hostname or a non-empty list of hostnames',
    })
    .transform((v, ctx) => {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0 || list.length > max) {
        ctx.addIssue({ code: 'custom', message: list.length === 0 ? 'must be a hostname or a non-empty list of hostnames' : `must hold at most ${max} names` });
        return z.NEVER;
      }
      return [...new Set(list)];
    })
    .meta({ description });

const includeWww = bool('Also put www.<name> on the certificate (default false: only the names asked for; never for a wildcard or a www. name)');
const force = bool('Order even when a valid certificate (not due for renewal) already covers the names (default false: skipped, and the answer says so)');

export const sslBody = z.strictObject({
  domain: hostname('The name to certify', { allowWildcard: true }),
  include_www: includeWww.optional(),
  force: force.optional(),
});
export const bundleBody = z.strictObject({
  primary: hostname('The certificate\'s first name (its file is named after it)', { allowWildcard: true }),
  sans: names(99, 'More names on the same certificate (at most 99)').optional(),
  force: force.optional(),
});
export const requestBody = z
  .strictObject({
    domains: names(500, 'Names to certify, one certificate each').optional(),
    domain: names(1, 'One name (when domains is absent)').optional(),
    include_www: includeWww.optional(),
    force: force.optional(),
    force_renewal: bool('The original\'s name for force (either one set to true forces)').optional(),
  })
  .transform((b, ctx) => {
    const domains = b.domains ?? b.domain;
    if (!domains) {
      ctx.addIssue({ code: 'custom', path: ['domains'], message: 'must be a hostname or a non-empty list of hostnames' });
      return z.NEVER;
    }
    return { domains, includeWww: b.include_www ?? false, force: b.force === true || b.force_renewal === true };
  });
export const renewBody = z.strictObject({
  domain: hostname('Renew only the certificate of this name', { allowWildcard: true }).optional(),
  force: bool('Renew even when not due (default false)').optional(),
});
export const dnsChallengeBody = z.strictObject({ domain: hostname('The base domain (a leading "*." is dropped)', { allowWildcard: true }) });

export const certResult = z.strictObject({
  domain: z.string(),
  names: z.array(z.string()),
  status: z.enum(['success', 'renewed', 'skipped', 'failed']),
  cert_path: z.string().optional(),
  not_after: iso.optional(),
  serial: z.string().optional(),
  message: z.string().optional(),
  error: z.string().optional(),
  covered_by: z.string().optional().meta({ description: 'skipped: the valid certificate that already covers the names' }),
});
const certSummary = z.strictObject({ total: z.number().int(), successful: z.number().int(), skipped: z.number().int(), failed: z.number().int() });

const skippedFlag = z.boolean().optional().meta({ description: 'true: a valid certificate already covered the names and nothing was ordered (message says which; force to order anyway)' });
const coveredBy = z.string().optional().meta({ description: 'skipped: the certificate that covers the names' });
export const sslOk = ok({
  domain: z.string(),
  names: z.array(z.string()).optional().meta({ description: 'The names on the certificate (those asked for, plus any it already held)' }),
  cert_path: z.string().optional(),
  not_after: iso.optional(),
  serial: z.string().optional(),
  message: z.string().optional(),
  skipped: skippedFlag,
  covered_by: coveredBy,
});
export const bundleOk = ok({ primary: z.string(), names: z.array(z.string()), cert_path: z.string().optional(), not_after: iso.optional(), serial: z.string().optional(), cleanup: z.unknown(), message: z.string(), skipped: skippedFlag, covered_by: coveredBy });
export const requestOut = z.strictObject({ status: z.literal('completed'), summary: certSummary, results: z.array(certResult) });
export const renewOut = z.strictObject({
  status: z.enum(['success', 'partial_success', 'error']),
  summary: certSummary,
  results: z.array(certResult),
  failures: z.array(certResult).optional(),
});
export const certStatusOut = z.strictObject({
  certificates: z.array(
    z.strictObject({
      domain: z.string(),
      names: z.array(z.string()),
      ssl_enabled: z.literal(true),
      cert_path: z.string(),
      issuer: z.string().nullable(),
      serial: z.string().nullable(),
      key_type: z.string().nullable(),
      challenge: z.string().nullable(),
      self_signed: z.boolean(),
      not_before: iso.nullable(),
      expires: iso.nullable(),
      days_until_expiry: z.number().int().nullable(),
      renewal_due: z.boolean(),
      last_error: z.string().nullable(),
      failures: z.number().int(),
      next_attempt_at: iso.nullable(),
    }),
  ),
});
export const dnsRequestOk = z.strictObject({
  success: z.literal(true),
  data: z.strictObject({
    challenge_token: z.string().optional(),
    record_name: z.string().optional(),
    records: z.array(z.strictObject({ name: z.string(), value: z.string() }).loose()),
    base_domain: z.string(),
  }),
});
export const dnsVerifyOk = z.strictObject({
  success: z.literal(true),
  data: z.strictObject({ domain: z.string(), cert_path: z.string(), not_after: iso.nullable().optional(), message: z.string() }),
});
