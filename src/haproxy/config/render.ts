/**
 * Rendering HAProxy's configuration: a pure function from the database's
 * model and the settings to a set of files (haproxy.cfg, maps, lists, pages).
 *
 * Contract:
 * - Pure: no I/O but reading templates; the same input gives byte-identical output.
 * - `root` is the directory the maps, lists and pages are referenced from; the
 *   apply step renders once with the staging directory (for `haproxy -c`) and
 *   once with the live one, so a candidate is checked with its own files.
 * - Every value placed in a config line goes through the `cfg` filter, which
 *   refuses anything that could end the line or start a comment. Inputs are
 *   validated long before; this is the last line of defence, not the first.
 */
import nunjucks from 'nunjucks';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/schema.js';
import type { Backend } from '../../storage/domains.js';
import type { TcpService } from '../../storage/tcp-services.js';
import type { HaproxyFeatures } from '../process/version.js';
import { parseIp } from '../../validate/ip.js';

export const TEMPLATE_DIR = fileURLToPath(new URL('../../../templates', import.meta.url));

export interface RenderModel {
  backends: Backend[];
  blocked: string[];
  trustedRealIp: string[];
  trustedSource: string[];
  trustedProxies: string[];
  /** Loopback port of the daemon's ACME challenge responder; null for no ACME route. */
  acmePort: number | null;
  /** Combined PEM files for the HTTPS listener, the default (served without SNI) first; null for no HTTPS listener. */
  crtList: string[] | null;
  /** TCP services (templates/haproxy/tcp.njk): TLS passthrough by SNI and plain TCP ports. */
  tcpServices: TcpService[];
}

/** Relative names of the generated files under the generated directory. */
export const FILES = {
  hostsMap: 'maps/hosts.map',
  wildcardMap: 'maps/wildcards.map',
  blockedMap: 'maps/blocked.map',
  trustedMap: 'maps/trusted.map',
  trustedSourceList: 'lists/trusted-source.list',
  trustedProxiesList: 'lists/trusted-proxies.list',
  localList: 'lists/local.list',
  defaultPage: 'pages/default.html',
  blockedPage: 'pages/blocked.html',
  crtList: 'certs.crtlist',
  httpsGetMap: 'maps/https-get.map',
  httpsOtherMap: 'maps/https-other.map',
  hstsMap: 'maps/hsts.map',
  maintenanceMap: 'maps/maintenance.map',
  maintenancePage: 'pages/maintenance.html',
} as const;
export type FileKey = keyof typeof FILES;

export interface Rendered {
  /** haproxy.cfg's text. */
  config: string;
  /** Generated files by their path relative to the generated directory. */
  files: Map<string, string>;
}

const UNSAFE = /[\s#"'\\;`]|^$/;

function makeEnv(autoescape: boolean): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATE_DIR, { noCache: false }), {
    autoescape,
    throwOnUndefined: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  // A header name or value as one double-quoted word: backslash, quote and $ (environment
  // expansion) escaped; a value is a log-format string, so % is doubled (no expression runs).
  env.addFilter('qname', (v: unknown) => quoted(String(v), false));
  env.addFilter('qvalue', (v: unknown) => quoted(String(v), true));
  env.addFilter('cfg', (v: unknown) => {
    const s = String(v);
    if (UNSAFE.test(s)) throw new Error(`refusing to render ${JSON.stringify(s)} into a config line`);
    return s;
  });
  return env;
}

/** One double-quoted config word; refuses what no header has (validated long before: the last line of defence). */
export function quoted(s: string, logFormat: boolean): string {
  if (!/^[\x20-\x7e]+$/.test(s)) throw new Error(`refusing to render ${JSON.stringify(s)} as a quoted word`);
  const e = s.replace(/[\\"$]/g, (c) => `\\${c}`);
  return `"${logFormat ? e.replace(/%/g, '%%') : e}"`;
}

let cfgEnv: nunjucks.Environment | null = null;
let pageEnv: nunjucks.Environment | null = null;

/** HAProxy's address syntax: IPv6 in brackets. */
export function serverAddress(address: string, port: number): string {
  const ip = parseIp(address);
  return ip && ip.family === 6 ? `[${ip.text}]:${port}` : `${address}:${port}`;
}

export function haproxyBackendName(name: string): string {
  return `${name}-backend`;
}

/** A TCP service's HAProxy proxy name: "-tcp" never ends an HTTP backend's name ("-backend"), so the two never clash. */
export function haproxyTcpName(name: string): string {
  return `${name}-tcp`;
}

/**
 * The TCP services as tcp.njk renders them; null when there are none (the
 * config is then byte-identical to one from before TCP services). With a
 * passthrough service, the HTTPS port belongs to the SNI frontend and `web`
 * terminates TLS on an abstract socket named after this daemon's stats socket
 * (abstract names are host-wide: two daemons on one host must not share one).
 */
function tcpContext(cfg: Config, model: RenderModel, https: boolean) {
  if (model.tcpServices.length === 0) return null;
  const server = (s: TcpService['servers'][number], sendProxy: boolean) => ({ ...s, addr: serverAddress(s.address, s.port), needsResolver: parseIp(s.address) === null, sendProxy });
  const services = model.tcpServices.map((t) => ({ ...t, haproxyName: haproxyTcpName(t.name), servers: t.servers.map((s) => server(s, t.sendProxy)) }));
  const passthrough = services.filter((t) => t.kind === 'tls_passthrough' && cfg.haproxy.https_port !== null);
  // Exact names first, then wildcards by longest suffix (as the HTTP routing: the most specific wins).
  const exact = passthrough.filter((t) => !t.sni!.startsWith('*.')).map((t) => ({ sni: t.sni!, backend: t.haproxyName }));
  const wildcard = passthrough
    .filter((t) => t.sni!.startsWith('*.'))
    .map((t) => ({ suffix: t.sni!.slice(1), backend: t.haproxyName }))
    .sort((a, b) => b.suffix.length - a.suffix.length || a.suffix.localeCompare(b.suffix));
  const terminate = passthrough.length > 0 && https ? `abns@hm-tls-${createHash('sha256').update(cfg.paths.statsSocket).digest('hex').slice(0, 16)}` : null;
  return {
    ports: services.filter((t) => t.kind === 'tcp'),
    passthrough,
    exact,
    wildcard,
    terminate,
  };
}

/** Map and list entries are validated long before; refusing an unsafe one here is the last line of defence. */
function safeEntry(e: string): string {
  if (UNSAFE.test(e)) throw new Error(`refusing to render ${JSON.stringify(e)} into a map or list file`);
  return e;
}

function listFile(entries: string[]): string {
  return entries.length ? entries.map(safeEntry).sort().join('\n') + '\n' : '';
}

/** key value lines, both safe single words. */
function pairsFile(pairs: [string, string][]): string {
  return pairs.length ? pairs.map(([k, v]) => `${safeEntry(k)} ${safeEntry(v)}`).sort().join('\n') + '\n' : '';
}

/**
 * The per-site option maps, keyed by the HAProxy backend name the site
 * routes to (txn.site in the frontend): HTTPS redirect codes for GET/HEAD and
 * for other methods, and the HSTS header value. `getCodes`/`otherCodes`: the
 * codes in use (a redirect's code is a constant in the config: one rule each).
 */
function siteMaps(backends: Backend[]) {
  const get: [string, string][] = [];
  const other: [string, string][] = [];
  const hsts: [string, string][] = [];
  for (const b of backends) {
    const name = haproxyBackendName(b.name);
    const h = b.site.https;
    if (h.force) {
      get.push([name, String(h.redirectCode)]);
      other.push([name, String(h.redirectCodeOther)]);
    }
    if (h.hsts) hsts.push([name, `max-age=${h.hsts.maxAge}${h.hsts.includeSubdomains ? '; includeSubDomains' : ''}${h.hsts.preload ? '; preload' : ''}`]);
  }
  const codes = (pairs: [string, string][]) => [...new Set(pairs.map(([, c]) => c))].sort();
  return { get, other, hsts, getCodes: codes(get), otherCodes: codes(other) };
}

/** Per-site files whose names follow the site's backend: access lists and error pages. */
export const siteFile = {
  deny: (backend: string) => `lists/access/${backend}-deny.list`,
  allow: (backend: string) => `lists/access/${backend}-allow.list`,
  errorPage: (backend: string, status: string) => `pages/errors/${backend}-${status}.html`,
};

/** The maintenance map: the backend name of each site in maintenance -> its Retry-After seconds. */
export function maintenanceMapFile(backends: Pick<Backend, 'name' | 'site'>[]): string {
  return pairsFile(backends.filter((b) => b.site.maintenance.enabled).map((b) => [haproxyBackendName(b.name), String(b.site.maintenance.retryAfter)]));
}

/** A redirect site's Location: `to`, with the request's path and query appended when keepPath (a log-format word). */
function redirectLocation(to: string, keepPath: boolean): string {
  if (!keepPath) return quoted(to, true);
  const q = quoted(to.replace(/\/+$/, ''), true);
  return `${q.slice(0, -1)}%[pathq]"`;
}

/**
 * The frontend's per-site lines, in the order they run: access (deny, allow,
 * trusted only), basic auth, redirect sites, path routes. Each rule is guarded
 * by the site's backend name (txn.site), so a site's options never touch
 * another site.
 */
function siteRules(backends: Backend[], files: Map<string, string>, root: string) {
  const access: { backend: string; deny: string | null; allow: string | null; trustedOnly: boolean }[] = [];
  const auth: { backend: string; userlist: string; realm: string; paths: string[] }[] = [];
  const userlists: { name: string; users: { name: string; hash: string }[] }[] = [];
  const redirects: { backend: string; location: string; code: number }[] = [];
  const routes: { id: string; backend: string; target: string; match: 'prefix' | 'exact'; path: string; strip: number }[] = [];
  const errorPages = new Map<string, { status: string; file: string }[]>();
  for (const b of backends) {
    const name = haproxyBackendName(b.name);
    const a = b.site.access;
    const listed = (rel: string, entries: string[]) => {
      if (!entries.length) return null;
      files.set(rel, listFile(entries.map((e) => parseIp(e)?.text ?? e)));
      return join(root, rel);
    };
    if (a.deny.length || a.allow.length || a.trustedOnly) {
      access.push({ backend: name, deny: listed(siteFile.deny(b.name), a.deny), allow: listed(siteFile.allow(b.name), a.allow), trustedOnly: a.trustedOnly });
    }
    if (a.auth) {
      const userlist = `hm-auth-${b.name}`;
      userlists.push({ name: userlist, users: a.auth.users });
      auth.push({ backend: name, userlist, realm: quoted(a.auth.realm, false), paths: a.auth.paths });
    }
    const r = b.site.redirect;
    if (r) redirects.push({ backend: name, location: redirectLocation(r.to, r.keepPath), code: r.code });
    // Exact paths first, then prefixes longest first: the first route that matches is taken.
    const ordered = [...b.site.routes].sort((x, y) => (x.match === y.match ? y.path.length - x.path.length || x.path.localeCompare(y.path) : x.match === 'exact' ? -1 : 1));
    for (const rt of ordered) {
      routes.push({ id: String(routes.length + 1), backend: name, target: haproxyBackendName(rt.backend), match: rt.match, path: rt.path, strip: rt.stripPrefix ? rt.path.length : 0 });
    }
    const pages = Object.entries(b.site.errorPages).map(([status, html]) => {
      const rel = siteFile.errorPage(b.name, status);
      files.set(rel, html);
      return { status, file: join(root, rel) };
    });
    if (pages.length) errorPages.set(b.name, pages);
  }
  return { access, auth, userlists, redirects, routes, errorPages };
}

function mapFile(entries: string[]): string {
  return entries.length ? entries.map(safeEntry).sort().map((e) => `${e} 1`).join('\n') + '\n' : '';
}

/**
 * The fleet's HAProxy `peers` section (null on a single node or without
 * peers): every node's listener, this node's named by `localpeer` (HAProxy
 * listens as the peer whose name is its local peer name and connects to the
 * others). The rate-limit stick table names the section, so a client spread
 * over the nodes is counted once. Addresses were checked by config/fleet.ts.
 */
function peersContext(cfg: Config): { local: string; list: { name: string; addr: string }[] } | null {
  const f = cfg.fleetSettings;
  if (!f || f.peers.length === 0) return null;
  return { local: f.nodeName, list: f.peers.map((p) => ({ name: p.name, addr: serverAddress(p.address, p.port) })) };
}

export function render(cfg: Config, features: HaproxyFeatures, model: RenderModel, root: string): Rendered {
  cfgEnv ??= makeEnv(false);
  pageEnv ??= makeEnv(true);
  const exact: string[] = [];
  const wildcard: { suffix: string; backend: string }[] = [];
  for (const b of model.backends) {
    for (const d of b.domains) {
      safeEntry(d);
      safeEntry(b.name);
      if (d.startsWith('*.')) wildcard.push({ suffix: d.slice(1), backend: haproxyBackendName(b.name) });
      else exact.push(`${d} ${haproxyBackendName(b.name)}`);
    }
  }
  // map_end answers with the first pattern that matches: the longest suffix must come first.
  wildcard.sort((a, b) => b.suffix.length - a.suffix.length || a.suffix.localeCompare(b.suffix));
  const site = siteMaps(model.backends);
  const files = new Map<string, string>();
  const rules = siteRules(model.backends, files, root);

  const paths = Object.fromEntries(Object.entries(FILES).map(([k, rel]) => [k, join(root, rel)])) as Record<FileKey, string>;
  const h = cfg.haproxy;
  const https = model.crtList !== null && model.crtList.length > 0 && h.https_port !== null;
  const tcp = tcpContext(cfg, model, https);
  const ctx = {
    h,
    mode: cfg.mode,
    features,
    paths,
    statsSocket: cfg.paths.statsSocket,
    statsFile: join(cfg.paths.stateDir, 'haproxy-stats.dat'),
    rules,
    globalErrorPages: Object.entries(h.error_pages).filter(([, f]) => f !== null).map(([status, file]) => ({ status, file })),
    backends: model.backends.map((b) => ({
      ...b,
      haproxyName: haproxyBackendName(b.name),
      errorPages: rules.errorPages.get(b.name) ?? [],
      servers: b.servers.map((s) => ({
        ...s,
        addr: serverAddress(s.address, s.port),
        needsResolver: parseIp(s.address) === null,
      })),
    })),
    needsResolver: [...model.backends, ...model.tcpServices].some((b) => b.servers.some((s) => parseIp(s.address) === null)),
    acmePort: model.acmePort,
    https,
    tcp,
    // Where `web` terminates TLS: the HTTPS port, or (TLS passthrough in use) the SNI frontend's internal hop.
    httpsBind: tcp?.terminate ? { addr: tcp.terminate, acceptProxy: true } : { addr: `${h.bind_address}:${h.https_port}`, acceptProxy: false },
    xffHops: Array.from({ length: h.xff_max_hops }, (_, i) => i + 1),
    logTarget: h.log_target === null ? null : h.log_target.replace(/^udp:\/\//, ''),
    intake: cfg.intake,
    alsoLogTo: (h.also_log_to ?? []).map((t) => t.replace(/^udp:\/\//, '')),
    /** Whether HAProxy logs anywhere (the frontend's log-format and `log global`). */
    logs: h.log_target !== null || cfg.intake !== null || (h.also_log_to ?? []).length > 0,
    site: { getCodes: site.getCodes, otherCodes: site.otherCodes, hsts: site.hsts.length > 0 },
    // Per-site header rules: lines for the sites that have some (guarded by the site's backend).
    siteHeaders: model.backends
      .filter((b) => b.site.headers.request.length || b.site.headers.response.length)
      .map((b) => ({ backend: haproxyBackendName(b.name), request: b.site.headers.request, response: b.site.headers.response })),
    peers: peersContext(cfg),
    httpsPortSuffix: h.https_port === null || h.https_port === 443 ? '' : `:${h.https_port}`,
  };
  const config = cfgEnv.render('haproxy/haproxy.cfg.njk', ctx);
  files.set(FILES.hostsMap, exact.length ? exact.sort().join('\n') + '\n' : '');
  files.set(FILES.wildcardMap, wildcard.length ? wildcard.map((w) => `${w.suffix} ${w.backend}`).join('\n') + '\n' : '');
  files.set(FILES.blockedMap, mapFile(model.blocked));
  files.set(FILES.trustedMap, mapFile(model.trustedRealIp));
  files.set(FILES.trustedSourceList, listFile(model.trustedSource));
  files.set(FILES.trustedProxiesList, listFile(model.trustedProxies));
  files.set(FILES.localList, listFile(cfg.network.local_ranges.map((r) => parseIp(r)!.text)));
  files.set(FILES.defaultPage, pageEnv.render('pages/default.html.njk', { page: h.default_page }));
  files.set(FILES.blockedPage, pageEnv.render('pages/blocked.html.njk', {}));
  // Order matters: HAProxy serves the first certificate to clients that send no SNI.
  files.set(FILES.crtList, model.crtList && model.crtList.length ? model.crtList.map(safeEntry).join('\n') + '\n' : '');
  files.set(FILES.httpsGetMap, pairsFile(site.get));
  files.set(FILES.httpsOtherMap, pairsFile(site.other));
  files.set(FILES.maintenanceMap, maintenanceMapFile(model.backends));
  files.set(FILES.maintenancePage, pageEnv.render('pages/maintenance.html.njk', { page: h.maintenance_page }));
  files.set(FILES.hstsMap, site.hsts.length ? site.hsts.map(([k, v]) => `${safeEntry(k)} ${v}`).sort().join('\n') + '\n' : '');
  return { config, files };
}

/** Renders only one map or list file (for runtime changes, which need no config render). */
export function renderList(kind: 'blocked' | 'trustedRealIp' | 'trustedSource' | 'trustedProxies', entries: string[]): { rel: string; text: string } {
  switch (kind) {
    case 'blocked':
      return { rel: FILES.blockedMap, text: mapFile(entries) };
    case 'trustedRealIp':
      return { rel: FILES.trustedMap, text: mapFile(entries) };
    case 'trustedSource':
      return { rel: FILES.trustedSourceList, text: listFile(entries) };
    case 'trustedProxies':
      return { rel: FILES.trustedProxiesList, text: listFile(entries) };
  }
}
