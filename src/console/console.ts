/**
 * The operator console, served by the daemon at / on the API's port:
 * server-rendered pages (nunjucks, autoescape) that read through the API in
 * process (api-client.ts), and small scripts (templates/console/static/:
 * console.js, then one file per feature) for what is interactive: forms
 * sent to the API as JSON with the session's CSRF token, live regions refreshed by polling, countdowns
 * and the traffic chart (uPlot, shipped from node_modules). Every page reads
 * without JavaScript.
 *
 * Contract:
 * - Login exchanges the API key (operator) or the viewer key (read-only)
 *   for a session cookie: HttpOnly, SameSite=Strict, Secure over TLS, Path=/,
 *   expiring (api.session_ttl, api.session_idle). Logout ends it. The login
 *   and logout forms are checked like every change: same Origin, and logout
 *   carries the CSRF token.
 * - Every console answer carries a strict Content-Security-Policy (scripts
 *   and styles only from this origin, nothing inline, no frames), nosniff,
 *   no referrer and no caching of pages.
 * - A page without a session redirects to /login; the API routes under /api
 *   are never the console's (auth.ts judges the cookie there).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { Context, Next } from 'koa';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiDeps } from '../api/context.js';
import { SESSION_COOKIE, checkCsrf, checkSameOrigin } from '../api/auth.js';
import { isAppError } from '../errors.js';
import { consoleApi, type ConsoleApi } from './api-client.js';
import { createRenderer, CONSOLE_TEMPLATE_DIR } from './render.js';
import { sameSecret, type Session, type Sessions } from '../api/sessions.js';
import { registerPages } from './pages/index.js';

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const require = createRequire(import.meta.url);
/** The console's scripts, in load order: the core (window.hmConsole), then one file per generic feature. */
export const SCRIPTS = ['console.js', 'progress.js', 'rows.js', 'groups.js', 'warnings.js', 'explain.js'] as const;
const STATIC: Record<string, { file: string; type: string }> = {
  ...Object.fromEntries(SCRIPTS.map((f) => [`/static/${f}`, { file: join(CONSOLE_TEMPLATE_DIR, 'static', f), type: 'text/javascript; charset=utf-8' }])),
  '/static/console.css': { file: join(CONSOLE_TEMPLATE_DIR, 'static', 'console.css'), type: 'text/css; charset=utf-8' },
  '/static/uplot.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/static/uplot.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** What a page handler gets: the API as its login may read it, and who is asking. */
export interface PageContext {
  api: ConsoleApi;
  session: Session;
  deps: ConsoleDeps;
}

export interface ConsoleDeps {
  api: ApiDeps;
  sessions: Sessions;
  viewerKey: string | null;
  /** The app's request handler, for reads in process. */
  handler: () => ReturnType<Koa['callback']>;
  /** Re-read templates on every render (tests that edit them). */
  noCache?: boolean;
}

/** A page: the template and what it renders, or a redirect. */
export type PageResult = { template: string; data: Record<string, unknown>; status?: number } | { redirect: string };
export type PageLoader = (ctx: Context, p: PageContext) => Promise<PageResult>;

/** Registers page routes: `page(router, '/domains', loader)`. */
export type PageRegistrar = (path: string, load: PageLoader) => void;

function securityHeaders(ctx: Context): void {
  ctx.set('Content-Security-Policy', CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin'); // no-referrer would make Chromium send "Origin: null" on the console's own form posts
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
}

/** A small urlencoded body (the login and logout forms); at most 4 KiB. */
async function formBody(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) return new URLSearchParams();
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 4096) return new URLSearchParams();
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function consoleMiddleware(d: ConsoleDeps) {
  const env = createRenderer(undefined, { noCache: d.noCache ?? false });
  const log = d.api.log.child({ unit: 'console' });
  const apiKey = d.api.cfg.apiKey;
  const router = new Router();

  const render = (ctx: Context, template: string, data: Record<string, unknown>, status = 200) => {
    const s = ctx.state.session as Session | undefined;
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = env.render(template, {
      ...data,
      session: s ? { role: s.role, expires_at: new Date(s.expiresAt).toISOString() } : null,
      csrf: s?.csrf ?? '',
      path: ctx.path,
      version: d.api.info.version,
      scripts: SCRIPTS,
    });
  };

  const startSession = (ctx: Context, role: 'admin' | 'viewer') => {
    const s = d.sessions.create(role);
    ctx.cookies.set(SESSION_COOKIE, s.id, { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', maxAge: s.expiresAt - s.createdAt, overwrite: true });
    ctx.state.session = s;
    return s;
  };

  router.get('/login', (ctx) => {
    if (d.sessions.get(ctx.cookies.get(SESSION_COOKIE))) return ctx.redirect('/');
    render(ctx, 'login.njk', { error: null, viewer: d.viewerKey !== null });
  });
  router.post('/login', async (ctx) => {
    try {
      checkSameOrigin(ctx);
    } catch (e) {
      return render(ctx, 'login.njk', { error: (e as Error).message, viewer: d.viewerKey !== null }, 403);
    }
    const key = (await formBody(ctx)).get('key') ?? '';
    const role = apiKey && sameSecret(key, apiKey) ? 'admin' : d.viewerKey && sameSecret(key, d.viewerKey) ? 'viewer' : null;
    if (!role) {
      // A wrong key costs a moment (the keys are 256-bit random: this only keeps logs and CPU calm).
      await sleep(300);
      log.info('console login refused: wrong key', { from: ctx.ip });
      return render(ctx, 'login.njk', { error: 'That key is not the API key or the viewer key.', viewer: d.viewerKey !== null }, 401);
    }
    startSession(ctx, role);
    log.info('console login', { role, from: ctx.ip });
    ctx.redirect('/');
  });
  router.post('/logout', async (ctx) => {
    const s = d.sessions.get(ctx.cookies.get(SESSION_COOKIE));
    if (s) {
      try {
        checkCsrf(ctx, s, (await formBody(ctx)).get('_csrf') ?? '');
      } catch (e) {
        return render(ctx, 'error.njk', { title: 'Not logged out', message: (e as Error).message }, 403);
      }
      d.sessions.destroy(s.id);
      log.info('console logout', { role: s.role });
    }
    ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', maxAge: 0, overwrite: true });
    ctx.redirect('/login');
  });

  const page: PageRegistrar = (path, load) => {
    router.get(path, async (ctx) => {
      let s = d.sessions.get(ctx.cookies.get(SESSION_COOKIE));
      // Under api.auth: none (loopback only) there is nothing to log in with: a session is made at once.
      if (!s && !apiKey) s = startSession(ctx, 'admin');
      if (!s) return ctx.redirect(`/login`);
      ctx.state.session = s;
      const api = consoleApi(d.handler, s.role === 'admin' ? apiKey : d.viewerKey);
      try {
        const r = await load(ctx, { api, session: s, deps: d });
        if ('redirect' in r) return ctx.redirect(r.redirect);
        render(ctx, r.template, r.data, r.status);
      } catch (e) {
        if (!isAppError(e)) log.error('console page failed', { path: ctx.path, error: (e as Error).message });
        const status = isAppError(e) && e.kind === 'not_found' ? 404 : 500;
        render(ctx, 'error.njk', { title: status === 404 ? 'Not found' : 'This page could not be shown', message: isAppError(e) ? e.message : 'an internal error (see the daemon log)' }, status);
      }
    });
  };
  registerPages(page);
  const routes = router.routes();
  const isConsolePath = (p: string) => !p.startsWith('/api/') && p !== '/api' && p !== '/health' && p !== '/healthz' && p !== '/metrics';

  return async (ctx: Context, next: Next) => {
    if (!isConsolePath(ctx.path)) return next();
    const asset = STATIC[ctx.path];
    if (asset && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      securityHeaders(ctx);
      ctx.type = asset.type;
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = createReadStream(asset.file);
      return;
    }
    securityHeaders(ctx);
    await routes(ctx as Parameters<typeof routes>[0], async () => {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') {
        const s = d.sessions.get(ctx.cookies.get(SESSION_COOKIE));
        if (!s && apiKey) return ctx.redirect('/login');
        if (s) ctx.state.session = s;
        render(ctx, 'error.njk', { title: 'Not found', message: `There is no page at ${ctx.path}.` }, 404);
      } else await next();
    });
  };
}
