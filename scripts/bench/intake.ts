/**
 * The live path at a sustained rate: a sender (its own process, as HAProxy
 * is) writes realistic lines (loggen.ts realisticLog) at a fixed rate for a
 * while, and the daemon's real sources take them into the real pipeline
 * (parse, every shipped rule, incidents) on one thread. Prints what was sent,
 * received and lost. Not a test: it prints figures and asserts nothing.
 *
 *   node --import tsx scripts/bench/intake.ts [seconds=10] [rate=100000] [intake|syslog|both]
 *   node --import tsx scripts/bench/intake.ts 60                           # the 60 s
 *
 * - intake: the unix stream socket HAProxy's ring forwards to (socket-source.ts).
 *   A stream loses nothing in the kernel; what HAProxy loses is what its ring
 *   (monitor.intake.ring_size, 16 MiB by default) cannot hold while the
 *   daemon does not read. The sender models that ring: bytes the socket does
 *   not take wait in a buffer of the default ring size, and a line that does
 *   not fit is dropped and counted (HAProxy announces such drops in the
 *   stream; the source counts them as ring_dropped).
 * - syslog: the UDP listener (syslog-source.ts), one datagram a line, received
 *   on its own thread; its drops (the bounded queue, and the kernel's for the
 *   socket from /proc/net/udp) are the source's `dropped`, as
 *   /api/monitor/status and source_dropped_total show them.
 *
 * The machine's load average before and after each run is printed (the sender
 * and the daemon need about a core between them at 100,000 lines/s; a busy
 * machine takes it from them), and the daemon thread's event-loop delay.
 */
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEFAULT_INTAKE_RING_BYTES } from '../../src/config/schema.js';
import { createPipeline } from '../../src/monitor/pipeline.js';
import { SHIPPED_RULES_DIR } from '../../src/monitor/monitor.js';
import { SocketSource } from '../../src/pipeline/sources/socket-source.js';
import { SyslogSource } from '../../src/pipeline/sources/syslog-source.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { loadRules } from '../../src/pipeline/triage/load.js';
import type { RawLine } from '../../src/pipeline/types.js';
import { realisticLog } from './loggen.js';

const RING_BYTES = DEFAULT_INTAKE_RING_BYTES;
const TICK_MS = 10;

interface SendResult {
  sent: number;
  dropped_by_ring: number;
  behind_schedule: number;
  seconds: number;
}

/** The sender: `rate` lines a second for `seconds`, in 10 ms steps, to a unix socket or a UDP port. */
async function send(target: string, seconds: number, rate: number): Promise<SendResult> {
  const pool = [...realisticLog(20_000, { seed: 7 })];
  const perTick = Math.round((rate * TICK_MS) / 1000);
  const total = Math.round(rate * seconds);
  let sent = 0;
  let droppedByRing = 0;
  let k = 0;
  const t0 = Date.now();
  if (target.startsWith('udp:')) {
    const port = Number(target.slice(4));
    const s = createSocket('udp4');
    s.connect(port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate) + perTick);
      while (sent < due) {
        s.send(pool[k++ % pool.length]!);
        sent++;
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    await new Promise((r) => setTimeout(r, 200));
    s.close();
  } else {
    const c = net.createConnection(target);
    await new Promise<void>((r) => c.once('connect', () => r()));
    while (sent + droppedByRing < total) {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate) + perTick);
      const parts: string[] = [];
      while (sent + droppedByRing < due) {
        const line = pool[k++ % pool.length]!;
        // HAProxy's ring: what the socket has not taken waits there; a full ring drops the line.
        if (c.writableLength + line.length + 1 > RING_BYTES) droppedByRing++;
        else {
          parts.push(line);
          sent++;
        }
      }
      if (parts.length) c.write(parts.join('\n') + '\n');
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
    await new Promise<void>((r) => c.end(() => r()));
  }
  const secs = (Date.now() - t0) / 1000;
  return { sent, dropped_by_ring: droppedByRing, behind_schedule: Math.max(0, Math.round(secs * rate) - total), seconds: secs };
}

function sender(target: string, seconds: number, rate: number): Promise<SendResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['send', target, String(seconds), String(rate)], { execArgv: ['--import', 'tsx'] });
    child.once('message', (m) => resolve(m as SendResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`sender exited ${code}`))));
  });
}

function pipelineSink() {
  const rules = loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: null });
  const pipeline = createPipeline({ triage: createTriage(rules.rules, { isProtected: () => false }), incidents: { quietMs: 600_000, maxSamples: 10, maxOpen: 10_000 }, noveltyWarmup: 1000, maxClockSkewMs: 300_000 });
  let lines = 0;
  const onLines = (batch: RawLine[]) => {
    for (let i = 0; i < batch.length; i++) pipeline.process(batch[i]!);
    lines += batch.length;
  };
  return { onLines, lines: () => lines, pipeline };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (part: number, whole: number) => `${whole > 0 ? ((100 * part) / whole).toFixed(2) : '0.00'}%`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The daemon thread's event-loop delay over a run: p99 and max in ms. */
function loopDelay() {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return () => {
    h.disable();
    return `event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(0)} ms, max ${(h.max / 1e6).toFixed(0)} ms`;
  };
}

function rmemMax(): string {
  try {
    return `${(Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) / 1048576).toFixed(1)} MiB`;
  } catch {
    return 'unknown';
  }
}

async function intake(seconds: number, rate: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hm-bench-intake-'));
  const sink = pipelineSink();
  const src = new SocketSource({ name: 'haproxy', path: join(dir, 'log', 'haproxy.sock'), group: null }, { onLines: sink.onLines, onError: (e) => console.error(e.message) });
  try {
    await src.start();
    const load0 = load();
    const cpu0 = process.cpuUsage();
    const delay = loopDelay();
    let maxLag = 0;
    const lagTimer = setInterval(() => (maxLag = Math.max(maxLag, src.stats().lag_bytes ?? 0)), 100);
    const r = await sender(join(dir, 'log', 'haproxy.sock'), seconds, rate);
    // Until the queue is delivered (at most 30 s more).
    for (let i = 0; i < 300 && sink.lines() < r.sent; i++) await new Promise((res) => setTimeout(res, 100));
    clearInterval(lagTimer);
    const cpu = process.cpuUsage(cpu0);
    const st = src.stats();
    const offered = r.sent + r.dropped_by_ring;
    console.log(
      `intake (unix socket, ${(RING_BYTES / 1048576).toFixed(0)} MiB ring modelled), ${fmt(rate)} lines/s for ${seconds} s: offered ${fmt(offered)}, sent ${fmt(r.sent)} in ${r.seconds.toFixed(1)} s, ` +
        `received ${fmt(st.lines)} (through parse + every rule: ${fmt(sink.lines())}), lost to a full ring ${fmt(r.dropped_by_ring)} (${pct(r.dropped_by_ring, offered)}), source dropped ${st.dropped}; ` +
        `queued in the daemon at most ${(maxLag / 1048576).toFixed(1)} MiB, reading paused ${st.read_pauses} times; daemon CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ${delay()}; load average ${load0} -> ${load()}`,
    );
  } finally {
    await src.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function syslog(seconds: number, rate: number): Promise<void> {
  const sink = pipelineSink();
  // The daemon's defaults (queue, receive buffer asked for).
  const src = new SyslogSource({ name: 'haproxy', port: 0 }, { onLines: sink.onLines, onError: (e) => console.error(e.message) });
  await src.start();
  try {
    const port = src.address()!.port;
    const load0 = load();
    const cpu0 = process.cpuUsage();
    const delay = loopDelay();
    const r = await sender(`udp:${port}`, seconds, rate);
    // Until everything received is delivered (at most 30 s more).
    for (let i = 0; i < 300; i++) {
      const st = src.stats();
      if (st.lines + st.dropped >= r.sent) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const cpu = process.cpuUsage(cpu0);
    const st = src.stats();
    console.log(
      `syslog (UDP, receive buffer granted ${(src.recvBufferSize() / 1048576).toFixed(1)} MiB as Linux reports it, net.core.rmem_max ${rmemMax()}), ${fmt(rate)} lines/s for ${seconds} s: sent ${fmt(r.sent)} in ${r.seconds.toFixed(1)} s, ` +
        `received ${fmt(st.lines)}, dropped ${fmt(st.dropped)} (${pct(st.dropped, r.sent)}: queue ${fmt(st.queue_dropped)}, kernel ${fmt(st.kernel_dropped)}, as /api/monitor/status shows); ` +
        `daemon CPU (both threads) ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ${delay()}; load average ${load0} -> ${load()}`,
    );
  } finally {
    await src.stop();
  }
}

const [, , mode, a, b, c] = process.argv;
if (mode === 'send') {
  const r = await send(a!, Number(b), Number(c));
  process.send!(r, () => process.exit(0));
} else {
  const seconds = Number(mode ?? 10);
  const rate = Number(a ?? 100_000);
  const which = b ?? 'both';
  if (which !== 'syslog') await intake(seconds, rate);
  if (which !== 'intake') await syslog(seconds, rate);
}
