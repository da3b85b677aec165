/**
 * Loading triage rules: every `*.yaml` in the shipped directory
 * (config/rules/), then the operator's directory, whose files replace shipped
 * files of the same name and may add new ones (fail2ban's `.local` idea: an
 * upgrade never clobbers the operator's rules, and a file with `rules: []`
 * switches a shipped file off). Everything is checked before anything runs;
 * problems come back together as `<file>: <key path>: <reason>` lines in a
 * RuleLoadError, which stops start-up.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ruleFileSchema, type AllowSpec, type RuleSpec } from './schema.js';
import { parseDataFile } from '../../util/data-file.js';

export class RuleLoadError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'RuleLoadError';
  }
}

export interface RuleFile {
  /** The file name ("http-probes.yaml"): what an operator file overrides. */
  name: string;
  path: string;
  origin: 'shipped' | 'operator';
  /** Every rule of the file, enabled or not (as written: allow entries are not merged in). */
  rules: RuleSpec[];
  /** The file's allow entries (lines named rules must leave alone). */
  allow: AllowSpec[];
}

export interface LoadedRules {
  /** The effective files, by name. */
  files: RuleFile[];
  /**
   * Every rule of every effective file, in file-name then file order
   * (disabled ones included: the engine skips them), each with the allow
   * entries that name it added to its `except`.
   */
  rules: RuleSpec[];
}

export interface LoadRulesOptions {
  /** The shipped rules (config/rules). */
  dir: string;
  /** The operator's rules; ignored when it does not exist. */
  operatorDir?: string | null;
}


/** Parses one rule file's text; `label` names it in errors. */
export function parseRuleFile(text: string, label: string): RuleSpec[] {
  return parseRuleFileFull(text, label).rules;
}

/** Parses one rule file's text, its rules and its allow entries. */
export function parseRuleFileFull(text: string, label: string): { rules: RuleSpec[]; allow: AllowSpec[] } {
  const parsed = parseDataFile(text, label, ruleFileSchema, { empty: 'write "rules: []" to have no rules', root: 'a "rules" list' });
  if (!parsed.ok) throw new RuleLoadError(parsed.errors);
  const names = new Set<string>();
  const errors: string[] = [];
  parsed.value.rules.forEach((r, i) => {
    if (names.has(r.name)) errors.push(`${label}: rules[${i}].name: "${r.name}" appears twice in this file`);
    names.add(r.name);
  });
  if (errors.length) throw new RuleLoadError(errors);
  return { rules: parsed.value.rules, allow: parsed.value.allow ?? [] };
}

function listDir(dir: string, errors: string[]): string[] {
  try {
    const names = readdirSync(dir).sort();
    for (const n of names) {
      if (n.endsWith('.yml')) errors.push(`${join(dir, n)}: (file): rule files end in .yaml; this one would be ignored`);
    }
    return names.filter((n) => n.endsWith('.yaml') && statSync(join(dir, n)).isFile());
  } catch (e) {
    errors.push(`${dir}: (directory): cannot read: ${(e as Error).message}`);
    return [];
  }
}

/**
 * Adds allow entries to the `except` list of the rules they name (allow
 * entries name rules of any file). Throws RuleLoadError naming an entry
 * whose rule does not exist.
 */
export function withAllow(rules: RuleSpec[], sets: { label: string; allow: AllowSpec[] }[]): RuleSpec[] {
  const names = new Set(rules.map((r) => r.name));
  const errors: string[] = [];
  const extra = new Map<string, NonNullable<RuleSpec['except']>>();
  for (const { label, allow } of sets) {
    allow.forEach((a, i) => {
      for (const name of Array.isArray(a.rule) ? a.rule : [a.rule]) {
        if (!names.has(name)) errors.push(`${label}: allow[${i}].rule: no rule named "${name}"`);
        else extra.set(name, [...(extra.get(name) ?? []), a.filter]);
      }
    });
  }
  if (errors.length) throw new RuleLoadError(errors);
  return rules.map((r) => {
    const add = extra.get(r.name);
    return add === undefined ? r : { ...r, except: [...(r.except ?? []), ...add] };
  });
}

/** Reads, checks and merges the shipped and operator rule files. Throws RuleLoadError listing every problem found. */
export function loadRules(opts: LoadRulesOptions): LoadedRules {
  const errors: string[] = [];
  const byName = new Map<string, { path: string; origin: 'shipped' | 'operator' }>();
  if (!existsSync(opts.dir) || !statSync(opts.dir).isDirectory()) {
    throw new RuleLoadError([`${opts.dir}: (directory): the rules directory does not exist`]);
  }
  for (const n of listDir(opts.dir, errors)) byName.set(n, { path: join(opts.dir, n), origin: 'shipped' });
  const op = opts.operatorDir;
  if (op && existsSync(op)) {
    if (!statSync(op).isDirectory()) errors.push(`${op}: (directory): the operator rules path is not a directory`);
    else for (const n of listDir(op, errors)) byName.set(n, { path: join(op, n), origin: 'operator' });
  }

  const files: RuleFile[] = [];
  for (const name of [...byName.keys()].sort()) {
    const { path, origin } = byName.get(name) as { path: string; origin: 'shipped' | 'operator' };
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      errors.push(`${path}: (file): cannot read: ${(e as Error).message}`);
      continue;
    }
    try {
      const p = parseRuleFileFull(text, path);
      files.push({ name, path, origin, rules: p.rules, allow: p.allow });
    } catch (e) {
      if (e instanceof RuleLoadError) errors.push(...e.lines);
      else throw e;
    }
  }

  // A rule name is unique across all effective files (findings and incidents are keyed by it).
  const owner = new Map<string, string>();
  for (const f of files) {
    f.rules.forEach((r, i) => {
      const other = owner.get(r.name);
      if (other !== undefined) errors.push(`${f.path}: rules[${i}].name: "${r.name}" is already defined in ${other}`);
      else owner.set(r.name, f.path);
    });
  }
  if (errors.length) throw new RuleLoadError(errors);
  const rules = withAllow(files.flatMap((f) => f.rules), files.map((f) => ({ label: f.path, allow: f.allow })));
  return { files, rules };
}
