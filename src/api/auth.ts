/**
 * Bearer-token authentication with a constant-time comparison. Everything but
 * GET /health needs the key when one is configured. The daemon refuses to
 * listen on a non-loopback address without a key (config/load.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { envelope } from './errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function authMiddleware(apiKey: string | null, open: Set<string>) {
  const want = apiKey ? digest(apiKey) : null;
  return async (ctx: Context, next: Next) => {
    if (!want || open.has(ctx.path)) return next();
    const h = ctx.get('authorization');
    const m = /^Bearer (.+)$/.exec(h);
    // Hashing both sides gives equal lengths, so the comparison time does not depend on the key.
    if (!m || !timingSafeEqual(digest(m[1]!), want)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = envelope('unauthorized', 'a valid API key is required (Authorization: Bearer <key>)');
      return;
    }
    ctx.state.actor = 'api';
    return next();
  };
}
