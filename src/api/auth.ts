/**
 * Who is asking, for every request but the open paths (GET /health):
 *
 * - `Authorization: Bearer <API key>`: the operator (actor "api"), anything.
 * - `Authorization: Bearer <viewer key>`: read-only (actor "viewer"): GET and
 *   HEAD only, and never a private key.
 * - The console's session cookie: the role the login gave (actor "console"
 *   or "console-viewer"). A request that changes anything must also come
 *   from the console's own origin (Origin, and Sec-Fetch-Site when the
 *   browser sends it) and carry the session's CSRF token in X-CSRF-Token:
 *   a page on another site can make a browser send the cookie, but it can
 *   neither read the token nor forge the Origin.
 *
 * Keys are compared in constant time. Under `api.auth: none` (loopback
 * only) a request with no credentials is the operator; a session still has
 * its role and its CSRF check. The daemon refuses to listen on a
 * non-loopback address without a key (config/load.ts).
 */
import type { Context, Next } from 'koa';
import { envelope } from './errors.js';
import { AppError } from '../errors.js';
import { sameSecret, type Role, type Session, type Sessions } from './sessions.js';

export const SESSION_COOKIE = 'hm_session';
const SAFE = new Set(['GET', 'HEAD']);
/** GET routes that answer a private key: the operator's alone. */
const SECRET_PATH = /^\/api\/certificates\/[^/]+\/(key|download)$/;

export interface AuthOptions {
  apiKey: string | null;
  viewerKey?: string | null;
  sessions?: Sessions;
  /** Paths anyone may read. */
  open: Set<string>;
}

/** The request came from a page of this very origin; throws forbidden otherwise. */
export function checkSameOrigin(ctx: Context): void {
  const origin = ctx.get('origin');
  const want = `${ctx.protocol}://${ctx.host}`;
  if (origin !== want) throw new AppError('forbidden', `a console request that changes something must come from the console's own page (Origin ${origin ? JSON.stringify(origin.slice(0, 100)) : 'missing'}, expected ${JSON.stringify(want.slice(0, 100))})`);
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin') throw new AppError('forbidden', `a console request that changes something must come from the console's own page (Sec-Fetch-Site: ${site.slice(0, 20)})`);
}

/** The session's CSRF token in X-CSRF-Token and the same origin; throws forbidden otherwise. */
export function checkCsrf(ctx: Context, s: Session, token = ctx.get('x-csrf-token')): void {
  checkSameOrigin(ctx);
  if (!token || !sameSecret(token, s.csrf)) throw new AppError('forbidden', 'the CSRF token is missing or wrong: reload the console page');
}

function readOnly(ctx: Context, who: string): void {
  if (!SAFE.has(ctx.method)) throw new AppError('forbidden', `${who} can only read: ${ctx.method} ${ctx.path} needs the API key`);
  if (SECRET_PATH.test(ctx.path)) throw new AppError('forbidden', `${who} cannot read private keys`);
}

function grant(ctx: Context, role: Role, actor: string): void {
  ctx.state.role = role;
  ctx.state.actor = actor;
}

export function authMiddleware(o: AuthOptions) {
  return async (ctx: Context, next: Next) => {
    if (o.open.has(ctx.path)) return next();
    const m = /^Bearer (.+)$/.exec(ctx.get('authorization'));
    if (m && o.apiKey && sameSecret(m[1]!, o.apiKey)) {
      grant(ctx, 'admin', 'api');
      return next();
    }
    if (m && o.viewerKey && sameSecret(m[1]!, o.viewerKey)) {
      readOnly(ctx, 'the viewer key');
      grant(ctx, 'viewer', 'viewer');
      return next();
    }
    if (!m && o.sessions) {
      const s = o.sessions.get(ctx.cookies.get(SESSION_COOKIE));
      if (s) {
        if (s.role === 'viewer') readOnly(ctx, 'a viewer login');
        if (!SAFE.has(ctx.method)) checkCsrf(ctx, s);
        grant(ctx, s.role, s.role === 'admin' ? 'console' : 'console-viewer');
        ctx.state.session = s;
        return next();
      }
    }
    if (!o.apiKey) {
      grant(ctx, 'admin', 'api');
      return next();
    }
    ctx.status = 401;
    ctx.set('WWW-Authenticate', 'Bearer');
    ctx.body = envelope('unauthorized', 'a valid API key is required (Authorization: Bearer <key>)');
  };
}
