/**
 * Certificates, at the original's paths and with its shapes: POST /api/ssl,
 * POST /api/ssl/bundle, POST /api/certificates/request, POST
 * /api/certificates/renew, GET /api/certificates/status, GET
 * /api/certificates/:domain/{download,cert,key} and the two-step DNS-01
 * endpoints. Names are validated before anything is ordered; downloads serve
 * only certificates this daemon manages, from the path its database records.
 */
import type Router from '@koa/router';
import { PassThrough } from 'node:stream';
import { actorOf, body, type ApiDeps } from '../context.js';
import { normalizeHostname } from '../../validate/names.js';
import { AppError, validationError } from '../../errors.js';
import { envelope, httpStatus, kindStatus } from '../errors.js';
import { isAppError } from '../../errors.js';
import type { CertResult } from '../../certs/service.js';

/** A JSON boolean; `dflt` only when absent (null is refused, not read as the default). */
function boolField(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw validationError(field, 'must be true or false');
  return v;
}

function namesList(v: unknown, field: string, max: number): string[] {
  const raw = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(raw) || raw.length === 0) throw validationError(field, 'must be a hostname or a non-empty list of hostnames');
  if (raw.length > max) throw validationError(field, `must hold at most ${max} names`);
  const out = raw.map((d, i) => normalizeHostname(d, `${field}[${i}]`, { allowWildcard: true }));
  return [...new Set(out)];
}

const summary = (results: CertResult[]) => ({
  total: results.length,
  successful: results.filter((r) => r.status === 'success' || r.status === 'renewed').length,
  skipped: results.filter((r) => r.status === 'skipped').length,
  failed: results.filter((r) => r.status === 'failed').length,
});

/** 200 when nothing failed, 207 when some did, 500 when all did (the original's statuses). */
const statusFor = (results: CertResult[]) => {
  const s = summary(results);
  return s.failed === 0 ? 200 : s.failed === s.total ? 500 : 207;
};

export function certificateRoutes(r: Router, d: ApiDeps): void {
  r.post('/api/ssl', async (ctx) => {
    const b = body(ctx);
    const domain = normalizeHostname(b.domain, 'domain', { allowWildcard: true });
    const res = await d.certs.obtain(domain, [domain], actorOf(ctx));
    ctx.status = res.status === 'failed' ? kindStatus('acme') : 200;
    ctx.body = res.status === 'failed'
      ? { ...envelope('acme', res.error ?? 'the certificate was not issued'), domain }
      : { status: 'success', domain, cert_path: res.cert_path, not_after: res.not_after, serial: res.serial, message: res.message };
  });

  r.post('/api/ssl/bundle', async (ctx) => {
    const b = body(ctx);
    const primary = normalizeHostname(b.primary, 'primary', { allowWildcard: true });
    const sans = b.sans === undefined ? [] : namesList(b.sans, 'sans', 99);
    const names = [...new Set([primary, ...sans])];
    if (names.length > 100) throw validationError('sans', 'a certificate holds at most 100 names');
    const res = await d.certs.obtain(primary, names, actorOf(ctx));
    if (res.status === 'failed') {
      ctx.status = kindStatus('acme');
      ctx.body = { ...envelope('acme', res.error ?? 'the certificate was not issued'), primary, attempted_names: names };
      return;
    }
    const cleanup = await d.certs.retireSuperseded(primary, names, actorOf(ctx));
    ctx.body = { status: 'success', primary, names, cert_path: res.cert_path, not_after: res.not_after, cleanup, message: `certificate for ${names.length} names issued` };
  });

  r.post('/api/certificates/request', async (ctx) => {
    const b = body(ctx);
    // `domain` (one name) is accepted where `domains` is absent.
    const domains = namesList(b.domains !== undefined ? b.domains : b.domain, 'domains', 500);
    const includeWww = boolField(b.include_www, 'include_www', true);
    const force = boolField(b.force_renewal, 'force_renewal', false);
    const actor = actorOf(ctx);
    if ((ctx.get('accept') ?? '').includes('application/x-ndjson')) {
      // Progress: one JSON line per domain as it finishes, then the summary.
      const stream = new PassThrough();
      ctx.type = 'application/x-ndjson';
      ctx.body = stream;
      void d.certs
        .requestMany(domains, { includeWww, force }, actor, (res) => stream.write(JSON.stringify({ type: 'result', ...res }) + '\n'))
        .then((results) => stream.end(JSON.stringify({ type: 'summary', status: 'completed', summary: summary(results) }) + '\n'))
        .catch((e) => stream.end(JSON.stringify({ type: 'error', message: e instanceof Error ? e.message : String(e) }) + '\n'));
      return;
    }
    const results = await d.certs.requestMany(domains, { includeWww, force }, actor);
    ctx.status = statusFor(results);
    ctx.body = { status: 'completed', summary: summary(results), results };
  });

  r.post('/api/certificates/renew', async (ctx) => {
    const b = body(ctx);
    const domain = b.domain === undefined ? undefined : normalizeHostname(b.domain, 'domain', { allowWildcard: true });
    const force = boolField(b.force, 'force', false);
    const results = await d.certs.renew({ ...(domain ? { domain } : {}), force }, actorOf(ctx));
    const s = summary(results);
    ctx.status = s.failed === 0 ? 200 : statusFor(results);
    ctx.body = { status: s.failed === 0 ? 'success' : s.failed === s.total ? 'error' : 'partial_success', summary: s, results, ...(s.failed ? { failures: results.filter((x) => x.status === 'failed') } : {}) };
  });

  r.get('/api/certificates/status', (ctx) => {
    const now = Date.now();
    ctx.body = {
      certificates: d.certs.list().map((c) => ({
        domain: c.name,
        names: c.names,
        ssl_enabled: true,
        cert_path: c.file,
        issuer: c.issuer,
        serial: c.serial,
        key_type: c.key_type,
        challenge: c.challenge,
        self_signed: c.challenge === 'self-signed',
        not_before: c.not_before,
        expires: c.not_after,
        days_until_expiry: c.not_after ? Math.floor((Date.parse(c.not_after) - now) / 86_400_000) : null,
        renewal_due: d.certs.lifetimeDue(c, now),
        last_error: c.last_error,
        failures: c.failures,
        next_attempt_at: c.next_attempt_at,
      })),
    };
  });

  const download = (part: 'combined' | 'chain' | 'key', suffix: string) => async (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    const domain = normalizeHostname(String(ctx.params.domain ?? ''), 'domain', { allowWildcard: true });
    const c = d.certs.find(domain);
    if (!c) throw new AppError('not_found', `no certificate managed here covers ${domain}`, { field: 'domain' });
    const parts = d.certs.readParts(c);
    ctx.type = 'application/x-pem-file';
    ctx.set('Content-Disposition', `attachment; filename="${c.name.replace(/^\*\./, '_wildcard_.')}${suffix}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = part === 'combined' ? parts.combined : part === 'chain' ? parts.chain : parts.key;
  };
  r.get('/api/certificates/:domain/download', download('combined', '.pem'));
  r.get('/api/certificates/:domain/cert', download('chain', '.crt'));
  r.get('/api/certificates/:domain/key', download('key', '.key'));

  const baseOf = (v: unknown) => {
    const n = normalizeHostname(v, 'domain', { allowWildcard: true });
    return n.startsWith('*.') ? n.slice(2) : n;
  };

  r.post('/api/ssl/dns-challenge/request', async (ctx) => {
    const base = baseOf(body(ctx).domain);
    try {
      const { records } = await d.certs.manualRequest(base);
      ctx.body = { success: true, data: { challenge_token: records[0]?.value, record_name: records[0]?.name, records, base_domain: base } };
    } catch (e) {
      ctx.status = httpStatus(e);
      ctx.body = { ...envelope(isAppError(e) ? e.kind : 'internal', isAppError(e) ? e.message : 'internal error; see the daemon log'), success: false };
    }
  });

  r.post('/api/ssl/dns-challenge/verify', async (ctx) => {
    const base = baseOf(body(ctx).domain);
    try {
      const res = await d.certs.manualVerify(base, actorOf(ctx));
      ctx.body = { success: true, data: { domain: res.domain, cert_path: res.cert_path, not_after: res.not_after, message: `certificate for ${res.domain} issued (it does not cover ${base} itself)` } };
    } catch (e) {
      ctx.status = httpStatus(e);
      ctx.body = { ...envelope(isAppError(e) ? e.kind : 'internal', isAppError(e) ? e.message : 'internal error; see the daemon log'), success: false };
    }
  });
}
