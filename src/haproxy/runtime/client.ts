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
import { performance } from 'node:perf_hooks';
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
  /**
   * Calls `listener` after each command (answered or failed) with the command
   * and how long it took, for metrics and benchmarks; returns the unsubscribe.
   * A throwing listener is ignored: observing never changes a command's outcome.
   */
  observe(listener: CommandListener): () => void;
}

/** One command sent on a socket: its text (payloads excluded), its duration, and whether an answer came. */
export type CommandListener = (command: string, ms: number, ok: boolean) => void;

export function socketClient(path: string, timeoutMs: number): SocketClient {
  let chain: Promise<unknown> = Promise.resolve();
  const listeners = new Set<CommandListener>();
  const notify = (command: string, t0: number, ok: boolean) => {
    const ms = performance.now() - t0;
    for (const l of listeners) {
      try {
        l(command, ms, ok);
      } catch {
        // Observers are diagnostics only.
      }
    }
  };
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
      const p = chain.then(async () => {
        const t0 = performance.now();
        try {
          const out = await once(command, opts.payload, opts.timeoutMs ?? timeoutMs);
          notify(command, t0, true);
          return out;
        } catch (e) {
          notify(command, t0, false);
          throw e;
        }
      });
      chain = p.catch(() => undefined);
      return p;
    },
    observe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
