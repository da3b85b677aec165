/**
 * Webhook signatures (generic JSON bodies).
 *
 * The sender adds:
 *   X-Haproxy-Manager-Timestamp: <unix seconds at this attempt>
 *   X-Haproxy-Manager-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   X-Haproxy-Manager-Message-Id: <message id, the same on every retry>
 * A receiver recomputes the HMAC over the timestamp, a dot and the raw body
 * bytes exactly as received (before any JSON parsing), compares in constant
 * time, rejects a timestamp more than `toleranceSec` (default 300) from its
 * clock (a captured request cannot be replayed later), and drops a message id
 * it has already processed (retries after a lost reply).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-haproxy-manager-signature';
export const TIMESTAMP_HEADER = 'x-haproxy-manager-timestamp';
export const MESSAGE_ID_HEADER = 'x-haproxy-manager-message-id';

export function signWebhook(secret: string | Buffer, timestamp: number, rawBody: string | Buffer): string {
  const h = createHmac('sha256', secret);
  h.update(`${timestamp}.`);
  h.update(rawBody);
  return `sha256=${h.digest('hex')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export function verifyWebhook(
  secret: string | Buffer,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string | Buffer,
  opts: { toleranceSec?: number; nowSec?: number } = {},
): VerifyResult {
  const sig = headers[SIGNATURE_HEADER];
  const ts = headers[TIMESTAMP_HEADER];
  if (typeof sig !== 'string' || typeof ts !== 'string') return { ok: false, reason: 'missing signature or timestamp header' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'bad timestamp' };
  const t = Number(ts);
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSec ?? 300)) return { ok: false, reason: 'timestamp outside tolerance' };
  const want = Buffer.from(signWebhook(secret, t, rawBody));
  const got = Buffer.from(sig);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}
