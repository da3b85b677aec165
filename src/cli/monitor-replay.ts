/**
 * `haproxy-manager monitor replay <file>`: the live pipeline (parse, triage,
 * incidents) over a file, as fast as it can, acting on nothing. Windows run on
 * the time in the lines, so the incidents are the ones live monitoring would
 * have opened. With --json: one JSON object per incident, one per line, at the
 * end; without: a readable summary. On a terminal (stderr a TTY, never a
 * pipe) a progress bar runs meanwhile: bytes of a file, lines of stdin.
 */
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { configSchema, type Config } from '../config/schema.js';
import { pipelineFromConfig } from '../monitor/pipeline.js';
import { SHIPPED_RULES_DIR } from '../monitor/monitor.js';
import { readLines } from './replay-lines.js';
import { replaySharded } from './replay-shards.js';
import { durationMs } from '../util/duration.js';
import { inAnyRange } from '../validate/ip.js';
import type { Incident } from '../pipeline/incidents/group.js';
import type { SourceFormat } from '../pipeline/types.js';
import { bufferedWriter } from './output.js';
import type { Progress } from './progress.js';

export interface ReplayOptions {
  input: string;
  format: SourceFormat;
  /** A rules directory to use instead of the shipped one (and the operator's). */
  rulesDir?: string;
  /** The operator's rules directory over the shipped one (instead of cfg.monitor.rules_dir). */
  operatorRulesDir?: string;
  /** The operator's settings (monitor windows, rules directory, protected ranges); the defaults without one. */
  cfg?: Pick<Config, 'monitor' | 'network' | 'remediation' | 'redaction'>;
  json: boolean;
  /** Where output goes (default: process.stdout, waiting for a slow reader). */
  write?: (s: string) => void;
  /** Drawn while it runs (progress.ts; draws only on a terminal). */
  progress?: Progress;
  stdin?: NodeJS.ReadableStream;
  /** Worker threads for parse and triage (replay-shards.ts); 1 (the default): all in this thread. Only the haproxy format is sharded. */
  threads?: number;
}

export function incidentJson(i: Incident) {
  return {
    rule: i.rule,
    category: i.category,
    severity: i.severity,
    subject: i.subject,
    first_seen: new Date(i.firstSeen).toISOString(),
    last_seen: new Date(i.lastSeen).toISOString(),
    count: i.count,
    actions: i.actions,
  };
}

export async function runReplay(o: ReplayOptions): Promise<{ lines: number; incidents: number }> {
  const sink = o.write ? null : bufferedWriter(process.stdout);
  const write = o.write ?? ((s: string) => sink!.write(s));
  const base = o.cfg ?? configSchema.parse({});
  const cfg = o.operatorRulesDir ? { ...base, monitor: { ...base.monitor, rules_dir: o.operatorRulesDir } } : base;
  // Never a block subject, as live: local ranges and the configured protected addresses.
  const protectedRanges = [...cfg.network.local_ranges, ...cfg.remediation.protected];
  const all: Incident[] = [];
  const { pipeline, specs } = pipelineFromConfig(cfg, { shippedRulesDir: SHIPPED_RULES_DIR, ...(o.rulesDir ? { rulesDir: o.rulesDir } : {}), isProtected: inAnyRange(protectedRanges) });
  const fromFile = o.input !== '-';
  const total = fromFile && o.progress?.active ? statSync(o.input).size : null;
  // Bytes read so far (for the progress bar of a file).
  let done = 0;
  const t0 = Date.now();
  let n = 0;
  let lastTick = 0;
  const receivedAt = Date.now();
  // After each line: quiet incidents resolve as they would live (the monitor ticks every second), on every second of log time.
  const afterLine = () => {
    if (pipeline.clock() - lastTick >= 1000) {
      lastTick = pipeline.clock();
      pipeline.tick();
      for (const i of pipeline.incidents.drainChanged()) if (i.status === 'resolved') all.push(i);
    }
  };
  const progress = () => {
    if (!o.progress?.active) return;
    const note = `${n.toLocaleString('en-US')} lines, ${Math.round(n / Math.max((Date.now() - t0) / 1000, 0.001)).toLocaleString('en-US')} lines/s, ${pipeline.incidents.stats().opened} incidents`;
    if (total !== null) o.progress.update(done, total, note);
    else o.progress.update(n, null, note);
  };
  let unparsed: number | null = null;
  const threads = o.threads ?? 1;
  // A file is read through its handle into buffers used again (replay-lines.ts, replay-blocks.ts), not a read stream.
  const handle = fromFile ? await open(o.input, 'r') : null;
  const input = handle ?? o.stdin ?? process.stdin;
  try {
    if (threads > 1 && o.format === 'haproxy') {
      const maxAheadMs = durationMs(cfg.monitor.max_clock_skew);
      const r = await replaySharded(
        input,
        pipeline,
        { shards: threads, rules: specs, protectedRanges, receivedAt, maxAheadMs },
        afterLine,
        (lines, bytes) => {
          n += lines;
          done += bytes;
          progress();
        },
      );
      unparsed = r.unparsed;
    } else {
      // Bytes in large chunks, cut into lines without readline (replay-lines.ts): the same lines, a fraction of the cost.
      await readLines(input, (lines, bytes) => {
        for (let k = 0; k < lines.length; k++) {
          pipeline.process({ source: 'replay', line: lines[k] as string, format: o.format, receivedAt });
          n++;
          afterLine();
        }
        done += bytes;
        progress();
      });
    }
  } finally {
    await handle?.close();
  }
  pipeline.tick();
  for (const i of pipeline.incidents.drainChanged()) if (i.status === 'resolved') all.push(i);
  all.push(...pipeline.incidents.openIncidents());
  const unique = [...new Set(all)].sort((a, b) => a.firstSeen - b.firstSeen || a.rule.localeCompare(b.rule));
  o.progress?.end();
  if (o.json) {
    for (const i of unique) await write(JSON.stringify(incidentJson(i)) + '\n');
  } else {
    const secs = (Date.now() - t0) / 1000;
    const st = pipeline.stats();
    await write(`${n} lines in ${secs.toFixed(2)} s (${Math.round(n / Math.max(secs, 0.001))} lines/s), ${unparsed ?? st.unparsed} unparsed, ${unique.length} incidents\n`);
    for (const i of unique) {
      await write(`${i.severity.padEnd(8)} ${i.rule.padEnd(28)} ${i.subject.type}:${i.subject.value}  x${i.count}  ${new Date(i.firstSeen).toISOString()} .. ${new Date(i.lastSeen).toISOString()}${i.actions.length ? `  suggests ${i.actions.map((a) => a.type + (a.ttl_s ? `(${a.ttl_s}s)` : '')).join(',')}` : ''}\n`);
    }
  }
  await sink?.end();
  return { lines: n, incidents: unique.length };
}
