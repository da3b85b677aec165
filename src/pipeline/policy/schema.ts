/**
 * The policy file's schema (config/policy.yaml): strict (unknown keys fail),
 * the single source of its types. See config/policy.yaml for every key.
 */
import { z } from 'zod';
import { SEVERITIES } from '../types.js';
import { durationMs, durationSchema } from '../../util/duration.js';
import { ACTION_TYPES, MODES, ORIGINS } from './types.js';
import { allUnits, unitOf } from '../actions/registry.js';

/** The actions that carry a TTL (a block). */
const TIMED = allUnits().filter((u) => u.timed).map((u) => u.name).join(', ');

const DAY_S = 86_400;
const SUBJECT_TYPES = ['ip', 'backend', 'server', 'host', 'path'] as const;

const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

/** A duration in seconds, between 1 s and `maxS`. */
const ttlSchema = (maxS: number) =>
  durationSchema
    .transform((d) => Math.floor(durationMs(d) / 1000))
    .refine((s) => s >= 1 && s <= maxS, `must be between 1s and ${maxS / DAY_S}d (a block always expires; only a person can make one permanent)`);

const namePattern = z.string().min(1).max(200).regex(/^[a-z0-9*?_.-]+$/, 'rule name patterns: lower-case letters, digits, - _ . and the wildcards * ?');

const analysisMatch = z.strictObject({
  present: z.boolean().optional(),
  source: oneOrMany(z.enum(['rules', 'llm'])).optional(),
  confidence_at_least: z.number().min(0).max(1).optional(),
  recommends: oneOrMany(z.enum(ACTION_TYPES)).optional(),
});

const matchSchema = z.strictObject({
  rule: oneOrMany(namePattern).optional(),
  category: oneOrMany(z.string().min(1).max(64)).optional(),
  severity_at_least: z.enum(SEVERITIES).optional(),
  subject_type: oneOrMany(z.enum(SUBJECT_TYPES)).optional(),
  escalate: z.boolean().optional(),
  analysis: analysisMatch.optional(),
});

/** A repeat offender's block TTL is multiplied by `factor` for each earlier block of it within `window`, up to `max_ttl`. */
const repeatOffendersSchema = z.strictObject({
  factor: z.number().min(1).max(100),
  window: durationSchema.transform((d) => durationMs(d)),
  max_ttl: ttlSchema(30 * DAY_S),
});

const actionEntry = z
  .strictObject({
    type: z.enum(ACTION_TYPES),
    from: oneOrMany(z.enum(ORIGINS)).default(['rules', 'llm']),
    mode: z.enum(MODES),
    ttl: ttlSchema(30 * DAY_S).optional(),
    repeat_offenders: repeatOffendersSchema.optional(),
  })
  .superRefine((a, ctx) => {
    if (!unitOf(a.type).timed && (a.ttl !== undefined || a.repeat_offenders !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['ttl'], message: `ttl and repeat_offenders are for ${TIMED} only` });
    }
    if (unitOf(a.type).timed && a.from.includes('policy') && a.ttl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ttl'], message: 'a block the policy makes itself (from: policy) needs a ttl' });
    }
  });

export const policyRuleSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and dashes, at most 64'),
  description: z.string().max(300).optional(),
  enabled: z.boolean().default(true),
  match: matchSchema.default({}),
  actions: z.array(actionEntry).default([]),
  on_match: z.enum(['stop', 'continue']).default('stop'),
});

/**
 * One entry of `analyse`: incidents matching it go to the LLM tier. The
 * match is the rules' match without `analysis` (there is none yet).
 */
export const analyseEntrySchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and dashes, at most 64'),
  description: z.string().max(300).optional(),
  enabled: z.boolean().default(true),
  match: matchSchema.omit({ analysis: true }),
});

/**
 * One entry of `settled`: incidents matching it are settled by their triage
 * rule and this policy alone, so they never go to the LLM tier, whatever
 * `analyse` says. For incidents whose outcome the rule fully determines (the
 * policy does the same thing with or without an analysis, and the analysis
 * would have nothing to read that the rule has not read): the description,
 * required, says why.
 */
export const settledEntrySchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and dashes, at most 64'),
  description: z.string({ error: (iss) => (iss.input === undefined ? 'is required: say why the rules settle these incidents' : 'must be text') }).min(1).max(300),
  enabled: z.boolean().default(true),
  match: matchSchema.omit({ analysis: true }),
});

export const policyFileSchema = z.strictObject({
  version: z.literal(1),
  simulation: z.boolean().default(false),
  /** Incidents the rules settle alone: never sent to the LLM tier (checked before `analyse`). */
  settled: z.array(settledEntrySchema).default([]),
  /** Which incidents are escalated to the LLM tier (any entry matching); none when absent. */
  analyse: z.array(analyseEntrySchema).default([]),
  rules: z.array(policyRuleSchema),
});

export type AnalyseEntry = z.output<typeof analyseEntrySchema>;
export type SettledEntry = z.output<typeof settledEntrySchema>;

export type PolicyRule = z.output<typeof policyRuleSchema>;
export type PolicyActionEntry = PolicyRule['actions'][number];
export type Policy = z.output<typeof policyFileSchema>;
