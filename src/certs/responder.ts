/**
 * The HTTP-01 challenge responder: a loopback HTTP server HAProxy routes
 * `/.well-known/acme-challenge/<token>` to, for every host. It answers only
 * tokens of orders in flight; everything else is 404. In a fleet, `fallback`
 * looks up a token another node's order put in the shared store
 * (fleet/challenges.ts); `set` may then be asynchronous (awaited by callers).
 */
import http from 'node:http';

export interface Responder {
  set(token: string, keyAuthorization: string): void | Promise<void>;
  remove(token: string): void | Promise<void>;
  readonly port: number;
  close(): Promise<void>;
}

export async function startResponder(port: number, host = '127.0.0.1', fallback?: (token: string) => Promise<string | undefined>): Promise<Responder> {
  const tokens = new Map<string, string>();
  const srv = http.createServer(async (req, res) => {
    const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,256})$/.exec(req.url ?? '');
    let value = m ? tokens.get(m[1]!) : undefined;
    if (value === undefined && m && req.method === 'GET' && fallback) value = await fallback(m[1]!);
    if (req.method !== 'GET' || value === undefined) {
      res.statusCode = 404;
      res.end('not found\n');
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(value);
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => resolve());
  });
  const a = srv.address();
  return {
    set: (t, v) => void tokens.set(t, v),
    remove: (t) => void tokens.delete(t),
    port: typeof a === 'object' && a ? a.port : port,
    close: () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        srv.closeAllConnections();
      }),
  };
}
