/**
 * haproxy.cfg to POST /api/domain bodies (issue 13, import): pure, no I/O;
 * the map and list files it names are passed in by the path as written.
 *
 * Rules (the README's "Importing an existing haproxy.cfg" says them too):
 * - A domain is a host a frontend routes to a backend (host ACLs with
 *   use_backend, host maps, this project's own map routing). A backend no
 *   host routes to is not imported.
 * - This project gives each domain its own backend: a backend several hosts
 *   route to is copied for the second and later hosts (`<name>-2`, ...).
 * - A backend named `<x>-backend` becomes backend_name `<x>` (the daemon
 *   renders `<x>-backend` again, so HAProxy sees the same name).
 * - A rule with no host test applies to every domain its frontend routes (or,
 *   for a frontend that routes none, such as a port-80 frontend that only
 *   redirects, to every domain of the import).
 * - global and defaults are the daemon's own (config.yaml): their lines are
 *   reported, except `mode` and `balance` defaults, which are read.
 * - Every line not carried into a body is reported with its file, line and reason.
 */
import { readBackend, type BackendPlan } from './backends.js';
import { readFrontend, type FrontendPlan, type Scope } from './frontends.js';
import { isMachinery } from './own.js';
import { patternLines } from './conditions.js';
import { skip, type ImportPlan, type PlannedDomain, type Skipped, type Source } from './plan.js';
import { readTcpServices } from './tcp-services.js';
import { sections, tokenize, type CfgLine, type Section } from './tokenize.js';
import { readUserlist, type Userlist } from './userlists.js';

/** Sections of a listen that belong to its frontend half. */
const FRONT_OF_LISTEN = (l: CfgLine) => {
  const [k, a] = l.words;
  return ['acl', 'bind', 'use_backend', 'default_backend', 'redirect', 'mode'].includes(k!) || (k === 'http-request' && (a === 'redirect' || a === 'auth' || a?.startsWith('set-var(')));
};

const HSTS = /^max-age=(\d{1,9})((?:; ?includeSubDomains)?)((?:; ?preload)?)$/i;

interface Dom {
  domain: string;
  backend: BackendPlan | null;
  backendName: string;
  front: FrontendPlan;
  at: PlannedDomain['at'];
}

export function translate(text: string, file: string, files: Readonly<Record<string, string>> = {}): ImportPlan {
  const skipped: Skipped[] = [];
  const notes: string[] = [];
  const lines = tokenize(text, file).filter((l) => {
    if (l.error) skipped.push(skip(l, `HAProxy would not read this line: ${l.error}`));
    else if (l.env) skipped.push(skip(l, 'uses an environment variable, whose value the import cannot know'));
    return !l.error && !l.env;
  });
  let mode = 'tcp';
  let balance: string | null = null;
  let sslVerifyNone = false;
  const backends = new Map<string, BackendPlan>();
  const fronts: FrontendPlan[] = [];
  const userlists = new Map<string, Userlist>();
  const all0 = sections(lines);
  // This project's own configuration: its machinery is left out of the report line by line (own.ts), so every line is judged alone.
  const own = all0.some((s) => s.kind === 'backend' && s.name === 'hm-default');
  const reportAll = (s: Section, reason: string) => {
    if (own) for (const l of [s.header, ...s.lines]) skipped.push(skip(l, reason));
    else skipped.push(skip(s.header, `${reason} (${s.lines.length + 1} lines)`));
  };
  let sni: Section | null = null;
  const tcpSections: Section[] = [];

  for (const s of all0) {
    if (s.kind === '') {
      for (const l of s.lines) skipped.push(skip(l, 'outside any section'));
    } else if (s.kind === 'global') {
      for (const l of s.lines) {
        if (l.words[0] === 'ssl-server-verify') sslVerifyNone = l.words[1] === 'none';
        skipped.push(skip(l, 'a global setting: the daemon renders its own global section (config.yaml)'));
      }
    } else if (s.kind === 'defaults') {
      for (const l of s.lines) {
        const [k, v] = l.words;
        if (k === 'mode') mode = v ?? '';
        else if (k === 'balance' && ['roundrobin', 'leastconn', 'source'].includes(v ?? '') && l.words.length === 2) balance = v!;
        else if (k === 'balance') {
          balance = null;
          skipped.push(skip(l, `balance "${l.words.slice(1).join(' ')}" is not expressible (roundrobin, leastconn or source; roundrobin is used)`));
        } else skipped.push(skip(l, 'a defaults setting: the daemon renders its own defaults (config.yaml)'));
      }
    } else if (s.kind === 'userlist') {
      const u = readUserlist(s);
      userlists.set(s.name, u);
    } else if (own && (s.kind === 'backend' || s.kind === 'listen') && (s.lines.find((l) => l.words[0] === 'mode')?.words[1] ?? mode) === 'tcp' && s.name !== 'hm-tls-terminate') {
      tcpSections.push(s);
    } else if (own && s.kind === 'frontend' && s.name === 'hm-tls-sni') {
      sni = s;
    } else if (s.kind === 'backend' || s.kind === 'listen') {
      const half = s.kind === 'listen' ? { ...s, lines: s.lines.filter((l) => !FRONT_OF_LISTEN(l) || l.words[0] === 'mode') } : s;
      backends.set(s.name, readBackend(half, { mode, balance, sslVerifyNone, files, own }));
      if (s.kind === 'listen') {
        const fm = s.lines.find((l) => l.words[0] === 'mode')?.words[1] ?? mode;
        if (fm === 'http') fronts.push(readFrontend({ ...s, lines: s.lines.filter(FRONT_OF_LISTEN) }, { files, mode: fm, own }));
      }
    } else if (s.kind === 'frontend') {
      const fm = s.lines.find((l) => l.words[0] === 'mode')?.words[1] ?? mode;
      if (fm !== 'http') reportAll(s, `a mode ${fm} frontend is not expressible (the daemon serves HTTP)`);
      else fronts.push(readFrontend(s, { files, mode: fm, own }));
    } else reportAll(s, `a "${s.kind}" section is not expressible`);
  }

  // Hosts to backends, first frontend first.
  const doms = new Map<string, Dom>();
  const usedNames = new Set<string>();
  const assigned = new Map<string, string>(); // haproxy backend name -> backend_name of its first domain
  const copies = new Map<string, number>();
  const baseName = (h: string) => {
    const stripped = /^(.+)-backend$/.exec(h)?.[1] ?? h;
    return usedNames.has(stripped) && !assigned.has(h) ? h : stripped;
  };
  for (const f of fronts) {
    skipped.push(...f.skipped);
    notes.push(...f.notes);
    for (const r of f.routes) {
      if (doms.has(r.domain)) continue;
      const b = backends.get(r.backend);
      if (!b) {
        skipped.push({ ...r.at, reason: `${r.domain}: there is no backend "${r.backend}"` });
        continue;
      }
      if (b.tcp) {
        skipped.push({ ...r.at, reason: `${r.domain}: backend ${r.backend} is not mode http` });
        continue;
      }
      let name: string;
      if (!assigned.has(r.backend)) {
        name = baseName(r.backend);
        assigned.set(r.backend, name);
      } else {
        const n = (copies.get(r.backend) ?? 1) + 1;
        copies.set(r.backend, n);
        name = `${assigned.get(r.backend)!}-${n}`;
        notes.push(`${r.at.file}:${r.at.line}: ${r.domain} gets backend ${name}, a copy of ${r.backend} (each domain has its own backend here)`);
      }
      usedNames.add(name);
      doms.set(r.domain, { domain: r.domain, backend: b, backendName: name, front: f, at: r.at });
    }
    if (f.defaultBackend) {
      const l = f.defaultBackend;
      skipped.push(skip(l, `default_backend: requests for hosts no rule names get the daemon's own page (404), not ${l.words[1] ?? '?'}`));
    }
  }
  // Redirect sites: a host that only redirects needs no backend.
  for (const f of fronts) {
    for (const r of f.redirects) {
      for (const d of r.scope.kind === 'hosts' ? r.scope.domains : []) {
        if (doms.has(d)) continue;
        const name = `redirect-${d.replace(/^\*\./, 'wildcard.').replace(/\./g, '-')}`.slice(0, 64);
        doms.set(d, { domain: d, backend: null, backendName: name, front: f, at: { file: r.line.file, line: r.line.line, text: r.line.text } });
      }
    }
  }
  for (const [name, b] of backends) {
    if (assigned.has(name)) {
      skipped.push(...b.skipped);
      notes.push(...b.notes);
    } else {
      const why = b.tcp ? 'not mode http' : fronts.some((f) => f.paths.some((p) => p.backend === name)) ? 'only path rules route to it, no host' : 'no host routes to it';
      if (own) reportAll({ kind: 'backend', name, header: b.header, lines: all0.find((s) => s.header === b.header)?.lines ?? [] }, `${why}: not imported`);
      else skipped.push(skip(b.header, `${why}: not imported (${b.serverCount} servers)`));
    }
  }

  const all = [...doms.values()];
  const inScope = (scope: Scope, f: FrontendPlan, line: CfgLine): Dom[] => {
    let out: Dom[];
    if (scope.kind === 'all') {
      const mine = all.filter((d) => d.front === f);
      out = mine.length ? mine : all;
    } else if (scope.kind === 'backends') out = all.filter((d) => d.backend && scope.names.includes(d.backend.haproxyName));
    else {
      out = [];
      for (const d of scope.domains) {
        const dom = doms.get(d);
        if (dom) out.push(dom);
        else skipped.push(skip(line, `${d} is not routed to a backend here: the rule is not imported for it`));
      }
      return out;
    }
    if (!out.length) skipped.push(skip(line, 'applies to no imported domain'));
    return out;
  };

  type Acc = { body: Record<string, unknown>; sources: Source[] };
  const acc = new Map<string, Acc>();
  for (const d of all) {
    const body: Record<string, unknown> = { domain: d.domain, backend_name: d.backendName };
    const sources: Source[] = [];
    if (d.backend) {
      Object.assign(body, d.backend.fields);
      if (d.backend.fields.health_check_path !== undefined) sources.push({ path: ['health_check_path'], lines: d.backend.fieldLines });
      body.servers = d.backend.servers.map((s) => ({ ...s.body }));
      d.backend.servers.forEach((s, i) => sources.push({ path: ['servers', i], lines: [s.line] }));
      if (d.backend.compression) {
        body.compression = { ...d.backend.compression.body };
        sources.push({ path: ['compression'], lines: d.backend.compression.lines });
      }
      if (d.backend.errorPages.length) {
        body.error_pages = Object.fromEntries(d.backend.errorPages.map((e) => [e.status, e.html]));
        for (const e of d.backend.errorPages) sources.push({ path: ['error_pages', e.status], lines: [e.line] });
      }
    }
    acc.set(d.domain, { body, sources });
  }
  const group = (a: Acc, key: string, line: CfgLine) => {
    const s = a.sources.find((x) => x.path.length === 1 && x.path[0] === key);
    if (s) s.lines.push(line);
    else a.sources.push({ path: [key], lines: [line] });
  };
  const https = (a: Acc) => (a.body.https ??= {}) as Record<string, unknown>;
  const access = (a: Acc) => (a.body.access ??= {}) as Record<string, unknown>;

  for (const f of fronts) {
    for (const r of f.force) {
      for (const d of inScope(r.scope, f, r.line)) {
        const a = acc.get(d.domain)!;
        const h = https(a);
        h.force = true;
        if (r.code !== null) h.redirect_code = r.code;
        if (r.other !== null) h.redirect_code_other = r.other;
        group(a, 'https', r.line);
      }
    }
    for (const r of f.hsts) {
      const m = HSTS.exec(r.value);
      if (!m) {
        skipped.push(skip(r.line, `the HSTS value "${r.value}" is not expressible (max-age=<seconds>[; includeSubDomains][; preload])`));
        continue;
      }
      for (const d of inScope(r.scope, f, r.line)) {
        const a = acc.get(d.domain)!;
        https(a).hsts = { max_age: Number(m[1]), ...(m[2] ? { include_subdomains: true } : {}), ...(m[3] ? { preload: true } : {}) };
        group(a, 'https', r.line);
      }
    }
    if (f.compression) {
      for (const d of inScope({ kind: 'all' }, f, f.compression.lines[0]!)) {
        const a = acc.get(d.domain)!;
        if (a.body.compression) continue; // the backend's own compression is the more specific one
        a.body.compression = { enabled: true, ...(f.compression.types ? { types: f.compression.types } : {}) };
        for (const l of f.compression.lines) group(a, 'compression', l);
      }
    }
    for (const r of f.auth) {
      const u = userlists.get(r.userlist);
      if (!u) {
        skipped.push(skip(r.line, `there is no userlist "${r.userlist}"`));
        continue;
      }
      const users = u.usersOf(r.group);
      if (!users.length) {
        skipped.push(skip(r.line, `userlist ${r.userlist} has no user${r.group ? ` in group ${r.group}` : ''}`));
        continue;
      }
      u.used = true;
      for (const d of inScope(r.scope, f, r.line)) {
        const a = acc.get(d.domain)!;
        access(a).auth = { ...(r.realm !== null ? { realm: r.realm } : {}), users: users.map((x) => x.body), ...(r.paths.length ? { paths: r.paths } : {}) };
        a.sources.push({ path: ['access', 'auth'], lines: [r.line, ...users.map((x) => x.line)] });
        users.forEach((x, i) => a.sources.push({ path: ['access', 'auth', 'users', i], lines: [x.line] }));
      }
      for (const x of users) if (x.insecure) notes.push(`${x.line.file}:${x.line.line}: user ${String(x.body.name)} has a clear-text password (insecure-password): it is sent as "password" and the daemon stores only its SHA-512 crypt hash; remove it from the old file`);
    }
  }
  // Access lists (this project's own rules): the list files are read as they are passed in.
  for (const f of fronts) {
    for (const r of f.access) {
      let entries: string[] = [];
      if (r.file !== null) {
        const text = files[r.file];
        if (text === undefined) {
          skipped.push(skip(r.line, `the list ${r.file} was not given`));
          continue;
        }
        entries = patternLines(text);
      }
      for (const d of inScope(r.scope, f, r.line)) {
        const a = acc.get(d.domain)!;
        const x = access(a);
        if (r.kind === 'trusted') x.trusted_only = true;
        else x[r.kind] = [...((x[r.kind] as string[] | undefined) ?? []), ...entries];
        a.sources.push({ path: ['access', r.kind === 'trusted' ? 'trusted_only' : r.kind], lines: [r.line] });
      }
    }
    // Maintenance (this project's own rule): the sites in the map are in maintenance, with its Retry-After.
    if (f.maintenance) {
      const text = files[f.maintenance.file];
      if (text === undefined) skipped.push(skip(f.maintenance.line, `the map ${f.maintenance.file} was not given (the sites in maintenance are listed there)`));
      else {
        for (const e of patternLines(text)) {
          const m = /^(\S+)\s+(\d{1,9})$/.exec(e);
          const doms = m ? all.filter((d) => d.backend?.haproxyName === m[1]) : [];
          if (!m || !doms.length) {
            skipped.push({ file: f.maintenance.file, line: text.split('\n').findIndex((x) => x.trim() === e) + 1, text: e, reason: m ? `${m[1]} is not the backend of an imported domain` : 'a maintenance map line is "<backend> <seconds>"' });
            continue;
          }
          for (const d of doms) {
            const a = acc.get(d.domain)!;
            a.body.maintenance = { enabled: true, retry_after: Number(m[2]) };
            a.sources.push({ path: ['maintenance'], lines: [f.maintenance.line] });
          }
        }
      }
    }
  }
  // This project's own configuration: its unconditional header rules are the daemon's machinery
  // (real-client-IP headers); a site's rules always carry the site's condition.
  if (own) {
    for (const f of fronts) {
      for (const h of f.headers.filter((x) => x.scope.kind === 'all')) skipped.push(skip(h.line, "an unconditional header rule in haproxy-manager's own configuration is not a site's (a site's rules name their site)"));
      f.headers = f.headers.filter((x) => x.scope.kind !== 'all');
    }
  }
  // Header rules: the frontend's request rules run before the backend's; response rules after.
  for (const d of all) {
    const a = acc.get(d.domain)!;
    const req: { rule: unknown; line: CfgLine }[] = [];
    const res: { rule: unknown; line: CfgLine }[] = [];
    for (const f of fronts) for (const h of f.headers) if (inScopeQuiet(h.scope, f, d)) (h.side === 'request' ? req : res).push(h);
    if (d.backend) {
      req.push(...d.backend.headers.request);
      res.unshift(...d.backend.headers.response);
    }
    if (!req.length && !res.length) continue;
    a.body.headers = { ...(req.length ? { request: req.map((h) => h.rule) } : {}), ...(res.length ? { response: res.map((h) => h.rule) } : {}) };
    a.sources.push({ path: ['headers'], lines: [...req, ...res].map((h) => h.line) });
    req.forEach((h, i) => a.sources.push({ path: ['headers', 'request', i], lines: [h.line] }));
    res.forEach((h, i) => a.sources.push({ path: ['headers', 'response', i], lines: [h.line] }));
  }
  function inScopeQuiet(scope: Scope, f: FrontendPlan, d: Dom): boolean {
    if (scope.kind === 'all') return all.some((x) => x.front === f) ? d.front === f : true;
    if (scope.kind === 'backends') return d.backend !== null && scope.names.includes(d.backend.haproxyName);
    return scope.domains.includes(d.domain);
  }
  for (const f of fronts) {
    for (const h of f.headers) {
      if (h.scope.kind === 'hosts') for (const x of h.scope.domains) if (!doms.has(x)) skipped.push(skip(h.line, `${x} is not routed to a backend here: the rule is not imported for it`));
      if (h.scope.kind !== 'hosts' && !all.some((d) => inScopeQuiet(h.scope, f, d))) skipped.push(skip(h.line, 'applies to no imported domain'));
    }
  }

  // Path routes and redirects.
  for (const f of fronts) {
    for (const p of f.paths) {
      const target = assigned.get(p.backend);
      if (!target) {
        if (!skipped.some((s) => s.file === p.line.file && s.line === p.line.line)) skipped.push(skip(p.line, `route to ${p.backend}: routes can only point at the backend of an imported domain`));
        continue;
      }
      for (const d of inScope(p.scope, f, p.line)) {
        if (d.backend?.haproxyName === p.backend) continue;
        const a = acc.get(d.domain)!;
        const routes = (a.body.routes ??= []) as unknown[];
        for (const l of p.lines) group(a, 'routes', l);
        a.sources.push({ path: ['routes', routes.length], lines: p.lines });
        routes.push({
          path: p.path.endsWith('/') && p.path !== '/' && p.match === 'prefix' ? p.path.slice(0, -1) : p.path,
          ...(p.match === 'exact' ? { match: 'exact' } : {}),
          backend: target,
          ...(p.strip ? { strip_prefix: true } : {}),
        });
      }
      if (p.match === 'prefix' && !p.segments) notes.push(`${p.line.file}:${p.line.line}: the route for ${p.path} matches whole path segments (${p.path.replace(/\/$/, '')} and ${p.path.replace(/\/$/, '')}/...), where path_beg also matched ${p.path.replace(/\/$/, '')}x`);
    }
    for (const r of f.redirects) {
      for (const d of inScope(r.scope, f, r.line)) {
        const a = acc.get(d.domain)!;
        if (a.body.redirect) continue;
        a.body.redirect = { to: r.to, ...(r.code !== 301 ? { code: r.code } : {}), keep_path: r.keepPath };
        a.sources.push({ path: ['redirect'], lines: [r.line] });
      }
    }
  }
  for (const [name, u] of userlists) {
    if (!u.used) reportAll(all0.find((x) => x.header === u.header)!, `userlist ${name} is not used by an imported auth rule`);
    else for (const l of u.unread) skipped.push(skip(l, `"${l.words[0]!}" in a userlist is not expressible (users with a password, and groups)`));
  }
  // TCP services: this project's own only (a hand-written mode tcp section was reported above).
  const tcp = own ? readTcpServices(sni, tcpSections) : { services: [], skipped: [] };
  skipped.push(...tcp.skipped);

  skipped.sort((x, y) => (x.file === y.file ? x.line - y.line : x.file === file ? -1 : y.file === file ? 1 : x.file.localeCompare(y.file)));
  const domains: PlannedDomain[] = all.map((d) => ({ body: acc.get(d.domain)!.body, at: d.at, sources: acc.get(d.domain)!.sources }));
  // A domain with routes points at others' backends: those are created first.
  domains.sort((x, y) => Number(x.body.routes !== undefined) - Number(y.body.routes !== undefined));
  if (own) {
    // Only the lines the templates write for every configuration are left out; the rest is listed.
    const sectionOf = new Map<number, Section>();
    for (const s of all0) for (const l of [s.header, ...s.lines]) sectionOf.set(l.line, s);
    const machinery = new Set<number>();
    for (const x of skipped) if (x.file === file && sectionOf.has(x.line) && isMachinery(sectionOf.get(x.line)!, x.line)) machinery.add(x.line);
    notes.unshift(
      `this is haproxy-manager's own configuration: ${machinery.size} lines of its machinery (global, defaults, listeners, the real-IP, rate-limit and block rules, the hm-* sections) are rendered again from this daemon's config.yaml and not listed; every other line not imported is`,
    );
    return { domains, tcp_services: tcp.services, skipped: skipped.filter((x) => !(x.file === file && machinery.has(x.line))), notes };
  }
  return { domains, tcp_services: tcp.services, skipped, notes };
}
