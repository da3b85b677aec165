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
