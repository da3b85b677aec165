/**
 * The HTTP-01 self-check: before an order, does each name resolve to and
 * reach this HAProxy? The daemon serves a token of its own on the challenge
 * responder and fetches http://<name>/.well-known/acme-challenge/<token>
 * itself, at every address the name resolves to, on HAProxy's HTTP port,
 * with the name as Host. A name passes when some address answers the token
 * and none answers something else (a CA that connects to that address would
 * see another server); otherwise the error names the name, the addresses and
 * what each gave, and the CA is never asked.
 *
 * Resolution: the system resolver (getaddrinfo, /etc/hosts) unless
 * acme.self_check_resolver names a DNS server. Off with acme.self_check: false.
 */
import dns from 'node:dns';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { AppError, describe } from '../errors.js';
import type { Responder } from './responder.js';

const PER_FETCH_MS = 5000;
const MAX_ADDRESSES = 8;

/** The addresses `name` resolves to (A and AAAA), through `resolver` (ip[:port]) or the system's. */
export async function resolveName(name: string, resolver: string | null): Promise<string[]> {
  if (resolver === null) {
    const all = await dns.promises.lookup(name, { all: true, verbatim: true });
    return [...new Set(all.map((a) => a.address))];
  }
  const r = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
  r.setServers([resolver]);
  const quiet = (p: Promise<string[]>) =>
    p.catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENODATA' || e.code === 'ENOTFOUND') return [] as string[];
      throw e;
    });
  const [v4, v6] = await Promise.all([quiet(r.resolve4(name)), quiet(r.resolve6(name))]);
  return [...v6, ...v4];
}

function fetchToken(address: string, port: number, host: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, path: `/.well-known/acme-challenge/${token}`, headers: { host, 'user-agent': 'haproxy-manager self-check' }, agent: false, timeout: PER_FETCH_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 4096) body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${PER_FETCH_MS} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

export interface SelfCheck {
  /** Throws AppError('acme') naming the first name that does not reach this HAProxy; resolves when all do (or the check is off). */
  check(names: string[]): Promise<void>;
}

export function createSelfCheck(cfg: Config, log: Logger, responder: Responder): SelfCheck {
  const port = cfg.haproxy.http_port;
  return {
    async check(names) {
      if (!cfg.acme.self_check) return;
      const token = `hm-self-check-${randomBytes(18).toString('base64url')}`;
      const value = randomBytes(24).toString('base64url');
      await responder.set(token, value);
      try {
        for (const name of names) {
          if (name.startsWith('*.')) continue; // wildcards are DNS-01
          let addresses: string[];
          try {
            addresses = (await resolveName(name, cfg.acme.self_check_resolver)).slice(0, MAX_ADDRESSES);
          } catch (e) {
            throw fail(name, `${name} does not resolve (${(e as NodeJS.ErrnoException).code ?? describe(e)})`);
          }
          if (addresses.length === 0) throw fail(name, `${name} does not resolve (no A or AAAA record)`);
          const outcomes = await Promise.all(
            addresses.map(async (a) => {
              try {
                const r = await fetchToken(a, port, name, token);
                return { address: a, ok: r.status === 200 && r.body === value, connected: true, what: r.status === 200 && r.body === value ? 'reached' : `HTTP ${r.status}, not this daemon's token` };
              } catch (e) {
                return { address: a, ok: false, connected: false, what: (e as NodeJS.ErrnoException).code ?? describe(e) };
              }
            }),
          );
          const wrong = outcomes.filter((o) => o.connected && !o.ok);
          if (wrong.length || !outcomes.some((o) => o.ok)) {
            const detail = outcomes.map((o) => `${o.address}: ${o.what}`).join('; ');
            throw fail(name, `${name} does not reach this HAProxy on port ${port} (${detail})`);
          }
          log.debug('self-check passed', { name, addresses: addresses.join(',') });
        }
      } finally {
        await responder.remove(token);
      }
    },
  };

  function fail(name: string, why: string): AppError {
    log.warn('self-check failed; the CA was not asked', { name, reason: why });
    return new AppError('acme', `self-check failed before ordering: ${why}; the CA was not asked (point ${name} at this host, or set acme.self_check: false if this host cannot reach its own address)`, {
      detail: { self_check: name },
    });
  }
}
