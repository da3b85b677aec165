/**
 * What a node accepts from the fleet's change log before applying it: the
 * same shapes storage/pg/changes.ts writes, addresses in canonical form (as
 * the API stores them), free text passing the shared text check, times ISO
 * 8601. A change that fails is not repaired: it is skipped, logged and
 * audited as failed (fleet/sync.ts).
 */
import { z } from 'zod';
import { parseIp } from '../validate/ip.js';
import { safeText } from '../validate/text.js';
import type { IpChange } from '../storage/pg/changes.js';

const ip = z.string().refine((v) => parseIp(v)?.text === v, 'an address or network in canonical form');
const text = safeText().max(1000).nullable();
const iso = z.iso.datetime({ offset: true });
const scope = z.enum(['real_ip', 'source']);

export const ipChangeSchema: z.ZodType<IpChange> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('block'), ip, reason: text, blockedBy: text, expiresAt: iso.nullable() }),
  z.strictObject({ kind: z.literal('unblock'), ip }),
  z.strictObject({ kind: z.literal('trust'), ip, scope, note: text }),
  z.strictObject({ kind: z.literal('untrust'), ip, scope }),
]);
