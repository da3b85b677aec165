/**
 * The socket client for HAProxy's runtime API (the stats socket at level
 * admin, and the master CLI). Only the modules of this folder send commands.
 *
 * Contract:
 * - One command per connection; commands on one socket are serialized (a
 *   promise-chain mutex); every call has a timeout.
 * - A command can never chain another: a newline or ';' in a command (outside
 *   a `<<` payload) is refused before anything is sent.
 * - The reply text comes back as is: judging it is replies.ts's job.
 */
import { createConnection } from 'node:net';
import { AppError } from '../../errors.js';

export class RuntimeError extends AppError {
  constructor(message: string, readonly reply?: string) {
    super('runtime', message, reply === undefined ? {} : { detail: { reply: reply.slice(0, 2000) } });
  }
}

export interface SocketClient {
  readonly path: string;
  /** Sends one command; `payload` lines follow a command ending in `<<` and are terminated by an empty line. */
  send(command: string, opts?: { payload?: string; timeoutMs?: number }): Promise<string>;
}

export function socketClient(path: string, timeoutMs: number): SocketClient {
  let chain: Promise<unknown> = Promise.resolve();
  const once = (command: string, payload: string | undefined, tmo: number) =>
    new Promise<string>((resolve, reject) => {
      const sock = createConnection({ path });
      let data = '';
      let settled = false;
      const done = (err: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        if (err) reject(err);
        else resolve(data);
      };
      const timer = setTimeout(() => done(new RuntimeError(`no answer from ${path} within ${tmo} ms to "${command.split(' ').slice(0, 3).join(' ')}"`)), tmo);
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        data += d;
      });
      sock.on('end', () => done(null));
      sock.on('close', () => done(null));
      sock.on('error', (e: NodeJS.ErrnoException) => done(new RuntimeError(`cannot talk to HAProxy at ${path}: ${e.code ?? e.message}`)));
      sock.on('connect', () => {
        // The master CLI answers only once the client half-closes; the stats socket does not mind.
        sock.end(payload === undefined ? `${command}\n` : `${command}\n${payload}\n\n`);
      });
    });
  return {
    path,
    send(command, opts = {}) {
      if (/[\r\n;]/.test(command) || command.length > 4096) {
        return Promise.reject(new RuntimeError('refusing to send a command containing a newline or ";"'));
      }
      if (opts.payload !== undefined && /\n\s*\n/.test(opts.payload)) {
        return Promise.reject(new RuntimeError('a runtime payload must not contain an empty line'));
      }
      const p = chain.then(() => once(command, opts.payload, opts.timeoutMs ?? timeoutMs));
      chain = p.catch(() => undefined);
      return p;
    },
  };
}
