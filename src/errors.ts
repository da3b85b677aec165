/**
 * The error catalogue. Every error the daemon turns into an API answer or a CLI
 * exit is one of these kinds; the API maps kinds to HTTP statuses in one place
 * (api/errors.ts). Messages are written for operators and never carry secrets
 * or stack traces.
 */

export type ErrorKind =
  | 'validation' // bad input: 400, with the field
  | 'not_found' // 404
  | 'conflict' // 409
  | 'config' // the daemon's own configuration
  | 'haproxy_check' // `haproxy -c` rejected a candidate: its own text attached
  | 'haproxy_reload' // the reload did not take
  | 'runtime_api' // a runtime socket command was refused or timed out
  | 'unavailable' // HAProxy not serving, a dependency down: 503
  | 'timeout' // a command (such as `haproxy -c`) did not finish in time: 504
  | 'storage' // a file or the database could not be written (ENOSPC 507, other I/O 503): the reason and the path in the message
  | 'acme'
  | 'policy_denied'
  | 'internal';

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly field?: string;
  /** Extra, safe-to-show detail (HAProxy's own error lines, per-item results). */
  readonly detail?: unknown;

  constructor(kind: ErrorKind, message: string, opts: { field?: string; detail?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.kind = kind;
    if (opts.field !== undefined) this.field = opts.field;
    if (opts.detail !== undefined) this.detail = opts.detail;
  }
}

export const validationError = (field: string, message: string) => new AppError('validation', message, { field });

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** A short, safe description of any thrown value. */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

const IO_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EMFILE', 'ENFILE']);

/** A file system error as the `storage` kind (its code and path kept); any other value is returned unchanged. */
export function ioError(e: unknown, what = 'writing files'): unknown {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== 'string' || !IO_CODES.has(err.code)) return e;
  const reason = err.code === 'ENOSPC' || err.code === 'EDQUOT' ? 'no space left on the device' : err.code === 'EROFS' ? 'read-only file system' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : 'I/O error';
  return new AppError('storage', `${what} failed: ${reason} (${err.code})${err.path ? ` at ${err.path}` : ''}`, { cause: e, detail: { code: err.code, ...(err.path ? { path: err.path } : {}) } });
}
