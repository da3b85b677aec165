/**
 * The reply contract of a batch call: one tool (`report_analyses`) whose
 * input holds one analysis per incident, each naming the incident it is
 * about by the id the prompt gave it.
 *
 * Contract:
 * - `parseBatchReply` finds the tool call (none, or another tool: the whole
 *   reply is invalid, `{ ok: false }`), then checks every item on its own
 *   with the single reply's schema (reply.ts `replySchema`): a malformed item,
 *   an item whose id was not asked about, or a second item for the same id
 *   loses only itself. Ids asked about and not validly answered are listed in
 *   `missing` (the caller asks them again alone, or gives them up).
 * - Items are bounded (`MAX_ITEMS`); an item's recommended actions are
 *   checked afterwards exactly as a single reply's are (checkTargets), and
 *   the policy judges them against that incident's own subject.
 */
import { z } from 'zod';
import { replySchema, TOOL_INPUT_SCHEMA, type RawReply } from './reply.js';

export const BATCH_TOOL_NAME = 'report_analyses';
/** The most items a reply may hold (the config allows at most 50 per call). */
export const MAX_ITEMS = 50;

export const BATCH_TOOL_INPUT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['analyses'],
  properties: {
    analyses: {
      type: 'array',
      maxItems: MAX_ITEMS,
      description: 'One analysis per incident, each naming its incident by the id given in its header.',
      items: {
        ...TOOL_INPUT_SCHEMA,
        required: ['incident', ...TOOL_INPUT_SCHEMA.required],
        properties: {
          incident: { type: 'integer', description: 'The id of the incident this analysis is about (Incident #id).' },
          ...TOOL_INPUT_SCHEMA.properties,
        },
      },
    },
  },
} as const;

export const BATCH_TOOL = {
  name: BATCH_TOOL_NAME,
  description: 'Report the analyses of all the incidents given, one item per incident. Call exactly once.',
  input_schema: BATCH_TOOL_INPUT_SCHEMA,
};

const itemId = z.object({ incident: z.number().int() });

export interface BatchParse {
  ok: true;
  /** Incident id -> its validated reply. */
  replies: Map<number, RawReply>;
  /** Ids asked about without a valid item. */
  missing: number[];
  /** Why items were refused (bounded), for the log. */
  refused: string[];
}

interface ContentBlock {
  type: string;
  name?: string;
  input?: unknown;
}

/** Finds the batch tool call in a Messages API reply and checks each item on its own; see the module contract. */
export function parseBatchReply(content: unknown, asked: readonly number[]): BatchParse | { ok: false; reason: string } {
  if (!Array.isArray(content)) return { ok: false, reason: 'no content array' };
  const calls = (content as ContentBlock[]).filter((b) => b && typeof b === 'object' && b.type === 'tool_use');
  const call = calls.find((b) => b.name === BATCH_TOOL_NAME);
  if (!call) return { ok: false, reason: calls.length ? 'wrong tool name' : 'no tool call' };
  const input = call.input as { analyses?: unknown } | null;
  if (!input || typeof input !== 'object' || !Array.isArray(input.analyses)) return { ok: false, reason: 'invalid tool input: analyses: not an array' };
  const wanted = new Set(asked);
  const replies = new Map<number, RawReply>();
  const refused: string[] = [];
  const refuse = (why: string) => { if (refused.length < 20) refused.push(why); };
  for (const [i, raw] of input.analyses.slice(0, MAX_ITEMS).entries()) {
    const id = itemId.safeParse(raw);
    if (!id.success) { refuse(`item ${i}: no incident id`); continue; }
    const n = id.data.incident;
    if (!wanted.has(n)) { refuse(`item ${i}: incident ${n} was not asked about`); continue; }
    if (replies.has(n)) { refuse(`item ${i}: incident ${n} answered twice (the first stands)`); continue; }
    const r = replySchema.safeParse(raw);
    if (!r.success) {
      const first = r.error.issues[0];
      refuse(`item ${i}: incident ${n}: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
      continue;
    }
    replies.set(n, r.data);
  }
  if (input.analyses.length > MAX_ITEMS) refuse(`${input.analyses.length - MAX_ITEMS} items past ${MAX_ITEMS} ignored`);
  return { ok: true, replies, missing: asked.filter((n) => !replies.has(n)), refused };
}
