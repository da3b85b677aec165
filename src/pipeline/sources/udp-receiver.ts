/**
 * The syslog listener's receiving side, on a thread of its own.
 *
 * Why a thread: Node hands a UDP socket's datagrams to JavaScript one by one
 * (a Buffer and an address object each, about 3 us here), and libuv reads
 * at most 32 of them per turn of the event loop. On the thread that also
 * parses and triages, receiving alone took a third of a core at 100,000
 * datagrams a second, and every pause of the pipeline (a GC, a slow batch)
 * left the kernel's receive buffer unread until it overflowed. Here a worker
 * thread does nothing but read: it packs datagrams into batches and
 * transfers them (no copy) to the main thread, which decodes and delivers
 * them. The kernel buffer is emptied while the pipeline works; the pipeline's
 * pauses are absorbed by the batches waiting for it, bounded below.
 *
 * Contract (main side: `startReceiver`):
 * - One receiver is one bind: it answers `listening` (the bound address and
 *   the receive buffer the kernel granted) or `bind-error` and ends. The
 *   caller retries with a new receiver.
 * - A batch is `{buf, count, at}`: `count` datagrams as [u32 length, bytes]
 *   records in `buf`, `at` the time its first datagram arrived. Batches
 *   arrive in the order the datagrams did.
 * - Bounded: datagrams posted and not yet taken (`taken(n, bytes)`, called
 *   by the main thread once a batch is delivered) are at most `maxQueued`
 *   and `maxQueuedBytes`; past that a datagram is dropped and counted in
 *   `dropped()`. `receivedBytes()` counts every datagram's bytes, dropped
 *   ones included (as of its last batch or drop).
 * - `stop()` closes the socket, posts what is left and resolves once the
 *   thread has ended: every batch has then been handed to `onBatch`.
 * - The thread (receiver-thread.ts) runs plain JavaScript.
 */
import { startReceiverThread } from './receiver-thread.js';

export interface ReceiverOptions {
  host: string;
  port: number;
  type: 'udp4' | 'udp6';
  /** SO_RCVBUF to ask for (the kernel caps it at net.core.rmem_max). */
  recvBufferBytes: number;
  /** Datagrams posted and not yet taken, at most. */
  maxQueued: number;
  /** Bytes of those, at most. */
  maxQueuedBytes: number;
  /** A batch is posted this long after its first datagram at the latest (ms). Default 5. */
  flushMs?: number;
  /** ... or once it holds this many bytes. Default 64 KiB. */
  flushBytes?: number;
}

export interface ReceiverEvents {
  onListening(address: { address: string; port: number }, recvBufferSize: number): void;
  onBindError(message: string): void;
  onError(message: string): void;
  /** The thread failed (an exception in it): it has ended, the socket is closed. */
  onCrash(message: string): void;
  onBatch(buf: Buffer, count: number, at: number): void;
}

export interface Receiver {
  /** The main thread delivered `count` datagrams of `bytes` bytes: room for as many. */
  taken(count: number, bytes: number): void;
  dropped(): number;
  receivedBytes(): number;
  stop(): Promise<void>;
}

// Shared counters (BigInt64Array): what the main thread took, what the receiver dropped and received.
const TAKEN_N = 0;
const TAKEN_BYTES = 1;
const DROPPED = 2;
const RECEIVED_BYTES = 3;

/** The receiving thread (CommonJS, run with `eval`). */
const RECEIVER = `
const { parentPort, workerData: o } = require('node:worker_threads');
const { createSocket } = require('node:dgram');
const counters = new BigInt64Array(o.shared);
const CHUNK = Math.max(256 * 1024, o.flushBytes * 2);
const chunk = Buffer.allocUnsafeSlow(CHUNK);
let off = 0, count = 0, at = 0, timer = null;
// Plain numbers per datagram; the shared counters are read only near the bound and written per batch.
let postedN = 0, postedBytes = 0, takenN = 0, takenBytes = 0, received = 0, dropped = 0;
let stopping = false;
function publish() {
  Atomics.store(counters, ${RECEIVED_BYTES}, BigInt(received));
  Atomics.store(counters, ${DROPPED}, BigInt(dropped));
}
function flush() {
  if (timer !== null) { clearTimeout(timer); timer = null; }
  if (count === 0) return;
  // A right-sized copy is transferred; the chunk is reused.
  const buf = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + off);
  postedN += count;
  postedBytes += off - 4 * count;
  publish();
  parentPort.postMessage({ type: 'batch', buf, count, at }, [buf]);
  off = 0; count = 0;
}
function full(len) {
  const n = postedN + count - takenN, b = postedBytes + off - 4 * count - takenBytes;
  if (n < o.maxQueued && b + len <= o.maxQueuedBytes) return false;
  takenN = Number(Atomics.load(counters, ${TAKEN_N}));
  takenBytes = Number(Atomics.load(counters, ${TAKEN_BYTES}));
  return postedN + count - takenN >= o.maxQueued || postedBytes + off - 4 * count - takenBytes + len > o.maxQueuedBytes;
}
const s = createSocket({ type: o.type, recvBufferSize: o.recvBufferBytes });
let listening = false;
s.on('message', (msg) => {
  const len = msg.length;
  received += len;
  if (full(len)) {
    dropped++;
    publish();
    return;
  }
  if (off + 4 + len > CHUNK) flush();
  if (count === 0) at = Date.now();
  chunk.writeUInt32LE(len, off);
  msg.copy(chunk, off + 4);
  off += 4 + len;
  count++;
  if (off >= o.flushBytes) flush();
  else if (timer === null) timer = setTimeout(flush, o.flushMs);
});
s.on('error', (e) => {
  if (!listening) {
    parentPort.postMessage({ type: 'bind-error', message: e.message });
    s.close();
    parentPort.close();
    return;
  }
  parentPort.postMessage({ type: 'error', message: e.message });
});
s.bind(o.port, o.host, () => {
  listening = true;
  const a = s.address();
  let size = 0;
  try { size = s.getRecvBufferSize(); } catch {}
  parentPort.postMessage({ type: 'listening', address: a.address, port: a.port, recvBufferSize: size });
});
parentPort.on('message', (m) => {
  if (m !== 'stop' || stopping) return;
  stopping = true;
  const done = () => { flush(); publish(); parentPort.postMessage({ type: 'closed' }); parentPort.close(); };
  try { s.close(done); } catch { done(); }
});
`;

type FromReceiver =
  | { type: 'listening'; address: string; port: number; recvBufferSize: number }
  | { type: 'bind-error'; message: string }
  | { type: 'error'; message: string }
  | { type: 'batch'; buf: ArrayBuffer; count: number; at: number };

/** Starts a receiver thread bound to `o.host:o.port`; events arrive on the main thread. */
export function startReceiver(o: ReceiverOptions, ev: ReceiverEvents): Receiver {
  const t = startReceiverThread<FromReceiver>(
    RECEIVER,
    { ...o, flushMs: o.flushMs ?? 5, flushBytes: o.flushBytes ?? 64 * 1024 },
    4,
    (m) => {
      switch (m.type) {
        case 'batch':
          ev.onBatch(Buffer.from(m.buf), m.count, m.at);
          break;
        case 'listening':
          ev.onListening({ address: m.address, port: m.port }, m.recvBufferSize);
          break;
        case 'bind-error':
          ev.onBindError(m.message);
          break;
        case 'error':
          ev.onError(m.message);
          break;
      }
    },
    (message) => ev.onCrash(message),
  );
  return {
    taken(count, bytes) {
      Atomics.add(t.counters, TAKEN_N, BigInt(count));
      Atomics.add(t.counters, TAKEN_BYTES, BigInt(bytes));
    },
    dropped: () => Number(Atomics.load(t.counters, DROPPED)),
    receivedBytes: () => Number(Atomics.load(t.counters, RECEIVED_BYTES)),
    stop: () => t.stop(),
  };
}
