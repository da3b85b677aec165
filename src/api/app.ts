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
import { certificateRoutes } from './routes/certificates.js';
import { incidentRoutes } from './routes/incidents.js';
import { actionRoutes } from './routes/actions.js';

export function createApp(d: ApiDeps): Koa {
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
  app.use(errorMiddleware(log, { databasePath: d.cfg.paths.database }));
  if (d.metrics) app.use(metricsMiddleware(d.metrics, [d.cfg.apiKey, d.metricsToken ?? null]));
  app.use(authMiddleware(d.cfg.apiKey, new Set(['/health'])));
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
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    throw new AppError('not_found', `no such endpoint: ${ctx.method} ${ctx.path}`);
  });
  return app;
}
