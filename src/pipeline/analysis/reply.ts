/**
 * The reply contract: the one tool the model must call (`report_analysis`),
 * its JSON schema as sent to the API, the zod schema that checks what comes
 * back (the SDK does not), and the checks on each recommendation's target.
 *
 * Contract:
 * - `parseReply` accepts only a tool_use block named `report_analysis` whose
 *   input validates; anything else is `{ ok: false, reason }` (the caller
 *   retries once). Unknown keys in the input are ignored; action types
 *   outside the closed set make the whole reply invalid.
 * - `checkTargets` never trusts a model's target: IP actions need an IP or a
 *   CIDR no broader than the configured prefix (pseudonyms are mapped back,
 *   unknown ones dropped); server actions need `backend/server` names; the
 *   HAProxy-wide actions and notify_only take no target. Each kept
 *   recommendation is marked `source: 'llm'` and `widensAccess` when it
 *   would let traffic in (unblock, trust); the policy stage decides.
 */
import { z } from 'zod';
import type { Severity } from '../types.js';
import { parseIp, widestPrefix } from '../../validate/ip.js';
import { PSEUDONYM_RE } from './pseudonym.js';
import { allUnits } from '../actions/registry.js';

export const TOOL_NAME = 'report_analysis';

/** The actions the model may recommend: every registered one, under the name it sees (ActionUnit.modelName). */
const MODEL_UNITS = new Map(allUnits().map((u) => [u.modelName ?? u.name, u]));
export const ALLOWED_ACTIONS = [...MODEL_UNITS.keys()] as [string, ...string[]];
export type AllowedAction = string;

const kindOf = (type: AllowedAction) => MODEL_UNITS.get(type)!.targetKind;
/** Recommendations that would let traffic in: never enforced on a model's word (the policy's guardrails). */
const widens = (type: AllowedAction) => MODEL_UNITS.get(type)!.access === 'widens';

/** What each action does and what its target is, for the prompt. */
export const ACTION_HELP: ReadonlyMap<AllowedAction, string> = new Map([...MODEL_UNITS].map(([name, u]) => [name, u.help]));

const SEVERITY = ['info', 'low', 'medium', 'high', 'critical'] as const;

/** JSON schema of the tool input, sent as `input_schema`. */
export const TOOL_INPUT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['summary', 'likely_cause', 'severity', 'confidence', 'recommended_actions'],
  properties: {
    summary: { type: 'string', description: 'What happened, in two or three sentences.' },
    likely_cause: { type: 'string', description: 'The most likely cause.' },
    severity: { type: 'string', enum: [...SEVERITY] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    recommended_actions: {
      type: 'array',
      maxItems: 10,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'target', 'reason'],
        properties: {
          type: { type: 'string', enum: [...ALLOWED_ACTIONS] },
          target: { type: 'string', description: 'IP/CIDR, backend/server, or empty; see the action list.' },
          ttl_s: { type: 'integer', minimum: 60, maximum: 2592000 },
          reason: { type: 'string' },
        },
      },
    },
    needs_stronger_model: { type: 'boolean', description: 'True when a more capable model should look at this.' },
  },
} as const;

export const TOOL = {
  name: TOOL_NAME,
  description: 'Report the analysis of one incident. Call exactly once.',
  input_schema: TOOL_INPUT_SCHEMA,
};

const recommendationSchema = z.object({
  type: z.enum(ALLOWED_ACTIONS),
  target: z.string().max(200).default(''),
  ttl_s: z.number().int().min(60).max(2_592_000).optional(),
  reason: z.string().max(1000),
});

export const replySchema = z.object({
  summary: z.string().min(1).max(4000),
  likely_cause: z.string().max(4000),
  severity: z.enum(SEVERITY),
  confidence: z.number().min(0).max(1),
  recommended_actions: z.array(recommendationSchema).max(20),
  needs_stronger_model: z.boolean().optional(),
});
export type RawReply = z.infer<typeof replySchema>;

/** A recommendation after the target checks: only a recommendation, never an order. */
export interface Recommendation {
  type: AllowedAction;
  /** Canonical IP/CIDR, `backend/server`, or '' for HAProxy-wide actions. */
  target: string;
  ttl_s?: number;
  reason: string;
  /** Always 'llm': the policy must treat it as untrusted input. */
  source: 'llm';
  /** The model that recommended it. */
  model: string;
  /** True for unblock/trust/untrust: they let traffic in or change trust, so policy should only propose them. */
  widensAccess: boolean;
}

export interface DroppedRecommendation {
  type: string;
  target: string;
  why: string;
}

export interface AnalysisResult {
  summary: string;
  likelyCause: string;
  severity: Severity;
  confidence: number;
  recommendations: Recommendation[];
  /** Recommendations the checks refused, for the audit trail. */
  dropped: DroppedRecommendation[];
  needsStrongerModel: boolean;
  model: string;
}

interface ContentBlock {
  type: string;
  name?: string;
  input?: unknown;
}

/** Finds and validates the tool call in a Messages API reply body. */
export function parseReply(content: unknown): { ok: true; reply: RawReply } | { ok: false; reason: string } {
  if (!Array.isArray(content)) return { ok: false, reason: 'no content array' };
  const calls = (content as ContentBlock[]).filter((b) => b && typeof b === 'object' && b.type === 'tool_use');
  const call = calls.find((b) => b.name === TOOL_NAME);
  if (!call) return { ok: false, reason: calls.length ? 'wrong tool name' : 'no tool call' };
  const r = replySchema.safeParse(call.input);
  if (!r.success) {
    const first = r.error.issues[0];
    return { ok: false, reason: `invalid tool input: ${first ? `${first.path.join('.')}: ${first.message}` : 'unknown'}` };
  }
  return { ok: true, reply: r.data };
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface TargetOptions {
  /** Pseudonym -> address, for this prompt only. */
  pseudonyms: ReadonlyMap<string, string>;
  minPrefixV4: number;
  minPrefixV6: number;
  max: number;
  model: string;
}

/** Checks and normalises each recommendation's target; see the module contract. */
export function checkTargets(reply: RawReply, opts: TargetOptions): { kept: Recommendation[]; dropped: DroppedRecommendation[] } {
  const kept: Recommendation[] = [];
  const dropped: DroppedRecommendation[] = [];
  const seen = new Set<string>();
  for (const r of reply.recommended_actions) {
    const raw = r.target.trim();
    const drop = (why: string) => dropped.push({ type: r.type, target: raw.slice(0, 100), why });
    let target = '';
    if (kindOf(r.type) === 'ip') {
      let addr = raw;
      if (PSEUDONYM_RE.test(addr)) {
        const real = opts.pseudonyms.get(addr);
        if (!real) { drop('unknown pseudonym'); continue; }
        addr = real;
      }
      const ip = parseIp(addr);
      if (!ip) { drop('target is not an IP or CIDR'); continue; }
      // Judged in both families as HAProxy matches: ::8000:0:0/81 is every IPv4 client.
      const w = widestPrefix(ip.text);
      if (w && ((w.v4 !== null && w.v4 < opts.minPrefixV4) || (w.v6 !== null && w.v6 < opts.minPrefixV6))) { drop('CIDR too broad'); continue; }
      target = ip.text;
    } else if (kindOf(r.type) === 'server') {
      const parts = raw.split('/');
      if (parts.length !== 2 || !parts.every((p) => NAME.test(p))) { drop('target is not backend/server'); continue; }
      target = raw;
    } else if (raw !== '' && raw.toLowerCase() !== 'haproxy') {
      drop('this action takes no target');
      continue;
    }
    const key = `${r.type} ${target}`;
    if (seen.has(key)) continue;
    if (kept.length >= opts.max) { drop('too many recommendations'); continue; }
    seen.add(key);
    kept.push({
      type: r.type,
      target,
      ...(r.type === 'block_ip' && r.ttl_s !== undefined ? { ttl_s: r.ttl_s } : {}),
      reason: r.reason,
      source: 'llm',
      model: opts.model,
      widensAccess: widens(r.type),
    });
  }
  return { kept, dropped };
}
