/**
 * A certificate request as it is queued for the fleet's leader
 * (fleet/cert-requests.ts) and carried out there (service.ts `carryOut`):
 * what the API was asked, not what to order, so the leader applies the same
 * rules as for a request made to it (skip what is covered, keep held names).
 *
 * `parseCertRequest` checks a body read back from PostgreSQL (the database
 * is shared infrastructure: a row is data, checked before it is acted on).
 */
import { z } from 'zod';
import { normalizeHostname } from '../validate/names.js';

const host = z.string().refine((v) => {
  try {
    return normalizeHostname(v, 'name', { allowWildcard: true }) === v;
  } catch {
    return false;
  }
}, 'must be a hostname');

const schema = z.discriminatedUnion('op', [
  /** POST /api/ssl: one certificate for `domain` (and www.<domain> when asked). */
  z.strictObject({ op: z.literal('request'), domain: host, include_www: z.boolean(), force: z.boolean() }),
  /** POST /api/certificates/request: one certificate each. */
  z.strictObject({ op: z.literal('request_many'), domains: z.array(host).min(1).max(1000), include_www: z.boolean(), force: z.boolean() }),
  /** POST /api/ssl/bundle: one certificate for exactly these names. */
  z.strictObject({ op: z.literal('bundle'), primary: host, names: z.array(host).min(1).max(100), force: z.boolean() }),
  /** POST /api/certificates/renew. */
  z.strictObject({ op: z.literal('renew'), domain: host.optional(), force: z.boolean() }),
]);

export type CertRequest = z.infer<typeof schema>;

export function parseCertRequest(body: unknown): CertRequest {
  return schema.parse(body);
}

/** The queue's kind (an order or a renewal) and the names it is about, for the operator's view. */
export function describeRequest(r: CertRequest): { kind: 'order' | 'renew'; names: string[] } {
  switch (r.op) {
    case 'request':
      return { kind: 'order', names: [r.domain] };
    case 'request_many':
      return { kind: 'order', names: r.domains };
    case 'bundle':
      return { kind: 'order', names: r.names };
    case 'renew':
      return { kind: 'renew', names: r.domain ? [r.domain] : [] };
  }
}
