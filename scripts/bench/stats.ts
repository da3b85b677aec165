/** Figures and tables shared by the benchmark scripts. */
import { availableParallelism, loadavg } from 'node:os';

export const t = () => performance.now();
export const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
export const secs = (v: number) => (Number.isNaN(v) ? '-' : (v / 1000).toFixed(2));
export const int = (v: number) => v.toLocaleString('en-US');
export const loadAvg = () => `${loadavg().map((x) => x.toFixed(2)).join(' ')} (${availableParallelism()} cores)`;

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
export const median = (xs: number[]) => quantile(xs, 0.5);
export const p95 = (xs: number[]) => quantile(xs, 0.95);
export const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
export const min = (xs: number[]) => (xs.length ? Math.min(...xs) : NaN);
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A text table: first column left-aligned, the others right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '  ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), '  ' + w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The HAProxy versions to run: all, or those named in BENCH_VERSIONS (e.g. "3.0"). */
export function selectedVersions<T extends { name: string }>(all: T[]): T[] {
  const want = process.env.BENCH_VERSIONS?.split(',').map((s) => s.trim());
  return all.filter((h) => !want || want.some((w) => h.name.endsWith(w)));
}

/** The closing lines of a benchmark: its findings, its total time and the load it ran under. */
export function printFindings(findings: string[], elapsed: string): void {
  if (findings.length) {
    console.log('\nFindings:');
    for (const f of findings) console.log(`  - ${f}`);
  } else console.log('\nFindings: none beyond the figures above.');
  console.log(`\nTotal benchmark time: ${elapsed}; load average now ${loadAvg()}`);
}

/** A benchmark's clock and its progress lines on stderr: `[name 12s] message`. */
export function progressClock(name: string): { elapsed: () => string; progress: (msg: string) => void } {
  const started = t();
  const elapsed = () => `${((t() - started) / 1000).toFixed(0)}s`;
  return { elapsed, progress: (msg) => process.stderr.write(`[${name} ${elapsed()}] ${msg}\n`) };
}
