/**
 * A syslog listener: UDP on a loopback address, so that HAProxy (whose
 * configuration this project renders) can log straight to the daemon with
 * `log 127.0.0.1:<port> ...`.
 *
 * - One datagram is one line. A trailing "\n", "\r\n" or NUL is stripped;
 *   the syslog prefix (RFC 5424 `<134>1 2024-...` or RFC 3164 `<134>Jun 10
 *   ...`) stays in the line: the parser strips it. Decoding is the files'
 *   (length cap, U+FFFD, binary garbage counted and dropped).
 * - Only loopback addresses (127.0.0.0/8, ::1) are accepted: anyone who
 *   can send to the port can write log lines, so it is never exposed.
 *   Another address rejects `start()` (a configuration mistake); a port in
 *   use is reported and the bind retried every `rebindMs`.
 * - Received on a thread of its own (udp-receiver.ts), which only reads
 *   the socket and posts the datagrams in batches (every 5 ms or 64 KiB);
 *   the batches are decoded and delivered here, on the consumer's thread,
 *   in arrival order, one batch per turn of the event loop. So the kernel's
 *   receive buffer is emptied while the pipeline works, and a pause of the
 *   consumer is absorbed by the batches waiting for it.
 * - Bounded: datagrams received and not yet delivered are at most
 *   `queueSize` and `queueBytes`; past that they are dropped and counted.
 *   The kernel counts its own drops (a receive buffer that overflowed) per
 *   socket: they are read from /proc/net/udp (udp6) and added to `dropped`,
 *   and the bytes waiting there are `lag_bytes` (null where /proc is not
 *   readable).
 * - The receive buffer: SO_RCVBUF is asked for `recvBufferBytes` (32 MiB);
 *   the kernel caps it at net.core.rmem_max (the package ships a sysctl
 *   drop-in raising it, packaging/sysctl.d/60-haproxy-manager.conf). What was
 *   granted is `recv_buffer_bytes` in the stats (Linux reports twice the
 *   data it will hold).
 * - No position: what was sent while the daemon was down is gone (UDP).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import type { RawLine, SourceFormat } from '../types.js';
import { decodeLine } from './line-splitter.js';
import { SourceCounters, SourceOutput, errMessage } from './source-base.js';
import { SourceError, type LogSource, type SourceDeps, type SourceStats } from './source.js';
import { startReceiver, type Receiver } from './udp-receiver.js';

export interface SyslogSourceOptions {
  name: string;
  /** A loopback address. Default 127.0.0.1. */
  host?: string;
  /** The UDP port; 0 picks a free one (see `address()`). */
  port: number;
  /** Default "haproxy". */
  format?: SourceFormat;
  /** Datagrams received and not yet delivered before new ones are dropped. Default 1,000,000. */
  queueSize?: number;
  /** Bytes of those before new ones are dropped. Default 256 MiB (about 7 s at 100,000 lines of 370 bytes a second). */
  queueBytes?: number;
  /** Longer lines are cut to this many bytes and counted. Default 64 KiB. */
  maxLineBytes?: number;
  /**
   * SO_RCVBUF to ask for. Default 32 MiB: at 100,000 lines a second the
   * system's default (about 200 KiB) holds a few milliseconds of datagrams,
   * and a pause of the receiving thread longer than that (the machine busy
   * with something else) loses lines. The kernel caps it at
   * net.core.rmem_max (raise that sysctl for the whole 32 MiB);
   * `recvBufferSize()` says what was granted.
   */
  recvBufferBytes?: number;
  /** Retry period when the bind fails. Default 5 s. */
  rebindMs?: number;
}

export class SyslogSource implements LogSource {
  readonly name: string;
  private readonly o: Required<SyslogSourceOptions>;
  private readonly out: SourceOutput;
  private readonly counters: SourceCounters;
  private receiver: Receiver | null = null;
  private running = false;
  private kernelDrops = 0;
  private bound: { address: string; port: number } | null = null;
  private granted = 0;
  /** Batches from the receiver waiting for delivery, oldest at `pendingHead`. */
  private pending: ({ r: Receiver; buf: Buffer; count: number; at: number } | undefined)[] = [];
  private pendingHead = 0;
  private pendingScheduled = false;
  /** Counters of receivers that ended (stop, a crash). */
  private pastDrops = 0;
  private pastBytes = 0;
  private rebindTimer: NodeJS.Timeout | null = null;

  constructor(options: SyslogSourceOptions, deps: SourceDeps) {
    this.name = options.name;
    this.o = {
      host: '127.0.0.1',
      format: 'haproxy',
      queueSize: 1_000_000,
      queueBytes: 256 * 1024 * 1024,
      maxLineBytes: 64 * 1024,
      rebindMs: 5000,
      ...options,
      recvBufferBytes: options.recvBufferBytes ?? 32 * 1024 * 1024,
    };
    this.counters = new SourceCounters();
    this.out = new SourceOutput(this.name, deps, this.counters);
  }

  /** Resolves once bound (or once the first bind failed: it is then retried). */
  async start(): Promise<void> {
    if (this.running) return;
    if (!isLoopback(this.o.host)) {
      throw new SourceError(this.name, 'io', `syslog listener address ${this.o.host} is not a loopback address (127.0.0.0/8 or ::1)`);
    }
    this.running = true;
    await this.bind();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.readKernelCounters();
    if (this.rebindTimer) clearTimeout(this.rebindTimer);
    this.rebindTimer = null;
    const r = this.receiver;
    // The receiver's last batches are delivered (running is still true) before it ends.
    if (r) {
      await r.stop();
      this.retire(r);
    }
    // What was received is delivered before the source stops.
    while (this.pendingHead < this.pending.length) this.deliverPending();
    this.running = false;
  }

  /** Keeps an ended receiver's counters and forgets it. */
  private retire(r: Receiver): void {
    this.pastDrops += r.dropped();
    this.pastBytes += r.receivedBytes();
    this.receiver = null;
    this.bound = null;
  }

  /** The receive buffer the kernel granted (bytes; Linux reports twice what it will fill with data), 0 when not bound. */
  recvBufferSize(): number {
    return this.bound ? this.granted : 0;
  }

  /** The bound address (with the real port when 0 was asked), or null when not bound. */
  address(): { address: string; port: number } | null {
    return this.bound;
  }

  /**
   * dropped is the sum of decoding's drops (binary garbage), queue_dropped
   * (the bounded queue was full: the consumer fell behind) and
   * kernel_dropped (the receive buffer overflowed: raise net.core.rmem_max);
   * recv_buffer_bytes: the receive buffer the kernel granted (0 when not bound).
   */
  stats(): SourceStats & { queue_dropped: number; kernel_dropped: number; recv_buffer_bytes: number } {
    const k = this.readKernelCounters();
    const snap = this.counters.snapshot(k ? k.rxQueue : null);
    const r = this.receiver;
    // counters.dropped holds decoding's drops; the receiver's queue and the kernel have their own counters.
    const queueDropped = this.pastDrops + (r ? r.dropped() : 0);
    return {
      ...snap,
      bytes: snap.bytes + this.pastBytes + (r ? r.receivedBytes() : 0),
      dropped: snap.dropped + queueDropped + this.kernelDrops,
      queue_dropped: queueDropped,
      kernel_dropped: this.kernelDrops,
      recv_buffer_bytes: this.recvBufferSize(),
    };
  }

  private bind(): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = () => {
        if (!settled) (settled = true), resolve();
      };
      const r = startReceiver(
        {
          host: this.o.host,
          port: this.o.port,
          type: isIPv6(this.o.host) ? 'udp6' : 'udp4',
          recvBufferBytes: this.o.recvBufferBytes,
          maxQueued: this.o.queueSize,
          maxQueuedBytes: this.o.queueBytes,
        },
        {
          onListening: (address, granted) => {
            if (!this.running) {
              void r.stop();
              settle();
              return;
            }
            this.receiver = r;
            this.bound = address;
            this.granted = granted;
            settle();
          },
          onBindError: (message) => {
            this.out.error('io', `cannot listen on udp ${this.o.host}:${this.o.port}: ${message}; retrying`);
            void r.stop();
            this.scheduleRebind();
            settle();
          },
          onError: (message) => this.out.error('io', `syslog socket error: ${message}`),
          onCrash: (message) => {
            this.out.error('io', `${message}; listening again`);
            if (this.receiver === r) this.retire(r);
            this.scheduleRebind();
            settle();
          },
          onBatch: (buf, count, at) => this.enqueue(r, buf, count, at),
        },
      );
    });
  }

  private scheduleRebind(): void {
    if (!this.running) return;
    this.rebindTimer = setTimeout(() => {
      this.rebindTimer = null;
      if (this.running) void this.bind();
    }, this.o.rebindMs);
    this.rebindTimer.unref();
  }

  /**
   * A receiver's batch waits here and is delivered on a later turn of the
   * event loop, one batch a turn: the thread's messages all arrive in one
   * go when the pipeline is behind, and delivering them there would keep the
   * API and the timers waiting for the whole backlog.
   */
  private enqueue(r: Receiver, buf: Buffer, count: number, at: number): void {
    this.pending.push({ r, buf, count, at });
    if (this.pendingScheduled) return;
    this.pendingScheduled = true;
    setImmediate(() => this.deliverPending());
  }

  private deliverPending(): void {
    this.pendingScheduled = false;
    const b = this.pending[this.pendingHead];
    if (b === undefined) return;
    this.pending[this.pendingHead++] = undefined;
    if (this.pendingHead === this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
    } else if (this.pendingHead > 1024) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    this.deliverBatch(b.r, b.buf, b.count, b.at);
    if (this.pendingHead < this.pending.length && !this.pendingScheduled) {
      this.pendingScheduled = true;
      setImmediate(() => this.deliverPending());
    }
  }

  /** Decodes a receiver's batch ([u32 length, bytes] records) and delivers it; then makes room for as many. */
  private deliverBatch(r: Receiver, buf: Buffer, count: number, at: number): void {
    const batch: RawLine[] = [];
    let off = 0;
    let bytes = 0;
    for (let i = 0; i < count && off + 4 <= buf.length; i++) {
      const len = buf.readUInt32LE(off);
      const start = off + 4;
      off = start + len;
      bytes += len;
      if (!this.running) continue;
      let end = off;
      // HAProxy ends nothing; other senders end with "\n", "\r\n" or NUL.
      while (end > start && (buf[end - 1] === 10 || buf[end - 1] === 0)) end--;
      if (end > start && buf[end - 1] === 13) end--;
      const line = decodeLine(buf, start, end, false, buf.subarray(start, end).indexOf(0) !== -1, this.o.maxLineBytes, this.counters);
      if (line !== null) batch.push({ source: this.name, line, format: this.o.format, receivedAt: at });
    }
    this.out.deliver(batch, Date.now());
    r.taken(count, bytes);
  }

  /** The kernel's counters for our socket: bytes waiting and datagrams dropped (Linux /proc). */
  private readKernelCounters(): { rxQueue: number; drops: number } | null {
    const b = this.bound;
    if (!b) return null;
    const v6 = isIPv6(b.address);
    let table: string;
    try {
      table = readFileSync(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8');
    } catch {
      return null;
    }
    const local = `${procAddress(b.address)}:${b.port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (const row of table.split('\n')) {
      const f = row.trim().split(/\s+/);
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
      if (f[1] !== local) continue;
      const rxQueue = parseInt((f[4] ?? '').split(':')[1] ?? '', 16);
      const drops = Number(f[12]);
      if (!Number.isFinite(rxQueue) || !Number.isFinite(drops)) return null;
      this.kernelDrops = Math.max(this.kernelDrops, drops);
      return { rxQueue, drops };
    }
    return null;
  }
}

export function isLoopback(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host) || /^::ffff:127\./i.test(host);
  return false;
}

/** An address as /proc/net/udp prints it: each 32-bit word in host byte order, in hex. */
function procAddress(address: string): string {
  const le = endianness() === 'LE';
  const word = (bytes: number[]) => (le ? [...bytes].reverse() : bytes).map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
  if (isIPv4(address)) return word(address.split('.').map(Number));
  const bytes = ipv6Bytes(address);
  let out = '';
  for (let i = 0; i < 16; i += 4) out += word(bytes.slice(i, i + 4));
  return out;
}

function ipv6Bytes(address: string): number[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter(Boolean).map((h) => parseInt(h, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  const words = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return words.flatMap((w) => [(w >> 8) & 0xff, w & 0xff]);
}
