/**
 * What a node accepts of another node's remediation action from PostgreSQL
 * (storage/pg/actions.ts) before it lists it or acts on it: the row's ids and
 * nodes, and its record as actions-sync.ts writes it (camelCase, times in
 * epoch milliseconds). The record meets the rules the local `actions` table
 * holds its own to: a registered action; a target its unit accepts as
 * written (canonical: an address as the API stores it), none for a
 * targetless action (a refused record may carry what was refused, as text);
 * a daemon-made block has a TTL; names pass the shared text check; free text
 * (reasons, results, a model's summary) is bounded and may hold line breaks
 * but no other control or bidirectional characters. A row that fails is not
 * repaired: it is skipped, logged and audited as failed (actions-sync.ts).
 */
import { z } from 'zod';
import { ACTION_STATUSES } from '../pipeline/policy/actions.js';
import { ACTION_TYPES, isAction, unitOf } from '../pipeline/actions/registry.js';
import { documentProblem, safeText } from '../validate/text.js';
import { nodeName } from '../config/fleet.js';
import type { RemoteAction } from '../storage/fleet-actions.js';
import type { StoredAction } from '../storage/pg/actions.js';

const ms = z.number().int().nonnegative().max(8.64e15);
const name = safeText().min(1).max(200).nullable();
const doc = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((s, ctx) => {
      const problem = documentProblem(s);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });

/** The record as written to PostgreSQL's `body`. */
export const actionBodySchema = z
  .strictObject({
    createdAt: ms,
    updatedAt: ms,
    action: z.enum(ACTION_TYPES),
    target: safeText().min(1).max(200).nullable(),
    ttlS: z.number().int().positive().max(10 * 365 * 86_400).nullable(),
    expiresAt: ms.nullable(),
    decidedBy: z.enum(['rule', 'llm', 'person']),
    actor: name,
    mode: z.enum(['enforce', 'propose', 'dry-run', 'refused']),
    status: z.enum(ACTION_STATUSES),
    reason: doc(2000),
    analysisSummary: doc(1000).nullable(),
    result: doc(2000).nullable(),
    reviewedBy: name,
    revertsFleetId: z.uuid().nullable(),
  })
  .superRefine((b, ctx) => {
    if (!isAction(b.action)) return;
    const unit = unitOf(b.action);
    if (b.mode !== 'refused') {
      if (unit.targetKind === 'none') {
        if (b.target !== null) ctx.addIssue({ code: 'custom', path: ['target'], message: `${b.action} has no target` });
      } else {
        let ok = false;
        try {
          ok = unit.text(unit.validate(b.target)) === b.target;
        } catch {
          ok = false;
        }
        if (!ok) ctx.addIssue({ code: 'custom', path: ['target'], message: `not a ${unit.targetKind === 'ip' ? 'canonical address or network' : 'backend/server'} for ${b.action}` });
      }
    }
    if (b.action === 'block_ip' && b.mode !== 'refused' && b.ttlS === null && b.decidedBy !== 'person') {
      ctx.addIssue({ code: 'custom', path: ['ttlS'], message: 'a block the daemon made always has a TTL' });
    }
  });

export type ActionBody = z.infer<typeof actionBodySchema>;

/** A row from PostgreSQL: the envelope's own columns and the body. */
export const storedActionSchema = z.strictObject({
  fleetId: z.uuid(),
  node: nodeName,
  localId: z.number().int().positive(),
  version: z.number().int().positive(),
  writtenBy: nodeName,
  body: actionBodySchema,
});

/** A checked row as storage/fleet-actions.ts applies it. */
export function toRemote(s: z.infer<typeof storedActionSchema>): RemoteAction {
  return { fleetId: s.fleetId, node: s.node, version: s.version, ...s.body };
}

/** Checks a row; the parsed row, or the zod error. */
export const checkStoredAction = (s: StoredAction) => storedActionSchema.safeParse(s);
