/**
 * `haproxy-manager certs request|renew|status`: the certificate endpoints of a
 * running daemon, from the command line, in one style: a line per
 * certificate (`issued`, `renewed`, `skipped`, `FAILED`) and a summary line,
 * or one JSON document with --json. `request` prints each result as it
 * finishes and keeps a progress line on a terminal (stderr, never a pipe).
 */
import http from 'node:http';
import type { Config } from '../config/schema.js';
import { cliApiKey } from '../config/api-key.js';
import { ConfigError } from '../config/errors.js';
import type { Writable } from 'node:stream';
import { CliError, EXIT, writeOut } from './output.js';
import { progressLine, type Progress } from './progress.js';

export interface ApiTarget {
  host: string;
  port: number;
  key: string | null;
}

export interface TargetOptions {
  /** --url: the daemon's API (http://host:port), instead of the config's api.listen/api.port. */
  url?: string | undefined;
  /** --api-key-file: a file holding the key, instead of the configured or generated one. */
  apiKeyFile?: string | undefined;
}

/**
 * Where a CLI command reaches the daemon and the key it sends. Throws a
 * ConfigError (printed as such, exit 2) for a bad --url or an unreadable key.
 */
export function apiTarget(cfg: Config, o: TargetOptions = {}): ApiTarget {
  let host = cfg.api.listen === '0.0.0.0' ? '127.0.0.1' : cfg.api.listen === '::' ? '::1' : cfg.api.listen;
  let port = cfg.api.port;
  if (o.url !== undefined) {
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw new ConfigError([`--url: ${JSON.stringify(o.url)} is not a URL (want http://host:port)`]);
    }
    if (u.protocol !== 'http:' || u.pathname !== '/' || u.search || u.username) throw new ConfigError([`--url: want http://host:port, not ${JSON.stringify(o.url)}`]);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = u.port ? Number(u.port) : 80;
  }
  return { host, port, key: cliApiKey({ apiKeyFile: o.apiKeyFile }, cfg.apiKey, cfg.api.auth, cfg.paths.apiKeyFile) };
}

function call(t: ApiTarget, method: string, path: string, body: unknown, accept: string, onLine?: (line: string) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: t.host,
        port: t.port,
        method,
        path,
        headers: {
          accept,
          ...(data ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } : {}),
          ...(t.key ? { authorization: `Bearer ${t.key}` } : {}),
        },
      },
      (res) => {
        let text = '';
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
          if (!onLine) return;
          buf += d;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        res.on('end', () => {
          if (res.statusCode === 401) text = `${text}\n(the key was refused: pass the daemon's key with --api-key-file, or set HAPROXY_MANAGER_API_KEY)`;
          resolve({ status: res.statusCode ?? 0, text });
        });
      },
    );
    req.on('error', (e) => reject(new Error(`cannot reach the daemon's API at ${t.host}:${t.port}: ${e.message}`)));
    req.end(data);
  });
}

/** One certificate's result, as the daemon reports it (request and renew alike). */
export interface CertResult {
  domain: string;
  names?: string[];
  status: 'success' | 'renewed' | 'skipped' | 'failed';
  not_after?: string;
  message?: string;
  error?: string;
  covered_by?: string;
}

export interface CertSummary {
  total: number;
  successful: number;
  skipped: number;
  failed: number;
}

/** The line `certs request` and `certs renew` print for one certificate: a fixed-width status word, the name, the detail. */
export function resultLine(r: CertResult): string {
  const word = r.status === 'failed' ? 'FAILED ' : r.status === 'skipped' ? 'skipped' : r.status === 'renewed' ? 'renewed' : 'issued ';
  const detail = r.error ? `: ${r.error}` : r.status === 'skipped' && r.message ? `: ${r.message}` : r.not_after ? ` (until ${r.not_after})` : '';
  return `${word} ${r.domain}${detail}`;
}

const summaryLine = (s: CertSummary) => `${s.successful + s.skipped} of ${s.total} done, ${s.failed} failed`;

/** The daemon's refusal (4xx/5xx without results) as a CliError: 2 for a usage or configuration problem (400, 409), else 1. */
function refused(what: string, r: { status: number; text: string }): CliError {
  let message = r.text.slice(0, 500);
  try {
    const body = JSON.parse(r.text) as { message?: unknown; field?: unknown };
    if (typeof body.message === 'string') message = body.message;
  } catch {
    /* not JSON: the text as it came */
  }
  return new CliError(`the daemon refused ${what} (${r.status}): ${message}`, r.status === 400 || r.status === 409 ? EXIT.usage : EXIT.failure, [{ message: `${r.status}: ${message}` }]);
}

/** How long `certs request|renew` waits for the fleet leader to carry out a request a follower queued. */
const QUEUED_WAIT_MS = 10 * 60_000;

/**
 * In a fleet, a node that does not lead queues an order or a renewal for the
 * leader and answers 202 with the request id: wait for the leader's outcome
 * (GET /api/fleet/requests/:id) and return its results, so the command reads
 * the same on every node. Null when the answer was not a 202.
 */
async function queuedOutcome(t: ApiTarget, r: { status: number; text: string }, what: string, out: Writable, json: boolean): Promise<CertResult[] | null> {
  if (r.status !== 202) return null;
  const q = JSON.parse(r.text) as { request_id: number; leader: string | null };
  if (!json) out.write(`queued for the fleet leader (${q.leader ?? 'none at this moment: the next one'}) as request ${q.request_id}; waiting for it\n`);
  const deadline = Date.now() + QUEUED_WAIT_MS;
  for (;;) {
    await new Promise((res) => setTimeout(res, 500));
    const g = await call(t, 'GET', `/api/fleet/requests/${q.request_id}`, undefined, 'application/json');
    if (g.status !== 200) throw refused('the request status', g);
    const v = JSON.parse(g.text) as { state: string; names: string[]; results: CertResult[] | null; error: string | null };
    if (v.state === 'done' || v.state === 'failed') return v.results ?? [{ domain: v.names.join(',') || what, status: 'failed', error: v.error ?? 'failed' }];
    if (Date.now() > deadline) throw new CliError(`request ${q.request_id} is still ${v.state} after ${QUEUED_WAIT_MS / 60_000} minutes; follow it with GET /api/fleet/requests/${q.request_id}`, EXIT.failure);
  }
}

export interface CertsOutput {
  json: boolean;
  out?: Writable;
  progress?: Progress;
}

/**
 * Requests certificates; prints one line per domain as it finishes (issued,
 * skipped with the reason, FAILED with the error) and a summary, with a
 * progress line on a terminal; with `json`, one document at the end:
 * `{"ok", "summary", "results"}`. Returns the exit code: 0 nothing failed
 * (skipped is not a failure), 1 some failed; throws a CliError with 2 when
 * the request was refused as a usage or configuration problem (400, or the
 * 409 of a wildcard without acme.dns_hook), with the daemon's message.
 */
export async function requestCerts(t: ApiTarget, domains: string[], opts: { www: boolean; force: boolean }, o: CertsOutput = { json: false }): Promise<number> {
  const out = o.out ?? process.stdout;
  const progress = o.progress ?? progressLine('certificates');
  const results: CertResult[] = [];
  const errors: string[] = [];
  let summary: CertSummary | null = null;
  let failed = 0;
  progress.update(0, domains.length, '', true);
  const r = await call(t, 'POST', '/api/certificates/request', { domains, include_www: opts.www, force: opts.force }, 'application/x-ndjson', (line) => {
    if (!line.trim()) return;
    const m = JSON.parse(line) as CertResult & { type: string; summary?: CertSummary };
    if (m.type === 'result') {
      const { type: _type, ...res } = m;
      results.push(res);
      if (m.status === 'failed') failed++;
      progress.clear();
      if (!o.json) out.write(resultLine(res) + '\n');
      progress.update(results.length, domains.length, `${failed} failed`, true);
    } else if (m.type === 'summary' && m.summary) summary = m.summary;
    else if (m.type === 'error') {
      errors.push(m.message ?? 'unknown error');
      progress.clear();
      if (!o.json) out.write(`error: ${m.message}\n`);
    }
  });
  progress.end();
  if (r.status >= 400) throw refused('the request', r);
  const queued = await queuedOutcome(t, r, domains.join(','), out, o.json);
  if (queued) {
    results.push(...queued);
    failed = queued.filter((x) => x.status === 'failed').length;
    if (!o.json) for (const x of queued) out.write(resultLine(x) + '\n');
  }
  const s: CertSummary = summary ?? { total: domains.length, successful: results.filter((x) => x.status === 'success' || x.status === 'renewed').length, skipped: results.filter((x) => x.status === 'skipped').length, failed: failed + errors.length };
  const ok = s.failed === 0 && errors.length === 0;
  if (o.json) await writeOut(out, JSON.stringify({ ok, summary: s, results, ...(errors.length ? { errors: errors.map((message) => ({ message })) } : {}) }, null, 2) + '\n');
  else await writeOut(out, summaryLine(s) + '\n');
  return ok ? EXIT.ok : EXIT.failure;
}

/**
 * Renews what is due (or one name; `force` renews before it is due): the
 * same lines and summary as `requestCerts`, or with `json` one document
 * `{"ok", "summary", "results"}`. Returns 0 when nothing failed, 1 when
 * something did; throws a CliError (2 for 400/409, else 1) when refused.
 */
export async function renewCerts(t: ApiTarget, opts: { domain?: string | undefined; force: boolean }, o: CertsOutput = { json: false }): Promise<number> {
  const out = o.out ?? process.stdout;
  const r = await call(t, 'POST', '/api/certificates/renew', { ...(opts.domain ? { domain: opts.domain } : {}), force: opts.force }, 'application/json');
  let body = null as { summary?: CertSummary; results?: CertResult[] } | null;
  try {
    body = JSON.parse(r.text) as typeof body;
  } catch {
    /* not JSON: refused below */
  }
  const queued = await queuedOutcome(t, r, opts.domain ?? 'renewal', out, o.json);
  if (queued) {
    const failedN = queued.filter((x) => x.status === 'failed').length;
    body = { results: queued, summary: { total: queued.length, successful: queued.filter((x) => x.status === 'success' || x.status === 'renewed').length, skipped: queued.filter((x) => x.status === 'skipped').length, failed: failedN } };
  }
  // 207 and 500 carry the per-certificate results too (some, or every, certificate failed).
  if (!body?.summary || !Array.isArray(body.results)) throw refused('the renewal', r);
  const { summary, results } = body as { summary: CertSummary; results: CertResult[] };
  const ok = summary.failed === 0;
  if (o.json) await writeOut(out, JSON.stringify({ ok, summary, results }, null, 2) + '\n');
  else {
    let text = results.length === 0 ? 'nothing is due for renewal (--force renews anyway)\n' : '';
    for (const x of results) text += resultLine(x) + '\n';
    await writeOut(out, text + summaryLine(summary) + '\n');
  }
  return ok ? EXIT.ok : EXIT.failure;
}

/** What `certs status` shows of each certificate. */
export interface CertStatus {
  domain: string;
  names?: string[];
  expires: string | null;
  days_until_expiry: number | null;
  renewal_due: boolean;
  self_signed?: boolean;
  last_error: string | null;
  next_attempt_at?: string | null;
}

/** `certs status`: a table with a header (or `{"ok", "certificates"}` with `json`); 0, or a CliError when the daemon fails. */
export async function certStatus(t: ApiTarget, o: CertsOutput = { json: false }): Promise<number> {
  const out = o.out ?? process.stdout;
  const r = await call(t, 'GET', '/api/certificates/status', undefined, 'application/json');
  if (r.status !== 200) throw refused('the status request', r);
  const { certificates: list } = JSON.parse(r.text) as { certificates: CertStatus[] };
  if (o.json) {
    await writeOut(out, JSON.stringify({ ok: true, certificates: list }, null, 2) + '\n');
    return EXIT.ok;
  }
  const w = Math.max(6, ...list.map((c) => c.domain.length));
  let text = `${'DOMAIN'.padEnd(w)}  ${'EXPIRES'.padEnd(24)}  ${'DAYS'.padStart(5)}  STATE\n`;
  for (const c of list) {
    const state = [c.renewal_due ? 'renewal due' : 'ok', c.self_signed ? 'self-signed' : '', c.last_error ? `last error: ${c.last_error}` : ''].filter(Boolean).join(', ');
    text += `${c.domain.padEnd(w)}  ${(c.expires ?? '-').padEnd(24)}  ${String(c.days_until_expiry ?? '-').padStart(5)}  ${state}\n`;
  }
  text += `${list.length} certificate${list.length === 1 ? '' : 's'}, ${list.filter((c) => c.renewal_due).length} due for renewal\n`;
  await writeOut(out, text);
  return EXIT.ok;
}

export async function simpleCall(t: ApiTarget, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return call(t, method, path, body, 'application/json');
}
