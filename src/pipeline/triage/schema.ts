/**
 * The triage rule schema: the single source of a rule file's shape. Pure (no
 * I/O). Objects are strict, so a misspelt key stops start-up instead of
 * silently widening a rule; the loader (load.ts) reports issues as
 * `<file>: rules[i].<key>: <reason>` lines.
 *
 * A rule file is `{ rules: Rule[] }`; see config/rules/README.md for the
 * meaning of every key with examples.
 */
import { z } from 'zod';
import { SEVERITIES } from '../types.js';
import { durationMs, durationSchema, isDuration } from '../../util/duration.js';

const DAY_MS = 86_400_000;
const boundedDuration = (max: number, what: string) =>
  durationSchema.refine((d) => {
    // zod runs refinements after a failed regex too: a malformed value is that check's to report.
    if (!isDuration(d)) return true;
    const ms = durationMs(d);
    return ms > 0 && ms <= max;
  }, `${what} must be more than 0 and at most ${max / DAY_MS} day(s)`);

export const LINE_KINDS = ['http', 'tcp', 'event', 'conn_error', 'app', 'unknown'] as const;

/**
 * How a string field is matched: exactly one of `equals` (any of the values),
 * `prefix` (starts with any of them) or `pattern` (a regular expression,
 * compiled once). `ignore_case` applies to all three; `decode` (pattern only)
 * also tests the decoded text (HAProxy's `#XX` log escapes, then percent
 * escapes until stable, at most three rounds; normalize.ts), so `%2e%2e%2f`
 * is seen as `../` and `#27` as `'`.
 */
export const stringMatchSchema = z
  .strictObject({
    equals: z.array(z.string()).min(1).optional(),
    prefix: z.array(z.string().min(1)).min(1).optional(),
    pattern: z.string().min(1).optional(),
    ignore_case: z.boolean().default(false),
    decode: z.boolean().default(false),
  })
  .superRefine((m, ctx) => {
    const n = Number(m.equals !== undefined) + Number(m.prefix !== undefined) + Number(m.pattern !== undefined);
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of equals, prefix or pattern' });
    if (m.decode && m.pattern === undefined) ctx.addIssue({ code: 'custom', path: ['decode'], message: 'decode applies to pattern only' });
    if (m.pattern !== undefined) {
      try {
        new RegExp(m.pattern, m.ignore_case ? 'i' : '');
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: `invalid regular expression: ${(e as Error).message}` });
      }
    }
  });
export type StringMatch = z.infer<typeof stringMatchSchema>;

/** 404, "4xx", "500-504". */
const statusItem = z.union([
  z.number().int().min(100).max(999),
  z
    .string()
    .regex(/^(\dxx|\d{3}-\d{3})$/, 'a status (404), a class ("5xx") or a range ("500-504")')
    .refine((s) => {
      const m = /^(\d{3})-(\d{3})$/.exec(s);
      return !m || (Number(m[1]) >= 100 && Number(m[1]) <= Number(m[2]));
    }, 'a range runs from its lower to its higher status, both 100-999'),
]);

const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

/** A filter is the AND of every key it has; `any` is an OR of sub-filters and `not` negates one. */
export interface FilterSpec {
  kind?: (typeof LINE_KINDS)[number] | (typeof LINE_KINDS)[number][];
  source?: StringMatch;
  status?: (number | string)[];
  method?: string[];
  path?: StringMatch;
  path_normalized?: StringMatch;
  query?: StringMatch;
  query_names?: StringMatch;
  query_values?: StringMatch;
  user_agent?: StringMatch;
  referer?: StringMatch;
  termination_state?: StringMatch;
  backend?: StringMatch;
  server?: StringMatch;
  host?: StringMatch;
  event?: string[];
  level?: string[];
  message?: StringMatch;
  fields?: Record<string, StringMatch>;
  any?: FilterSpec[];
  not?: FilterSpec;
}

export const filterSchema: z.ZodType<FilterSpec> = z.lazy(() =>
  z.strictObject({
    kind: oneOrMany(z.enum(LINE_KINDS)).optional(),
    source: stringMatchSchema.optional(),
    status: z.array(statusItem).min(1).optional(),
    method: z.array(z.string().regex(/^[A-Za-z]+$/, 'an HTTP method')).min(1).optional(),
    path: stringMatchSchema.optional(),
    path_normalized: stringMatchSchema.optional(),
    query: stringMatchSchema.optional(),
    query_names: stringMatchSchema.optional(),
    query_values: stringMatchSchema.optional(),
    user_agent: stringMatchSchema.optional(),
    referer: stringMatchSchema.optional(),
    termination_state: stringMatchSchema.optional(),
    backend: stringMatchSchema.optional(),
    server: stringMatchSchema.optional(),
    host: stringMatchSchema.optional(),
    event: z.array(z.string().min(1)).min(1).optional(),
    level: z.array(z.string().min(1)).min(1).optional(),
    message: stringMatchSchema.optional(),
    fields: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a field name'), stringMatchSchema).optional(),
    any: z.array(filterSchema).min(1).optional(),
    not: filterSchema.optional(),
  }),
) as z.ZodType<FilterSpec>;

export const GROUP_KEYS = ['ip', 'backend', 'server', 'host', 'path', 'source'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

/** Fields a `distinct` condition can count. */
export const DISTINCT_FIELDS = ['path', 'query', 'ip', 'user_agent', 'host', 'method', 'status', 'backend', 'server', 'message'] as const;
export type DistinctField = (typeof DISTINCT_FIELDS)[number];

/** The most values a distinct set may be asked to hold (it never holds more than its threshold). */
export const MAX_DISTINCT = 10_000;

/**
 * The largest threshold of a `seen_once` distinct condition: such a set also
 * holds the values seen more than once (SEEN_ONCE_HOLD times the threshold,
 * least recently seen dropped first), so it is kept small.
 */
export const MAX_SEEN_ONCE = 64;
export const SEEN_ONCE_HOLD = 2;

/**
 * Fields a rule can count separately within its subject (`per`): the
 * subject stays what `group_by` says (an address stays blockable), but each
 * combination of these values has its own window.
 */
export const PER_KEYS = ['path', 'user_agent', 'host', 'backend', 'method'] as const;
export type PerKey = (typeof PER_KEYS)[number];

const conditionSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('count'),
    /** Fires when the window holds this many matches (the threshold-th match fires). */
    threshold: z.number().int().min(1).max(1_000_000),
    window: boundedDuration(DAY_MS, 'window'),
  }),
  z.strictObject({
    type: z.literal('leaky_bucket'),
    /** The bucket holds this many matches; the one that would overflow it fires. */
    capacity: z.number().int().min(1).max(1_000_000),
    /** One match leaks out per this interval. */
    leak_every: boundedDuration(DAY_MS, 'leak_every'),
  }),
  z
    .strictObject({
      type: z.literal('distinct'),
      field: z.enum(DISTINCT_FIELDS),
      threshold: z.number().int().min(1).max(MAX_DISTINCT),
      window: boundedDuration(DAY_MS, 'window'),
      /**
       * Count only values seen exactly once within the window and not again
       * for at least this long: a value seen again stops counting. Tells a
       * client that sends a fresh user agent (or query) with every request
       * from one whose many values each recur (an office behind one
       * address, whose browsers all look new for their first minute).
       */
      seen_once: durationSchema.optional(),
    })
    .refine((c) => c.seen_once === undefined || c.threshold <= MAX_SEEN_ONCE, {
      path: ['threshold'],
      message: `at most ${MAX_SEEN_ONCE} with seen_once (the set also holds the values seen more than once)`,
    })
    .refine((c) => c.seen_once === undefined || !isDuration(c.seen_once) || !isDuration(c.window) || durationMs(c.seen_once) < durationMs(c.window), {
      path: ['seen_once'],
      message: 'must be shorter than the window',
    }),
]);
export type ConditionSpec = z.infer<typeof conditionSchema>;

const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('block_ip'), ttl: boundedDuration(30 * DAY_MS, 'ttl') }),
  z.strictObject({ type: z.literal('notify') }),
]);
export type ActionSpec = z.infer<typeof actionSchema>;

/** The line fields a signature can be written against (normalize.ts says what each holds). */
export const SIGNATURE_FIELDS = ['path', 'path_normalized', 'query_names', 'query_values', 'user_agent', 'host'] as const;
export type SignatureField = (typeof SIGNATURE_FIELDS)[number];

/**
 * One entry of a signature family: a pattern with where it comes from and
 * examples that prove it. The engine never runs entries one by one: a rule's
 * entries are joined into one alternation per field (compile.ts), so dozens
 * of entries cost about one regular expression per line. Numbered
 * back-references would point at the wrong group once joined, so they are
 * refused.
 */
export const signatureSchema = z
  .strictObject({
    /** Unique within the rule; lower-case words and dashes ("apache-cve-2021-41773"). */
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,79}$/, 'lower-case letters, digits, dots and dashes, at most 80'),
    /** Which field the pattern tests: `path` (the request target, raw and decoded), `path_normalized`, `query_names`, `query_values` (any parameter), `user_agent` (raw and decoded) or `host`. */
    field: z.enum(SIGNATURE_FIELDS).default('path'),
    pattern: z.string().min(1),
    ignore_case: z.boolean().default(true),
    /** What kind of attack: "path-traversal", "rce", "auth-bypass", "sqli", ... */
    family: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and dashes'),
    cve: z.array(z.string().regex(/^CVE-\d{4}-\d{4,}$/, 'a CVE identifier such as CVE-2021-41773')).min(1).optional(),
    /** The product or technology ("Apache HTTP Server 2.4.49", "WordPress"). */
    product: z.string().min(1),
    /** A public reference: an NVD entry, a vendor advisory, the technology's documentation. */
    source: z.string().regex(/^https:\/\/\S+$/, 'an https:// URL'),
    /** Values of `field` the pattern must match (request targets as logged for path fields). */
    match: z.array(z.string().min(1)).min(1),
    /** Values of `field` that no entry of the rule may match (ordinary traffic that looks alike). */
    normal: z.array(z.string().min(1)).default([]),
  })
  .superRefine((e, ctx) => {
    if (/\\[1-9]/.test(e.pattern)) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'numbered back-references (\\1) cannot be used: entries are joined into one pattern' });
    try {
      new RegExp(e.pattern, e.ignore_case ? 'i' : '');
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `invalid regular expression: ${(err as Error).message}` });
    }
  });
export type SignatureSpec = z.infer<typeof signatureSchema>;

export const ruleSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63'),
    description: z.string().min(1),
    enabled: z.boolean().default(true),
    category: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes'),
    severity: z.enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical']),
    filter: filterSchema,
    group_by: z.union([z.enum(GROUP_KEYS), z.array(z.enum(GROUP_KEYS)).min(1).max(3)]),
    /** Counted separately per value of these fields within each subject; findings still name the group_by subject. */
    per: z.array(z.enum(PER_KEYS)).min(1).max(3).optional(),
    condition: conditionSchema,
    once_per: boundedDuration(30 * DAY_MS, 'once_per').optional(),
    /** Per-rule cap on tracked subjects; the least recently active are evicted first. */
    max_keys: z.number().int().min(1).max(1_000_000).optional(),
    actions: z.array(actionSchema).default([]),
    escalate: z.boolean().default(false),
    /**
     * Signature entries: when given, a line matches the rule when `filter`
     * matches and at least one entry does.
     */
    signatures: z.array(signatureSchema).min(1).optional(),
    /**
     * Lines the rule must leave alone even when its filter matches (an
     * application's own legitimate traffic); the operator's `allow` entries
     * for this rule are added here when the rules are loaded.
     */
    except: z.array(filterSchema).min(1).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.signatures) {
      const ids = new Set<string>();
      r.signatures.forEach((e, i) => {
        if (ids.has(e.id)) ctx.addIssue({ code: 'custom', path: ['signatures', i, 'id'], message: `"${e.id}" appears twice in this rule` });
        ids.add(e.id);
      });
    }
    const keys = Array.isArray(r.group_by) ? r.group_by : [r.group_by];
    if (new Set(keys).size !== keys.length) ctx.addIssue({ code: 'custom', path: ['group_by'], message: 'a key appears twice' });
    if (r.per !== undefined) {
      if (new Set(r.per).size !== r.per.length) ctx.addIssue({ code: 'custom', path: ['per'], message: 'a key appears twice' });
      for (const k of r.per) if ((keys as string[]).includes(k)) ctx.addIssue({ code: 'custom', path: ['per'], message: `${k} is already in group_by` });
    }
    r.actions.forEach((a, i) => {
      if (a.type === 'block_ip' && !(keys.length === 1 && keys[0] === 'ip')) {
        ctx.addIssue({ code: 'custom', path: ['actions', i], message: 'block_ip needs group_by: ip (only an address can be blocked)' });
      }
    });
  });
export type RuleSpec = z.infer<typeof ruleSchema>;

/**
 * An allow entry: lines that rules (named) must not count, for example an
 * application that legitimately downloads its own `.sql` migrations:
 *   allow:
 *     - rule: backup-files
 *       reason: the migration tool fetches its SQL files from its own backend
 *       filter: { backend: {equals: [migrations]}, path_normalized: {prefix: [/data/migrations/]} }
 * Match paths with `path_normalized` so that `/data/migrations/../../db.sql`
 * is not allowed (it normalizes to `/db.sql`).
 */
export const allowSchema = z.strictObject({
  rule: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  reason: z.string().min(1),
  filter: filterSchema,
});
export type AllowSpec = z.infer<typeof allowSchema>;

export const ruleFileSchema = z.strictObject({
  rules: z.array(ruleSchema).default([]),
  allow: z.array(allowSchema).optional(),
});
export type RuleFileSpec = z.infer<typeof ruleFileSchema>;
