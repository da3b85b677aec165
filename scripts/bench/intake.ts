/**
 * The live path at a sustained rate: a sender (its own process, as HAProxy
 * is) writes realistic lines (loggen.ts realisticLog) at a fixed rate for a
 * while, and the daemon's real sources take them into the real pipeline
 * (parse, every shipped rule, incidents) on one thread. Prints what was sent,
 * received and lost. Not a test: it prints figures and asserts nothing.
 *
 *   node --import tsx scripts/bench/intake.ts [seconds=10] [rate=100000]   # both sources
 *   node --import tsx scripts/bench/intake.ts 60                           # the 60 s
 *
 * - intake: the unix stream socket HAProxy's ring forwards to (socket-source.ts).
 *   A stream loses nothing in the kernel; what HAProxy loses is what its ring
 *   (1 MiB, global.njk) cannot hold while the daemon reads too slowly. The
 *   sender models that ring: bytes the socket does not take wait in a 1 MiB
 *   buffer, and a line that does not fit is dropped and counted.
 * - syslog: the UDP listener (syslog-source.ts), one datagram a line, its
 *   receive buffer sized by the source; the kernel's drops for the socket
 *   (/proc/net/udp) are the source's `dropped`, as /api/monitor/status and
 *   source_dropped_total show them.
 */
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPipeline } from '../../src/monitor/pipeline.js';
import { SHIPPED_RULES_DIR } from '../../src/monitor/monitor.js';
import { SocketSource } from '../../src/pipeline/sources/socket-source.js';
import { SyslogSource } from '../../src/pipeline/sources/syslog-source.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { loadRules } from '../../src/pipeline/triage/load.js';
import type { RawLine } from '../../src/pipeline/types.js';
import { realisticLog } from './loggen.js';

const RING_BYTES = 1 << 20;
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

async function intake(seconds: number, rate: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hm-bench-intake-'));
  const sink = pipelineSink();
  const src = new SocketSource({ name: 'haproxy', path: join(dir, 'log', 'haproxy.sock'), group: null }, { onLines: sink.onLines, onError: (e) => console.error(e.message) });
  try {
    await src.start();
    const cpu0 = process.cpuUsage();
    const r = await sender(join(dir, 'log', 'haproxy.sock'), seconds, rate);
    await new Promise((res) => setTimeout(res, 500));
    const cpu = process.cpuUsage(cpu0);
    const st = src.stats();
    console.log(`intake (unix socket, 1 MiB ring modelled), ${fmt(rate)} lines/s for ${seconds} s: sent ${fmt(r.sent)} in ${r.seconds.toFixed(1)} s, received ${fmt(st.lines)} (through parse + every rule: ${fmt(sink.lines())}), lost to a full ring ${fmt(r.dropped_by_ring)}, source dropped ${st.dropped}; daemon CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
  } finally {
    await src.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function syslog(seconds: number, rate: number): Promise<void> {
  const sink = pipelineSink();
  const src = new SyslogSource({ name: 'haproxy', port: 0, queueSize: 200_000 }, { onLines: sink.onLines, onError: (e) => console.error(e.message) });
  await src.start();
  try {
    const port = src.address()!.port;
    const r = await sender(`udp:${port}`, seconds, rate);
    await new Promise((res) => setTimeout(res, 500));
    const st = src.stats();
    console.log(`syslog (UDP, receive buffer ${(src.recvBufferSize() / 1048576).toFixed(1)} MiB), ${fmt(rate)} lines/s for ${seconds} s: sent ${fmt(r.sent)} in ${r.seconds.toFixed(1)} s, received ${fmt(st.lines)}, dropped ${fmt(st.dropped)} (kernel and queue, as /api/monitor/status shows)`);
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
  await intake(seconds, rate);
  await syslog(seconds, rate);
}
