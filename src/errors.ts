/**
 * The error catalogue. Every error the daemon turns into an API answer or a CLI
 * exit is one of these kinds; the API maps kinds to HTTP statuses in one place
 * (api/errors.ts). Messages are written for operators and never carry secrets
 * or stack traces.
 */

export type ErrorKind =
  | 'config' // the daemon's own configuration: 500
  | 'validation' // bad input: 400, with the field
  | 'conflict' // 409
  | 'not_found' // 404
  | 'unauthorized' // no valid API key: 401
  | 'method_not_allowed' // the path exists, the method does not: 405, with Allow
  | 'unsupported_media_type' // a body that is not application/json: 415
  | 'too_large' // a body over api.body_limit: 413
  | 'haproxy_check' // `haproxy -c` rejected a candidate: 400, its own text attached
  | 'runtime' // HAProxy refused a runtime-socket command or a reload, or the reload did not take: 502
  | 'storage' // a file or the database cannot be written or read (ENOSPC: 507; EROFS, EACCES, EIO...: 503)
  | 'acme' // the CA or a challenge failed: 502
  | 'policy_denied' // 403
  | 'forbidden' // a valid login that may not do this (the viewer key, a console request without its CSRF token or from another origin): 403
  | 'upstream' // another external service failed: 502
  | 'unavailable' // HAProxy not serving, a part of the daemon not running: 503
  | 'timeout' // a command (`haproxy -c`, systemctl) did not finish in time: 504
  | 'internal'; // 500

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly field?: string;
  /** Extra, safe-to-show detail (HAProxy's own error lines, per-item results). */
  readonly detail?: unknown;
  /** storage: the system's error code (ENOSPC, SQLITE_FULL...) and the file it concerns. */
  readonly code?: string;
  readonly path?: string;

  constructor(kind: ErrorKind, message: string, opts: { field?: string; detail?: unknown; cause?: unknown; code?: string; path?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.kind = kind;
    if (opts.field !== undefined) this.field = opts.field;
    if (opts.detail !== undefined) this.detail = opts.detail;
    if (opts.code !== undefined) this.code = opts.code;
    if (opts.path !== undefined) this.path = opts.path;
  }
}

export const validationError = (field: string, message: string) => new AppError('validation', message, { field });

/** `what` (a command, in words) did not finish within `ms`. */
export const timeoutError = (what: string, ms: number) => new AppError('timeout', `${what} did not finish within ${ms} ms`);

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** The I/O failures that are the storage's, not the request's or a bug: the reason in words. */
const STORAGE_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  SQLITE_FULL: 'the database or its disk is full',
  SQLITE_READONLY: 'the database is read-only',
  SQLITE_IOERR: 'input/output error in the database',
  SQLITE_CANTOPEN: 'the database cannot be opened',
  SQLITE_PERM: 'permission denied on the database',
};

/** Codes that mean "out of space" (507 over HTTP) rather than "cannot write here now" (503). */
export const OUT_OF_SPACE = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/**
 * A Node fs error (or a SQLite one: SQLITE_FULL, SQLITE_IOERR_WRITE...) as a
 * `storage` AppError naming the reason and `path`, keeping `code` and `path`;
 * any other error (ENOENT, a bug, an AppError) comes back untouched.
 */
export function ioError(e: unknown, path: string): unknown {
  if (isAppError(e) || !(e instanceof Error)) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return e;
  // SQLite's extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED) share their primary code's reason.
  const reason = STORAGE_REASONS[code] ?? STORAGE_REASONS[code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')];
  if (reason === undefined) return e;
  return new AppError('storage', `${path}: ${reason} (${code})`, { code, path, cause: e });
}

/** A short, safe description of any thrown value. */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
