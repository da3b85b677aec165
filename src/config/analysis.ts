/**
 * Settings of the LLM analysis tier (tier 2). Strict zod objects like the
 * rest of the daemon's schema (src/config/schema.ts): an unknown key is an
 * error. The daemon's schema holds it under `analysis:`; it is kept
 * self-contained so that it can be tested alone.
 *
 * The API key is never in the config file: `api_key_env` names the
 * environment variable that holds it (the unit's EnvironmentFile), and
 * `api_key_file` a file (e.g. a systemd credential) read at start.
 */
import { z } from 'zod';
import { SEVERITIES } from '../pipeline/types.js';
import { safeText } from '../validate/text.js';

const severity = z.enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical']);

/** One model level: which model, how long to wait, how many tokens it may write. */
const modelLevel = z.strictObject({
  /** Model name as the Messages API takes it. */
  model: safeText().min(1).max(200),
  /** Per-request timeout in milliseconds, the reply's body included (the SDK's default is 10 minutes). */
  timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
  /**
   * How many times one incident is asked again after this model timed out or
   * answered 5xx, each time once the back-off has passed (the incident waits
   * in the queue meanwhile); then it keeps its tier-1 verdict. 429, 529 and
   * an unreachable API are the API's state, not the incident's: they are
   * waited out without counting (up to the queue's hour). The SDK itself
   * never retries.
   */
  max_retries: z.number().int().min(0).max(5).default(1),
  /** max_tokens of the reply (the tool call is small). */
  max_tokens: z.number().int().min(64).max(8192).default(1024),
  /** Price per million input tokens (USD), for the spend counter. */
  input_usd_per_mtok: z.number().min(0).default(0),
  /** Price per million output tokens (USD). */
  output_usd_per_mtok: z.number().min(0).default(0),
});

export const analysisConfigSchema = z
  .strictObject({
    /** Off by default: nothing leaves the host unless an operator turns it on. */
    enabled: z.boolean().default(false),
    /** API base URL; tests point it at a loopback server. The environment's ANTHROPIC_BASE_URL is never read. */
    base_url: z.string().url().default('https://api.anthropic.com'),
    /** Environment variable holding the API key. */
    api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('ANTHROPIC_API_KEY'),
    /** File holding the API key (takes precedence over api_key_env). */
    api_key_file: safeText().min(1).optional(),
    /** The fast, cheap model asked first. */
    fast: modelLevel.prefault({ model: 'claude-haiku-4-5' }),
    /** The stronger model, asked when the fast one sets needs_stronger_model or the incident is severe; absent: never. */
    strong: modelLevel.optional(),
    /** Incidents of these severities go straight to the strong model (when configured). */
    strong_for_severities: z.array(severity).default(['high', 'critical']),
    budget: z
      .strictObject({
        /** HTTP requests to the API per rolling hour: each is booked before it is sent (retries of invalid replies and escalations too). */
        calls_per_hour: z.number().int().min(0).default(60),
        /** Input + output tokens per rolling 24 hours. */
        tokens_per_day: z.number().int().min(0).default(500_000),
      })
      .prefault({}),
    cache: z
      .strictObject({
        /** Analyses kept, by incident fingerprint (rule, subject type, sample templates). */
        max_entries: z.number().int().min(0).default(1000),
        /**
         * How long a cached (or folded) analysis answers for its key after it
         * was made or last answered an incident, in seconds: a fold whose
         * incidents keep coming keeps its one verdict, up to `max_age_s`.
         */
        ttl_s: z.number().int().min(1).default(6 * 3600),
        /** The longest a cached analysis answers at all, from when it was made (seconds): then it is asked again. */
        max_age_s: z.number().int().min(1).max(7 * 86_400).default(86_400),
      })
      .superRefine((c, ctx) => {
        if (c.max_age_s < c.ttl_s) ctx.addIssue({ code: 'custom', path: ['max_age_s'], message: `must be at least ttl_s (${c.ttl_s})` });
      })
      .prefault({}),
    /**
     * Several incidents in one call (batch.ts). An incident waits for others
     * at most `max_wait_s` (high severity) or `max_wait_below_high_s`
     * (medium, low, info); the batch goes when its first deadline passes or it
     * holds `max_items`; a critical one closes the batch at once (it waits for
     * no one). The rules' own actions and notifications never wait for an
     * analysis: the wait delays only the model's reading of the incident. A
     * reply holds one analysis per incident, each checked on its own: one
     * missing or malformed loses only its incident (asked again alone).
     */
    batch: z
      .strictObject({
        /** Incidents per call; 1 turns batching off. */
        max_items: z.number().int().min(1).max(50).default(10),
        /** The longest a high-severity incident waits for others before its call goes (seconds; 0: no wait). */
        max_wait_s: z.number().min(0).max(600).default(60),
        /** The longest a medium, low or info incident waits for others (seconds; 0: no wait). */
        max_wait_below_high_s: z.number().min(0).max(3600).default(600),
        /**
         * Near-identical incidents (same rule, same template, same backend: fold.ts)
         * share one analysis, applied to each one's own subject by the policy,
         * for as long as the cache keeps it. Off: only identical incidents do (the cache).
         */
        fold: z.boolean().default(true),
      })
      .prefault({}),
    /**
     * After a 429, 529, 5xx, timeout or an unreachable API, no call for this
     * long (seconds), doubling with each failure in a row; a Retry-After (or
     * retry-after-ms) from the API is honoured instead. Either way at least a
     * second and at most `backoff_max_s`.
     */
    backoff_s: z.number().int().min(0).max(3600).default(60),
    /** The longest back-off, whatever the API asks (seconds). */
    backoff_max_s: z.number().int().min(1).max(86_400).default(900),
    /** Largest reply body read from the API (bytes); a longer one is cut off and the call fails (reply_too_large). */
    max_reply_bytes: z.number().int().min(4096).max(64 * 1024 * 1024).default(1024 * 1024),
    redaction: z
      .strictObject({
        /** Replace client addresses by stable per-run pseudonyms (HMAC with a per-run key); targets are mapped back. */
        pseudonymise_ips: z.boolean().default(false),
        /**
         * Moved to the top-level `redaction.extra_secret_keys` (one redactor
         * now applies to incident samples, so to notifications and prompts
         * alike). Still read only to refuse it with that message: a key the
         * operator set must not be dropped silently.
         */
        extra_secret_keys: z.unknown().optional(),
      })
      .superRefine((r, ctx) => {
        if (r.extra_secret_keys !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['extra_secret_keys'], message: 'moved to redaction.extra_secret_keys (top level): one redactor now applies to incident samples, notifications and prompts' });
        }
      })
      .transform(({ pseudonymise_ips }) => ({ pseudonymise_ips }))
      .prefault({}),
    /** Samples sent per incident (the incident keeps more). */
    max_samples: z.number().int().min(1).max(50).default(10),
    /** Characters per sample after redaction (longer ones are cut, marked). */
    max_sample_chars: z.number().int().min(100).max(8000).default(1000),
    /** Recommended actions kept from one reply. */
    max_recommendations: z.number().int().min(1).max(20).default(5),
    /**
     * Narrowest CIDR prefix a recommendation may target (IPv4 / IPv6); broader
     * ones are dropped from the reply. Whatever passes, the policy then refuses
     * any range and any address but the incident's subject (target_not_subject).
     */
    min_prefix_v4: z.number().int().min(0).max(32).default(16),
    min_prefix_v6: z.number().int().min(0).max(128).default(48),
  })
  .superRefine((c, ctx) => {
    if (c.backoff_max_s < c.backoff_s) {
      ctx.addIssue({ code: 'custom', path: ['backoff_max_s'], message: `must be at least backoff_s (${c.backoff_s})` });
    }
    if (c.budget.calls_per_hour === 0 && c.enabled) {
      ctx.addIssue({ code: 'custom', path: ['budget', 'calls_per_hour'], message: 'must be > 0 when analysis is enabled' });
    }
  });

export type AnalysisConfig = z.infer<typeof analysisConfigSchema>;
export type ModelLevelConfig = z.infer<typeof modelLevel>;

/** Parses settings, throwing with `path: message` lines (as the daemon's config loader reports). */
export function parseAnalysisConfig(input: unknown): AnalysisConfig {
  const r = analysisConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('\n'));
  }
  return r.data;
}
