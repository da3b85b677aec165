/**
 * What a node accepts from the fleet's change log before applying it: the
 * same shapes storage/pg/changes.ts and config-changes.ts write, addresses in
 * canonical form (as the API stores them), free text passing the shared text
 * check, times ISO 8601, a server's state one of ready, drain, maint with
 * backend and server names in canonical form. A domain or TCP service body
 * is checked by the API's own schema for POST /api/domain or
 * POST /api/tcp-services (the same rules
 * a local change meets), and must name the entity its change is keyed by. A
 * change that fails is not repaired: it is skipped, logged and audited as
 * failed (fleet/sync.ts).
 */
import { z } from 'zod';
import { parseIp } from '../validate/ip.js';
import { safeText } from '../validate/text.js';
import { normalizeHostname, validateName } from '../validate/names.js';
import type { IpChange } from '../storage/pg/changes.js';
import type { DomainInput } from '../storage/domains.js';
import type { TcpServiceInput } from '../storage/tcp-services.js';
import { domainBody } from '../api/schemas/domains.js';
import { tcpServiceBody } from '../api/schemas/tcp-services.js';

const ip = z.string().refine((v) => parseIp(v)?.text === v, 'an address or network in canonical form');
const text = safeText().max(1000).nullable();
const iso = z.iso.datetime({ offset: true });
const scope = z.enum(['real_ip', 'source']);
/** A value a validator leaves exactly as it is (canonical already); a throw or a change is a refusal. */
const canonical = (check: (v: string) => string, what: string) =>
  z.string().refine((v) => {
    try {
      return check(v) === v;
    } catch {
      return false;
    }
  }, what);
const domainName = canonical((v) => normalizeHostname(v, '', { allowWildcard: true }), 'a host name in canonical form');
const entityName = canonical((v) => validateName(v, '', 64), 'a name of letters, digits and ._-');

const ipKinds = [
  z.strictObject({ kind: z.literal('block'), ip, reason: text, blockedBy: text, expiresAt: iso.nullable() }),
  z.strictObject({ kind: z.literal('unblock'), ip }),
  z.strictObject({ kind: z.literal('trust'), ip, scope, note: text }),
  z.strictObject({ kind: z.literal('untrust'), ip, scope }),
] as const;

export const ipChangeSchema: z.ZodType<IpChange> = z.discriminatedUnion('kind', [...ipKinds]);

/** A configuration change as checked: domains and TCP services as the API's schemas leave them (ready for storage). */
export type CheckedConfigChange =
  | { kind: 'domain'; domain: string; input: DomainInput }
  | { kind: 'domain_delete'; domain: string }
  | { kind: 'tcp_service'; name: string; input: TcpServiceInput }
  | { kind: 'tcp_service_delete'; name: string }
  | { kind: 'trusted_proxy'; cidr: string; note: string | null }
  | { kind: 'trusted_proxy_remove'; cidr: string }
  | { kind: 'server_state'; backend: string; server: string; state: 'ready' | 'drain' | 'maint' };

const configKinds = [
  z
    .strictObject({ kind: z.literal('domain'), domain: domainName, body: domainBody })
    .refine((c) => c.body.domain === c.domain, { path: ['body', 'domain'], message: 'is not the domain the change is about' })
    .transform((c): CheckedConfigChange => ({ kind: 'domain', domain: c.domain, input: c.body })),
  z.strictObject({ kind: z.literal('domain_delete'), domain: domainName }),
  z
    .strictObject({ kind: z.literal('tcp_service'), name: entityName, body: tcpServiceBody })
    .refine((c) => c.body.name === c.name, { path: ['body', 'name'], message: 'is not the service the change is about' })
    .transform((c): CheckedConfigChange => ({ kind: 'tcp_service', name: c.name, input: c.body })),
  z.strictObject({ kind: z.literal('tcp_service_delete'), name: entityName }),
  z.strictObject({ kind: z.literal('trusted_proxy'), cidr: ip, note: text }),
  z.strictObject({ kind: z.literal('trusted_proxy_remove'), cidr: ip }),
  // A server's administrative state, as POST /api/servers/state takes it (names canonical: never repaired).
  z.strictObject({ kind: z.literal('server_state'), backend: entityName, server: entityName, state: z.enum(['ready', 'drain', 'maint']) }),
] as const;

export const configChangeSchema: z.ZodType<CheckedConfigChange, unknown> = z.discriminatedUnion('kind', [...configKinds]) as z.ZodType<CheckedConfigChange, unknown>;

export type CheckedChange = IpChange | CheckedConfigChange;

/** Every kind of change a node applies: addresses and configuration. */
export const fleetChangeSchema: z.ZodType<CheckedChange, unknown> = z.discriminatedUnion('kind', [...ipKinds, ...configKinds]) as z.ZodType<CheckedChange, unknown>;
