/**
 * Errors to HTTP answers, in one place: the only table of error statuses.
 * The body keeps the original's shape, `{status: "error", message}`, plus
 * `error` (the kind), `field` for bad input and `detail` for HAProxy's own
 * text. Stack traces and unexpected errors' messages never reach a client:
 * they are logged, and the client gets a generic message. Routes that answer
 * an error in an older body shape take its status from `httpStatus`.
 */
import type { Context, Next } from 'koa';
import type { Logger } from '../log.js';
import { AppError, ioError, isAppError, OUT_OF_SPACE, type ErrorKind } from '../errors.js';

const STATUS: Record<ErrorKind, number> = {
  validation: 400,
  haproxy_check: 400,
  policy_denied: 403,
  forbidden: 403,
  not_found: 404,
  unauthorized: 401,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  too_large: 413,
  conflict: 409,
  config: 500,
  internal: 500,
  runtime: 502,
  acme: 502,
  upstream: 502,
  unavailable: 503,
  storage: 503,
  timeout: 504,
};

export const kindStatus = (kind: ErrorKind): number => STATUS[kind];

/**
 * The status an error is answered with; 500 for anything that is not an
 * AppError. `serverSide`: the request carried nothing the error can be about
 * (regenerate, reload from the stored state), so any failure is the daemon's
 * own, 500, except the "come back later" ones (503, 504, 507).
 */
export function httpStatus(e: unknown, opts: { serverSide?: boolean } = {}): number {
  if (!isAppError(e)) return 500;
  const status = e.kind === 'storage' && e.code !== undefined && OUT_OF_SPACE.has(e.code) ? 507 : STATUS[e.kind];
  return opts.serverSide && ![503, 504, 507].includes(status) ? 500 : status;
}

/**
 * An I/O failure nobody caught on the way (a full disk under the database, a
 * read-only file) as a storage error: fs errors name their own path, SQLite's
 * are the database's.
 */
function asStorage(e: unknown, databasePath: string | undefined): AppError | null {
  const code = (e as { code?: unknown } | null)?.code;
  const path = typeof code === 'string' && code.startsWith('SQLITE_') ? databasePath : (e as { path?: unknown } | null)?.path;
  if (typeof path !== 'string') return null;
  const s = ioError(e, path);
  return isAppError(s) ? s : null;
}

/** The one error body: `status: "error"`, the kind, a message, and the field and HAProxy's text when there are some. */
export function envelope(kind: ErrorKind, message: string, opts: { field?: string; detail?: unknown } = {}) {
  return {
    status: 'error' as const,
    error: kind,
    message: opts.field ? `${opts.field}: ${message}` : message,
    ...(opts.field ? { field: opts.field } : {}),
    ...(opts.detail !== undefined ? { detail: opts.detail } : {}),
  };
}

export function errorMiddleware(log: Logger, opts: { databasePath?: string } = {}) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (thrown) {
      const e = isAppError(thrown) ? thrown : (asStorage(thrown, opts.databasePath) ?? thrown);
      if (isAppError(e)) {
        if (e.kind === 'storage') log.error('storage failure in an API request', { method: ctx.method, path: ctx.path, error: e.message });
        ctx.status = httpStatus(e);
        if (e.kind === 'method_not_allowed' && Array.isArray(e.detail)) ctx.set('Allow', (e.detail as string[]).join(', '));
        ctx.body = envelope(e.kind, e.message, { ...(e.field ? { field: e.field } : {}), ...(e.detail !== undefined ? { detail: e.detail } : {}) });
        return;
      }
      const err = e as { status?: number; expose?: boolean; message?: string; type?: string };
      if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
        // Koa / body-parser client errors (bad JSON, body too large).
        ctx.status = err.status;
        const message = err.type === 'entity.too.large' ? 'request body too large' : err.status === 400 ? 'request body is not valid JSON' : err.expose ? String(err.message) : 'bad request';
        const kind: ErrorKind = err.status === 413 ? 'too_large' : err.status === 415 ? 'unsupported_media_type' : 'validation';
        ctx.body = envelope(kind, message, { field: '(body)' });
        return;
      }
      log.error('unexpected error in an API request', { method: ctx.method, path: ctx.path, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      ctx.status = 500;
      ctx.body = envelope('internal', 'internal error; see the daemon log');
    }
  };
}
