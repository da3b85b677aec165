/**
 * The log intake's receiving side, on a thread of its own (receiver-thread.ts
 * says why): it listens on the unix socket, accepts HAProxy's ring
 * connections and posts what they send, in chunks, to the main thread.
 *
 * Contract (main side: `startStreamReceiver`):
 * - One receiver is one listen: it answers `listening` or `listen-error`
 *   (and ends). Preparing the socket's directory and setting the socket's
 *   owner and mode stay the caller's, before and after.
 * - A connection's bytes arrive as `onData(id, buf, at)` in the order read
 *   (several reads joined, posted every 2 ms or 64 KiB), then `onClose(id)`;
 *   `at` is when the first of them was read. At most `maxConnections` at
 *   once: more are closed at once and counted in `refused()`.
 * - Bounded: bytes posted and not yet taken (`taken(bytes)`, called by the
 *   main thread once they are delivered) are at most `maxQueuedBytes`; past
 *   that every connection is paused (the writer, HAProxy's ring, holds the
 *   rest) and resumed once half of them were taken. Nothing is dropped here;
 *   `pauses()` counts the pauses.
 * - `stop()` closes the server and the connections, posts what is left and
 *   resolves once the thread has ended.
 */
import { startReceiverThread } from './receiver-thread.js';

export interface StreamReceiverOptions {
  path: string;
  maxConnections: number;
  maxQueuedBytes: number;
  /** Read bytes are posted this long after the first of them at the latest (ms). Default 2. */
  flushMs?: number;
  /** ... or once they are this many. Default 64 KiB. */
  flushBytes?: number;
}

export interface StreamReceiverEvents {
  onListening(): void;
  onListenError(message: string): void;
  onError(message: string): void;
  onCrash(message: string): void;
  onData(id: number, buf: Buffer, at: number): void;
  onClose(id: number): void;
}

export interface StreamReceiver {
  taken(bytes: number): void;
  refused(): number;
  pauses(): number;
  /** Connections open now. */
  connections(): number;
  stop(): Promise<void>;
}

const TAKEN_BYTES = 0;
const REFUSED = 1;
const PAUSES = 2;
const OPEN = 3;

const PROGRAM = `
const { parentPort, workerData: o } = require('node:worker_threads');
const net = require('node:net');
const counters = new BigInt64Array(o.shared);
const conns = new Map();
let nextId = 0, posted = 0, taken = 0, paused = false, pauses = 0, refused = 0, stopping = false, listening = false;
let resumeTimer = null;
function publish() {
  Atomics.store(counters, ${REFUSED}, BigInt(refused));
  Atomics.store(counters, ${PAUSES}, BigInt(pauses));
  Atomics.store(counters, ${OPEN}, BigInt(conns.size));
}
function flush(st) {
  if (st.timer !== null) { clearTimeout(st.timer); st.timer = null; }
  if (st.bytes === 0) return;
  const joined = st.parts.length === 1 ? st.parts[0] : Buffer.concat(st.parts, st.bytes);
  // A copy of its own is transferred (a read's buffer may share memory).
  const buf = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.length);
  posted += st.bytes;
  parentPort.postMessage({ type: 'data', id: st.id, buf, at: st.at }, [buf]);
  st.parts = []; st.bytes = 0;
  if (!paused && posted - taken > o.maxQueuedBytes) {
    taken = Number(Atomics.load(counters, ${TAKEN_BYTES}));
    if (posted - taken > o.maxQueuedBytes) {
      paused = true;
      pauses++;
      publish();
      for (const s of conns.values()) s.c.pause();
      resumeTimer = setInterval(() => {
        taken = Number(Atomics.load(counters, ${TAKEN_BYTES}));
        if (posted - taken > o.maxQueuedBytes / 2) return;
        clearInterval(resumeTimer); resumeTimer = null;
        paused = false;
        for (const s of conns.values()) s.c.resume();
      }, 5);
    }
  }
}
const server = net.createServer({ allowHalfOpen: false }, (c) => {
  if (stopping || conns.size >= o.maxConnections) { refused++; publish(); c.destroy(); return; }
  const st = { id: ++nextId, c, parts: [], bytes: 0, at: 0, timer: null };
  conns.set(st.id, st);
  publish();
  if (paused) c.pause();
  c.on('data', (chunk) => {
    if (st.bytes === 0) st.at = Date.now();
    st.parts.push(chunk);
    st.bytes += chunk.length;
    if (st.bytes >= o.flushBytes) flush(st);
    else if (st.timer === null) st.timer = setTimeout(() => flush(st), o.flushMs);
  });
  c.on('error', () => c.destroy());
  c.on('close', () => {
    flush(st);
    conns.delete(st.id);
    publish();
    parentPort.postMessage({ type: 'close', id: st.id });
  });
});
server.on('error', (e) => {
  if (!listening) {
    parentPort.postMessage({ type: 'listen-error', message: e.message });
    parentPort.close();
    return;
  }
  parentPort.postMessage({ type: 'error', message: e.message });
});
server.listen(o.path, () => {
  listening = true;
  parentPort.postMessage({ type: 'listening' });
});
parentPort.on('message', (m) => {
  if (m !== 'stop' || stopping) return;
  stopping = true;
  if (resumeTimer !== null) clearInterval(resumeTimer);
  for (const st of conns.values()) { flush(st); st.c.destroy(); }
  const done = () => { publish(); parentPort.postMessage({ type: 'closed' }); parentPort.close(); };
  if (listening) server.close(done); else done();
});
`;

type FromReceiver =
  | { type: 'listening' }
  | { type: 'listen-error'; message: string }
  | { type: 'error'; message: string }
  | { type: 'data'; id: number; buf: ArrayBuffer; at: number }
  | { type: 'close'; id: number };

export function startStreamReceiver(o: StreamReceiverOptions, ev: StreamReceiverEvents): StreamReceiver {
  const t = startReceiverThread<FromReceiver>(
    PROGRAM,
    { ...o, flushMs: o.flushMs ?? 2, flushBytes: o.flushBytes ?? 64 * 1024 },
    4,
    (m) => {
      switch (m.type) {
        case 'data':
          ev.onData(m.id, Buffer.from(m.buf), m.at);
          break;
        case 'close':
          ev.onClose(m.id);
          break;
        case 'listening':
          ev.onListening();
          break;
        case 'listen-error':
          ev.onListenError(m.message);
          break;
        case 'error':
          ev.onError(m.message);
          break;
      }
    },
    (message) => ev.onCrash(message),
  );
  return {
    taken: (bytes) => void Atomics.add(t.counters, TAKEN_BYTES, BigInt(bytes)),
    refused: () => Number(Atomics.load(t.counters, REFUSED)),
    pauses: () => Number(Atomics.load(t.counters, PAUSES)),
    connections: () => (t.ended ? 0 : Number(Atomics.load(t.counters, OPEN))),
    stop: () => t.stop(),
  };
}
