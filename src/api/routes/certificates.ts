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
import type { Context } from 'koa';
import { actorOf, type ApiDeps } from '../context.js';
import { AppError } from '../../errors.js';
import { mount, route, type Answer } from '../contract/route.js';
import { bundleBody, bundleOk, certStatusOut, dnsChallengeBody, dnsRequestOk, dnsVerifyOk, domainParam, renewBody, renewOut, requestBody, requestOut, sslBody, sslOk } from '../schemas/operations.js';
import { envelope, httpStatus, kindStatus } from '../errors.js';
import { isAppError } from '../../errors.js';
import { askedNames, type CertResult } from '../../certs/service.js';
import { QUEUED_202, queuedAnswer } from './fleet-requests.js';
import { queuedOut } from '../schemas/fleet-requests.js';

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


const acmeFailed = { 502: { description: 'The CA or the challenge failed, or the self-check found a name that does not reach this host (before the CA was asked); message says which name and why' } };
const WILDCARD_409 = '*.example.com is a wildcard: it needs a DNS-01 challenge, and no DNS hook is configured (acme.dns_hook); configure one, or publish the TXT record by hand through POST /api/ssl/dns-challenge/request and /verify';
/** In a fleet, a node that does not lead queues orders and renewals for the leader (202). */
const queued = { 202: { ...QUEUED_202[202], schema: queuedOut } };
const noHook = {
  409: { description: 'A wildcard asked for without acme.dns_hook (a configuration problem): nothing was ordered or queued. In a fleet, a node that does not lead queues the request (202), or answers 503 when it cannot reach the fleet database', example: { status: 'error', error: 'conflict', message: WILDCARD_409 } },
};
const notLeader = { 409: { description: 'In a fleet, this node does not lead it: the message names the leader, which orders for every node (503 when this node cannot reach the fleet database); nothing was ordered' } };
const SAME_RULES =
  'The same rules at every entry point (this, /api/certificates/request, /api/ssl/bundle, `haproxy-manager certs request`, renewal): www.<name> only when include_www is true; a valid certificate (not due for renewal) that already covers the names is not ordered again unless force is true (the answer says skipped and by which certificate); a new order keeps every name the certificate already holds; before an HTTP-01 order each name must reach this HAProxy (acme.self_check); a wildcard needs acme.dns_hook (else 409).';
const batch = (schema: Answer['schema'], example: unknown): Record<number, Answer> => ({
  200: { description: 'Nothing failed', schema, example },
  207: { description: 'Some names failed (each result says why)', schema },
  500: { description: 'Every name failed', schema },
});
const result = { domain: 'app.example.com', names: ['app.example.com', 'www.app.example.com'], status: 'success', cert_path: '/var/lib/haproxy-manager/certs/app.example.com.pem', not_after: '2027-03-01T10:00:00.000Z', serial: '04a1...', message: 'issued' };

export const ssl = route({
  id: 'obtainCertificate',
  method: 'POST',
  path: '/api/ssl',
  tag: 'certificates',
  summary: 'Obtain a certificate for one name over ACME (HTTP-01 through HAProxy; DNS-01 for a wildcard) and load it live; skipped when a valid one already covers it',
  description: SAME_RULES,
  auth: 'api_key',
  body: sslBody,
  bodyExample: { domain: 'app.example.com', include_www: false, force: false },
  responses: {
    200: {
      description: 'Issued, or skipped (skipped: true) because a valid certificate already covers the names',
      schema: sslOk,
      example: { status: 'success', domain: 'app.example.com', names: ['app.example.com'], cert_path: result.cert_path, not_after: result.not_after, serial: result.serial, message: 'certificate for app.example.com issued' },
    },
    ...noHook,
    ...acmeFailed,
    ...queued,
  },
});
export const bundle = route({
  id: 'obtainBundle',
  method: 'POST',
  path: '/api/ssl/bundle',
  tag: 'certificates',
  summary: 'One certificate for exactly these names; certificates it supersedes are retired; skipped when a valid one already covers them',
  description: 'The names are exactly primary and sans (no www. is added, and this is the one way to drop names from a certificate). A valid certificate that already covers them is not ordered again unless force is true; a wildcard needs acme.dns_hook (else 409); HTTP-01 names must pass the self-check.',
  auth: 'api_key',
  body: bundleBody,
  bodyExample: { primary: 'example.com', sans: ['www.example.com', 'api.example.com'] },
  responses: {
    ...noHook,
    200: { description: 'Issued, or skipped (skipped: true)', schema: bundleOk, example: { status: 'success', primary: 'example.com', names: ['example.com', 'www.example.com'], cert_path: '/var/lib/haproxy-manager/certs/example.com.pem', not_after: result.not_after, cleanup: { removed: [], errors: [], skipped: [] }, message: 'certificate for 2 names issued' } },
    ...acmeFailed,
    ...queued,
  },
});
export const request = route({
  id: 'requestCertificates',
  method: 'POST',
  path: '/api/certificates/request',
  tag: 'certificates',
  summary: 'Certificates for many names, one each; with Accept: application/x-ndjson, one JSON line per name as it finishes (status success, skipped or failed), then the summary',
  description: SAME_RULES + ' A wildcard without acme.dns_hook refuses the whole request with 409 before anything is ordered or streamed.',
  auth: 'api_key',
  body: requestBody,
  bodyExample: { domains: ['app.example.com', 'shop.example.com'], include_www: true, force: false },
  responses: {
    ...batch(requestOut, {
      status: 'completed',
      summary: { total: 2, successful: 1, skipped: 1, failed: 0 },
      results: [
        result,
        { domain: 'shop.example.com', names: ['shop.example.com', 'www.shop.example.com'], status: 'skipped', covered_by: 'shop.example.com', cert_path: '/var/lib/haproxy-manager/certs/shop.example.com.pem', not_after: result.not_after, serial: '03f2...', message: 'skipped: the valid certificate shop.example.com (shop.example.com, www.shop.example.com) already covers shop.example.com, www.shop.example.com and is not due for renewal (until 2027-03-01T10:00:00.000Z); nothing was ordered (force to order anyway)' },
      ],
    }),
    ...noHook,
    ...queued,
  },
});
export const renew = route({
  id: 'renewCertificates',
  method: 'POST',
  path: '/api/certificates/renew',
  tag: 'certificates',
  summary: 'Renew what is due (or one name; force renews before it is due); a renewal keeps the certificate\'s names',
  description: 'A renewal orders exactly the names the certificate holds (never adds www., never drops a name). Asking for one wildcard certificate without acme.dns_hook is a 409; in a run over every certificate it is that certificate\'s failure.',
  auth: 'api_key',
  body: renewBody,
  bodyExample: { domain: 'app.example.com', force: true },
  responses: { ...batch(renewOut, { status: 'success', summary: { total: 1, successful: 1, skipped: 0, failed: 0 }, results: [{ ...result, status: 'renewed' }] }), ...noHook, ...queued },
});
export const status = route({
  id: 'certificateStatus',
  method: 'GET',
  path: '/api/certificates/status',
  tag: 'certificates',
  summary: 'Every managed certificate: names, issuer, expiry, the last renewal result',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The certificates',
      schema: certStatusOut,
      example: {
        certificates: [
          {
            domain: 'app.example.com', names: ['app.example.com'], ssl_enabled: true, cert_path: result.cert_path, issuer: "Let's Encrypt R11", serial: '04a1...', key_type: 'ecdsa-p256', challenge: 'http-01', self_signed: false,
            not_before: '2026-12-01T10:00:00.000Z', expires: '2027-03-01T10:00:00.000Z', days_until_expiry: 88, renewal_due: false, last_error: null, failures: 0, next_attempt_at: null,
          },
        ],
      },
    },
  },
});
const pem = (what: string): Record<number, Answer> => ({ 200: { description: what, contentType: 'application/x-pem-file', example: '-----BEGIN CERTIFICATE-----\n...' }, 404: { description: 'No managed certificate covers the name' } });
export const download = route({ id: 'downloadCertificate', method: 'GET', path: '/api/certificates/:domain/download', tag: 'certificates', summary: 'The PEM bundle HAProxy loads (chain and key)', auth: 'api_key', params: domainParam, responses: pem('Chain and private key') });
export const cert = route({ id: 'downloadChain', method: 'GET', path: '/api/certificates/:domain/cert', tag: 'certificates', summary: 'The certificate chain', auth: 'api_key', params: domainParam, responses: pem('The chain') });
export const key = route({ id: 'downloadKey', method: 'GET', path: '/api/certificates/:domain/key', tag: 'certificates', summary: 'The private key (sent with Cache-Control: no-store)', auth: 'api_key', params: domainParam, responses: pem('The private key') });
export const dnsRequest = route({
  id: 'dnsChallengeRequest',
  method: 'POST',
  path: '/api/ssl/dns-challenge/request',
  tag: 'certificates',
  summary: 'Start a wildcard order by hand: the TXT records to publish',
  auth: 'api_key',
  body: dnsChallengeBody,
  bodyExample: { domain: 'example.com' },
  responses: {
    200: { description: 'The records', schema: dnsRequestOk, example: { success: true, data: { challenge_token: 'x2Zv...', record_name: '_acme-challenge.example.com', records: [{ name: '_acme-challenge.example.com', value: 'x2Zv...' }], base_domain: 'example.com' } } },
    ...acmeFailed,
    ...notLeader,
  },
});
export const dnsVerify = route({
  id: 'dnsChallengeVerify',
  method: 'POST',
  path: '/api/ssl/dns-challenge/verify',
  tag: 'certificates',
  summary: 'Finish the order once the records are published; the certificate covers *.<domain>',
  auth: 'api_key',
  body: dnsChallengeBody,
  bodyExample: { domain: 'example.com' },
  responses: {
    200: { description: 'Issued', schema: dnsVerifyOk, example: { success: true, data: { domain: '*.example.com', cert_path: '/var/lib/haproxy-manager/certs/_wildcard_.example.com.pem', not_after: result.not_after, message: 'certificate for *.example.com issued (it does not cover example.com itself)' } } },
    404: { description: 'No order was started for the domain' },
    ...acmeFailed,
    ...notLeader,
  },
});

export function certificateRoutes(r: Router, d: ApiDeps): void {
  mount(r, ssl, async (ctx, { body: { domain, include_www, force } }) => {
    const q = await d.certs.forward({ op: 'request', domain, include_www: include_www ?? false, force: force ?? false }, actorOf(ctx));
    if (q) return queuedAnswer(ctx, q);
    const res = await d.certs.request(domain, { includeWww: include_www ?? false, force: force ?? false }, actorOf(ctx));
    ctx.status = res.status === 'failed' ? kindStatus('acme') : 200;
    ctx.body = res.status === 'failed'
      ? { ...envelope('acme', res.error ?? 'the certificate was not issued'), domain }
      : {
          status: 'success',
          domain,
          names: res.names,
          cert_path: res.cert_path,
          not_after: res.not_after,
          serial: res.serial,
          message: res.message,
          ...(res.status === 'skipped' ? { skipped: true, covered_by: res.covered_by } : {}),
        };
  });

  mount(r, bundle, async (ctx, { body: b }) => {
    const primary = b.primary;
    const sans = b.sans ?? [];
    const names = [...new Set([primary, ...sans])];
    const q = await d.certs.forward({ op: 'bundle', primary, names, force: b.force === true }, actorOf(ctx));
    if (q) return queuedAnswer(ctx, q);
    const { result: res, cleanup } = await d.certs.bundle(primary, names, b.force === true, actorOf(ctx));
    if (res.status === 'skipped') {
      ctx.body = { status: 'success', primary, names, cert_path: res.cert_path, not_after: res.not_after, serial: res.serial, cleanup: { removed: [], errors: [], skipped: [] }, message: res.message!, skipped: true, covered_by: res.covered_by };
      return;
    }
    if (res.status === 'failed') {
      ctx.status = kindStatus('acme');
      ctx.body = { ...envelope('acme', res.error ?? 'the certificate was not issued'), primary, attempted_names: names };
      return;
    }
    ctx.body = { status: 'success', primary, names, cert_path: res.cert_path, not_after: res.not_after, serial: res.serial, cleanup, message: `certificate for ${names.length} names issued` };
  });

  // `domain` (one name) is accepted where `domains` is absent.
  mount(r, request, async (ctx, { body: { domains, includeWww, force } }) => {
    const actor = actorOf(ctx);
    const q = await d.certs.forward({ op: 'request_many', domains, include_www: includeWww, force }, actor);
    if (q) return queuedAnswer(ctx, q);
    // A wildcard without a DNS hook is refused whole (409) before anything is ordered or streamed.
    d.certs.assertOrderable(domains.map((n) => ({ names: askedNames(n, includeWww) })), force);
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

  mount(r, renew, async (ctx, { body: { domain, force } }) => {
    const q = await d.certs.forward({ op: 'renew', ...(domain ? { domain } : {}), force: force ?? false }, actorOf(ctx));
    if (q) return queuedAnswer(ctx, q);
    const results = await d.certs.renew({ ...(domain ? { domain } : {}), force: force ?? false }, actorOf(ctx));
    const s = summary(results);
    ctx.status = s.failed === 0 ? 200 : statusFor(results);
    ctx.body = { status: s.failed === 0 ? 'success' : s.failed === s.total ? 'error' : 'partial_success', summary: s, results, ...(s.failed ? { failures: results.filter((x) => x.status === 'failed') } : {}) };
  });

  mount(r, status, (ctx) => {
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

  const serve = (part: 'combined' | 'chain' | 'key', suffix: string) => async (ctx: Context, { params: { domain } }: { params: { domain: string } }) => {
    const c = d.certs.find(domain);
    if (!c) throw new AppError('not_found', `no certificate managed here covers ${domain}`, { field: 'domain' });
    const parts = d.certs.readParts(c);
    ctx.type = 'application/x-pem-file';
    ctx.set('Content-Disposition', `attachment; filename="${c.name.replace(/^\*\./, '_wildcard_.')}${suffix}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = part === 'combined' ? parts.combined : part === 'chain' ? parts.chain : parts.key;
  };
  mount(r, download, serve('combined', '.pem'));
  mount(r, cert, serve('chain', '.crt'));
  mount(r, key, serve('key', '.key'));

  const baseOf = (n: string) => (n.startsWith('*.') ? n.slice(2) : n);

  mount(r, dnsRequest, async (ctx, { body: { domain } }) => {
    const base = baseOf(domain);
    try {
      const { records } = await d.certs.manualRequest(base);
      ctx.body = { success: true, data: { challenge_token: records[0]?.value, record_name: records[0]?.name, records, base_domain: base } };
    } catch (e) {
      ctx.status = httpStatus(e);
      ctx.body = { ...envelope(isAppError(e) ? e.kind : 'internal', isAppError(e) ? e.message : 'internal error; see the daemon log'), success: false };
    }
  });

  mount(r, dnsVerify, async (ctx, { body: { domain } }) => {
    const base = baseOf(domain);
    try {
      const res = await d.certs.manualVerify(base, actorOf(ctx));
      ctx.body = { success: true, data: { domain: res.domain, cert_path: res.cert_path, not_after: res.not_after, message: `certificate for ${res.domain} issued (it does not cover ${base} itself)` } };
    } catch (e) {
      ctx.status = httpStatus(e);
      ctx.body = { ...envelope(isAppError(e) ? e.kind : 'internal', isAppError(e) ? e.message : 'internal error; see the daemon log'), success: false };
    }
  });
}
