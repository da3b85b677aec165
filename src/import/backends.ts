/**
 * A `backend` (or the backend half of a `listen`) read into the fields of a
 * domain body: balance, HTTP check, kind, servers, compression and header
 * rules. Every line it does not carry is reported with the reason.
 */
import { skip, type Skipped } from './plan.js';
import type { CfgLine, Section } from './tokenize.js';

export interface HeaderRuleOf {
  rule: { action: 'set' | 'add' | 'del'; name: string; value?: string };
  line: CfgLine;
}

export interface BackendPlan {
  /** The name in haproxy.cfg. */
  haproxyName: string;
  header: CfgLine;
  /** mode tcp: nothing of it can be expressed. */
  tcp: boolean;
  /** Its server lines, expressible or not. */
  serverCount: number;
  fields: { kind?: 'http_check' | 'long_lived'; health_check_path?: string; balance?: 'roundrobin' | 'leastconn' | 'source' };
  fieldLines: CfgLine[];
  servers: { body: Record<string, unknown>; line: CfgLine }[];
  compression: { body: { enabled: true; types?: string[] }; lines: CfgLine[] } | null;
  /** `http-error status <502|503|504> content-type "text/html; charset=utf-8" file <page>`: the page's text (from the files passed in). */
  errorPages: { status: '502' | '503' | '504'; html: string; line: CfgLine }[];
  headers: { request: HeaderRuleOf[]; response: HeaderRuleOf[] };
  skipped: Skipped[];
  notes: string[];
}

/** Server keywords that take one argument (HAProxy 2.6 to 3.0); the others are flags. */
const WITH_ARG = new Set(
  ('addr agent-addr agent-inter agent-port agent-send alpn ca-file check-alpn check-proto check-sni ciphers ciphersuites cookie crl-file crt curves ' +
    'downinter ecdhe error-limit fall fastinter id init-addr inter log-proto max-reuse maxconn maxqueue minconn namespace npn observe on-error ' +
    'on-marked-down on-marked-up pool-conn-name pool-low-conn pool-max-conn pool-purge-delay port proto proxy-v2-options redir resolve-net ' +
    'resolve-opts resolve-prefer resolvers rise shard slowstart sni socks4 source ssl-max-ver ssl-min-ver tcp-ut track usesrc verify verifyhost weight ws set-proxy-v2-tlv-fmt').split(' '),
);

/** `a.b.c.d:port`, `[v6]:port` or `host:port`; null for what the project cannot serve (unix sockets, ranges, no port). */
export function splitAddress(a: string): { address: string; port: number } | null {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(a) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(a) ?? /^([0-9A-Fa-f]*:[0-9A-Fa-f:]*:[0-9A-Fa-f.]*):(\d{1,5})$/.exec(a);
  if (!m) return null;
  return { address: m[1]!, port: Number(m[2]) };
}

/** A header rule's value, as the log-format string HAProxy reads: `%%` is `%`; any other `%` is an expression (null). */
export function literalValue(v: string): string | null {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    if (v[i] !== '%') out += v[i];
    else if (v[i + 1] === '%') {
      out += '%';
      i++;
    } else return null;
  }
  return out;
}

/** `http-request set-header N V` and friends, as a header rule; a string is why it cannot be one. */
export function headerRule(words: string[]): HeaderRuleOf['rule'] | string {
  const action = words[1]!.replace(/-header$/, '') as 'set' | 'add' | 'del';
  const name = words[2];
  if (name === undefined) return 'a header rule without a name';
  if (action === 'del') {
    if (words.length > 3 && words[3] !== 'if' && words[3] !== 'unless') return 'del-header with a match method is not expressible';
    return { action, name };
  }
  const value = words[3];
  if (value === undefined || value === 'if' || value === 'unless') return 'a header rule without a value';
  const lit = literalValue(value);
  if (lit === null) return 'the value is an expression (sample fetches and log variables are not expressible: per-site values are literal)';
  return { action, name, value: lit };
}

/** Where a rule's condition starts (the index of `if`/`unless`), or the length. */
export const condAt = (words: string[], from: number) => {
  const i = words.findIndex((w, k) => k >= from && (w === 'if' || w === 'unless'));
  return i < 0 ? words.length : i;
};

export function readBackend(sec: Section, opts: { mode: string; balance: string | null; sslVerifyNone: boolean; files?: Readonly<Record<string, string>>; own?: boolean }): BackendPlan {
  const b: BackendPlan = {
    haproxyName: sec.name,
    header: sec.header,
    tcp: false,
    serverCount: 0,
    fields: {},
    fieldLines: [],
    servers: [],
    compression: null,
    errorPages: [],
    headers: { request: [], response: [] },
    skipped: [],
    notes: [],
  };
  let mode = opts.mode;
  let balance = opts.balance;
  const serverLines: CfgLine[] = [];
  const defaultServer: string[] = [];
  let tunnel: CfgLine | null = null;
  let serverTimeout: CfgLine | null = null;
  for (const l of sec.lines) {
    const w = l.words;
    const k = w[0]!;
    if (k === 'mode') {
      mode = w[1] ?? '';
      continue;
    }
    if (k === 'balance') {
      balance = w[1] ?? '';
      if (['roundrobin', 'leastconn', 'source'].includes(balance) && w.length === 2) b.fieldLines.push(l);
      else b.skipped.push(skip(l, `balance "${w.slice(1).join(' ')}" is not expressible (roundrobin, leastconn or source; roundrobin is used)`));
      continue;
    }
    if (k === 'server') {
      serverLines.push(l);
      continue;
    }
    if (k === 'default-server') {
      defaultServer.push(...w.slice(1));
      b.fieldLines.push(l);
      continue;
    }
    if (k === 'option' && w[1] === 'httpchk') {
      const args = w.slice(2);
      const uri = args.length === 1 ? args[0] : args[1];
      const meth = args.length >= 2 ? args[0] : 'OPTIONS';
      b.fields.kind = 'http_check';
      if (uri !== undefined && uri.startsWith('/')) b.fields.health_check_path = uri;
      if (args.length === 0) b.notes.push(`${l.file}:${l.line}: "option httpchk" without a URI checks "/" with GET here (HAProxy sends OPTIONS /)`);
      else if (meth !== 'GET') b.notes.push(`${l.file}:${l.line}: the check is sent as GET ${uri ?? '/'} (the file says ${meth})`);
      b.fieldLines.push(l);
      continue;
    }
    if (k === 'http-check' && w[1] === 'send') {
      const uri = w.indexOf('uri');
      const extra = w.slice(2).filter((_, i) => ![w.indexOf('meth') - 2, w.indexOf('meth') - 1, uri - 2, uri - 1, w.indexOf('ver') - 2, w.indexOf('ver') - 1].includes(i));
      if (uri > 0 && w[uri + 1]?.startsWith('/')) b.fields.health_check_path = w[uri + 1]!;
      if (extra.length) b.skipped.push(skip(l, `"${extra.join(' ')}" of the check request is not expressible (the check is GET <path>)`));
      else b.fieldLines.push(l);
      continue;
    }
    if (k === 'http-check' && w[1] === 'expect' && w.slice(2).join(' ') === 'status 200-399') {
      b.fieldLines.push(l);
      continue;
    }
    if (k === 'timeout' && w[1] === 'tunnel') {
      tunnel = l;
      continue;
    }
    if (k === 'timeout' && w[1] === 'server') {
      serverTimeout = l;
      continue;
    }
    // This project's own default-kind lines (every default backend has them).
    if (k === 'http-request' && w[1] === 'set-timeout' && /^\{ req\.hdr\((accept|upgrade)\) -m (sub text\/event-stream|found) \}$/.test(w.slice(w.indexOf('if') + 1).join(' '))) {
      b.fieldLines.push(l);
      continue;
    }
    if (k === 'compression') {
      readCompression(b, l);
      continue;
    }
    if (k === 'http-error') {
      readErrorPage(b, l, opts.files ?? {});
      continue;
    }
    if ((k === 'http-request' || k === 'http-response') && /^(set|add|del)-header$/.test(w[1] ?? '')) {
      const c = condAt(w, 2);
      if (c < w.length) {
        b.skipped.push(skip(l, 'a conditional header rule in a backend is not expressible (per-site rules apply to every request of the site)'));
        continue;
      }
      const r = headerRule(w);
      if (typeof r === 'string') b.skipped.push(skip(l, r));
      else b.headers[k === 'http-request' ? 'request' : 'response'].push({ rule: r, line: l });
      continue;
    }
    b.skipped.push(skip(l, `"${k}${w[1] && k === 'option' ? ` ${w[1]}` : ''}" in a backend is not expressible`));
  }
  b.serverCount = serverLines.length;
  if (mode !== 'http') {
    b.tcp = true;
    return b;
  }
  if (balance && ['roundrobin', 'leastconn', 'source'].includes(balance)) b.fields.balance = balance as 'roundrobin';
  if (tunnel) {
    if (b.fields.kind === 'http_check') b.skipped.push(skip(tunnel, 'timeout tunnel beside an HTTP check: the kind stays http_check (long_lived would drop the check)'));
    else {
      b.fields.kind = 'long_lived';
      b.fieldLines.push(tunnel);
      if (!opts.own) b.notes.push(`${tunnel.file}:${tunnel.line}: backend ${sec.name} becomes kind long_lived (websockets): the daemon's haproxy.timeouts.long_lived applies instead of ${tunnel.words[2] ?? '?'}`);
    }
  }
  if (serverTimeout) {
    if (b.fields.kind === 'long_lived') b.fieldLines.push(serverTimeout);
    else b.skipped.push(skip(serverTimeout, "a backend's own server timeout is not expressible (haproxy.timeouts.server applies)"));
  }
  const anyWeight = [...serverLines.map((l) => l.words), defaultServer].some((w) => w.includes('weight'));
  for (const l of serverLines) readServer(b, l, defaultServer, { anyWeight, sslVerifyNone: opts.sslVerifyNone });
  return b;
}

function readCompression(b: BackendPlan, l: CfgLine): void {
  const w = l.words;
  const c = (b.compression ??= { body: { enabled: true }, lines: [] });
  if (w[1] === 'type' && w.length > 2) {
    c.body.types = [...(c.body.types ?? []), ...w.slice(2)];
    c.lines.push(l);
  } else if (w[1] === 'algo' && w.slice(2).includes('gzip')) {
    c.lines.push(l);
    if (w.length > 3) b.notes.push(`${l.file}:${l.line}: compression uses gzip only (the file also lists ${w.slice(2).filter((x) => x !== 'gzip').join(', ')})`);
  } else b.skipped.push(skip(l, `"compression ${w.slice(1).join(' ')}" is not expressible (compression is on with gzip, and a list of types)`));
}

function readErrorPage(b: BackendPlan, l: CfgLine, files: Readonly<Record<string, string>>): void {
  const w = l.words;
  const status = w[2];
  if (w[1] !== 'status' || (status !== '502' && status !== '503' && status !== '504') || w[3] !== 'content-type' || !/^text\/html(;|$)/.test(w[4] ?? '') || w[5] !== 'file' || w.length !== 7) {
    b.skipped.push(skip(l, 'an error page is expressible only as "http-error status 502|503|504 content-type text/html file <page>"'));
    return;
  }
  const html = files[w[6]!];
  if (html === undefined) b.skipped.push(skip(l, `the page ${w[6]!} was not given`));
  else if (b.errorPages.some((e) => e.status === status)) b.skipped.push(skip(l, `a second page for ${status}`));
  else b.errorPages.push({ status, html, line: l });
}

function readServer(b: BackendPlan, l: CfgLine, defaults: string[], o: { anyWeight: boolean; sslVerifyNone: boolean }): void {
  const [, name, addr] = l.words;
  const a = addr === undefined ? null : splitAddress(addr);
  if (!name || !a) {
    b.skipped.push(skip(l, `the server address "${addr ?? ''}" is not expressible (want address:port)`));
    return;
  }
  const s: Record<string, unknown> = { name, address: a.address, port: a.port, check: false };
  const lost: string[] = [];
  let ssl = false;
  let verify: string | null = null;
  const words = [...defaults, ...l.words.slice(3)];
  for (let i = 0; i < words.length; i++) {
    const k = words[i]!;
    const v = WITH_ARG.has(k) ? words[++i] ?? '' : '';
    switch (k) {
      case 'check':
        s.check = true;
        break;
      case 'no-check':
        s.check = false;
        break;
      case 'backup':
        s.backup = true;
        break;
      case 'weight':
      case 'maxconn':
        if (/^\d{1,7}$/.test(v)) s[k] = Number(v);
        else lost.push(`${k} ${v}`);
        break;
      case 'ssl':
        ssl = true;
        break;
      case 'verify':
        verify = v;
        break;
      case 'ca-file':
        if (v !== '@system-ca') s.tls_ca_file = v;
        break;
      case 'sni': {
        const m = /^str\(([^)]+)\)$/.exec(v);
        if (m) s.tls_sni = m[1];
        else lost.push(`sni ${v}`);
        break;
      }
      case 'verifyhost':
        if (v !== s.tls_sni) lost.push(`verifyhost ${v}`);
        break;
      case 'resolvers':
      case 'init-addr':
        // The daemon resolves a hostname itself (resolvers system init-addr libc,none).
        if (/^[0-9.]+$|:/.test(a.address)) lost.push(`${k} ${v}`);
        break;
      case 'disabled':
        lost.push('disabled (the server is imported in service: set it to maint after the import if it must stay out)');
        break;
      default:
        lost.push(v ? `${k} ${v}` : k);
    }
  }
  if (ssl) {
    s.tls = true;
    s.tls_verify = verify === null ? !o.sslVerifyNone : verify !== 'none';
  } else if (verify !== null || s.tls_sni !== undefined || s.tls_ca_file !== undefined) {
    lost.push('TLS options without ssl');
    delete s.tls_sni;
    delete s.tls_ca_file;
  }
  // HAProxy's default weight is 1; the daemon's is 100. Only the ratio matters, so it is kept when any server names one.
  if (o.anyWeight && s.weight === undefined) s.weight = 1;
  if (lost.length) b.skipped.push(skip(l, `server ${name}: ${lost.map((x) => `"${x}"`).join(', ')} not expressible; the server is imported without ${lost.length > 1 ? 'them' : 'it'}`));
  b.servers.push({ body: s, line: l });
}
