/**
 * The log intake socket with real unix-socket clients: lines in order across
 * reads, HAProxy's ring drop announcements counted (the lines HAProxy 2.6 and
 * 3.0 write, captured from both), a slow consumer absorbed by the daemon's
 * queue, a full queue pausing the writer without losing a line, and the
 * connection limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { SocketSource, ringDropped, type SocketSourceOptions } from '../../src/pipeline/sources/socket-source.js';
import { Collector, tempDir, waitFor } from './helpers.js';

const line = (n: number) => `<134>1 2026-12-07T12:36:34.604789+00:00 - haproxy 24702 - - 127.0.0.1:47730 [07/Dec/2026:12:36:34.604] web web/<NOSRV> 0/-1/-1/-1/0 200 73 - - LR-- 20/20/0/0/0 0/0 "GET /n${n} HTTP/1.1"`;

async function withSource(o: Partial<SocketSourceOptions>, c: Collector, body: (src: SocketSource, path: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir('intake');
  const path = join(dir, 'log', 'haproxy.sock');
  const src = new SocketSource({ name: 'haproxy', path, group: null, ...o }, c.deps());
  try {
    await src.start();
    assert.deepEqual(src.listening(), { ok: true });
    await body(src, path);
  } finally {
    await src.stop();
    cleanup();
  }
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(path, () => resolve(c));
    c.once('error', reject);
  });
}

/** Writes `text` and waits until the kernel took all of it (the reader may be paused meanwhile). */
function write(c: net.Socket, text: string): Promise<void> {
  return new Promise((resolve) => c.write(text, () => resolve()));
}

test('ringDropped: the announcements HAProxy 2.6 and 3.0 write, and nothing else', () => {
  assert.equal(ringDropped('<133>1 2026-12-07T12:36:34.604741+00:00 - haproxy 24702 - - 1076 events dropped'), 1076); // 2.6
  assert.equal(ringDropped('<133>1 2026-12-07T12:36:37.488379+00:00 - haproxy 24871 - - 16 events dropped '), 16); // 3.0
  assert.equal(ringDropped('<133>1 2026-12-07T12:36:37.516939+00:00 - haproxy 24871 - - 1 event dropped '), 1);
  assert.equal(ringDropped(line(1)), -1);
  // A request whose path says it does not count: the shape is the whole message.
  assert.equal(ringDropped('<134>1 2026-12-07T12:36:34.604789+00:00 - haproxy 1 - - 127.0.0.1:1 [07/Dec/2026:12:36:34.604] web web/<NOSRV> 0/0/0/0/0 404 1 - - ---- 1/1/0/0/0 0/0 "GET /5 events dropped'), -1);
  assert.equal(ringDropped('dropped'), -1);
  assert.equal(ringDropped(''), -1);
});

test('lines arrive in order across reads and connections close cleanly; the announcements are counted, not delivered', async () => {
  const c = new Collector();
  await withSource({}, c, async (src, path) => {
    const s = await connect(path);
    const N = 20_000;
    const all = Array.from({ length: N }, (_, i) => line(i));
    // Split mid-line on purpose, and HAProxy's drop announcements in between.
    const text = all.slice(0, 10_000).join('\n') + '\n<133>1 2026-12-07T12:36:34.604741+00:00 - haproxy 24702 - - 1076 events dropped\n' + all.slice(10_000).join('\n') + '\n<133>1 2026-12-07T12:36:37.516939+00:00 - haproxy 24871 - - 1 event dropped \n';
    const cut = Math.floor(text.length / 3);
    await write(s, text.slice(0, cut));
    await write(s, text.slice(cut));
    s.end();
    await waitFor(() => c.lines.length >= N, 20_000, () => `${c.lines.length} of ${N} lines`);
    assert.deepEqual(c.texts(), all);
    const st = src.stats();
    assert.equal(st.ring_dropped, 1077);
    assert.equal(st.dropped, 1077);
    assert.equal(st.lines, N);
    await waitFor(() => src.stats().connections === 0, 5000, () => 'the connection closed');
  });
});

test('a slow consumer: everything read waits in the daemon and is delivered, in order, in slices', async () => {
  const c = new Collector();
  c.afterBatch = () => {
    const until = Date.now() + 5;
    while (Date.now() < until); // a consumer that takes 5 ms a batch
  };
  await withSource({ sliceLines: 500 }, c, async (src, path) => {
    const s = await connect(path);
    const N = 30_000;
    const all = Array.from({ length: N }, (_, i) => line(i));
    await write(s, all.join('\n') + '\n');
    s.end();
    await waitFor(() => c.lines.length >= N, 60_000, () => `${c.lines.length} of ${N} lines`);
    assert.deepEqual(c.texts(), all);
    assert.ok(c.batches >= N / 600, `in slices: ${c.batches} batches`);
    assert.equal(src.stats().dropped, 0);
  });
});

test('a full queue pauses reading (the writer waits) and loses nothing', async () => {
  const c = new Collector();
  c.afterBatch = () => {
    const until = Date.now() + 5;
    while (Date.now() < until);
  };
  await withSource({ maxQueuedBytes: 256 * 1024, sliceLines: 200 }, c, async (src, path) => {
    const s = await connect(path);
    const N = 30_000;
    const all = Array.from({ length: N }, (_, i) => line(i));
    await write(s, all.join('\n') + '\n');
    s.end();
    await waitFor(() => c.lines.length >= N, 60_000, () => `${c.lines.length} of ${N} lines`);
    assert.deepEqual(c.texts(), all);
    const st = src.stats();
    assert.ok(st.read_pauses > 0, 'reading paused');
    assert.equal(st.dropped, 0);
  });
});

test('more connections than allowed: the extra ones are closed and counted', async () => {
  const c = new Collector();
  await withSource({ maxConnections: 1 }, c, async (src, path) => {
    const a = await connect(path);
    await waitFor(() => src.stats().connections === 1, 5000, () => 'the first connection');
    const b = await connect(path);
    await new Promise<void>((resolve) => b.once('close', () => resolve()));
    assert.equal(src.stats().refused_connections, 1);
    await write(a, `${line(1)}\n`);
    await waitFor(() => c.lines.length === 1, 5000, () => 'the line of the allowed connection');
    a.end();
  });
});
