/**
 * The one HTTP path from the analyser to the Messages API: the `fetch` the
 * SDK client is built with.
 *
 * Contract:
 * - A request goes out only inside `run(scope, ...)` (one analysis call) and
 *   only one per scope: the SDK's own retries are off, and a second request
 *   in one call (an SDK retry after all, a refresh) is refused unsent
 *   (`UnbookedRequestError`). The daemon owns retries.
 * - Each request is booked in the budget before it is sent, synchronously
 *   (`budget.reserve`); when the budget refuses, nothing is sent
 *   (`BudgetRefusedError`). The scope then holds the reservation and the
 *   request body's size, for the caller to settle with the reply's usage.
 * - The reply body is read here, incrementally, before the SDK sees it: a
 *   Content-Length over `maxReplyBytes` is refused before reading, and a body
 *   growing past it is cancelled (`ReplyTooLargeError`). The SDK gets the
 *   bytes read as a new Response. Since the SDK's timeout covers only the
 *   `fetch` it calls, reading the body here puts the body under that timeout
 *   too: a reply that trickles ends as a timeout, not a hang.
 *
 * The SDK wraps an error thrown here in an APIConnectionError (its `cause`);
 * error messages here must not say "timed out", which the SDK would read as
 * a timeout.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Budget, BudgetRefusal, Reservation } from './budget.js';

/** What one analysis call lends its request. */
export interface CallScope {
  /** Tokens to reserve for a request body of `bytes` bytes (prompt and reply). */
  estimate(bytes: number): number;
  /** Set when the call's one request was booked and sent. */
  booked?: { reservation: Reservation; bodyBytes: number };
}

export class ReplyTooLargeError extends Error {
  constructor(readonly limit: number, readonly declared?: number) {
    super(declared !== undefined ? `reply of ${declared} bytes declared, over the ${limit}-byte limit` : `reply over the ${limit}-byte limit: reading stopped`);
    this.name = 'ReplyTooLargeError';
  }
}

export class UnbookedRequestError extends Error {
  constructor(why: string) {
    super(`request to the API refused unsent: ${why}`);
    this.name = 'UnbookedRequestError';
  }
}

export class BudgetRefusedError extends Error {
  constructor(readonly refusal: BudgetRefusal, readonly retryAfterMs: number) {
    super(`request to the API refused unsent: ${refusal}`);
    this.name = 'BudgetRefusedError';
  }
}

/** The first error of these kinds in `err`'s cause chain (the SDK wraps what fetch throws). */
export function ownError(err: unknown): ReplyTooLargeError | UnbookedRequestError | BudgetRefusedError | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ReplyTooLargeError || e instanceof UnbookedRequestError || e instanceof BudgetRefusedError) return e;
  }
  return null;
}

const bodyBytes = (body: unknown): number =>
  typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;

/** Reads `res`'s body up to `limit` bytes; past it, cancels the body and throws. */
async function readCapped(res: Response, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new ReplyTooLargeError(limit, declared);
  }
  if (!res.body) return null;
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ReplyTooLargeError(limit);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export function createApiFetch(o: { budget: Budget; maxReplyBytes: number; fetch?: typeof fetch }) {
  const scopes = new AsyncLocalStorage<CallScope>();
  const send = o.fetch ?? fetch;

  const apiFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const scope = scopes.getStore();
    if (!scope) throw new UnbookedRequestError('outside an analysis call');
    if (scope.booked) throw new UnbookedRequestError('one request per call (the daemon retries, not the SDK)');
    const size = bodyBytes(init?.body);
    const r = o.budget.reserve(scope.estimate(size));
    if (!r.ok) throw new BudgetRefusedError(r.refusal, r.retryAfterMs);
    scope.booked = { reservation: r.reservation, bodyBytes: size };
    const res = await send(input, init);
    const body = await readCapped(res, o.maxReplyBytes);
    // A Response of these statuses must have no body at all (the constructor throws otherwise).
    const nullBody = [101, 204, 205, 304].includes(res.status);
    return new Response(nullBody ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };

  return {
    fetch: apiFetch,
    /** Runs one analysis call: the requests `fn` makes belong to `scope`. */
    run: <T>(scope: CallScope, fn: () => Promise<T>): Promise<T> => scopes.run(scope, fn),
  };
}
