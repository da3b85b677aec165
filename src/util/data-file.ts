/**
 * Data files (triage rules, the remediation policy): YAML text checked
 * against a strict zod schema. Contract: returns the parsed value, or error
 * lines `label: where: reason` naming the file, the key and the reason; never
 * a value that did not pass the schema. Duplicate keys are YAML errors.
 */
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { issueLines } from './zod-issues.js';

export interface DataFileHints {
  /** Said when the file is empty: what to write for a file that does nothing. */
  empty: string;
  /** Said when the root is not a mapping: what it must hold. */
  root: string;
}

export function parseDataFile<S extends z.ZodType>(text: string, label: string, schema: S, hints: DataFileHints): { ok: true; value: z.infer<S> } | { ok: false; errors: string[] } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) return { ok: false, errors: doc.errors.map((e) => `${label}: (yaml) ${e.message.split('\n')[0]}`) };
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) return { ok: false, errors: [`${label}: (root): the file is empty; ${hints.empty}`] };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, errors: [`${label}: (root): must be a mapping with ${hints.root}`] };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, errors: issueLines(parsed.error.issues, raw).map((l) => `${label}: ${l}`) };
  return { ok: true, value: parsed.data };
}
