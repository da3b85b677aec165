/**
 * The management API: a Koa app with, in order, error mapping, a request log
 * line, authentication, a bounded JSON body parser, and one routes file per
 * resource.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { ApiDeps } from './context.js';
import { errorMiddleware } from './errors.js';
import { toWire } from '../util/wire.js';
import { AppError } from '../errors.js';
import { authMiddleware } from './auth.js';
import { metricsMiddleware } from './metrics.js';
import { healthRoutes } from './routes/health.js';
import { domainRoutes } from './routes/domains.js';
import { configRoutes } from './routes/config.js';
import { blockedIpRoutes } from './routes/blocked-ips.js';
import { trustedRoutes } from './routes/trusted.js';
import { serverRoutes } from './routes/servers.js';
import { securityRoutes } from './routes/security.js';
import { auditRoutes } from './routes/audit.js';
import { fleetRoutes } from './routes/fleet.js';
import { fleetRequestRoutes } from './routes/fleet-requests.js';
import { certificateRoutes } from './routes/certificates.js';
import { incidentRoutes } from './routes/incidents.js';
import { actionRoutes } from './routes/actions.js';
import { openapiRoutes } from './routes/openapi.js';
import { trafficRoutes } from './routes/traffic.js';
import { explainRoutes } from './routes/explain.js';
import { notificationRoutes } from './routes/notifications.js';
import { importRoutes } from './routes/import.js';
import { tcpServiceRoutes } from './routes/tcp-services.js';

/** Every route, each mounted from its declaration (contract/route.ts). */
export function apiRouter(d: ApiDeps): Router {
  const router = new Router();
  healthRoutes(router, d);
  domainRoutes(router, d);
  configRoutes(router, d);
  blockedIpRoutes(router, d);
  trustedRoutes(router, d);
  serverRoutes(router, d);
  securityRoutes(router, d);
  auditRoutes(router, d);
  certificateRoutes(router, d);
  incidentRoutes(router, d);
  actionRoutes(router, d);
  trafficRoutes(router, d);
  explainRoutes(router, d);
  notificationRoutes(router, d);
  importRoutes(router, d);
  tcpServiceRoutes(router, d);
  fleetRoutes(router, d);
  fleetRequestRoutes(router, d);
  openapiRoutes(router);
  return router;
}

/**
 * `front`: a middleware that answers its own paths before the API's stack
 * (the console: /, /login, its pages and assets), given the app so it can
 * read the API in process. Wired by the daemon (the API knows no console).
 */
export function createApp(d: ApiDeps, opts: { front?: (app: Koa) => Koa.Middleware } = {}): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;
  const log = d.log.child({ unit: 'api' });
  app.use(async (ctx, next) => {
    const t0 = Date.now();
    await next();
    if (ctx.method !== 'GET' || ctx.status >= 400) {
      log.info(`${ctx.method} ${ctx.path} ${ctx.status}`, { ms: Date.now() - t0 });
    }
  });
  if (opts.front) app.use(opts.front(app));
  app.use(errorMiddleware(log, { databasePath: d.cfg.paths.database }));
  if (d.metrics) app.use(metricsMiddleware(d.metrics, [d.cfg.apiKey, d.metricsToken ?? null]));
  app.use(authMiddleware({ apiKey: d.cfg.apiKey, viewerKey: d.viewerKey ?? null, ...(d.sessions ? { sessions: d.sessions } : {}), open: new Set(['/health']) }));
  // Every JSON answer in the public shape: snake_case keys, ISO times (util/wire.ts).
  app.use(async (ctx, next) => {
    await next();
    const b = ctx.body;
    if (b !== null && typeof b === 'object' && !Buffer.isBuffer(b) && typeof (b as { pipe?: unknown }).pipe !== 'function') ctx.body = toWire(b);
  });
  // A body is JSON or nothing: another type would be ignored by the parser and the route would
  // answer about missing fields, so it is refused first.
  app.use(async (ctx, next) => {
    const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
    if (hasBody && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method) && !ctx.is('application/json', '+json')) {
      throw new AppError('unsupported_media_type', `a request body must be sent as content-type: application/json (got ${JSON.stringify(ctx.get('content-type').slice(0, 80) || 'none')})`, { field: '(body)' });
    }
    return next();
  });
  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: d.cfg.api.body_limit,
      parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      onError: (err: Error) => {
        throw Object.assign(err, { status: (err as { status?: number }).status ?? 400 });
      },
    }),
  );
  const router = apiRouter(d);
  // No route answered: 405 with Allow when the path has other methods, 404 otherwise, both in the error envelope.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.body !== undefined && ctx.body !== null) return;
    const allowed = router.match(ctx.path, ctx.method).path.flatMap((l) => l.methods);
    if (allowed.length) throw new AppError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`, { detail: [...new Set(allowed)] });
    throw new AppError('not_found', `no such endpoint: ${ctx.method} ${ctx.path}`);
  });
  app.use(router.routes());
  return app;
}
