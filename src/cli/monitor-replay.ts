/**
 * `haproxy-manager monitor replay <file>`: the live pipeline (parse, triage,
 * incidents) over a file, as fast as it can, acting on nothing. Windows run on
 * the time in the lines, so the incidents are the ones live monitoring would
 * have opened. With --json: one JSON object per incident, one per line, at the
 * end; without: a progress line while it runs and a readable summary.
 */
import { createReadStream } from 'node:fs';
import { configSchema, type Config } from '../config/schema.js';
import { pipelineFromConfig } from '../monitor/pipeline.js';
import { SHIPPED_RULES_DIR } from '../monitor/monitor.js';
import { readLines } from './replay-lines.js';
import { ipInRange } from '../validate/ip.js';
import type { Incident } from '../pipeline/incidents/group.js';
import type { SourceFormat } from '../pipeline/types.js';

export interface ReplayOptions {
  input: string;
  format: SourceFormat;
  /** A rules directory to use instead of the shipped one (and the operator's). */
  rulesDir?: string;
  /** The operator's settings (monitor windows, rules directory, protected ranges); the defaults without one. */
  cfg?: Pick<Config, 'monitor' | 'network' | 'remediation' | 'redaction'>;
  json: boolean;
  write?: (s: string) => void;
  progress?: (s: string) => void;
  stdin?: NodeJS.ReadableStream;
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
  const write = o.write ?? ((s: string) => void process.stdout.write(s));
  const cfg = o.cfg ?? configSchema.parse({});
  // Never a block subject, as live: local ranges and the configured protected addresses.
  const protectedRanges = [...cfg.network.local_ranges, ...cfg.remediation.protected];
  const all: Incident[] = [];
  const { pipeline } = pipelineFromConfig(cfg, { shippedRulesDir: SHIPPED_RULES_DIR, ...(o.rulesDir ? { rulesDir: o.rulesDir } : {}), isProtected: (ip) => protectedRanges.some((r) => ipInRange(ip, r)) });
  // Bytes in large chunks, cut into lines without readline (replay-lines.ts): the same lines, a fraction of the cost.
  const input = o.input === '-' ? (o.stdin ?? process.stdin) : createReadStream(o.input, { highWaterMark: 1 << 20 });
  const t0 = Date.now();
  let n = 0;
  let lastProgress = t0;
  let lastTick = 0;
  const receivedAt = Date.now();
  await readLines(input, (lines) => {
    for (let k = 0; k < lines.length; k++) {
      pipeline.process({ source: 'replay', line: lines[k] as string, format: o.format, receivedAt });
      n++;
      // Quiet incidents resolve as they would live (the monitor ticks every second): on every second of log time.
      if (pipeline.clock() - lastTick >= 1000) {
        lastTick = pipeline.clock();
        pipeline.tick();
        for (const i of pipeline.incidents.drainChanged()) if (i.status === 'resolved') all.push(i);
      }
    }
    if (o.progress && Date.now() - lastProgress > 500) {
      lastProgress = Date.now();
      o.progress(`\r${n.toLocaleString('en-US')} lines, ${Math.round(n / ((Date.now() - t0) / 1000)).toLocaleString('en-US')} lines/s, ${pipeline.incidents.stats().opened} incidents`);
    }
  });
  pipeline.tick();
  for (const i of pipeline.incidents.drainChanged()) if (i.status === 'resolved') all.push(i);
  all.push(...pipeline.incidents.openIncidents());
  const unique = [...new Set(all)].sort((a, b) => a.firstSeen - b.firstSeen || a.rule.localeCompare(b.rule));
  if (o.progress) o.progress('\n');
  if (o.json) {
    for (const i of unique) write(JSON.stringify(incidentJson(i)) + '\n');
  } else {
    const secs = (Date.now() - t0) / 1000;
    const st = pipeline.stats();
    write(`${n} lines in ${secs.toFixed(2)} s (${Math.round(n / Math.max(secs, 0.001))} lines/s), ${st.unparsed} unparsed, ${unique.length} incidents\n`);
    for (const i of unique) {
      write(`${i.severity.padEnd(8)} ${i.rule.padEnd(28)} ${i.subject.type}:${i.subject.value}  x${i.count}  ${new Date(i.firstSeen).toISOString()} .. ${new Date(i.lastSeen).toISOString()}${i.actions.length ? `  suggests ${i.actions.map((a) => a.type + (a.ttl_s ? `(${a.ttl_s}s)` : '')).join(',')}` : ''}\n`);
    }
  }
  return { lines: n, incidents: unique.length };
}
