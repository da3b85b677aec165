/** Blocked addresses, trusted addresses and trusted proxies: request bodies and answers. */
import { z } from 'zod';
import { bool, dryRunFlag, int, ip, note } from './fields.js';
import { ok } from './common.js';

const force = bool('Block an address the guardrails protect (audited); loopback and too-wide ranges are never blocked').optional();

export const blockBody = z.strictObject({
  ip_address: ip('An address or a network (203.0.113.7, 2001:db8::/48); never loopback, never wider than /16 (IPv4) or /32 (IPv6)', { allowCidr: true, exactNetwork: true }),
  reason: note('Why'),
  blocked_by: note('Who (default: the caller)', 100),
  force,
});

export const blockQuery = z.strictObject({
  dry_run: dryRunFlag('true: judge the block as the guardrails would (the same 400 and 403 answers) and change nothing'),
});

export const blockDryRunOut = ok({
  dry_run: z.literal(true),
  ip_address: z.string(),
  already_blocked: z.boolean(),
  covers_protected: z.array(z.string()).meta({ description: 'Protected ranges the block would cover (only with force: true; without it such a block is a 403)' }),
  message: z.string(),
});

export const temporaryBlockBody = (maxMinutes: number) =>
  z.strictObject({
    ip_address: ip('An address or a network, as for POST /api/blocked-ips', { allowCidr: true, exactNetwork: true }),
    duration_minutes: int(1, maxMinutes, `How long (default 60; at most blocks.max_duration_minutes, ${maxMinutes} here)`).optional(),
    reason: note('Why (default "temporary block")'),
    force,
  });

export const ipAddressOnly = z.strictObject({ ip_address: ip('The address or network as it was added') });

const scope = z
  .enum(['real_ip', 'source'], { error: 'must be "real_ip" (the client address, from trusted proxy headers) or "source" (the TCP peer)' })
  .meta({ description: 'real_ip: the client address from trusted proxy headers (default); source: the TCP peer' });

export const trustBody = z.strictObject({ ip_address: ip('An address or a network exempt from rate limits'), scope: scope.optional(), note: note('Why') });
export const untrustBody = z.strictObject({ ip_address: ip('The trusted address or network'), scope: scope.optional() });

export const proxyBody = z
  .strictObject({ cidr: ip('A proxy address or network whose forwarding headers are believed').optional(), ip_address: ip("The original's name for cidr").optional(), note: note('Why') })
  .transform((b, ctx) => {
    const cidr = b.cidr ?? b.ip_address;
    if (cidr === undefined) {
      ctx.addIssue({ code: 'custom', path: ['cidr'], message: 'is required' });
      return z.NEVER;
    }
    return { cidr, note: b.note ?? null };
  });
export const proxyRemoveBody = z
  .strictObject({ cidr: ip('The trusted proxy network').optional(), ip_address: ip("The original's name for cidr").optional() })
  .transform((b, ctx) => {
    const cidr = b.cidr ?? b.ip_address;
    if (cidr === undefined) {
      ctx.addIssue({ code: 'custom', path: ['cidr'], message: 'is required' });
      return z.NEVER;
    }
    return { cidr };
  });

const iso = z.iso.datetime({ offset: true });
const isoOrSqlite = iso;

export const blockedOut = z.strictObject({
  id: z.number().int(),
  ip_address: z.string(),
  reason: z.string().nullable(),
  blocked_at: isoOrSqlite,
  blocked_by: z.string().nullable(),
  expires_at: iso.nullable().meta({ description: 'When the block lapses; null: permanent' }),
  expiry_time: iso.nullable().meta({ description: "The original's name for expires_at" }),
});

export const trustedOut = z.strictObject({ id: z.number().int(), ip_address: z.string(), scope: z.enum(['real_ip', 'source']), note: z.string().nullable(), created_at: isoOrSqlite });
export const proxyOut = z.strictObject({ id: z.number().int(), cidr: z.string(), note: z.string().nullable(), created_at: isoOrSqlite });

export const blockedOk = ok({
  blocked_ip_id: z.number().int(),
  ip_address: z.string(),
  message: z.string(),
  runtime_map_updated: z.boolean(),
  reloaded: z.boolean(),
  warning: z.string().optional(),
});
export const temporaryBlockOk = ok({
  message: z.string(),
  ip_address: z.string(),
  expires_at: iso.nullable(),
  permanent: z.boolean(),
  created: z.boolean().meta({ description: 'false: the address was blocked already; its block was extended (never shortened)' }),
  runtime_map_updated: z.boolean(),
});
export const unblockedOk = ok({ message: z.string(), runtime_map_updated: z.boolean(), reloaded: z.boolean() });
export const syncOk = ok({ total_ips: z.number().int(), synced_ips: z.number().int(), runtime_map_synced: z.boolean(), reloaded: z.boolean() });
export const clearExpiredOk = ok({ cleared_ips: z.array(z.string()), runtime_map_failures: z.number().int(), runtime_map_updated: z.boolean() });
export const trustedOk = ok({ id: z.number().int(), ip_address: z.string(), scope: z.enum(['real_ip', 'source']), runtime_updated: z.boolean() });
export const proxyOk = ok({ id: z.number().int(), cidr: z.string(), runtime_updated: z.boolean() });
export const removedOk = ok({ message: z.string(), runtime_updated: z.boolean() });
