/**
 * The sample-log fixture runner behind `haproxy-manager rules test`
 * (fail2ban's `# failJSON:` idea). Every rule file `<dir>/<name>.yaml` has
 * `<dir>/fixtures/<name>.log`: real log lines, each optionally preceded by
 * `# expect:` lines naming the findings that line must produce. A line
 * without an expectation must produce no finding at all. The format is
 * documented in config/rules/README.md; in short:
 *
 *   # expect: {"rule": "sensitive-files", "subject": "203.0.113.9"}
 *   # expect: none
 *   # repeat: 30              the next line is fed 30 times (one expectation block for all)
 *   # source: app-api         the source name of the following lines (default "haproxy")
 *   # format: json            their format: haproxy (default), json or text
 *   # scope: all              (file-wide) run every loaded rule, not just this file's
 *   # tolerate: low           (file-wide) unannotated lines may raise findings up to this severity
 *   # protected: 192.0.2.10, 10.0.0.0/8   (file-wide) addresses the engine treats as protected
 *   # now: 2026-11-26T00:00:00Z  (file-wide) "today" for year-less syslog stamps (this is the default)
 *   # include: examples/allow-x.yaml  (file-wide) that rule file's allow entries (and rules) apply to this fixture
 *
 * Each fixture file runs through a fresh engine, lines in order; windows use
 * the times in the lines. A file passes when every line produced exactly
 * what it expected, every rule of its rule file was expected to fire at
 * least once, and every line parsed (or was expected not to: `# expect: unparsed`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseIp } from '../../validate/ip.js';
import { parseLine } from '../parse/index.js';
import { SEVERITIES, type Finding, type Severity, type SourceFormat } from '../types.js';
import { createTriage } from './engine.js';
import { loadRules, parseRuleFileFull, RuleLoadError, withAllow, type LoadedRules, type LoadRulesOptions, type RuleFile } from './load.js';
import { checkSignatureExamples } from './signatures.js';
import { LineView } from './match.js';
import type { RuleSpec } from './schema.js';
import ipaddr from 'ipaddr.js';

/** One expected finding; only the keys given are compared. */
export interface Expectation {
  rule: string;
  subject?: string | { type: string; value: string };
  severity?: Severity;
  category?: string;
  count?: number;
  /** True: a block_ip action must be suggested; false: none may be. */
  block?: boolean;
  escalate?: boolean;
}

const EXPECT_KEYS = new Set(['rule', 'subject', 'severity', 'category', 'count', 'block', 'escalate']);

export interface FixtureFileResult {
  /** The fixture file's path. */
  path: string;
  /** The rule file it belongs to (null for a scope: all file without one). */
  ruleFile: string | null;
  scope: 'file' | 'all';
  /** Log lines fed (a repeated line counts once per repetition). */
  lines: number;
  /** Expectation blocks checked (a line with expectations, or `expect: none`). */
  expectations: number;
  /** Findings produced in total. */
  findings: number;
  /** Findings on unannotated lines within the `tolerate` severity. */
  tolerated: number;
  /** One line per mismatch, each naming the fixture line. */
  failures: string[];
  passed: boolean;
}

export interface FixtureReport {
  files: FixtureFileResult[];
  /** Rule files without a fixture file: a failure for shipped files, a warning for the operator's. */
  missing: { ruleFile: string; origin: 'shipped' | 'operator' }[];
  /** Signature entries whose examples do not hold (a `match` example missed, a `normal` one matched). */
  signatures: string[];
  /** Signature entries whose examples were checked. */
  signaturesChecked: number;
  passed: boolean;
}

interface Entry {
  lineNo: number;
  text: string;
  source: string;
  format: SourceFormat;
  repeat: number;
  /** null: no annotation (only tolerated findings allowed). */
  expect: Expectation[] | null;
  expectUnparsed: boolean;
}

interface ParsedFixture {
  entries: Entry[];
  scope: 'file' | 'all';
  tolerate: Severity | null;
  protectedList: string[];
  /** "Today" for the parser: year-less syslog stamps take their year from it. */
  now: number;
  /** Rule files (relative to the rules directory) whose allow entries and rules apply to this fixture. */
  include: string[];
  errors: string[];
}

/** The default "today" of fixtures, so that `Nov 25 14:00:00` always means 2026. */
export const FIXTURE_NOW = Date.UTC(2026, 10, 26);

const FORMATS: SourceFormat[] = ['haproxy', 'json', 'text'];

function checkExpectation(v: unknown, where: string, errors: string[]): Expectation | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    errors.push(`${where}: an expectation is a JSON object such as {"rule": "...", "subject": "..."}`);
    return null;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!EXPECT_KEYS.has(k)) errors.push(`${where}: unknown expectation key "${k}"`);
  if (typeof o.rule !== 'string') errors.push(`${where}: "rule" (a rule name) is required`);
  if (o.severity !== undefined && !SEVERITIES.includes(o.severity as Severity)) errors.push(`${where}: severity must be one of ${SEVERITIES.join(', ')}`);
  return o as unknown as Expectation;
}

/** Parses a fixture file's text. */
export function parseFixture(text: string, label: string): ParsedFixture {
  const out: ParsedFixture = { entries: [], scope: 'file', tolerate: null, protectedList: [], now: FIXTURE_NOW, include: [], errors: [] };
  let source = 'haproxy';
  let format: SourceFormat = 'haproxy';
  let pending: Expectation[] | null = null;
  let pendingUnparsed = false;
  let repeat = 1;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const where = `${label}:${lineNo}`;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*(expect|repeat|source|format|scope|tolerate|protected|now|include)\s*:\s*(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, key, valueRaw] = m as unknown as [string, string, string];
      const value = valueRaw.trim();
      switch (key) {
        case 'expect': {
          pending ??= [];
          if (value === 'none') break;
          if (value === 'unparsed') {
            pendingUnparsed = true;
            break;
          }
          let v: unknown;
          try {
            v = JSON.parse(value);
          } catch (e) {
            out.errors.push(`${where}: expect: not JSON (${(e as Error).message})`);
            break;
          }
          for (const x of Array.isArray(v) ? v : [v]) {
            const ex = checkExpectation(x, where, out.errors);
            if (ex) pending.push(ex);
          }
          break;
        }
        case 'repeat':
          if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1_000_000) out.errors.push(`${where}: repeat: a count from 1 to 1000000`);
          else repeat = Number(value);
          break;
        case 'source':
          if (!value) out.errors.push(`${where}: source: a name`);
          else source = value;
          break;
        case 'format':
          if (!FORMATS.includes(value as SourceFormat)) out.errors.push(`${where}: format: one of ${FORMATS.join(', ')}`);
          else format = value as SourceFormat;
          break;
        case 'scope':
          if (value !== 'all' && value !== 'file') out.errors.push(`${where}: scope: "all" or "file"`);
          else out.scope = value;
          break;
        case 'tolerate':
          if (!SEVERITIES.includes(value as Severity)) out.errors.push(`${where}: tolerate: one of ${SEVERITIES.join(', ')}`);
          else out.tolerate = value as Severity;
          break;
        case 'now': {
          const ms = Date.parse(value);
          if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(ms)) out.errors.push(`${where}: now: an ISO 8601 time such as 2026-11-26T00:00:00Z`);
          else out.now = ms;
          break;
        }
        case 'include':
          if (!/^[\w.-]+(?:\/[\w.-]+)*\.yaml$/.test(value) || value.split('/').includes('..')) out.errors.push(`${where}: include: a rule file below the rules directory, such as examples/allow-x.yaml`);
          else out.include.push(value);
          break;
        case 'protected':
          for (const a of value.split(',').map((s) => s.trim()).filter(Boolean)) {
            if (parseIp(a) === null) out.errors.push(`${where}: protected: "${a}" is not an address or CIDR`);
            else out.protectedList.push(a);
          }
          break;
      }
      return;
    }
    out.entries.push({ lineNo, text: line, source, format, repeat, expect: pending, expectUnparsed: pendingUnparsed });
    pending = null;
    pendingUnparsed = false;
    repeat = 1;
  });
  if (pending !== null || pendingUnparsed) out.errors.push(`${label}: an expectation at the end of the file has no log line after it`);
  return out;
}

function protectedPredicate(list: string[]): (ip: string) => boolean {
  if (list.length === 0) return () => false;
  const ranges = list.map((a) => ipaddr.parseCIDR(a.includes('/') ? a : a.includes(':') ? `${a}/128` : `${a}/32`));
  return (ip) => {
    if (!ipaddr.isValid(ip)) return false;
    let addr = ipaddr.parse(ip);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    return ranges.some((r) => addr.kind() === r[0].kind() && addr.match(r));
  };
}

function matches(f: Finding, e: Expectation): boolean {
  if (f.rule !== e.rule) return false;
  if (e.subject !== undefined) {
    if (typeof e.subject === 'string') {
      if (f.subject.value !== e.subject) return false;
    } else if (f.subject.type !== e.subject.type || f.subject.value !== e.subject.value) return false;
  }
  if (e.severity !== undefined && f.severity !== e.severity) return false;
  if (e.category !== undefined && f.category !== e.category) return false;
  if (e.count !== undefined && f.count !== e.count) return false;
  if (e.escalate !== undefined && f.escalate !== e.escalate) return false;
  if (e.block !== undefined && f.actions.some((a) => a.type === 'block_ip') !== e.block) return false;
  return true;
}

const show = (f: Finding) => `${f.rule} ${f.subject.type}:${f.subject.value} (${f.severity}, count ${f.count}${f.actions.some((a) => a.type === 'block_ip') ? ', block' : ''})`;

/** Runs one fixture text against `rules`; `label` names it in messages. */
export function runFixture(text: string, label: string, rulesIn: readonly RuleSpec[], ruleFile: string | null, fileRuleNames: string[], rulesDir?: string): FixtureFileResult {
  const fx = parseFixture(text, label);
  const res: FixtureFileResult = { path: label, ruleFile, scope: fx.scope, lines: 0, expectations: 0, findings: 0, tolerated: 0, failures: [...fx.errors], passed: false };
  let rules: readonly RuleSpec[] = rulesIn;
  for (const inc of fx.include) {
    // An included file (an example kept out of the loaded directory) adds its rules and its allow entries.
    try {
      if (rulesDir === undefined) throw new RuleLoadError([`${label}: include: no rules directory to read ${inc} from`]);
      const p = parseRuleFileFull(readFileSync(join(rulesDir, inc), 'utf8'), join(rulesDir, inc));
      rules = withAllow([...rules, ...p.rules], [{ label: join(rulesDir, inc), allow: p.allow }]);
    } catch (e) {
      res.failures.push(...(e instanceof RuleLoadError ? e.lines : [`${label}: include: ${(e as Error).message}`]));
    }
  }
  const engine = createTriage(rules, { isProtected: protectedPredicate(fx.protectedList), now: () => fx.now });
  const tolerate = fx.tolerate === null ? -1 : SEVERITIES.indexOf(fx.tolerate);
  const fired = new Set<string>();
  for (const e of fx.entries) {
    const where = `${label}:${e.lineNo}`;
    const got: Finding[] = [];
    let unparsed = false;
    for (let i = 0; i < e.repeat; i++) {
      const parsed = parseLine(e.text, e.format, { now: fx.now });
      if (!parsed.ok) unparsed = true;
      res.lines++;
      for (const f of engine.process(parsed, e.source, e.text)) got.push(f);
    }
    if (unparsed && !e.expectUnparsed) res.failures.push(`${where}: the line did not parse (write "# expect: unparsed" if that is the point)`);
    if (!unparsed && e.expectUnparsed) res.failures.push(`${where}: expected the line not to parse, but it did`);
    res.findings += got.length;
    for (const f of got) fired.add(f.rule);
    if (e.expect === null) {
      for (const f of got) {
        if (SEVERITIES.indexOf(f.severity) <= tolerate) res.tolerated++;
        else res.failures.push(`${where}: unexpected finding ${show(f)}`);
      }
      continue;
    }
    res.expectations++;
    const left = [...got];
    for (const x of e.expect) {
      const i = left.findIndex((f) => matches(f, x));
      if (i === -1) res.failures.push(`${where}: expected ${JSON.stringify(x)}, got ${got.length ? got.map(show).join('; ') : 'no finding'}`);
      else left.splice(i, 1);
    }
    for (const f of left) res.failures.push(`${where}: unexpected finding ${show(f)}`);
  }
  if (fx.scope === 'file') {
    for (const n of fileRuleNames) if (!fired.has(n)) res.failures.push(`${label}: rule ${n} never fires in its fixtures (add a line that triggers it)`);
  }
  res.passed = res.failures.length === 0;
  return res;
}

export interface RulesTestOptions extends LoadRulesOptions {
  /** Already loaded rules (else they are loaded from dir and operatorDir). */
  loaded?: LoadedRules;
}

function fixtureFiles(dir: string | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (!dir) return m;
  const fdir = join(dir, 'fixtures');
  if (!existsSync(fdir)) return m;
  for (const n of readdirSync(fdir).sort()) if (n.endsWith('.log')) m.set(n.slice(0, -4), join(fdir, n));
  return m;
}

/**
 * Runs every fixture of the shipped and operator rule directories. A rule
 * file's fixtures come from the directory the effective rule file came from
 * (an operator's replacement of a shipped file brings its own, or has none);
 * `scope: all` fixtures without a rule file are taken from the operator
 * directory first, then the shipped one.
 */
export function runRuleFixtures(opts: RulesTestOptions): FixtureReport {
  const loaded = opts.loaded ?? loadRules(opts);
  const shipped = fixtureFiles(opts.dir);
  const operator = fixtureFiles(opts.operatorDir);
  const report: FixtureReport = { files: [], missing: [], signatures: [], signaturesChecked: 0, passed: true };
  const used = new Set<string>();
  const byStem = new Map<string, RuleFile>(loaded.files.map((f) => [f.name.slice(0, -'.yaml'.length), f]));

  for (const [stem, file] of byStem) {
    const fx = (file.origin === 'operator' ? operator : shipped).get(stem);
    used.add(stem);
    if (fx === undefined) {
      if (file.rules.some((r) => r.enabled)) report.missing.push({ ruleFile: file.path, origin: file.origin });
      continue;
    }
    const text = readFileSync(fx, 'utf8');
    const scopeAll = /^#\s*scope\s*:\s*all\s*$/m.test(text);
    // The rules as loaded (with the allow entries that name them), not as the file wrote them.
    const mine = new Set(file.rules.filter((r) => r.enabled).map((r) => r.name));
    const enabled = loaded.rules.filter((r) => mine.has(r.name));
    const dir = file.origin === 'operator' ? (opts.operatorDir as string) : opts.dir;
    report.files.push(runFixture(text, fx, scopeAll ? loaded.rules : enabled, file.path, enabled.map((r) => r.name), dir));
  }
  for (const stem of new Set([...operator.keys(), ...shipped.keys()])) {
    if (used.has(stem)) continue;
    const fx = (operator.get(stem) ?? shipped.get(stem)) as string;
    const text = readFileSync(fx, 'utf8');
    if (!/^#\s*scope\s*:\s*all\s*$/m.test(text)) {
      report.files.push({ path: fx, ruleFile: null, scope: 'file', lines: 0, expectations: 0, findings: 0, tolerated: 0, failures: [`${fx}: no rule file ${stem}.yaml; a fixture for all rules says "# scope: all"`], passed: false });
      continue;
    }
    report.files.push(runFixture(text, fx, loaded.rules, null, [], operator.has(stem) ? (opts.operatorDir as string) : opts.dir));
  }
  report.signatures = loaded.rules.flatMap((r) => checkSignatureExamples(r, () => new LineView()));
  report.signaturesChecked = loaded.rules.reduce((n, r) => n + (r.signatures?.length ?? 0), 0);
  report.files.sort((a, b) => basename(a.path).localeCompare(basename(b.path)));
  report.passed = report.files.every((f) => f.passed) && !report.missing.some((m) => m.origin === 'shipped') && report.signatures.length === 0;
  return report;
}

/** The readable report `rules test` prints. */
export function formatFixtureReport(r: FixtureReport): string {
  const out: string[] = [];
  for (const f of r.files) {
    const what = `${f.lines} lines, ${f.expectations} expectations, ${f.findings} findings${f.tolerated ? ` (${f.tolerated} tolerated)` : ''}${f.scope === 'all' ? ', all rules' : ''}`;
    out.push(`${f.passed ? 'ok  ' : 'FAIL'} ${basename(f.path)}: ${what}`);
    for (const x of f.failures) out.push(`     ${x}`);
  }
  for (const m of r.missing) out.push(`${m.origin === 'shipped' ? 'FAIL' : 'warn'} ${m.ruleFile}: no fixtures (fixtures/${basename(m.ruleFile, '.yaml')}.log)`);
  if (r.signatures.length) out.push('FAIL signature examples:', ...r.signatures.map((x) => `     ${x}`));
  else if (r.signaturesChecked > 0) out.push(`ok   signature examples: ${r.signaturesChecked} entries`);
  const failed = r.files.filter((f) => !f.passed).length + r.missing.filter((m) => m.origin === 'shipped').length + (r.signatures.length ? 1 : 0);
  out.push(`${r.files.length} fixture files, ${failed === 0 ? 'all passed' : `${failed} failed`}`);
  return out.join('\n');
}

/** `haproxy-manager rules test`: prints the report and returns the exit code (0 all passed, 1 a mismatch, 2 a rule file error). */
export function rulesTestCommand(opts: LoadRulesOptions, write: (s: string) => void = (s) => process.stdout.write(s)): number {
  let loaded: LoadedRules;
  try {
    loaded = loadRules(opts);
  } catch (e) {
    if (e instanceof RuleLoadError) {
      write(`invalid rules:\n${e.lines.map((l) => `  ${l}`).join('\n')}\n`);
      return 2;
    }
    throw e;
  }
  const report = runRuleFixtures({ ...opts, loaded });
  write(`${formatFixtureReport(report)}\n`);
  return report.passed ? 0 : 1;
}
