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
 * - Bounded: received datagrams wait in a queue of at most `queueSize`
 *   until the next turn of the event loop delivers them as one batch; past
 *   that they are dropped and counted. Since the consumer is synchronous
 *   and on the same thread, a consumer that falls behind mostly shows as a
 *   full kernel receive buffer, whose drops the kernel counts per socket:
 *   they are read from /proc/net/udp (udp6) and added to `dropped`, and the
 *   bytes waiting there are `lag_bytes` (null where /proc is not readable).
 * - No position: what was sent while the daemon was down is gone (UDP).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import type { RawLine, SourceFormat } from '../types.js';
import { decodeLine } from './line-splitter.js';
import { SourceCounters, SourceOutput, errMessage } from './source-base.js';
import { SourceError, type LogSource, type SourceDeps, type SourceStats } from './source.js';

export interface SyslogSourceOptions {
  name: string;
  /** A loopback address. Default 127.0.0.1. */
  host?: string;
  /** The UDP port; 0 picks a free one (see `address()`). */
  port: number;
  /** Default "haproxy". */
  format?: SourceFormat;
  /** Datagrams waiting for delivery before new ones are dropped. Default 10,000. */
  queueSize?: number;
  /** Longer lines are cut to this many bytes and counted. Default 64 KiB. */
  maxLineBytes?: number;
  /**
   * SO_RCVBUF to ask for. Default 8 MiB: at 100,000 lines a second the
   * system's default (about 200 KiB) holds a few milliseconds of datagrams,
   * and any pause of the consumer longer than that loses lines. The kernel
   * caps it at net.core.rmem_max (raise that sysctl for the whole 8 MiB);
   * `recvBufferSize()` says what was granted.
   */
  recvBufferBytes?: number;
  /** Retry period when the bind fails. Default 5 s. */
  rebindMs?: number;
}

interface Queued {
  msg: Buffer;
  at: number;
}

export class SyslogSource implements LogSource {
  readonly name: string;
  private readonly o: Required<SyslogSourceOptions>;
  private readonly out: SourceOutput;
  private readonly counters: SourceCounters;
  private socket: Socket | null = null;
  private running = false;
  private queue: Queued[] = [];
  private drainQueued = false;
  private kernelDrops = 0;
  private bound: { address: string; port: number } | null = null;
  private rebindTimer: NodeJS.Timeout | null = null;

  constructor(options: SyslogSourceOptions, deps: SourceDeps) {
    this.name = options.name;
    this.o = {
      host: '127.0.0.1',
      format: 'haproxy',
      queueSize: 10_000,
      maxLineBytes: 64 * 1024,
      rebindMs: 5000,
      ...options,
      recvBufferBytes: options.recvBufferBytes ?? 8 * 1024 * 1024,
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
    this.drain();
    this.readKernelCounters();
    this.running = false;
    if (this.rebindTimer) clearTimeout(this.rebindTimer);
    this.rebindTimer = null;
    const s = this.socket;
    this.socket = null;
    this.bound = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** The receive buffer the kernel granted (bytes; Linux reports twice what it will fill with data), 0 when not bound. */
  recvBufferSize(): number {
    try {
      return this.socket?.getRecvBufferSize() ?? 0;
    } catch {
      return 0;
    }
  }

  /** The bound address (with the real port when 0 was asked), or null when not bound. */
  address(): { address: string; port: number } | null {
    return this.bound;
  }

  stats(): SourceStats {
    const k = this.readKernelCounters();
    const snap = this.counters.snapshot(k ? k.rxQueue : null);
    // counters.dropped holds the queue's and decoding's drops; the kernel's are its own counter.
    return { ...snap, dropped: snap.dropped + this.kernelDrops };
  }

  private bind(): Promise<void> {
    return new Promise((resolve) => {
      const type = isIPv6(this.o.host) ? 'udp6' : 'udp4';
      const s = createSocket({ type, recvBufferSize: this.o.recvBufferBytes });
      let listening = false;
      s.on('message', (msg) => this.enqueue(msg));
      s.on('error', (e) => {
        if (!listening) {
          this.out.error('io', `cannot listen on udp ${this.o.host}:${this.o.port}: ${errMessage(e)}; retrying`, e);
          s.close();
          this.scheduleRebind();
          resolve();
          return;
        }
        this.out.error('io', `syslog socket error: ${errMessage(e)}`, e);
      });
      s.bind(this.o.port, this.o.host, () => {
        listening = true;
        if (!this.running) {
          s.close();
          resolve();
          return;
        }
        this.socket = s;
        const a = s.address();
        this.bound = { address: a.address, port: a.port };
        resolve();
      });
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

  private enqueue(msg: Buffer): void {
    if (!this.running) return;
    this.counters.bytes += msg.length;
    if (this.queue.length >= this.o.queueSize) {
      this.counters.dropped++;
      return;
    }
    this.queue.push({ msg, at: Date.now() });
    if (!this.drainQueued) {
      this.drainQueued = true;
      setImmediate(() => {
        this.drainQueued = false;
        this.drain();
      });
    }
  }

  private drain(): void {
    if (!this.running || this.queue.length === 0) return;
    const q = this.queue;
    this.queue = [];
    const batch: RawLine[] = [];
    for (const { msg, at } of q) {
      let end = msg.length;
      // HAProxy ends nothing; other senders end with "\n", "\r\n" or NUL.
      while (end > 0 && (msg[end - 1] === 10 || msg[end - 1] === 0)) end--;
      if (end > 0 && msg[end - 1] === 13) end--;
      const line = decodeLine(msg, 0, end, false, msg.subarray(0, end).indexOf(0) !== -1, this.o.maxLineBytes, this.counters);
      if (line !== null) batch.push({ source: this.name, line, format: this.o.format, receivedAt: at });
    }
    this.out.deliver(batch, Date.now());
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
