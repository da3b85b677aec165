/**
 * How the pipeline sees log lines, one by one: the kind of line, the parsed
 * fields and the rules it matches. Pure (no I/O, no state touched: no
 * incident, no counter); shared by `haproxy-manager monitor explain`
 * (cli/monitor-explain.ts) and POST /api/monitor/explain.
 *
 * Contract: `explainLine` gives the JSON object and the readable block of
 * one line; the JSON is `{"ok", "kind", "time", "fields", "rules",
 * "signatures"}` (time as ISO 8601 or null; rules `[]` without a rules
 * function; a rules function that throws gives `rules: []`, `signatures: []`
 * and `rules_error`). `signatures` names, for each matched rule that has
 * signature entries (cve-exploits, code-injection, ...), the entries the line
 * matched: `{rule, id, family, product}` and `cve` when the entry has one,
 * in the rules' order then the entries' (`[]` when none). Text from the log is
 * shown with control characters escaped, so a hostile line cannot drive a
 * terminal. Empty lines are explained too (unknown, reason 'empty').
 */
import { parseLine } from '../pipeline/parse/index.js';
import { isoString } from '../pipeline/parse/time.js';
import type { ParsedLine, SourceFormat } from '../pipeline/types.js';
import { loadRules } from '../pipeline/triage/load.js';
import { createTriage } from '../pipeline/triage/engine.js';
import { LineView } from '../pipeline/triage/match.js';
import { SignatureSet } from '../pipeline/triage/signatures.js';
import { SHIPPED_RULES_DIR } from './monitor.js';

/** A signature entry a line matched, named as its rule file names it. */
export interface SignatureHit {
  rule: string;
  id: string;
  family: string;
  cve?: string[];
  product: string;
}

/** The rules a line matched, and the signature entries behind the signature rules among them. */
export interface RulesAnswer {
  rules: string[];
  signatures: SignatureHit[];
}

/** The rules a line matches: their names alone, or with the signature entries that matched. */
export type RulesFn = (p: ParsedLine) => string[] | RulesAnswer;

/** The --json object for one line. */
export interface ExplainedLine {
  ok: boolean;
  kind: ParsedLine['kind'];
  time: string | null;
  fields: Record<string, unknown>;
  rules: string[];
  signatures: SignatureHit[];
  rules_error?: string;
}

/** Escapes control characters (C0, DEL, C1) and caps the length of text taken from a log. */
export function printable(v: string, max = 300): string {
  const cut = v.length > max ? v.slice(0, max) + `… (${v.length} chars)` : v;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `cve-exploits [apache-path-traversal: path-traversal, CVE-2021-41773 CVE-2021-42013, Apache HTTP Server 2.4.49 and 2.4.50]`. */
function ruleText(rule: string, sigs: readonly SignatureHit[]): string {
  const mine = sigs.filter((h) => h.rule === rule);
  if (mine.length === 0) return rule;
  return `${rule} [${mine.map((h) => `${h.id}: ${h.family}${h.cve ? `, ${h.cve.join(' ')}` : ''}, ${printable(h.product, 100)}`).join('; ')}]`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? printable(v) : printable(JSON.stringify(v));
  if (Array.isArray(v)) return printable(JSON.stringify(v));
  if (v !== null && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${String(x)}`)
      .join('/');
  }
  return String(v);
}

function headline(p: ParsedLine): string {
  const f = p.fields;
  const s = (k: string): string => {
    const v = f[k];
    return v === undefined ? '' : typeof v === 'string' ? printable(v, 200) : show(v);
  };
  switch (p.kind) {
    case 'http': {
      const req = f.bad_request ? s('request') || '<BADREQ>' : `${s('method')} ${s('path')}${f.http_version ? ' ' + s('http_version') : ''}`;
      return `${s('client_ip')} "${req}" -> ${s('status')}  ${s('frontend')}${f.tls ? '~' : ''} -> ${s('backend')}/${s('server')}  ${s('termination_state')}`;
    }
    case 'tcp':
      return `${s('client_ip')}  ${s('frontend')} -> ${s('backend')}/${s('server')}  ${s('termination_state')}`;
    case 'conn_error':
      return `${s('client_ip')}  ${s('frontend')}/${s('bind')}: ${s('error')}${f.ssl_error ? ` (${s('ssl_error')})` : ''}`;
    case 'event':
      return `${s('event')}  ${f.backend !== undefined ? `${s('backend')}${f.server !== undefined ? '/' + s('server') : ''}` : s('proxy')}${f.reason ? `  reason ${s('reason')}` : ''}`;
    case 'app':
      return `${f.level === undefined ? '-' : s('level')}  ${printable(String(f.message ?? ''), 160)}`;
    default:
      return `(${s('reason')})`;
  }
}

/** One line, explained: the --json object and the readable block. `n` is its 1-based number. */
export function explainLine(line: string, format: SourceFormat, rules?: RulesFn, n = 1): { json: ExplainedLine; text: string } {
  const p = parseLine(line, format);
  let matched: string[] = [];
  let signatures: SignatureHit[] = [];
  let rulesError: string | undefined;
  if (rules) {
    try {
      const r = rules(p);
      if (Array.isArray(r)) matched = r;
      else ({ rules: matched, signatures } = r);
    } catch (e) {
      rulesError = e instanceof Error ? e.message : String(e);
    }
  }
  const json: ExplainedLine = { ok: p.ok, kind: p.kind, time: isoString(p.time), fields: p.fields, rules: matched, signatures };
  if (rulesError !== undefined) json.rules_error = rulesError;
  const out = [`#${n} ${p.kind.padEnd(10)} ${headline(p)}`];
  if (!p.ok) out.push(`    line: ${printable(line, 200)}`);
  else {
    if (p.time !== null) out.push(`    time: ${json.time}`);
    const kv = Object.entries(p.fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${show(v)}`);
    out.push(`    fields: ${kv.join(' ')}`);
  }
  out.push(`    rules: ${rulesError !== undefined ? `error: ${printable(rulesError)}` : matched.length ? matched.map((r) => ruleText(r, signatures)).join(', ') : '(none)'}`);
  return { json, text: out.join('\n') };
}

/** Counts by kind and by unknown reason, and lines that matched a rule. */
export class ExplainSummary {
  lines = 0;
  matched = 0;
  readonly kinds = new Map<string, number>();
  readonly reasons = new Map<string, number>();

  add(j: ExplainedLine): void {
    this.lines++;
    if (j.rules.length > 0) this.matched++;
    this.kinds.set(j.kind, (this.kinds.get(j.kind) ?? 0) + 1);
    if (!j.ok) {
      const r = String(j.fields.reason ?? 'unknown');
      this.reasons.set(r, (this.reasons.get(r) ?? 0) + 1);
    }
  }

  toString(): string {
    const kinds = [...this.kinds].map(([k, v]) => `${k} ${v}`).join(', ');
    const reasons = this.reasons.size ? ` (unparsed: ${[...this.reasons].map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
    return `${this.lines} lines: ${kinds || 'none'}${reasons}; ${this.matched} matched a rule`;
  }
}

/**
 * The format a sample of lines is most likely in, for when the operator did
 * not say: haproxy when most non-empty lines parse as HAProxy lines, else
 * json when most start with `{`, else text.
 */
export function guessFormat(sample: readonly string[]): SourceFormat {
  const lines = sample.filter((l) => l.trim() !== '').slice(0, 50);
  if (lines.length === 0) return 'haproxy';
  const haproxy = lines.filter((l) => parseLine(l, 'haproxy').ok).length;
  if (haproxy * 2 > lines.length) return 'haproxy';
  const json = lines.filter((l) => l.trimStart().startsWith('{')).length;
  return json * 2 > lines.length ? 'json' : 'text';
}

/** Explains every line of `lines`, in order. */
export function explainLines(lines: Iterable<string>, format: SourceFormat, rules?: RulesFn): { json: ExplainedLine[]; text: string[]; summary: string } {
  const json: ExplainedLine[] = [];
  const text: string[] = [];
  const sum = new ExplainSummary();
  let n = 0;
  for (const line of lines) {
    const r = explainLine(line, format, rules, ++n);
    json.push(r.json);
    text.push(r.text);
    sum.add(r.json);
  }
  return { json, text, summary: sum.toString() };
}

/**
 * The rules a line is checked against, loaded as the monitor loads them: the
 * shipped rules with the operator's rules directory over them, or `override`
 * alone (`monitor explain --rules <dir>`). For a matched rule with signature
 * entries, the entries the line matches are named too (each entry tested
 * alone, SignatureSet.matching: explanations only, never the monitor's path).
 */
export function explainRules(operatorDir: string | null, override?: string): { rules: RulesFn; count: number } {
  const loaded = loadRules({ dir: override ?? SHIPPED_RULES_DIR, operatorDir: override ? null : operatorDir });
  const triage = createTriage(loaded.rules);
  const sets = new Map(loaded.rules.flatMap((r) => (r.signatures ? [[r.name, new SignatureSet(r.signatures)] as const] : [])));
  const view = new LineView();
  const rules: RulesFn = (p) => {
    const names = triage.explain(p, 'explain');
    const signatures: SignatureHit[] = [];
    for (const rule of names) {
      const set = sets.get(rule);
      if (set === undefined) continue;
      view.reset(p, 'explain', p.time ?? 0);
      for (const id of set.matching(view)) {
        const e = set.entries.find((x) => x.id === id)!;
        signatures.push({ rule, id, family: e.family, ...(e.cve ? { cve: [...e.cve] } : {}), product: e.product });
      }
    }
    return { rules: names, signatures };
  };
  return { rules, count: loaded.rules.length };
}
