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
 * - Reading is decoupled from the consumer: a read chunk's lines join a
 *   queue at once, and the queue is delivered, in order, one batch of about
 *   `sliceLines` lines per turn of the event loop (the socket is read
 *   between turns), so
 *   the socket keeps being read while the pipeline works and a pause of the
 *   consumer (a GC, a burst of findings) is absorbed by the queue, not by
 *   HAProxy's ring. The queue is bounded (`maxQueuedBytes`): above it the
 *   connections are paused (HAProxy's ring then holds the lines, up to its
 *   size) and resumed below half of it; nothing is dropped here.
 * - HAProxy announces what its ring had to drop in the stream itself, as a
 *   line `<133>1 <time> <host> haproxy <pid> - - <n> events dropped` (2.6
 *   and 3.0, checked): such a line is not delivered; its n is added to
 *   `ring_dropped` and to `dropped`, so /api/monitor/status and
 *   source_dropped_total show the lines lost before they reached the daemon.
 * - No position: HAProxy's ring holds what it could not send while the
 *   daemon was away (up to its size); the rest is HAProxy's to drop (and to
 *   announce, as above, once the daemon reads again).
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
  /** Bytes of lines read and not yet delivered above which reading pauses. Default 64 MiB. */
  maxQueuedBytes?: number;
  /**
   * Lines delivered per turn of the event loop (one batch of whole read
   * chunks; one chunk even when longer). Default 256, about 2 ms of the
   * pipeline: the kernel holds only the sender's socket buffer (about 200
   * KiB, 5 ms at 100,000 lines/s) for the daemon to read between turns.
   */
  sliceLines?: number;
}

/** HAProxy's announcement of the lines its ring dropped (a sink's "dropped" message), after the RFC 5424 header. */
const RING_DROPPED = /^<\d{1,3}>1 \S+ \S+ \S+ \S+ - - (\d{1,15}) events? dropped ?$/;

/** The count of a ring's drop announcement, or -1 for any other line (cheap for ordinary lines). */
export function ringDropped(line: string): number {
  const n = line.length;
  // "dropped" or "dropped " at the end: one or two character tests rule out every ordinary line.
  const end = line.charCodeAt(n - 1) === 32 ? n - 1 : n;
  if (line.charCodeAt(end - 1) !== 100 || !line.startsWith('dropped', end - 7)) return -1;
  const m = RING_DROPPED.exec(line);
  return m ? Number(m[1]) : -1;
}

interface Queued {
  lines: string[];
  at: number;
  bytes: number;
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
  /** Lines HAProxy's ring announced it dropped. */
  private ringDroppedLines = 0;
  /** Lines read and waiting for delivery, oldest first; `head` is the next batch. */
  private queue: Queued[] = [];
  private head = 0;
  private queuedBytes = 0;
  private sliceQueued = false;
  private paused = false;
  /** Times reading was paused because the queue was full. */
  private pauses = 0;

  constructor(options: SocketSourceOptions, deps: SourceDeps) {
    this.name = options.name;
    this.o = { format: 'haproxy', maxLineBytes: 64 * 1024, maxConnections: 64, rebindMs: 5000, maxQueuedBytes: 64 * 1024 * 1024, sliceLines: 256, ...options };
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
    // What was read is delivered before the source stops.
    while (this.head < this.queue.length) this.deliverSlice(Infinity);
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

  /**
   * lag_bytes: the bytes read and waiting for delivery in the daemon;
   * ring_dropped: the lines HAProxy's ring announced it dropped (included in
   * dropped); read_pauses: how often a full queue paused reading.
   */
  stats(): SourceStats & { connections: number; refused_connections: number; ring_dropped: number; read_pauses: number } {
    return {
      ...this.counters.snapshot(this.queuedBytes),
      connections: this.conns.size,
      refused_connections: this.refusedConnections,
      ring_dropped: this.ringDroppedLines,
      read_pauses: this.pauses,
    };
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
    if (this.paused) c.pause();
    const splitter = new LineSplitter(this.o.maxLineBytes, this.counters);
    c.on('data', (chunk: Buffer) => {
      this.counters.bytes += chunk.length;
      const lines: string[] = [];
      splitter.push(chunk, lines);
      if (lines.length === 0) return;
      this.enqueue(lines, chunk.length);
    });
    c.on('error', () => c.destroy());
    c.on('close', () => this.conns.delete(c));
  }

  /** Queues a read chunk's lines (the ring's drop announcements counted, not queued) and schedules delivery. */
  private enqueue(lines: string[], bytes: number): void {
    let announced = 0;
    for (let i = 0; i < lines.length; i++) {
      const n = ringDropped(lines[i] as string);
      if (n < 0) continue;
      announced++;
      this.ringDroppedLines += n;
      this.counters.dropped += n;
    }
    // Rare (HAProxy's ring overflowed): the list again without the announcements.
    const kept = announced === 0 ? lines : lines.filter((l) => ringDropped(l) < 0);
    if (kept.length === 0) return;
    this.queue.push({ lines: kept, at: Date.now(), bytes });
    this.queuedBytes += bytes;
    if (!this.paused && this.queuedBytes > this.o.maxQueuedBytes) {
      this.paused = true;
      this.pauses++;
      for (const c of this.conns) c.pause();
    }
    this.scheduleSlice();
  }

  private scheduleSlice(): void {
    if (this.sliceQueued) return;
    this.sliceQueued = true;
    setImmediate(() => {
      this.sliceQueued = false;
      if (!this.running) return;
      this.deliverSlice(this.o.sliceLines);
      if (this.head < this.queue.length) this.scheduleSlice();
    });
  }

  /** Delivers queued chunks, oldest first, as one batch of whole chunks: at least one, then as many as fit in `maxLines`. */
  private deliverSlice(maxLines: number): void {
    const batch: RawLine[] = [];
    let at = 0;
    while (this.head < this.queue.length && (batch.length === 0 || batch.length + (this.queue[this.head] as Queued).lines.length <= maxLines)) {
      const q = this.queue[this.head++] as Queued;
      this.queuedBytes -= q.bytes;
      at = q.at;
      for (const line of q.lines) batch.push({ source: this.name, line, format: this.o.format, receivedAt: q.at });
    }
    this.out.deliver(batch, at);
    // Compact the queue once its delivered head is long.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.queuedBytes <= this.o.maxQueuedBytes / 2) {
      this.paused = false;
      for (const c of this.conns) c.resume();
    }
  }
}
