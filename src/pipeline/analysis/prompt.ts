/**
 * Prompt building: the incident, its redacted samples and the caller's
 * context rendered through the nunjucks templates in `prompts/`.
 *
 * Contract:
 * - Templates are compiled once by `loadPromptTemplates` (a missing or
 *   broken one throws naming the file).
 * - Samples and context reach the template only as JSON in which `<`, `>`
 *   and `&` are \u-escaped, so a log line cannot close the data block;
 *   every string is redacted (and addresses pseudonymised) first.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { Incident } from '../incidents/group.js';
import { ACTION_HELP, ALLOWED_ACTIONS, TOOL_NAME } from './reply.js';
import type { Pseudonymiser } from './pseudonym.js';
import type { Redactor } from '../redact/text.js';

/** What the caller knows about the incident's surroundings (all optional). */
export interface AnalysisContext {
  /** Counters worth showing (requests in the window, distinct paths, error rate...). */
  counts?: Record<string, number>;
  subjectBlocked?: boolean;
  subjectTrusted?: boolean;
  /** Recent actions on this subject or backend, newest first. */
  recentActions?: { type: string; target: string; at: string; mode?: string; result?: string }[];
  /** Health of the backends concerned. */
  backendHealth?: { backend: string; server?: string; status: string; checkDetail?: string }[];
}

export interface PromptTemplates {
  system: nunjucks.Template;
  user: nunjucks.Template;
}

/** The shipped prompts directory (works from src/ under tsx and from dist/). */
export const DEFAULT_PROMPTS_DIR = fileURLToPath(new URL('../../../prompts/', import.meta.url));

export function loadPromptTemplates(dir: string = DEFAULT_PROMPTS_DIR): PromptTemplates {
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, trimBlocks: false });
  const load = (name: string) => {
    const file = path.join(dir, name);
    try {
      return new nunjucks.Template(readFileSync(file, 'utf8'), env, file, true);
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  return { system: load('analysis-system.njk'), user: load('analysis.njk') };
}

/** JSON that cannot contain a tag, an entity or a line separator. */
export function safeJson(v: unknown, indent?: number): string {
  return JSON.stringify(v, null, indent)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export interface BuildOptions {
  redact: Redactor;
  pseudonymiser: Pseudonymiser | null;
  maxSamples: number;
  maxSampleChars: number;
}

export interface BuiltPrompt {
  system: string;
  user: string;
  /** Pseudonym -> address for this prompt. */
  pseudonyms: Map<string, string>;
}

export function buildPrompt(t: PromptTemplates, inc: Incident, ctx: AnalysisContext, o: BuildOptions): BuiltPrompt {
  const pseudonyms = new Map<string, string>();
  const clean = (s: string) => {
    const r = o.redact(s);
    return o.pseudonymiser ? o.pseudonymiser.replace(r, pseudonyms) : r;
  };
  const deep = (v: unknown): unknown =>
    typeof v === 'string' ? clean(v)
      : Array.isArray(v) ? v.map(deep)
        : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]))
          : v;
  const samples = inc.samples.slice(0, o.maxSamples).map((s) => {
    const c = clean(s);
    return c.length > o.maxSampleChars ? `${c.slice(0, o.maxSampleChars)}...[cut]` : c;
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  const system = t.system.render({
    actions: ALLOWED_ACTIONS.map((name) => ({ name, help: ACTION_HELP.get(name)! })),
    tool: TOOL_NAME,
    pseudonymised: o.pseudonymiser !== null,
  });
  // Incident fields come from rules and parsed lines: the subject and rule
  // actions may hold attacker text (a path, a host), so they are cleaned and
  // JSON-quoted too.
  const user = t.user.render({
    incident: {
      id: inc.id,
      status: inc.status,
      rule: safeJson(inc.rule),
      category: safeJson(inc.category),
      severity: inc.severity,
      subject_type: inc.subject.type,
      subject: safeJson(clean(inc.subject.value)),
      count: inc.count,
      first_seen: iso(inc.firstSeen),
      last_seen: iso(inc.lastSeen),
      samples_total: inc.samples.length,
      rule_actions: safeJson(deep(inc.actions)),
    },
    context: safeJson(deep(ctx), 2),
    samples: safeJson(samples, 1),
    samples_count: samples.length,
    tool: TOOL_NAME,
  });
  return { system, user, pseudonyms };
}
