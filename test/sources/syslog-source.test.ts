/**
 * The syslog listener, with real datagrams from node:dgram clients on
 * 127.0.0.1 and ::1 (in-process, and from a sender process for the burst).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { SyslogSource, isLoopback, type SyslogSourceOptions } from '../../src/pipeline/sources/syslog-source.js';
import { Collector, sleep, waitFor } from './helpers.js';

const RFC5424 =
  '<134>1 2024-06-10T06:13:20.123456+00:00 lb1 haproxy 812 - - 192.0.2.10:51234 [10/Jun/2024:06:13:20.123] fe_https~ be_app/app1 0/0/1/12/13 200 1534 - - ---- 3/3/0/0/0 0/0 "GET /index.html HTTP/1.1"';
const RFC3164 =
  '<134>Jun 10 06:13:20 haproxy[812]: 203.0.113.7:40012 [10/Jun/2024:06:13:20.223] fe_https~ be_app/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET /.env HTTP/1.1"';

async function listener(c: Collector, o: Partial<SyslogSourceOptions> = {}): Promise<{ src: SyslogSource; port: number; host: string }> {
  const src = new SyslogSource({ name: 'haproxy', port: 0, ...o }, c.deps());
  await src.start();
  const a = src.address();
  assert.ok(a, 'bound');
  return { src, port: a.port, host: a.address };
}

async function send(port: number, host: string, msgs: (string | Buffer)[]): Promise<void> {
  const s: Socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const m of msgs) await new Promise<void>((r, j) => s.send(m, port, host, (e) => (e ? j(e) : r())));
  await new Promise<void>((r) => s.close(() => r()));
}

test('datagrams become lines: RFC 5424 and 3164 prefixes kept, trailing newline stripped, format haproxy', async () => {
  const c = new Collector();
  const { src, port, host } = await listener(c);
  try {
    await send(port, host, [RFC5424 + '\n', RFC3164, 'with crlf\r\n', 'with nul\0']);
    await waitFor(() => c.lines.length >= 4, 3000, () => '4 lines');
    assert.deepEqual(c.texts(), [RFC5424, RFC3164, 'with crlf', 'with nul']);
    for (const l of c.lines) {
      assert.equal(l.format, 'haproxy');
      assert.equal(l.source, 'haproxy');
      assert.ok(Math.abs(l.receivedAt - Date.now()) < 5000);
    }
    const st = src.stats();
    assert.equal(st.lines, 4);
    assert.equal(st.bytes, Buffer.byteLength(RFC5424) + 1 + Buffer.byteLength(RFC3164) + 11 + 9);
    assert.equal(st.dropped, 0);
    assert.equal(st.lag_bytes, 0, 'nothing waiting in the kernel buffer (read from /proc/net/udp)');
    assert.ok(st.last_line_at !== null);
  } finally {
    await src.stop();
  }
});

test('IPv6 loopback (::1) works too', async () => {
  const c = new Collector();
  const { src, port, host } = await listener(c, { host: '::1' });
  try {
    await send(port, host, [RFC3164]);
    await waitFor(() => c.lines.length >= 1, 3000, () => '1 line');
    assert.deepEqual(c.texts(), [RFC3164]);
    assert.equal(src.stats().lag_bytes, 0);
  } finally {
    await src.stop();
  }
});

test('only loopback addresses are accepted', async () => {
  for (const host of ['0.0.0.0', '192.0.2.1', '::', 'localhost']) {
    const src = new SyslogSource({ name: 'x', host, port: 0 }, new Collector().deps());
    await assert.rejects(src.start(), /not a loopback address/, host);
  }
  assert.ok(isLoopback('127.0.0.1') && isLoopback('127.8.9.10') && isLoopback('::1') && isLoopback('::ffff:127.0.0.1'));
  assert.ok(!isLoopback('128.0.0.1') && !isLoopback('::2'));
});

test('garbage datagrams: binary dropped and counted, latin-1 repaired, an oversized one cut', async () => {
  const c = new Collector();
  const { src, port, host } = await listener(c, { maxLineBytes: 1024 });
  try {
    const binary = Buffer.alloc(300);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919) & 0xff;
    await send(port, host, [binary, Buffer.from('caf\xe9\n', 'latin1'), 'Z'.repeat(60_000), 'fine']);
    await waitFor(() => c.lines.length >= 3, 3000, () => '3 lines');
    await sleep(50);
    assert.deepEqual(
      c.texts().map((t) => (t.length > 20 ? `${t[0]}x${t.length}` : t)),
      ['caf\uFFFD', 'Zx1024', 'fine'],
    );
    const st = src.stats();
    assert.equal(st.dropped, 1);
    assert.equal(st.decode_errors, 2);
    assert.equal(st.truncated, 1);
  } finally {
    await src.stop();
  }
});

/** Sends `sent` datagrams as fast as a separate process can (bursts of 256). */
function sendBurst(port: number, sent: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sender = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:dgram').createSocket('udp4');
         let left = ${sent}, i = 0;
         const next = () => { if (i === ${sent}) return; const n = i++; s.send('<134>Jun 10 06:13:20 haproxy[1]: burst ' + n, ${port}, '127.0.0.1', () => { if (--left === 0) s.close(); }); if (i % 256) next(); else setImmediate(next); };
         next();`,
      ],
      { stdio: 'inherit' },
    );
    sender.on('error', reject);
    sender.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sender exited ${code}`))));
  });
}

/** A burst into a consumer that takes 2 ms a batch; returns the stats once everything sent is accounted for. */
async function burst(t: TestContext, o: Partial<SyslogSourceOptions>): Promise<{ st: ReturnType<SyslogSource['stats']>; c: Collector }> {
  const c = new Collector();
  c.afterBatch = () => {
    const until = Date.now() + 2;
    while (Date.now() < until); // a consumer that takes 2 ms a batch
  };
  const { src, port } = await listener(c, o);
  const SENT = 20_000;
  try {
    await sendBurst(port, SENT);
    await waitFor(
      () => {
        const st = src.stats();
        return st.lines + st.dropped >= SENT && st.lag_bytes === 0;
      },
      20_000,
      () => `delivered + dropped = ${SENT}: ${JSON.stringify(src.stats())}`,
    );
    const st = src.stats();
    t.diagnostic(`${JSON.stringify(o)}, sent ${SENT}: delivered ${st.lines}, dropped ${st.dropped} (queue ${st.queue_dropped}, kernel ${st.kernel_dropped}), ${c.batches} batches`);
    assert.equal(st.lines + st.dropped, SENT);
    assert.equal(st.dropped, st.queue_dropped + st.kernel_dropped);
    assert.equal(st.lines, c.lines.length);
    assert.ok(c.batches < c.lines.length, 'several datagrams per batch');
    const seen = new Set(c.texts());
    assert.equal(seen.size, c.lines.length, 'none doubled');
    // In the order sent: the receiver thread and the batches keep it.
    const nums = c.texts().map((l) => Number(l.split(' ').at(-1)));
    assert.ok(nums.every((n, i) => i === 0 || n > nums[i - 1]!), 'in the order sent');
    return { st, c };
  } finally {
    await src.stop();
  }
}

test('a burst into a slow consumer, small queue: the queue drops and counts; delivered + dropped = sent', async (t) => {
  const { st } = await burst(t, { queueSize: 16 });
  assert.ok(st.queue_dropped > 0, 'the slow consumer made the queue drop');
});

test('a burst into a slow consumer, default queue: the queue holds it all (the receiver thread reads while the consumer works)', async (t) => {
  const { st } = await burst(t, {});
  assert.equal(st.queue_dropped, 0);
});

test('a receive buffer too small for a burst: the kernel drops, and its drops (from /proc/net/udp) are counted', async (t) => {
  // The kernel's smallest buffer holds a few datagrams: a burst of 256 at once overflows it.
  const { st } = await burst(t, { recvBufferBytes: 1 });
  assert.ok(st.kernel_dropped > 0, 'the kernel dropped');
  assert.ok(st.recv_buffer_bytes > 0 && st.recv_buffer_bytes < 65_536, `granted ${st.recv_buffer_bytes}`);
});

test('a port in use is reported and the bind retried until it is free', async () => {
  const holder = createSocket('udp4');
  await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
  const port = holder.address().port;
  const c = new Collector();
  const src = new SyslogSource({ name: 'haproxy', port, rebindMs: 50 }, c.deps());
  await src.start();
  try {
    assert.equal(src.address(), null);
    assert.equal(c.errors.length, 1);
    assert.match(c.errors[0]!.message, /cannot listen on udp 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    await new Promise<void>((r) => holder.close(() => r()));
    await waitFor(() => src.address() !== null, 3000, () => 'the rebind');
    await send(port, '127.0.0.1', ['after rebind']);
    await waitFor(() => c.lines.length >= 1, 3000, () => '1 line');
    assert.deepEqual(c.texts(), ['after rebind']);
  } finally {
    await src.stop();
  }
});

test('stop() delivers what was received and releases the port', async () => {
  const c = new Collector();
  const { src, port, host } = await listener(c);
  await send(port, host, ['one', 'two']);
  await sleep(50);
  await src.stop();
  assert.deepEqual(c.texts(), ['one', 'two']);
  const again = createSocket('udp4');
  await new Promise<void>((r, j) => {
    again.once('error', j);
    again.bind(port, '127.0.0.1', () => r());
  });
  again.close();
});
