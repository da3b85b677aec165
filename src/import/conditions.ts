/**
 * ACLs and `if`/`unless` conditions, read into the few kinds of test the
 * import can express: which host (hdr(host) and its forms, host files),
 * which path (path, path_beg), plain HTTP or TLS (ssl_fc), GET/HEAD
 * (METH_GET), basic auth (http_auth), and this project's own site tests
 * (var(txn.site) and the per-site maps). Anything else is `unknown` with its
 * text, and the rule holding it is reported, never half-applied.
 */
import type { CfgLine } from './tokenize.js';

/** One host pattern: an exact name, or a suffix/domain match. */
export interface HostPattern {
  value: string;
  match: 'str' | 'end' | 'dom';
}

export type Term =
  | { kind: 'host'; hosts: HostPattern[]; problems: string[] }
  | { kind: 'path'; match: 'prefix' | 'exact'; paths: string[] }
  | { kind: 'ssl' }
  | { kind: 'get' }
  | { kind: 'acme' }
  | { kind: 'site'; backends: string[] }
  | { kind: 'sitemap'; file: string; value: string | null }
  | { kind: 'found'; variable: string }
  | { kind: 'auth'; userlist: string; group: string | null }
  /** The real client IP (this project's txn.real_ip) in an address list file. */
  | { kind: 'realip'; file: string }
  /** This project's own trusted-address tests (the trusted list, by source or by real IP). */
  | { kind: 'trusted'; of: 'source' | 'real_ip' }
  /** A path route's id (this project's txn.route_id). */
  | { kind: 'routeid'; variable: string; id: string }
  | { kind: 'true' }
  | { kind: 'unknown'; text: string };

export type CondTerm = Term & { neg: boolean };

/** A condition: every term must hold (HAProxy's implicit AND); null when there is none. */
export interface Cond {
  terms: CondTerm[];
  /** Why the condition as a whole cannot be read (an OR of different kinds, an unless of several terms). */
  problem: string | null;
}

/** A criterion: `fetch[,converter...] [flags] values...`. */
export interface Criterion {
  fetch: string;
  conv: string[];
  ci: boolean;
  match: string | null;
  files: string[];
  values: string[];
}

/** What the frontend knows while reading conditions. */
export interface CondContext {
  /** Named ACLs: each line's criterion (several lines OR together). */
  acls: Map<string, { words: string[]; line: CfgLine }[]>;
  /** Variables that hold the request's host (txn.host in this project's own config). */
  hostVars: Set<string>;
  /** Variables that hold the routed backend (txn.site). */
  siteVars: Set<string>;
  /** Map and list files, by the path as written. */
  files: Readonly<Record<string, string>>;
  /** Variables that hold the real client IP (txn.real_ip, in this project's own config only). */
  realIpVars: Set<string>;
  /** Variables that hold a path route's id (txn.route_id). */
  routeVars: Set<string>;
}

/** Splits `a(b,c),d(e)` at top-level commas. */
export function splitChain(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function parseCriterion(words: string[]): Criterion {
  const [head, ...conv] = splitChain(words[0] ?? '');
  const c: Criterion = { fetch: head ?? '', conv, ci: false, match: null, files: [], values: [] };
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (w === '-i') c.ci = true;
    else if (w === '-m') c.match = words[++i] ?? '';
    else if (w === '-f') c.files.push(words[++i] ?? '');
    else if (w === '-n' || w === '-I') continue;
    else if (w === '-M' || w === '-u') {
      if (w === '-u') i++;
      continue;
    } else break;
  }
  c.values = words.slice(i);
  return c;
}

/** Lines of a pattern file (blank lines and # comments left out), as HAProxy loads them. */
export function patternLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, '').replace(/^[ \t]+|[ \t]+$/g, ''))
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const HOST_FETCH = /^(?:req\.)?f?hdr\((host)\)$/i;

function hostMatchOf(c: Criterion, ctx: CondContext): { match: string; portless: boolean } | null {
  const f = c.fetch.toLowerCase();
  let match: string | null = null;
  let portless = false;
  const v = /^var\(([^)]+)\)$/.exec(c.fetch);
  if (HOST_FETCH.test(f)) match = 'str';
  else if (/^hdr_dom\(host\)$/.test(f)) match = 'dom';
  else if (/^hdr_end\(host\)$/.test(f)) match = 'end';
  else if (/^hdr_(beg|sub|reg|len|cnt)\(host\)$/.test(f)) match = f.slice(4, 7);
  else if (v && ctx.hostVars.has(v[1]!)) {
    match = 'str';
    portless = true;
  } else return null;
  for (const conv of c.conv) {
    if (conv === 'lower') continue;
    if (conv === 'field(1,:)') portless = true;
    else return { match: `converter ${conv}`, portless };
  }
  return { match: c.match ?? match, portless };
}

/** A criterion about the host, or null when it tests something else. */
export function hostTerm(c: Criterion, ctx: CondContext): Term | null {
  const m = hostMatchOf(c, ctx);
  if (!m) return null;
  const problems: string[] = [];
  if (!['str', 'end', 'dom'].includes(m.match)) return { kind: 'host', hosts: [], problems: [`the host match "${m.match}" is not expressible (only exact names, suffixes and domains)`] };
  const values = [...c.values];
  for (const f of c.files) {
    const text = ctx.files[f];
    if (text === undefined) problems.push(`the host file ${f} was not given`);
    else values.push(...patternLines(text));
  }
  const hosts: HostPattern[] = [];
  for (const v0 of values) {
    const v = c.ci ? v0.toLowerCase() : v0;
    if (/:\d+$/.test(v)) problems.push(`"${v}" names a port (hosts are routed without one)`);
    else hosts.push({ value: v, match: m.match as HostPattern['match'] });
  }
  return { kind: 'host', hosts, problems };
}

function pathTerm(c: Criterion): Term | null {
  const f = c.fetch.toLowerCase();
  if (c.conv.length) return null;
  let match: string | null = null;
  if (f === 'path_beg') match = c.match ?? 'beg';
  else if (f === 'path') match = c.match ?? 'str';
  else return null;
  if (c.files.length || c.ci) return { kind: 'unknown', text: `${c.fetch} with ${c.files.length ? '-f' : '-i'}` };
  if (match !== 'beg' && match !== 'str') return { kind: 'unknown', text: `${c.fetch} -m ${match}` };
  if (c.values.length === 1 && c.values[0] === '/.well-known/acme-challenge/' && match === 'beg') return { kind: 'acme' };
  return { kind: 'path', match: match === 'beg' ? 'prefix' : 'exact', paths: c.values };
}

/** One criterion read into a term. */
export function criterionTerm(words: string[], ctx: CondContext): Term {
  const text = words.join(' ');
  const c = parseCriterion(words);
  const host = hostTerm(c, ctx);
  if (host) return host;
  const path = pathTerm(c);
  if (path) return path;
  if (c.fetch === 'ssl_fc' && !c.conv.length && !c.values.length) return { kind: 'ssl' };
  if (c.fetch === 'always_true' || c.fetch === 'TRUE') return { kind: 'true' };
  const auth = /^http_auth(_group)?\(([^)]+)\)$/.exec(c.fetch);
  if (auth) return { kind: 'auth', userlist: auth[2]!, group: auth[1] ? (c.values[0] ?? null) : null };
  const v = /^var\(([^)]+)\)$/.exec(c.fetch);
  if (v && ctx.routeVars.has(v[1]!) && !c.conv.length) {
    if (c.match === 'found' && !c.values.length) return { kind: 'found', variable: v[1]! };
    if (c.match === 'str' && c.values.length === 1) return { kind: 'routeid', variable: v[1]!, id: c.values[0]! };
  }
  const own = ownTerm(c, ctx);
  if (own) return own;
  if (v && ctx.siteVars.has(v[1]!)) {
    if (c.match === 'found' && !c.conv.length) return { kind: 'found', variable: v[1]! };
    if (c.conv.length === 0 && c.match === 'str') return { kind: 'site', backends: c.values };
    const mm = c.conv.length === 1 ? /^map_str\(([^,)]+)\)$/.exec(c.conv[0]!) : null;
    if (mm && c.match === 'found') return { kind: 'sitemap', file: mm[1]!, value: null };
    if (mm && c.match === 'str' && c.values.length === 1) return { kind: 'sitemap', file: mm[1]!, value: c.values[0]! };
  }
  return { kind: 'unknown', text };
}

/**
 * This project's own address tests: the real client IP in a list file
 * (`var(txn.real_ip) -m ip -f <file>`), and the trusted list by source
 * (`src -f .../lists/trusted-source.list`) or by real IP
 * (`var(txn.real_ip),map_ip(.../maps/trusted.map,0) -m int gt 0`).
 */
function ownTerm(c: Criterion, ctx: CondContext): Term | null {
  const v = /^var\(([^)]+)\)$/.exec(c.fetch);
  const realIp = v !== null && ctx.realIpVars.has(v[1]!);
  if (realIp && !c.conv.length && c.match === 'ip' && c.files.length === 1 && !c.values.length && !c.ci) return { kind: 'realip', file: c.files[0]! };
  if (c.fetch === 'src' && !c.conv.length && c.match === null && c.files.length === 1 && !c.values.length && /(^|\/)lists\/trusted-source\.list$/.test(c.files[0]!)) return { kind: 'trusted', of: 'source' };
  const m = c.conv.length === 1 ? /^map_ip\(([^,)]+),0\)$/.exec(c.conv[0]!) : null;
  if (realIp && m && /(^|\/)maps\/trusted\.map$/.test(m[1]!) && c.match === 'int' && c.values.join(' ') === 'gt 0' && !c.files.length) return { kind: 'trusted', of: 'real_ip' };
  return null;
}

const PREDEFINED: Record<string, Term> = { METH_GET: { kind: 'get' }, TRUE: { kind: 'true' } };

/** A named ACL: its lines OR together; only host lines (or a single line of another kind) can be read. */
function namedTerm(name: string, ctx: CondContext): Term {
  const defs = ctx.acls.get(name);
  if (!defs) return PREDEFINED[name] ?? { kind: 'unknown', text: name };
  const terms = defs.map((d) => criterionTerm(d.words, ctx));
  if (terms.length === 1) return terms[0]!;
  if (terms.every((t) => t.kind === 'host')) return mergeHosts(terms as Extract<Term, { kind: 'host' }>[]);
  if (terms.every((t) => t.kind === 'path') && new Set(terms.map((t) => (t as { match: string }).match)).size === 1) {
    return { kind: 'path', match: (terms[0] as { match: 'prefix' | 'exact' }).match, paths: terms.flatMap((t) => (t as { paths: string[] }).paths) };
  }
  return { kind: 'unknown', text: `${name} (lines of different kinds)` };
}

function mergeHosts(ts: Extract<Term, { kind: 'host' }>[]): Term {
  return { kind: 'host', hosts: ts.flatMap((t) => t.hosts), problems: ts.flatMap((t) => t.problems) };
}

/** The words after `if` or `unless` read into terms. */
export function parseCond(words: string[], ctx: CondContext): Cond | null {
  const kw = words[0];
  if (kw !== 'if' && kw !== 'unless') return null;
  const alternatives: CondTerm[][] = [[]];
  for (let i = 1; i < words.length; i++) {
    let w = words[i]!;
    if (w === '||' || w === 'or') {
      alternatives.push([]);
      continue;
    }
    let neg = false;
    while (w.startsWith('!')) {
      neg = !neg;
      w = w.slice(1);
      if (w === '') w = words[++i] ?? '';
    }
    let term: Term;
    if (w === '{') {
      const end = words.indexOf('}', i + 1);
      if (end < 0) return { terms: [], problem: 'an anonymous ACL without its closing "}"' };
      term = criterionTerm(words.slice(i + 1, end), ctx);
      i = end;
    } else term = namedTerm(w, ctx);
    alternatives[alternatives.length - 1]!.push({ ...term, neg });
  }
  let terms: CondTerm[];
  if (alternatives.length === 1) terms = alternatives[0]!;
  else if (alternatives.every((a) => a.length === 1 && a[0]!.kind === 'host' && !a[0]!.neg)) {
    terms = [{ ...mergeHosts(alternatives.map((a) => a[0] as Extract<Term, { kind: 'host' }>)), neg: false }];
  } else return { terms: [], problem: 'an OR of tests other than hosts' };
  if (kw === 'unless') {
    if (terms.length !== 1) return { terms: [], problem: '"unless" with several tests' };
    terms = [{ ...terms[0]!, neg: !terms[0]!.neg }];
  }
  return { terms, problem: null };
}

/** The domains a host pattern stands for in this project (a wildcard covers one label). */
export function domainsOf(p: HostPattern): string[] {
  if (p.match === 'str') return [p.value];
  if (p.value.startsWith('.')) return [`*${p.value}`];
  return [p.value, `*.${p.value}`];
}
