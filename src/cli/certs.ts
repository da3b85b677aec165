/**
 * `haproxy-manager certs request|renew|status`: the certificate endpoints of a
 * running daemon, from the command line. `request` streams per-domain results
 * as they finish and keeps a progress line on a terminal.
 */
import http from 'node:http';
import type { Config } from '../config/schema.js';
import { cliApiKey } from '../config/api-key.js';
import { ConfigError } from '../config/errors.js';

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

/**
 * Requests certificates; prints one line per domain (issued, skipped with the
 * reason, FAILED with the error) and a progress line; returns the exit code:
 * 0 nothing failed (skipped is not a failure), 1 some failed, 2 the request
 * was refused as a usage or configuration problem (400, or the 409 of a
 * wildcard without acme.dns_hook), with the daemon's message.
 */
export async function requestCerts(t: ApiTarget, domains: string[], opts: { www: boolean; force: boolean }, out: NodeJS.WriteStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let done = 0;
  let failed = 0;
  const tty = out.isTTY === true;
  const progress = () => {
    if (tty) out.write(`\r[${done}/${domains.length}] ${failed} failed`);
  };
  progress();
  const r = await call(t, 'POST', '/api/certificates/request', { domains, include_www: opts.www, force: opts.force }, 'application/x-ndjson', (line) => {
    if (!line.trim()) return;
    const m = JSON.parse(line) as { type: string; domain?: string; status?: string; error?: string; not_after?: string; message?: string };
    if (m.type === 'result') {
      done++;
      if (m.status === 'failed') failed++;
      if (tty) out.write('\r\x1b[K');
      out.write(`${m.status === 'failed' ? 'FAILED ' : m.status === 'skipped' ? 'skipped' : 'issued '} ${m.domain}${m.error ? `: ${m.error}` : m.status === 'skipped' && m.message ? `: ${m.message}` : m.not_after ? ` (until ${m.not_after})` : ''}\n`);
      progress();
    } else if (m.type === 'error') {
      failed++;
      out.write(`\nerror: ${m.message}\n`);
    }
  });
  if (tty) out.write('\n');
  if (r.status >= 400) {
    let message = r.text.slice(0, 500);
    try {
      const body = JSON.parse(r.text) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      /* not JSON: the text as it came */
    }
    err.write(`haproxy-manager: the daemon refused the request (${r.status}): ${message}\n`);
    return r.status === 400 || r.status === 409 ? 2 : 1;
  }
  out.write(`${done - failed} of ${domains.length} done, ${failed} failed\n`);
  return failed ? 1 : 0;
}

export async function simpleCall(t: ApiTarget, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return call(t, method, path, body, 'application/json');
}
