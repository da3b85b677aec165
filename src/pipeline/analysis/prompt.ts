/**
 * Prompt building: the incident, its redacted samples and the caller's
 * context rendered through the nunjucks templates in `prompts/`.
 *
 * Contract:
 * - Templates are compiled once by `loadPromptTemplates` (a missing or
 *   broken one throws naming the file).
 * - Two parts, by origin. The header, outside the data block, holds only
 *   facts the daemon made: the incident's id, status, rule and category (the
 *   operator's rule files), severity, subject type, counts, times, and the
 *   daemon's own booleans (subject blocked / trusted). Everything derived
 *   from a request, a log line or a backend (the subject itself, be it an
 *   address, a host and path or a template; the suggested actions and their
 *   targets; recent actions and their targets; backend health and its check
 *   text; the samples) goes inside the `<untrusted_log_data>` block, which
 *   the system prompt calls untrusted.
 * - The block is one JSON object in which `<`, `>` and `&` are \u-escaped,
 *   so no value can close it; every string in it is redacted (and addresses
 *   pseudonymised) first.
 * - Header values are checked for their kind before rendering (numbers,
 *   enums, ISO times); a count that is not a finite number under a plain key
 *   is left out, never rendered as text.
 * - A batch prompt (`buildBatchPrompt`) renders each incident's header the
 *   same way, tied to its reply item by the incident id, and puts every
 *   incident's data in the one block, as `{ incidents: [...] }`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { Incident } from '../incidents/group.js';
import { SEVERITIES, type SubjectType } from '../types.js';
import { ACTION_HELP, ALLOWED_ACTIONS, TOOL_NAME } from './reply.js';
import { BATCH_TOOL_NAME } from './batch-reply.js';
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

const SUBJECT_TYPES: readonly SubjectType[] = ['ip', 'backend', 'server', 'host', 'path'];

export interface PromptTemplates {
  system: nunjucks.Template;
  user: nunjucks.Template;
  /** The user message of a batch call. */
  batch: nunjucks.Template;
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
  return { system: load('analysis-system.njk'), user: load('analysis.njk'), batch: load('analysis-batch.njk') };
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

/** Counts as the header may show them: plain keys, finite numbers (anything else is left out). */
function headerCounts(counts: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts ?? {})) {
    if (/^[a-z][a-z0-9_]{0,39}$/.test(k) && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

const yesNo = (b: boolean | undefined) => (b === undefined ? 'unknown' : b ? 'yes' : 'no');

/** What one incident puts in a prompt: its header of daemon-made facts, and its data (everything requests wrote), cleaned. */
function itemParts(inc: Incident, ctx: AnalysisContext, o: BuildOptions, clean: (s: string) => string) {
  const deep = (v: unknown): unknown =>
    typeof v === 'string' ? clean(v)
      : Array.isArray(v) ? v.map(deep)
        : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)]))
          : v;
  const samples = inc.samples.slice(0, o.maxSamples).map((s) => {
    const c = clean(s);
    return c.length > o.maxSampleChars ? `${c.slice(0, o.maxSampleChars)}...[cut]` : c;
  });
  const iso = (ms: number) => new Date(Number.isFinite(ms) ? ms : 0).toISOString();
  const int = (n: number) => (Number.isFinite(n) ? String(Math.trunc(n)) : '?');
  // Everything a request, a log line or a backend wrote: one JSON object
  // inside the block (see the module contract for what goes where).
  const data = {
    subject: clean(inc.subject.value),
    suggested_actions: deep(inc.actions),
    recent_actions: deep(ctx.recentActions ?? []),
    backend_health: deep(ctx.backendHealth ?? []),
    samples,
  };
  const header = {
    incident: {
      id: int(inc.id),
      status: inc.status === 'resolved' ? 'resolved' : 'open',
      // The operator's rule files name these; JSON-quoted all the same.
      rule: safeJson(inc.rule),
      category: safeJson(inc.category),
      severity: SEVERITIES.includes(inc.severity) ? inc.severity : 'unknown',
      subject_type: SUBJECT_TYPES.includes(inc.subject.type) ? inc.subject.type : 'unknown',
      count: int(inc.count),
      first_seen: iso(inc.firstSeen),
      last_seen: iso(inc.lastSeen),
      samples_total: int(inc.samples.length),
    },
    counts: safeJson(headerCounts(ctx.counts)),
    subject_blocked: yesNo(ctx.subjectBlocked),
    subject_trusted: yesNo(ctx.subjectTrusted),
    samples_count: samples.length,
  };
  return { header, data };
}

function cleaner(o: BuildOptions, pseudonyms: Map<string, string>) {
  return (s: string) => {
    const r = o.redact(s);
    return o.pseudonymiser ? o.pseudonymiser.replace(r, pseudonyms) : r;
  };
}

function renderSystem(t: PromptTemplates, o: BuildOptions, batch: boolean, tool: string): string {
  return t.system.render({
    actions: ALLOWED_ACTIONS.map((name) => ({ name, help: ACTION_HELP.get(name)! })),
    tool,
    pseudonymised: o.pseudonymiser !== null,
    batch,
  });
}

export function buildPrompt(t: PromptTemplates, inc: Incident, ctx: AnalysisContext, o: BuildOptions): BuiltPrompt {
  const pseudonyms = new Map<string, string>();
  const { header, data } = itemParts(inc, ctx, o, cleaner(o, pseudonyms));
  const system = renderSystem(t, o, false, TOOL_NAME);
  const user = t.user.render({ ...header, data: safeJson(data, 1), tool: TOOL_NAME });
  return { system, user, pseudonyms };
}

/** One incident of a batch prompt; `folded` more incidents (same rule, template, backend) share its analysis. */
export interface BatchPromptItem {
  inc: Incident;
  ctx: AnalysisContext;
  folded: number;
}

/**
 * Several incidents in one prompt: a header of daemon-made facts per
 * incident (its id ties its reply item to it), then ONE data block holding
 * `{ incidents: [{ incident: id, ...data }] }`, so the module contract's
 * fence holds as for one incident.
 */
export function buildBatchPrompt(t: PromptTemplates, items: readonly BatchPromptItem[], o: BuildOptions): BuiltPrompt {
  const pseudonyms = new Map<string, string>();
  const clean = cleaner(o, pseudonyms);
  const parts = items.map((it) => ({ ...itemParts(it.inc, it.ctx, o, clean), folded: Number.isFinite(it.folded) ? Math.max(0, Math.trunc(it.folded)) : 0, id: it.inc.id }));
  const system = renderSystem(t, o, true, BATCH_TOOL_NAME);
  const user = t.batch.render({
    items: parts.map((p) => ({ ...p.header, folded: p.folded })),
    data: safeJson({ incidents: parts.map((p) => ({ incident: p.id, ...p.data })) }, 1),
    tool: BATCH_TOOL_NAME,
  });
  return { system, user, pseudonyms };
}
