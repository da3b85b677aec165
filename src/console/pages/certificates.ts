/**
 * Certificates: every managed certificate (GET /api/certificates/status)
 * with its names, issuer, serial, key type, challenge, days left and last
 * renewal result; a Renew button per certificate (POST
 * /api/certificates/renew, forced) and a Request form (POST
 * /api/certificates/request). The request's per-name progress comes from
 * the API itself: console.js asks for application/x-ndjson, lists every
 * name as pending and fills each in as the API's line for it arrives
 * (issued, skipped, or failed with the CA's message).
 */
import type { PageRegistrar } from '../console.js';
import type { AnswerOf } from '../wire.js';
import type { status as certStatus } from '../../api/routes/certificates.js';

export type CertStatus = AnswerOf<typeof certStatus>['certificates'][number];

/** How urgent a certificate's expiry is: error under 7 days (or expired, or unknown), warn under 14. */
export function expiryLevel(days: number | null): 'ok' | 'warn' | 'error' {
  if (days === null || days < 7) return 'error';
  return days < 14 ? 'warn' : 'ok';
}

export function certificatesPages(page: PageRegistrar): void {
  page('/certificates', async (_ctx, { api }) => {
    const { certificates } = await api.get<{ certificates: CertStatus[] }>('/api/certificates/status');
    const rows = certificates
      .map((c) => ({ ...c, level: expiryLevel(c.days_until_expiry), expired: c.expires !== null && Date.parse(c.expires) <= Date.now() }))
      // The managed ones first, the soonest to expire on top; the self-signed fallback last.
      .sort((a, b) => Number(a.self_signed) - Number(b.self_signed) || (a.expires ? Date.parse(a.expires) : 0) - (b.expires ? Date.parse(b.expires) : 0) || a.domain.localeCompare(b.domain));
    const failing = rows.filter((c) => c.last_error).length;
    const expiring = rows.filter((c) => !c.self_signed && c.level !== 'ok').length;
    return { template: 'certificates.njk', data: { title: 'Certificates', certificates: rows, failing, expiring } };
  });
}
