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
 * - The socket is read on a thread of its own (stream-receiver.ts), which
 *   does nothing else: HAProxy's ring is emptied while the pipeline works,
 *   and a pause of the consumer (a GC, a burst of findings, the machine busy
 *   elsewhere) is absorbed by what waits in the daemon, not by the ring.
 *   Here each connection has its own line splitter (length cap, UTF-8 and
 *   binary garbage handling as for files), and the lines are delivered in
 *   order, one batch of about `sliceLines` per turn of the event loop. At
 *   most `maxConnections` at once (HAProxy opens one per ring server); more
 *   are closed at once and counted.
 * - Bounded: bytes read and not yet delivered are at most `maxQueuedBytes`;
 *   above that the connections are paused (HAProxy's ring then holds the
 *   lines, up to its size) and resumed below half of it. Nothing is dropped
 *   here; `read_pauses` counts the pauses and `lag_bytes` is what waits.
 * - HAProxy announces what its ring had to drop in the stream itself, as a
 *   line `<133>1 <time> <host> haproxy <pid> - - <n> events dropped` (2.6
 *   and 3.0, checked): such a line is not delivered; its n is added to
 *   `ring_dropped` and to `dropped`, so /api/monitor/status and
 *   source_dropped_total show the lines lost before they reached the daemon.
 * - No position: HAProxy's ring holds what it could not send while the
 *   daemon was away (up to its size); the rest is HAProxy's to drop (and to
 *   announce, as above, once the daemon reads again).
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RawLine, SourceFormat } from '../types.js';
import { LineSplitter } from './line-splitter.js';
import { SourceCounters, SourceOutput, errMessage } from './source-base.js';
import type { LogSource, SourceDeps, SourceStats } from './source.js';
import { startStreamReceiver, type StreamReceiver } from './stream-receiver.js';

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
   * chunks; one chunk even when longer). Default 1,000, a few milliseconds
   * of the pipeline, so the API and the timers are not kept waiting behind a
   * backlog (the socket itself is read on the receiving thread).
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
  private receiver: StreamReceiver | null = null;
  /** The line splitter of each open connection, by the receiver's id. */
  private readonly splitters = new Map<number, LineSplitter>();
  private running = false;
  private failing: string | null = null;
  private rebindTimer: NodeJS.Timeout | null = null;
  /** Counters of receivers that ended (connections refused, reading paused). */
  private pastRefused = 0;
  private pastPauses = 0;
  /** Lines HAProxy's ring announced it dropped. */
  private ringDroppedLines = 0;
  /** Lines read and waiting for delivery, oldest first; `head` is the next batch. */
  private queue: Queued[] = [];
  private head = 0;
  private queuedBytes = 0;
  private sliceQueued = false;

  constructor(options: SocketSourceOptions, deps: SourceDeps) {
    this.name = options.name;
    this.o = { format: 'haproxy', maxLineBytes: 64 * 1024, maxConnections: 64, rebindMs: 5000, maxQueuedBytes: 64 * 1024 * 1024, sliceLines: 1000, ...options };
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
    if (this.rebindTimer) clearTimeout(this.rebindTimer);
    this.rebindTimer = null;
    const r = this.receiver;
    if (r) {
      await r.stop();
      this.retire(r);
    }
    // What was read is delivered before the source stops.
    this.deliverSlice(Infinity);
    this.splitters.clear();
    this.running = false;
    try {
      if (lstatSync(this.o.path).isSocket()) unlinkSync(this.o.path);
    } catch {
      /* already gone */
    }
  }

  /** Bound and accepting, or why not. */
  listening(): { ok: true } | { ok: false; reason: string } {
    if (this.receiver) return { ok: true };
    return { ok: false, reason: this.failing ?? 'not started' };
  }

  /**
   * lag_bytes: the bytes read and waiting for delivery in the daemon;
   * ring_dropped: the lines HAProxy's ring announced it dropped (included in
   * dropped); read_pauses: how often a full queue paused reading.
   */
  stats(): SourceStats & { connections: number; refused_connections: number; ring_dropped: number; read_pauses: number } {
    const r = this.receiver;
    return {
      ...this.counters.snapshot(this.queuedBytes),
      connections: r ? r.connections() : 0,
      refused_connections: this.pastRefused + (r ? r.refused() : 0),
      ring_dropped: this.ringDroppedLines,
      read_pauses: this.pastPauses + (r ? r.pauses() : 0),
    };
  }

  /** Keeps an ended receiver's counters and forgets it. */
  private retire(r: StreamReceiver): void {
    this.pastRefused += r.refused();
    this.pastPauses += r.pauses();
    if (this.receiver === r) this.receiver = null;
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
      let settled = false;
      const settle = () => {
        if (!settled) (settled = true), resolve();
      };
      const r = startStreamReceiver(
        { path: this.o.path, maxConnections: this.o.maxConnections, maxQueuedBytes: this.o.maxQueuedBytes },
        {
          onListening: () => {
            if (!this.running) {
              void r.stop();
              settle();
              return;
            }
            try {
              if (gid !== null) chownSync(this.o.path, process.getuid?.() ?? 0, gid);
              chmodSync(this.o.path, gid === null ? 0o600 : 0o660);
              if ((statSync(dirname(this.o.path)).mode & 0o007) !== 0) throw new Error('the socket directory is open to other users');
            } catch (e) {
              void r.stop().then(() => this.retire(r));
              this.fail(`cannot secure the log intake ${this.o.path}: ${errMessage(e)}`, e);
              settle();
              return;
            }
            this.receiver = r;
            if (this.failing !== null) this.o.onRecovered?.(`log intake ${this.o.path} is listening again (it failed: ${this.failing})`);
            this.failing = null;
            settle();
          },
          onListenError: (message) => {
            void r.stop();
            this.fail(`cannot listen on the log intake ${this.o.path}: ${message}`, new Error(message));
            settle();
          },
          onError: (message) => this.out.error('io', `log intake socket error: ${message}`),
          onCrash: (message) => {
            if (this.receiver === r) this.retire(r);
            this.splitters.clear();
            this.fail(`the log intake ${this.o.path} stopped: ${message}`, new Error(message));
            settle();
          },
          // Only a receiver whose socket was secured delivers (its 'listening' comes before any data).
          onData: (id, buf, at) => (this.receiver === r ? this.onData(id, buf, at) : r.taken(buf.length)),
          onClose: (id) => this.splitters.delete(id),
        },
      );
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

  /** A connection's bytes, read by the receiver at `at`: split into lines and queued. */
  private onData(id: number, buf: Buffer, at: number): void {
    if (!this.running) return;
    this.counters.bytes += buf.length;
    let splitter = this.splitters.get(id);
    if (splitter === undefined) this.splitters.set(id, (splitter = new LineSplitter(this.o.maxLineBytes, this.counters)));
    const lines: string[] = [];
    splitter.push(buf, lines);
    if (lines.length === 0) {
      // Part of a line: held by the splitter, taken from the receiver's bound at once.
      this.receiver?.taken(buf.length);
      return;
    }
    this.enqueue(lines, buf.length, at);
  }

  /** Queues a read chunk's lines (the ring's drop announcements counted, not queued) and schedules delivery. */
  private enqueue(lines: string[], bytes: number, at: number): void {
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
    if (kept.length === 0) {
      this.receiver?.taken(bytes);
      return;
    }
    this.queue.push({ lines: kept, at, bytes });
    this.queuedBytes += bytes;
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
    let bytes = 0;
    while (this.head < this.queue.length && (batch.length === 0 || batch.length + (this.queue[this.head] as Queued).lines.length <= maxLines)) {
      const q = this.queue[this.head++] as Queued;
      bytes += q.bytes;
      at = q.at;
      for (const line of q.lines) batch.push({ source: this.name, line, format: this.o.format, receivedAt: q.at });
    }
    this.queuedBytes -= bytes;
    this.out.deliver(batch, at);
    this.receiver?.taken(bytes);
    // Compact the queue once its delivered head is long.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
