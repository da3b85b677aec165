/**
 * This project's own TCP services read back into POST /api/tcp-services
 * bodies (issue 13): TLS passthrough (`frontend hm-tls-sni` sending an SNI
 * to `backend <name>-tcp`) and plain TCP ports (`listen <name>-tcp`), as
 * templates/haproxy/tcp.njk renders them. Only the daemon's own shape is
 * read; every line it does not carry is reported.
 */
import { skip, type PlannedTcpService, type Skipped, type Source } from './plan.js';
import { splitAddress } from './backends.js';
import type { CfgLine, Section } from './tokenize.js';

export interface TcpRead {
  services: PlannedTcpService[];
  skipped: Skipped[];
}

const SNI_EXACT = /^use_backend (\S+) if \{ req_ssl_sni -i (\S+) \}$/;
const SNI_SUFFIX = /^use_backend (\S+) if \{ req_ssl_sni -i -m end (\.\S+) \}$/;

/**
 * `sni`: the SNI frontend (null when there is none); `sections`: the
 * `backend <name>-tcp` and `listen <name>-tcp` sections in mode tcp.
 */
export function readTcpServices(sni: Section | null, sections: Section[]): TcpRead {
  const out: TcpRead = { services: [], skipped: [] };
  const sniOf = new Map<string, { sni: string; line: CfgLine }>();
  for (const l of sni?.lines ?? []) {
    const t = l.words.join(' ');
    const m = SNI_EXACT.exec(t) ?? SNI_SUFFIX.exec(t);
    if (!m) {
      out.skipped.push(skip(l, "haproxy-manager's own TLS passthrough machinery"));
      continue;
    }
    const name = m[1]!;
    if (sniOf.has(name)) out.skipped.push(skip(l, `a second SNI for ${name}: a TCP service passes one name through`));
    else sniOf.set(name, { sni: m[2]!.startsWith('.') ? `*${m[2]!}` : m[2]!, line: l });
  }
  const all = (s: Section, reason: string) => out.skipped.push(...[s.header, ...s.lines].map((l) => skip(l, reason)));
  for (const s of sections) {
    const name = /^(.+)-tcp$/.exec(s.name)?.[1];
    if (!name) {
      all(s, "a mode tcp section not named <service>-tcp is not one of this daemon's TCP services");
      continue;
    }
    const body: Record<string, unknown> = { name };
    const sources: Source[] = [];
    let at: CfgLine = s.header;
    if (s.kind === 'backend') {
      const route = sniOf.get(s.name);
      if (!route) {
        all(s, `no SNI is passed through to ${s.name}: not imported`);
        continue;
      }
      sniOf.delete(s.name);
      Object.assign(body, { kind: 'tls_passthrough', sni: route.sni });
      at = route.line;
    } else body.kind = 'tcp';
    const servers: { body: Record<string, unknown>; proxy: boolean; line: CfgLine }[] = [];
    for (const l of s.lines) {
      const w = l.words;
      if (w[0] === 'mode' && w[1] === 'tcp' && w.length === 2) continue;
      if (s.kind === 'listen' && w[0] === 'bind' && w.length === 2) {
        const a = splitAddress(w[1]!);
        if (a && body.port === undefined) {
          body.port = a.port;
          sources.push({ path: ['port'], lines: [l] });
          continue;
        }
      }
      if (w[0] === 'balance' && w.length === 2 && body.balance === undefined) {
        body.balance = w[1];
        sources.push({ path: ['balance'], lines: [l] });
        continue;
      }
      if (w[0] === 'server') {
        const srv = readServer(l);
        if (typeof srv === 'string') out.skipped.push(skip(l, srv));
        else servers.push({ ...srv, line: l });
        continue;
      }
      out.skipped.push(skip(l, `"${w[0]}" in a TCP service is not expressible`));
    }
    // send_proxy is the service's, not a server's: every server or none.
    const proxied = servers.filter((x) => x.proxy).length;
    const mixed = proxied > 0 && proxied < servers.length;
    const kept = mixed ? servers.filter((x) => x.proxy) : servers;
    if (mixed) for (const x of servers.filter((y) => !y.proxy)) out.skipped.push(skip(x.line, `server ${String(x.body.name)}: the other servers of ${s.name} get the PROXY protocol (send_proxy is the service's, every server or none)`));
    body.send_proxy = proxied > 0;
    body.servers = kept.map((x) => x.body);
    kept.forEach((x, i) => sources.push({ path: ['servers', i], lines: [x.line] }));
    if (s.kind === 'listen' && body.port === undefined) {
      all(s, `listen ${s.name} has no "bind <address>:<port>": not imported`);
      continue;
    }
    out.services.push({ body, at: { file: at.file, line: at.line, text: at.text }, sources });
  }
  for (const [name, r] of sniOf) out.skipped.push(skip(r.line, `there is no TCP backend ${name}`));
  return out;
}

/** `server <name> <addr> [check] [backup] weight <n> [maxconn <n>] [send-proxy-v2] [resolvers system init-addr libc,none]`, as tcp-servers.njk renders it. */
function readServer(l: CfgLine): { body: Record<string, unknown>; proxy: boolean } | string {
  const [, name, addr, ...rest] = l.words;
  const a = addr === undefined ? null : splitAddress(addr);
  if (!name || !a) return `the server address "${addr ?? ''}" is not expressible (want address:port)`;
  const body: Record<string, unknown> = { name, address: a.address, port: a.port, check: false, backup: false };
  let proxy = false;
  const lost: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const k = rest[i]!;
    if (k === 'check') body.check = true;
    else if (k === 'backup') body.backup = true;
    else if ((k === 'weight' || k === 'maxconn') && /^\d{1,7}$/.test(rest[i + 1] ?? '')) body[k] = Number(rest[++i]);
    else if (k === 'send-proxy-v2') proxy = true;
    // The daemon resolves a hostname itself (resolvers system init-addr libc,none).
    else if (k === 'resolvers' && rest[i + 1] === 'system' && rest[i + 2] === 'init-addr' && rest[i + 3] === 'libc,none') i += 3;
    else lost.push(k);
  }
  if (lost.length) return `server ${name}: "${lost.join(' ')}" is not expressible for a TCP service`;
  // HAProxy's default weight is 1; this project always writes one.
  body.weight ??= 1;
  return { body, proxy };
}
