/**
 * Loading the policy: the shipped config/policy.yaml, or the operator's file
 * when it exists (it replaces the shipped one entirely, so an upgrade never
 * clobbers an operator's policy: copy the shipped file and edit it). Checked
 * once at start; every problem comes back in one PolicyLoadError as
 * `<file>: rules[2] (name).key: reason` lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { policyFileSchema, type Policy } from './schema.js';
import { parseDataFile } from '../../util/data-file.js';

/** The shipped policy (works from src/ under tsx and from dist/). */
export const SHIPPED_POLICY_FILE = fileURLToPath(new URL('../../../config/policy.yaml', import.meta.url));

export class PolicyLoadError extends Error {
  readonly code = 'policy_config';
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'PolicyLoadError';
  }
}

export interface LoadedPolicy {
  policy: Policy;
  path: string;
  origin: 'shipped' | 'operator';
}


/** Parses a policy file's text; `label` (the path) names it in errors. */
export function parsePolicy(text: string, label: string): Policy {
  const parsed = parseDataFile(text, label, policyFileSchema, { empty: 'write "version: 1" and "rules: []" for a policy that does nothing', root: '"version" and "rules"' });
  if (!parsed.ok) throw new PolicyLoadError(parsed.errors);
  const data = parsed.value;
  const seen = new Set<string>();
  const errors: string[] = [];
  data.rules.forEach((r, i) => {
    if (seen.has(r.name)) errors.push(`${label}: rules[${i}] (${r.name}).name: appears twice in this file`);
    seen.add(r.name);
  });
  const seenAnalyse = new Set<string>();
  data.analyse.forEach((a, i) => {
    if (seenAnalyse.has(a.name)) errors.push(`${label}: analyse[${i}] (${a.name}).name: appears twice in this file`);
    seenAnalyse.add(a.name);
  });
  const seenSettled = new Set<string>();
  data.settled.forEach((a, i) => {
    if (seenSettled.has(a.name)) errors.push(`${label}: settled[${i}] (${a.name}).name: appears twice in this file`);
    seenSettled.add(a.name);
  });
  if (errors.length) throw new PolicyLoadError(errors);
  return data;
}

export interface LoadPolicyOptions {
  /** The shipped policy (config/policy.yaml). */
  file: string;
  /** The operator's policy (e.g. /etc/haproxy-manager/policy.yaml); used instead of `file` when it exists. */
  operatorFile?: string | null;
}

/** Reads and checks the effective policy file. Throws PolicyLoadError. */
export function loadPolicy(opts: LoadPolicyOptions): LoadedPolicy {
  const useOperator = !!opts.operatorFile && existsSync(opts.operatorFile);
  const path = useOperator ? (opts.operatorFile as string) : opts.file;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PolicyLoadError([`${path}: (file): cannot read: ${(e as Error).message}`]);
  }
  return { policy: parsePolicy(text, path), path, origin: useOperator ? 'operator' : 'shipped' };
}
