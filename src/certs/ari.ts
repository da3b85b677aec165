/**
 * ACME Renewal Information (RFC 9773): when the CA's directory offers a
 * `renewalInfo` URL, it suggests a window in which to renew each certificate
 * (earlier than usual, for example before a mass revocation). A certificate is
 * due once a point inside that window has passed; the point is fixed per
 * certificate (derived from its serial), so repeated checks agree and many
 * hosts spread over the window. Without ARI the lifetime rule applies.
 */
import { createHash } from 'node:crypto';
import acme from 'acme-client';
import * as x509 from '@peculiar/x509';
import type { Logger } from '../log.js';
import { describe } from '../errors.js';
import { parseRetryAfter } from '../util/backoff.js';

const b64url = (b: Buffer) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The certificate's ARI identifier: base64url(authority key identifier) "." base64url(serial number bytes). */
export function ariCertId(leafPem: string): string | null {
  const cert = new x509.X509Certificate(leafPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) return null;
  let serial = cert.serialNumber;
  if (serial.length % 2) serial = `0${serial}`;
  let bytes = Buffer.from(serial, 'hex');
  // DER integers are positive: a high bit set means HAProxy and the CA count a leading zero byte.
  if (bytes.length && bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return `${b64url(Buffer.from(aki.keyId, 'hex'))}.${b64url(bytes)}`;
}

export interface AriWindow {
  start: number;
  end: number;
  /** The point in the window at which this certificate is due. */
  dueAt: number;
}

export function createAri(directoryUrl: string, log: Logger) {
  let endpoint: Promise<string | null> | null = null;
  const cache = new Map<string, { until: number; window: AriWindow | null }>();

  const renewalInfoUrl = () => {
    endpoint ??= acme.axios
      .get(directoryUrl)
      .then((r) => (typeof r.data?.renewalInfo === 'string' ? (r.data.renewalInfo as string) : null))
      .catch((e) => {
        endpoint = null;
        log.debug('cannot read the ACME directory for renewalInfo', { error: describe(e) });
        return null;
      });
    return endpoint;
  };

  return {
    /** The CA's suggested window for a certificate, or null when the CA offers no ARI (or did not answer). */
    async window(leafPem: string, now = Date.now()): Promise<AriWindow | null> {
      const url = await renewalInfoUrl();
      if (!url) return null;
      const id = ariCertId(leafPem);
      if (!id) return null;
      const hit = cache.get(id);
      if (hit && hit.until > now) return hit.window;
      try {
        const r = await acme.axios.get(`${url.replace(/\/$/, '')}/${id}`);
        const w = r.data?.suggestedWindow as { start?: string; end?: string } | undefined;
        const start = Date.parse(w?.start ?? '');
        const end = Date.parse(w?.end ?? '');
        if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) throw new Error('no valid suggestedWindow');
        const frac = createHash('sha256').update(id).digest().readUInt32BE(0) / 0xffffffff;
        const window = { start, end, dueAt: start + Math.floor((end - start) * frac) };
        // The CA says when to ask again (RFC 9773 4.3); six hours when it does not.
        const retryAfter = parseRetryAfter(r.headers?.['retry-after'] as string | undefined, now);
        cache.set(id, { until: now + (retryAfter ?? 6 * 3_600_000), window });
        return window;
      } catch (e) {
        log.warn('ACME renewal information unavailable; using the lifetime rule', { error: describe(e) });
        cache.set(id, { until: now + 3_600_000, window: null });
        return null;
      }
    },
  };
}

export type Ari = ReturnType<typeof createAri>;
