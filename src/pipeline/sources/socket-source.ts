/**
 * The log intake: a unix stream socket the daemon owns, which HAProxy's
 * ring (`ring hm_intake` ... `server daemon unix@<socket>`) forwards its
 * lines to, one message per "\n"-terminated line (the ring's legacy framing;
 * HAProxy escapes control characters inside a message, so a newline always
 * ends one).
 *
 * Why a socket and not UDP: anyone who can send a datagram to a loopback
 * port can write a "HAProxy" line (and, through the rules, get any address
 * blocked). Connecting to a unix socket needs write permission on it, and
 * this one sits in a directory of its own: 0700 (owner only) or 0750 with
 * the group HAProxy's workers run as; the socket itself is 0600 or 0660.
 * Another local user cannot reach it at all.
 *
 * - `start()` creates the directory (tightening an existing one), removes a
 *   stale socket file left by a crash (only a socket, never another kind of
 *   file), listens and sets the modes. A failing bind (the directory cannot
 *   be made, the group does not exist) is reported and retried every
 *   `rebindMs`; `listening()` says whether it is bound, and the first
 *   success after a failure is reported through `onRecovered`.
 * - Each connection has its own line splitter (length cap, UTF-8 and binary
 *   garbage handling as for files). At most `maxConnections` at once (HAProxy
 *   opens one per ring server); more are closed at once and counted.
 * - A connection's lines are delivered per read chunk, in order.
 * - No position: HAProxy's ring holds what it could not send while the
 *   daemon was away (up to its size); the rest is HAProxy's to drop.
 */
import net from 'node:net';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RawLine, SourceFormat } from '../types.js';
import { LineSplitter } from './line-splitter.js';
import { SourceCounters, SourceOutput, errMessage } from './source-base.js';
import type { LogSource, SourceDeps, SourceStats } from './source.js';

export interface SocketSourceOptions {
  name: string;
  /** The socket's path; its directory is the daemon's (created, mode set). */
  path: string;
  /** The group that may connect (HAProxy's workers); null: the owner only. */
  group: string | null;
  /** Default "haproxy". */
  format?: SourceFormat;
  /** Longer lines are cut to this many bytes and counted. Default 64 KiB. */
  maxLineBytes?: number;
  /** Default 64. */
  maxConnections?: number;
  /** Retry period when the bind fails. Default 5 s. */
  rebindMs?: number;
  /** Called once when a bind succeeds after a failed one. */
  onRecovered?: (message: string) => void;
}

/** A group's id from /etc/group (Node has no getgrnam); null when it does not exist. */
export function groupId(name: string, groupFile = '/etc/group'): number | null {
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

export class SocketSource implements LogSource {
  readonly name: string;
  private readonly o: Required<Omit<SocketSourceOptions, 'onRecovered'>> & Pick<SocketSourceOptions, 'onRecovered'>;
  private readonly out: SourceOutput;
  private readonly counters = new SourceCounters();
  private server: net.Server | null = null;
  private readonly conns = new Set<net.Socket>();
  private running = false;
  private failing: string | null = null;
  private rebindTimer: NodeJS.Timeout | null = null;
  /** Connections refused because `maxConnections` were open. */
  refusedConnections = 0;

  constructor(options: SocketSourceOptions, deps: SourceDeps) {
    this.name = options.name;
    this.o = { format: 'haproxy', maxLineBytes: 64 * 1024, maxConnections: 64, rebindMs: 5000, ...options };
    this.out = new SourceOutput(this.name, deps, this.counters);
  }

  /** Resolves once bound, or once the first bind failed (it is then retried). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.bind();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.rebindTimer) clearTimeout(this.rebindTimer);
    this.rebindTimer = null;
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      if (lstatSync(this.o.path).isSocket()) unlinkSync(this.o.path);
    } catch {
      /* already gone */
    }
  }

  /** Bound and accepting, or why not. */
  listening(): { ok: true } | { ok: false; reason: string } {
    if (this.server) return { ok: true };
    return { ok: false, reason: this.failing ?? 'not started' };
  }

  stats(): SourceStats & { connections: number; refused_connections: number } {
    return { ...this.counters.snapshot(null), connections: this.conns.size, refused_connections: this.refusedConnections };
  }

  private prepareDirectory(): number | null {
    const gid = this.o.group === null ? null : groupId(this.o.group);
    if (this.o.group !== null && gid === null) throw new Error(`group "${this.o.group}" does not exist`);
    const dir = dirname(this.o.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The directory is the lock on the socket: nobody but the owner (and the group) can even reach it.
    if (gid !== null) chownSync(dir, process.getuid?.() ?? 0, gid);
    chmodSync(dir, gid === null ? 0o700 : 0o750);
    if (existsSync(this.o.path)) {
      const st = lstatSync(this.o.path);
      if (!st.isSocket()) throw new Error(`${this.o.path} exists and is not a socket`);
      unlinkSync(this.o.path);
    }
    return gid;
  }

  private bind(): Promise<void> {
    return new Promise((resolve) => {
      let gid: number | null;
      try {
        gid = this.prepareDirectory();
      } catch (e) {
        this.fail(`cannot prepare the log intake ${this.o.path}: ${errMessage(e)}`, e);
        resolve();
        return;
      }
      const srv = net.createServer({ allowHalfOpen: false }, (c) => this.accept(c));
      let listening = false;
      srv.on('error', (e) => {
        if (!listening) {
          srv.close();
          this.fail(`cannot listen on the log intake ${this.o.path}: ${errMessage(e)}`, e);
          resolve();
          return;
        }
        this.out.error('io', `log intake socket error: ${errMessage(e)}`, e);
      });
      srv.listen(this.o.path, () => {
        listening = true;
        if (!this.running) {
          srv.close();
          resolve();
          return;
        }
        try {
          if (gid !== null) chownSync(this.o.path, process.getuid?.() ?? 0, gid);
          chmodSync(this.o.path, gid === null ? 0o600 : 0o660);
          if ((statSync(dirname(this.o.path)).mode & 0o007) !== 0) throw new Error('the socket directory is open to other users');
        } catch (e) {
          srv.close();
          this.fail(`cannot secure the log intake ${this.o.path}: ${errMessage(e)}`, e);
          resolve();
          return;
        }
        this.server = srv;
        if (this.failing !== null) this.o.onRecovered?.(`log intake ${this.o.path} is listening again (it failed: ${this.failing})`);
        this.failing = null;
        resolve();
      });
    });
  }

  private fail(message: string, cause: unknown): void {
    this.failing = message;
    this.out.error('io', `${message}; retrying`, cause);
    if (!this.running) return;
    this.rebindTimer = setTimeout(() => {
      this.rebindTimer = null;
      if (this.running) void this.bind();
    }, this.o.rebindMs);
    this.rebindTimer.unref();
  }

  private accept(c: net.Socket): void {
    if (!this.running || this.conns.size >= this.o.maxConnections) {
      this.refusedConnections++;
      c.destroy();
      return;
    }
    this.conns.add(c);
    const splitter = new LineSplitter(this.o.maxLineBytes, this.counters);
    const lines: string[] = [];
    c.on('data', (chunk: Buffer) => {
      this.counters.bytes += chunk.length;
      splitter.push(chunk, lines);
      if (lines.length === 0) return;
      const at = Date.now();
      const batch: RawLine[] = lines.map((line) => ({ source: this.name, line, format: this.o.format, receivedAt: at }));
      lines.length = 0;
      this.out.deliver(batch, at);
    });
    c.on('error', () => c.destroy());
    c.on('close', () => this.conns.delete(c));
  }
}
