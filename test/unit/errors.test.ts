/** The error catalogue and its one HTTP mapping (src/errors.ts, src/api/errors.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Koa from 'koa';
import { AppError, ioError, type ErrorKind } from '../../src/errors.js';
import { errorMiddleware, httpStatus } from '../../src/api/errors.js';
import { createLogger } from '../../src/log.js';

/** Answers one request to an app whose only handler throws `e`; returns the status, the body and what was logged. */
async function answer(e: unknown): Promise<{ status: number; body: Record<string, unknown>; logged: string[] }> {
  const logged: string[] = [];
  const log = createLogger({ level: 'debug', format: 'text', write: (_l, line) => logged.push(line) });
  const app = new Koa();
  app.silent = true;
  app.use(errorMiddleware(log, { databasePath: '/var/lib/hm/hm.db' }));
  app.use(() => {
    throw e;
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const port = (server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/x`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, logged };
  } finally {
    server.close();
  }
}

const errno = (code: string, path?: string) => Object.assign(new Error(`${code}: something, write '${path ?? ''}'`), { code, ...(path ? { path } : {}) });

test('each kind has its status, and the body names the kind', async () => {
  const want: Record<ErrorKind, number> = {
    config: 500, validation: 400, conflict: 409, not_found: 404, haproxy_check: 400, runtime: 502, storage: 503,
    acme: 502, policy_denied: 403, upstream: 502, unavailable: 503, timeout: 504, internal: 500,
    unauthorized: 401, method_not_allowed: 405, unsupported_media_type: 415, too_large: 413, forbidden: 403,
  };
  for (const [kind, status] of Object.entries(want) as [ErrorKind, number][]) {
    const r = await answer(new AppError(kind, `a ${kind} failure`));
    assert.equal(r.status, status, kind);
    assert.equal(r.body.error, kind);
    assert.equal(r.body.message, `a ${kind} failure`);
  }
});

test('ENOSPC is 507 with the path and the reason; EROFS is 503', async () => {
  const full = ioError(errno('ENOSPC'), '/var/lib/hm/haproxy/haproxy.cfg');
  assert.ok(full instanceof AppError);
  assert.equal(full.kind, 'storage');
  assert.equal(full.code, 'ENOSPC');
  assert.equal(full.path, '/var/lib/hm/haproxy/haproxy.cfg');
  const r = await answer(full);
  assert.equal(r.status, 507);
  assert.equal(r.body.error, 'storage');
  assert.match(String(r.body.message), /^\/var\/lib\/hm\/haproxy\/haproxy\.cfg: no space left on the device \(ENOSPC\)$/);
  assert.ok(r.logged.some((l) => l.includes('storage failure')), 'an operator sees it in the log');
  assert.equal(httpStatus(ioError(errno('EROFS'), '/etc/x')), 503);
});

test('an uncaught fs or SQLite I/O error becomes storage; the database path names SQLite failures', async () => {
  const fs = await answer(errno('ENOSPC', '/var/lib/hm/acme/account.key'));
  assert.equal(fs.status, 507);
  assert.match(String(fs.body.message), /\/var\/lib\/hm\/acme\/account\.key: no space/);
  const db = await answer(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
  assert.equal(db.status, 507);
  assert.match(String(db.body.message), /^\/var\/lib\/hm\/hm\.db: /);
  const io = await answer(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }));
  assert.equal(io.status, 503);
  assert.match(String(io.body.message), /\(SQLITE_IOERR_WRITE\)$/);
});

test('ioError leaves other errors untouched', () => {
  const enoent = errno('ENOENT', '/nope');
  assert.equal(ioError(enoent, '/nope'), enoent);
  const plain = new Error('a bug');
  assert.equal(ioError(plain, '/x'), plain);
  const app = new AppError('conflict', 'taken');
  assert.equal(ioError(app, '/x'), app);
  assert.equal(ioError('a string', '/x'), 'a string');
});

test('an unexpected error is 500 without its message, which goes to the log', async () => {
  const r = await answer(new Error('secret internals at /opt/x: token=abc'));
  assert.equal(r.status, 500);
  assert.equal(r.body.error, 'internal');
  assert.doesNotMatch(JSON.stringify(r.body), /secret internals/);
  assert.ok(r.logged.some((l) => l.includes('unexpected error')));
});

test('serverSide: only "come back later" statuses survive, anything else is the daemon\'s 500', () => {
  assert.equal(httpStatus(new AppError('haproxy_check', 'x'), { serverSide: true }), 500);
  assert.equal(httpStatus(new AppError('runtime', 'x'), { serverSide: true }), 500);
  assert.equal(httpStatus(new AppError('unavailable', 'x'), { serverSide: true }), 503);
  assert.equal(httpStatus(new AppError('timeout', 'x'), { serverSide: true }), 504);
  assert.equal(httpStatus(ioError(errno('ENOSPC'), '/x'), { serverSide: true }), 507);
});
