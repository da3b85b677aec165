/**
 * This project's own path routes read back from their lines (frontend.njk):
 * `set-var(txn.route_id) str(<id>)` for the path (`{ path P }`) and, for a
 * prefix, the rest of it (`{ path_beg P/ }`); the `set-path` lines that
 * strip the prefix; and `use_backend <target> if { var(txn.route_id) -m str <id> }`.
 * A route whose lines do not make a whole route is reported with all of them.
 */
import { parseCond, type CondContext } from './conditions.js';
import type { PathRoute, Scope, ScopeOf } from './frontends.js';
import type { CfgLine } from './tokenize.js';

/** A path route of this project's own shape, collected from its lines by route id. */
interface RouteId {
  scope: Scope | null;
  path: string | null;
  exact: CfgLine | null;
  prefix: CfgLine | null;
  stripBeg: CfgLine | null;
  stripRoot: CfgLine | null;
  target: string | null;
  use: CfgLine | null;
}

/** Collects a frontend's route lines by id; `finish` gives the whole routes and reports the rest through `bad`. */
export function routeReader(ctx: CondContext, scopeOf: ScopeOf, bad: (l: CfgLine, reason: string) => void) {
  const routeIds = new Map<string, RouteId>();
  const routeId = (id: string): RouteId => {
    let r = routeIds.get(id);
    if (!r) routeIds.set(id, (r = { scope: null, path: null, exact: null, prefix: null, stripBeg: null, stripRoot: null, target: null, use: null }));
    return r;
  };
  /** `use_backend <target> if { var(<v>) -m str <id> }`. */
  const target = (id: string, backend: string, l: CfgLine): void => {
    const r = routeId(id);
    if (r.target !== null) return bad(l, `route ${id} has a backend already`);
    r.target = backend;
    r.use = l;
  };
  return { set, strip, target, finish };

  /** `set-var(<v>) str(<id>) if <site> { path P } !{ var(<v>) -m found }` (exact) and `{ path_beg P/ }` (the rest of a prefix). */
  function set(l: CfgLine): void {
    const w = l.words;
    const variable = /^set-var\(([^)]+)\)$/.exec(w[1]!)![1]!;
    const id = /^str\(([^)]+)\)$/.exec(w[2]!)![1]!;
    ctx.routeVars.add(variable);
    const cond = parseCond(w.slice(3), ctx);
    const c = scopeOf(cond, ['path', 'found']);
    if (typeof c === 'string') return bad(l, c);
    const path = c.terms.find((t) => t.kind === 'path');
    const guard = c.terms.find((t) => t.kind === 'found');
    if (c.terms.length !== 2 || !path || path.kind !== 'path' || path.neg || path.paths.length !== 1 || !guard || guard.kind !== 'found' || !guard.neg || guard.variable !== variable) {
      return bad(l, 'a route id is expressible only as "if <site> { path P } !{ var(<id>) -m found }" (or path_beg P/)');
    }
    const r = routeId(id);
    const p = path.paths[0]!;
    const at = path.match === 'exact' ? p : p.replace(/\/$/, '');
    if ((path.match === 'prefix' && !p.endsWith('/')) || (r.path !== null && r.path !== at) || (r.scope !== null && JSON.stringify(r.scope) !== JSON.stringify(c.scope)) || r[path.match] !== null) {
      return bad(l, `route ${id}: this line does not complete the route's other lines (a path P and path_beg P/ of one site)`);
    }
    r.path = at;
    r.scope = c.scope;
    r[path.match] = l;
  }

  /** `set-path %[path,bytes(N)] if { var(<v>) -m str <id> } { path_beg P/ }` and `set-path / if { var(<v>) -m str <id> } { path P }`: the prefix is stripped. */
  function strip(l: CfgLine): void {
    const w = l.words;
    const cond = parseCond(w.slice(3), ctx);
    const rt = cond?.terms.find((t) => t.kind === 'routeid' && !t.neg);
    const path = cond?.terms.find((t) => t.kind === 'path' && !t.neg);
    const n = /^%\[path,bytes\((\d+)\)\]$/.exec(w[2] ?? '');
    if (!cond || cond.problem || cond.terms.length !== 2 || !rt || rt.kind !== 'routeid' || !path || path.kind !== 'path' || path.paths.length !== 1) {
      return bad(l, '"http-request set-path" is expressible only as a route\'s strip_prefix');
    }
    const r = routeId(rt.id);
    const p = path.paths[0]!;
    if (n && path.match === 'prefix' && p.endsWith('/') && Number(n[1]) === p.length - 1 && r.stripBeg === null && (r.path === null || r.path === p.slice(0, -1))) r.stripBeg = l;
    else if (w[2] === '/' && path.match === 'exact' && r.stripRoot === null && (r.path === null || r.path === p)) r.stripRoot = l;
    else bad(l, `route ${rt.id}: "set-path ${w[2] ?? ''}" does not strip the route's prefix`);
  }

  /** Routes collected by id into path routes; an incomplete one is reported with all its lines. */
  function finish(): PathRoute[] {
    const out: PathRoute[] = [];
    for (const [id, r] of routeIds) {
      const lines = [r.exact, r.prefix, r.stripBeg, r.stripRoot, r.use].filter((x): x is CfgLine => x !== null).sort((a, b) => a.line - b.line);
      const strip = r.stripBeg !== null || r.stripRoot !== null;
      const problem =
        r.use === null || r.target === null ? 'no use_backend names it'
        : r.exact === null || r.path === null || r.scope === null ? 'no line sets it'
        : strip && (r.prefix === null || r.stripBeg === null || r.stripRoot === null) ? 'it strips only part of the prefix'
        : null;
      if (problem) {
        for (const l of lines) bad(l, `route ${id} is not expressible: ${problem}`);
        continue;
      }
      out.push({ scope: r.scope!, match: r.prefix ? 'prefix' : 'exact', path: r.path!, backend: r.target!, line: r.exact!, lines, strip, segments: true });
    }
    return out;
  }
}
