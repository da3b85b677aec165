/**
 * A `frontend` (or the frontend half of a `listen`) read into routing and
 * per-site rules: which host goes to which backend (ACLs with use_backend,
 * host maps, this project's own map routing), path routes, redirects,
 * HSTS, header rules, basic auth and compression, each with the scope it
 * applies to (some hosts, some backends, or every site of the frontend).
 * Lines it cannot read are reported; nothing is guessed.
 */
import { condAt, headerRule, literalValue, type HeaderRuleOf } from './backends.js';
import { domainsOf, parseCond, patternLines, splitChain, type Cond, type CondContext, type CondTerm } from './conditions.js';
import { skip, type Skipped } from './plan.js';
import { routeReader } from './route-ids.js';
import type { CfgLine, Section } from './tokenize.js';

/** Who a rule applies to. */
export type Scope = { kind: 'all' } | { kind: 'hosts'; domains: string[] } | { kind: 'backends'; names: string[] };

/** A rule's condition read into its scope and the other terms it may hold (`allowed`); a string says why it cannot be read. */
export type ScopeOf = (cond: Cond | null, allowed: CondTerm['kind'][]) => { scope: Scope; terms: CondTerm[] } | string;

export interface HostRoute {
  domain: string;
  /** The backend's name in haproxy.cfg. */
  backend: string;
  at: { file: string; line: number; text: string };
}

export interface PathRoute {
  scope: Scope;
  match: 'prefix' | 'exact';
  path: string;
  backend: string;
  /** The line that names the path (the first of `lines`). */
  line: CfgLine;
  /** Every line the route came from (this project's routes take several). */
  lines: CfgLine[];
  /** The backend sees the path without the prefix. */
  strip: boolean;
  /** A prefix that matches whole path segments ("/api" and "/api/..."), as this project renders it; path_beg alone does not. */
  segments: boolean;
}

/** An access rule: the real client IP in a deny or allow list, or trusted addresses only. */
export interface AccessRule {
  scope: Scope;
  kind: 'deny' | 'allow' | 'trusted';
  /** The list file, as written (deny and allow). */
  file: string | null;
  line: CfgLine;
}

export interface FrontendPlan {
  name: string;
  routes: HostRoute[];
  paths: PathRoute[];
  force: { scope: Scope; code: number | null; other: number | null; line: CfgLine }[];
  hsts: { scope: Scope; value: string; line: CfgLine }[];
  redirects: { scope: Exclude<Scope, { kind: 'all' }>; to: string; code: number; keepPath: boolean; line: CfgLine }[];
  access: AccessRule[];
  /** This project's maintenance rule: the map of the sites in maintenance (backend -> Retry-After seconds). */
  maintenance: { file: string; line: CfgLine } | null;
  headers: (HeaderRuleOf & { side: 'request' | 'response'; scope: Scope })[];
  auth: { scope: Scope; userlist: string; group: string | null; realm: string | null; paths: string[]; line: CfgLine }[];
  compression: { types: string[] | null; lines: CfgLine[] } | null;
  defaultBackend: CfgLine | null;
  skipped: Skipped[];
  notes: string[];
}

interface MapSource {
  file: string;
  match: 'str' | 'end' | 'dom';
  line: CfgLine;
}

const HOST_EXPR = /^(?:req\.)?f?hdr\(host\)$/i;

/** A sample expression `fetch,conv...` read as "the host" (true), "the host through maps" (the maps), or neither (null). */
function hostExpr(expr: string, hostVars: Set<string>, line: CfgLine): { maps: MapSource[] } | null | string {
  const [fetch, ...conv] = splitChain(expr);
  const v = /^var\(([^)]+)\)$/.exec(fetch ?? '');
  if (!HOST_EXPR.test(fetch ?? '') && !(v && hostVars.has(v[1]!))) return null;
  const maps: MapSource[] = [];
  for (const c of conv) {
    if (c === 'lower' || c === 'field(1,:)') continue;
    const m = /^map(_str|_end|_dom|)\(([^,)]+)(?:,([^)]*))?\)$/.exec(c);
    if (!m) return `the converter ${c} is not expressible`;
    if (m[3] !== undefined) return `a map default (${m[3]}) is not expressible: unknown hosts get the daemon's own page`;
    maps.push({ file: m[2]!, match: m[1] === '_end' ? 'end' : m[1] === '_dom' ? 'dom' : 'str', line });
  }
  return { maps };
}

const CODES = [301, 302, 307, 308];

/** This project's maintenance rule: its page is the daemon's own (config.yaml's haproxy.maintenance_page), its map lists the sites in maintenance. */
const MAINTENANCE =
  /^http-request return status 503 content-type text\/html; charset=utf-8 file (\S+) hdr Retry-After %\[var\(([^)]+)\),map_str\(([^,)]+)\)\] hdr Cache-Control no-store if \{ var\(([^)]+)\),map_str\(([^,)]+)\) -m found \} !acme_challenge$/;

export function readFrontend(sec: Section, ctxIn: { files: Readonly<Record<string, string>>; mode: string; own?: boolean }): FrontendPlan {
  const f: FrontendPlan = {
    name: sec.name, routes: [], paths: [], force: [], hsts: [], redirects: [], access: [], maintenance: null, headers: [], auth: [], compression: null, defaultBackend: null, skipped: [], notes: [],
  };
  const ctx: CondContext = { acls: new Map(), hostVars: new Set(), siteVars: new Set(), files: ctxIn.files, realIpVars: new Set(ctxIn.own ? ['txn.real_ip'] : []), routeVars: new Set() };
  const siteMaps = new Map<string, MapSource[]>();
  const routed = new Set<string>();
  const add = (domain: string, backend: string, at: HostRoute['at']) => {
    if (routed.has(domain)) return;
    routed.add(domain);
    f.routes.push({ domain, backend, at });
  };
  const bad = (l: CfgLine, reason: string): void => void f.skipped.push(skip(l, reason));

  const scopeOf: ScopeOf = (cond, allowed) => {
    if (!cond) return { scope: { kind: 'all' }, terms: [] };
    if (cond.problem) return cond.problem;
    let scope: Scope = { kind: 'all' };
    const rest: CondTerm[] = [];
    for (const t of cond.terms) {
      if (t.kind === 'host' && !t.neg) {
        if (t.problems.length) return t.problems[0]!;
        if (scope.kind !== 'all') return 'two host tests in one condition';
        scope = { kind: 'hosts', domains: t.hosts.flatMap(domainsOf) };
      } else if (t.kind === 'site' && !t.neg) {
        if (scope.kind !== 'all') return 'two site tests in one condition';
        scope = { kind: 'backends', names: t.backends };
      } else if (t.kind === 'sitemap' && !t.neg) {
        const text = ctx.files[t.file];
        if (text === undefined) return `the map ${t.file} was not given`;
        const names = patternLines(text)
          .map((l) => /^(\S+)\s+(.*)$/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null && (t.value === null || m[2] === t.value))
          .map((m) => m[1]!);
        scope = { kind: 'backends', names };
      } else if (t.kind === 'acme' && t.neg) continue;
      else if (t.kind === 'true' && !t.neg) continue;
      else if (allowed.includes(t.kind)) rest.push(t);
      else if (t.kind === 'unknown') return `the test "${t.text}" is not expressible`;
      else return `a ${t.neg ? 'negated ' : ''}${t.kind} test is not expressible here`;
    }
    return { scope, terms: rest };
  };

  const routes = routeReader(ctx, scopeOf, bad);

  for (const l of sec.lines) {
    const w = l.words;
    const k = w[0]!;
    if (k === 'acl') {
      const name = w[1] ?? '';
      const list = ctx.acls.get(name) ?? [];
      list.push({ words: w.slice(2), line: l });
      ctx.acls.set(name, list);
      continue;
    }
    if (k === 'mode') continue;
    if (k === 'bind') {
      bad(l, "a listener: the daemon's own listeners serve every site (haproxy.http_port, haproxy.https_port)");
      continue;
    }
    if (k === 'default_backend') {
      f.defaultBackend = l;
      continue;
    }
    if (k === 'use_backend') {
      const target = w[1] ?? '';
      const cond = parseCond(w.slice(2), ctx);
      if (target.startsWith('%[')) {
        const expr = /^%\[(.*)\]$/.exec(target)?.[1] ?? '';
        const v = /^var\(([^)]+)\)$/.exec(expr);
        const maps = v && siteMaps.has(v[1]!) ? { maps: siteMaps.get(v[1]!)! } : hostExpr(expr, ctx.hostVars, l);
        if (typeof maps === 'string' || maps === null || !maps.maps.length) {
          bad(l, typeof maps === 'string' ? maps : 'a computed backend name is not expressible (only host maps)');
          continue;
        }
        const c = scopeOf(cond, ['found']);
        if (typeof c === 'string' || c.scope.kind !== 'all') {
          bad(l, typeof c === 'string' ? c : 'a condition beside a host map');
          continue;
        }
        for (const m of maps.maps) readHostMap(m);
        continue;
      }
      const rt = cond && !cond.problem && cond.terms.length === 1 && cond.terms[0]!.kind === 'routeid' && !cond.terms[0]!.neg ? cond.terms[0]! : null;
      if (rt && rt.kind === 'routeid') {
        routes.target(rt.id, target, l);
        continue;
      }
      const c = scopeOf(cond, ['path']);
      if (typeof c === 'string') {
        bad(l, c);
        continue;
      }
      if (!cond) {
        bad(l, 'use_backend without a condition routes every request: not expressible (no host)');
        continue;
      }
      const path = c.terms.find((t) => t.kind === 'path');
      if (path && path.kind === 'path' && !path.neg) {
        for (const p of path.paths) f.paths.push({ scope: c.scope, match: path.match, path: p, backend: target, line: l, lines: [l], strip: false, segments: false });
        continue;
      }
      if (c.terms.length || c.scope.kind !== 'hosts') {
        bad(l, c.scope.kind === 'backends' ? 'use_backend on a site test is not expressible' : 'use_backend without a host test is not expressible');
        continue;
      }
      for (const d of c.scope.domains) add(d, target, { file: l.file, line: l.line, text: l.text });
      continue;
    }
    if (k === 'http-request' && /^set-var\(([^)]+)\)$/.test(w[1] ?? '') && /^str\([^)]+\)$/.test(w[2] ?? '')) {
      routes.set(l);
      continue;
    }
    if (k === 'http-request' && w[1] === 'set-path') {
      routes.strip(l);
      continue;
    }
    if (k === 'http-request' && w[1] === 'deny' && w[2] === 'deny_status' && w[3] === '403' && w[4] === 'if') {
      readAccess(l);
      continue;
    }
    if (k === 'http-request' && w[1] === 'return') {
      const m = MAINTENANCE.exec(w.join(' '));
      if (m && m[3] === m[5] && m[2] === m[4] && ctx.siteVars.has(m[2]!) && !f.maintenance) f.maintenance = { file: m[3]!, line: l };
      else bad(l, '"http-request return" is not expressible (only this project\'s own maintenance rule is read)');
      continue;
    }
    if (k === 'http-request' && /^set-var\(([^)]+)\)$/.test(w[1] ?? '')) {
      const variable = /^set-var\(([^)]+)\)$/.exec(w[1]!)![1]!;
      const h = hostExpr(w[2] ?? '', ctx.hostVars, l);
      if (h === null || typeof h === 'string') {
        bad(l, typeof h === 'string' ? h : 'a variable is not expressible');
        continue;
      }
      const cond = parseCond(w.slice(3), ctx);
      if (!h.maps.length) {
        if (cond) bad(l, 'a conditional host variable is not expressible');
        else ctx.hostVars.add(variable);
        continue;
      }
      // The fallback (map_end only when map_str found nothing) is the order maps are read in.
      if (cond && !isNotFound(cond, variable)) {
        bad(l, 'a condition on a host map other than "not found yet" is not expressible');
        continue;
      }
      ctx.siteVars.add(variable);
      siteMaps.set(variable, [...(siteMaps.get(variable) ?? []), ...h.maps]);
      continue;
    }
    if ((k === 'http-request' && w[1] === 'redirect') || k === 'redirect') {
      readRedirect(l, k === 'redirect' ? w.slice(1) : w.slice(2));
      continue;
    }
    if ((k === 'http-response' || k === 'http-after-response') && w[1] === 'set-header' && w[2]?.toLowerCase() === 'strict-transport-security') {
      const c = scopeOf(parseCond(w.slice(condAt(w, 2)), ctx), ['ssl', 'found']);
      if (typeof c === 'string') {
        bad(l, c);
        continue;
      }
      const own = /^%\[var\(([^)]+)\),map_str\(([^)]+)\)\]$/.exec(w[3] ?? '');
      if (own && ctx.siteVars.has(own[1]!)) {
        const text = ctx.files[own[2]!];
        if (text === undefined) bad(l, `the map ${own[2]} was not given`);
        else for (const e of patternLines(text)) {
          const m = /^(\S+)\s+(.*)$/.exec(e);
          if (m) f.hsts.push({ scope: { kind: 'backends', names: [m[1]!] }, value: m[2]!, line: l });
        }
        continue;
      }
      f.hsts.push({ scope: c.scope, value: w[3] ?? '', line: l });
      continue;
    }
    if ((k === 'http-request' || k === 'http-response') && /^(set|add|del)-header$/.test(w[1] ?? '')) {
      const c = scopeOf(parseCond(w.slice(condAt(w, 2)), ctx), []);
      if (typeof c === 'string') {
        bad(l, c);
        continue;
      }
      const r = headerRule(w.slice(0, condAt(w, 2)));
      if (typeof r === 'string') bad(l, r);
      else f.headers.push({ rule: r, line: l, side: k === 'http-request' ? 'request' : 'response', scope: c.scope });
      continue;
    }
    if (k === 'http-request' && w[1] === 'auth') {
      const at = condAt(w, 2);
      const opts = w.slice(2, at);
      const realm = opts[0] === 'realm' ? (opts[1] ?? null) : null;
      if (opts.length > (realm === null ? 0 : 2)) {
        bad(l, `"${opts.join(' ')}" of http-request auth is not expressible`);
        continue;
      }
      const c = scopeOf(parseCond(w.slice(at), ctx), ['auth', 'path']);
      if (typeof c === 'string') {
        bad(l, c);
        continue;
      }
      const auth = c.terms.find((t) => t.kind === 'auth');
      const paths = c.terms.filter((t) => t.kind === 'path');
      if (!auth || auth.kind !== 'auth' || !auth.neg || paths.some((p) => p.neg || (p.kind === 'path' && p.match !== 'prefix'))) {
        bad(l, 'http-request auth is expressible only as "if !<http_auth acl>" (with a host and path prefixes)');
        continue;
      }
      f.auth.push({ scope: c.scope, userlist: auth.userlist, group: auth.group, realm, paths: paths.flatMap((p) => (p.kind === 'path' ? p.paths : [])), line: l });
      continue;
    }
    if (k === 'compression') {
      const cmp = (f.compression ??= { types: null, lines: [] });
      if (w[1] === 'type' && w.length > 2) {
        cmp.types = [...(cmp.types ?? []), ...w.slice(2)];
        cmp.lines.push(l);
      } else if (w[1] === 'algo' && w.slice(2).includes('gzip')) {
        cmp.lines.push(l);
        if (w.length > 3) f.notes.push(`${l.file}:${l.line}: compression uses gzip only (the file also lists ${w.slice(2).filter((x) => x !== 'gzip').join(', ')})`);
      } else bad(l, `"compression ${w.slice(1).join(' ')}" is not expressible (compression is on with gzip, and a list of types)`);
      continue;
    }
    bad(l, `"${k}${(k === 'option' || k.startsWith('http-') || k.startsWith('tcp-')) && w[1] ? ` ${w[1]}` : ''}" is not expressible`);
  }
  f.paths.push(...routes.finish());
  return f;

  /** `http-request deny deny_status 403 if <site> <real IP in a list>` (deny), `... !<real IP in a list>` (allow), `... !trusted_source !trusted_real_ip` (trusted only). */
  function readAccess(l: CfgLine): void {
    const c = scopeOf(parseCond(l.words.slice(4), ctx), ['realip', 'trusted']);
    if (typeof c === 'string') return bad(l, c);
    const [a, b] = c.terms;
    if (c.terms.length === 1 && a!.kind === 'realip') return void f.access.push({ scope: c.scope, kind: a!.neg ? 'allow' : 'deny', file: a!.file, line: l });
    if (c.terms.length === 2 && a!.kind === 'trusted' && b!.kind === 'trusted' && a!.neg && b!.neg && a!.of !== b!.of) return void f.access.push({ scope: c.scope, kind: 'trusted', file: null, line: l });
    bad(l, '"http-request deny" is expressible only as a site\'s access rule (the real client IP in a list, or trusted addresses only)');
  }

  function isNotFound(cond: Cond, variable: string): boolean {
    return cond.problem === null && cond.terms.length === 1 && cond.terms[0]!.kind === 'found' && cond.terms[0]!.neg && cond.terms[0]!.variable === variable;
  }

  function readHostMap(m: MapSource): void {
    const text = ctx.files[m.file];
    if (text === undefined) {
      bad(m.line, `the map ${m.file} was not given`);
      return;
    }
    const lines = text.split('\n');
    for (const [i, raw] of lines.entries()) {
      const e = raw.replace(/\r$/, '').trim();
      if (!e || e.startsWith('#')) continue;
      const at = { file: m.file, line: i + 1, text: e };
      const mm = /^(\S+)\s+(\S+)$/.exec(e);
      if (!mm) {
        f.skipped.push({ ...at, reason: 'a map line is "<host> <backend>"' });
        continue;
      }
      const key = mm[1]!.toLowerCase();
      for (const d of domainsOf({ value: key, match: m.match })) add(d, mm[2]!, at);
    }
  }

  function readRedirect(l: CfgLine, args: string[]): void {
    const at = condAt(args, 0);
    const [how, to] = args;
    const opts = args.slice(2, at);
    let code: number | null = null;
    const extra: string[] = [];
    for (let i = 0; i < opts.length; i++) {
      if (opts[i] === 'code') code = Number(opts[++i]);
      else extra.push(opts[i]!);
    }
    if (code !== null && !CODES.includes(code)) return bad(l, `redirect code ${code} is not expressible (301, 302, 307 or 308)`);
    const c = scopeOf(parseCond(args.slice(at), ctx), ['ssl', 'get']);
    if (typeof c === 'string') return bad(l, c);
    const plain = c.terms.some((t) => t.kind === 'ssl' && t.neg);
    const get = c.terms.find((t) => t.kind === 'get');
    const others = c.terms.filter((t) => !(t.kind === 'ssl' && t.neg) && t.kind !== 'get');
    if (others.length) return bad(l, 'a redirect on TLS requests only is not expressible');
    const ownForce = how === 'location' && /^https:\/\/%\[var\(([^)]+)\)\](:\d+)?%\[pathq\]$/.exec(to ?? '');
    if ((how === 'scheme' && to === 'https') || (ownForce && ctx.hostVars.has(ownForce[1]!))) {
      if (extra.length) return bad(l, `redirect options "${extra.join(' ')}" are not expressible`);
      if (!plain && how !== 'scheme') return bad(l, 'a redirect to HTTPS that also applies over TLS would loop');
      const eff = code ?? 302;
      if (get) f.force.push({ scope: c.scope, code: get.neg ? null : eff, other: get.neg ? eff : null, line: l });
      else f.force.push({ scope: c.scope, code: eff, other: eff === 307 || eff === 308 ? eff : eff === 301 ? 308 : 307, line: l });
      if (!get && (eff === 301 || eff === 302)) f.notes.push(`${l.file}:${l.line}: forced HTTPS answers ${eff} to GET and HEAD and ${eff === 301 ? 308 : 307} to other methods (which keeps their method and body)`);
      return;
    }
    if ((how === 'location' || how === 'prefix') && to !== undefined) {
      // The target is a log-format string: `%%` is a `%`; this project appends the path with `%[pathq]`.
      const keepPath = how === 'prefix' || (how === 'location' && to.endsWith('%[pathq]'));
      const lit = literalValue(how === 'location' && keepPath ? to.slice(0, -'%[pathq]'.length) : to);
      if (lit === null) return bad(l, 'a redirect to an expression is not expressible');
      if (c.scope.kind === 'all' || plain || get) return bad(l, 'a redirect is expressible per host only (a redirect site)');
      if (extra.length) return bad(l, `redirect options "${extra.join(' ')}" are not expressible`);
      f.redirects.push({ scope: c.scope, to: lit, code: code ?? 302, keepPath, line: l });
      return;
    }
    bad(l, 'this redirect is not expressible');
  }
}
