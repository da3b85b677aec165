/**
 * Errors to HTTP answers, in one place. The body keeps the original's shape,
 * `{status: "error", message}`, plus `field` for bad input and `detail` for
 * HAProxy's own text. Stack traces and unexpected errors' messages never reach
 * a client: they are logged, and the client gets a generic message.
 */
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';
import { isAppError, type ErrorKind } from '../errors.js';

const STATUS: Record<ErrorKind, number> = {
  validation: 400,
  haproxy_check: 400,
  not_found: 404,
  conflict: 409,
  policy_denied: 403,
  haproxy_reload: 502,
  runtime_api: 502,
  unavailable: 503,
  storage: 503,
  timeout: 504,
  acme: 502,
  config: 500,
  internal: 500,
};

export function errorMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (e) {
      if (isAppError(e)) {
        ctx.status = e.kind === 'storage' && (e.detail as { code?: string } | undefined)?.code === 'ENOSPC' ? 507 : STATUS[e.kind];
        ctx.body = {
          status: 'error',
          error: e.kind,
          message: e.field ? `${e.field}: ${e.message}` : e.message,
          ...(e.field ? { field: e.field } : {}),
          ...(e.detail !== undefined ? { detail: e.detail } : {}),
        };
        return;
      }
      const err = e as { status?: number; expose?: boolean; message?: string; type?: string };
      if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
        // Koa / body-parser client errors (bad JSON, body too large).
        ctx.status = err.status;
        const message = err.type === 'entity.too.large' ? 'request body too large' : err.status === 400 ? 'request body is not valid JSON' : err.expose ? String(err.message) : 'bad request';
        ctx.body = { status: 'error', error: 'validation', field: '(body)', message: `(body): ${message}` };
        return;
      }
      log.error('unexpected error in an API request', { method: ctx.method, path: ctx.path, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      ctx.status = 500;
      ctx.body = { status: 'error', error: 'internal', message: 'internal error; see the daemon log' };
    }
  };
}
