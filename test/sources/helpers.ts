/**
 * Helpers for the source tests: temp directories, a JSON-file PositionStore
 * (what the daemon's SQLite store does, minus SQLite), a collecting sink, a
 * concurrent log writer process, and polling waits.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RawLine } from '../../src/pipeline/types.js';
import type { PositionStore, SourceDeps, SourceError } from '../../src/pipeline/sources/source.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `hm-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A PositionStore in a JSON file, rewritten on every set (a restart reads it back). */
export class JsonFilePositionStore implements PositionStore {
  constructor(readonly file: string) {}
  private load(): Record<string, string> {
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>) : {};
  }
  get(key: string): string | null {
    return this.load()[key] ?? null;
  }
  set(key: string, value: string): void {
    const all = this.load();
    all[key] = value;
    writeFileSync(this.file, JSON.stringify(all));
  }
}

/** Collects what a source delivers and reports. */
export class Collector {
  readonly lines: RawLine[] = [];
  readonly errors: SourceError[] = [];
  batches = 0;
  /** Called after each batch is recorded (a test can stop the source from here). */
  afterBatch: ((c: Collector) => void) | null = null;

  deps(positions?: PositionStore): SourceDeps {
    return {
      onLines: (batch) => {
        this.batches++;
        for (const l of batch) this.lines.push(l);
        this.afterBatch?.(this);
      },
      onError: (e) => {
        this.errors.push(e);
      },
      ...(positions ? { positions } : {}),
    };
  }

  texts(): string[] {
    return this.lines.map((l) => l.line);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms; rejects with `what` and the last state after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(10);
  }
}

export interface WriterOptions {
  path: string;
  from: number;
  count: number;
  batch: number;
  rotateEvery?: number;
  mode?: 'none' | 'rename' | 'copytruncate';
  keep?: number;
  pauseMs?: number;
  sleepEvery?: number;
}

/** Runs fixtures/log-writer.mjs as its own process; resolves when it has written everything. */
export function runWriter(o: WriterOptions): Promise<void> {
  const args = { mode: 'none', rotateEvery: Number.MAX_SAFE_INTEGER, keep: 3, ...o };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(FIXTURES, 'log-writer.mjs'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && out.startsWith('done') ? resolve() : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

/** The writer's line for a sequence number (see fixtures/log-writer.mjs). */
export function writerLine(seq: number): string {
  return `${String(seq).padStart(7, '0')} ${'abcdefghij'.repeat(1 + (seq % 13))}${'é'.repeat(seq % 3)}`;
}

/**
 * Checks that `lines` are exactly the writer's lines from..from+count-1, each once, in order.
 * Returns a description of what is wrong, or null.
 */
export function checkSequence(lines: string[], from: number, count: number): string | null {
  const seen = new Map<number, number>();
  const problems: string[] = [];
  let prev = -1;
  let outOfOrder = 0;
  for (const l of lines) {
    const seq = Number(l.slice(0, 7));
    if (l !== writerLine(seq)) {
      problems.push(`mangled line ${JSON.stringify(l.slice(0, 80))}`);
      continue;
    }
    seen.set(seq, (seen.get(seq) ?? 0) + 1);
    if (seq <= prev) outOfOrder++;
    prev = seq;
  }
  const missing: number[] = [];
  const doubled: number[] = [];
  for (let s = from; s < from + count; s++) {
    const n = seen.get(s) ?? 0;
    if (n === 0) missing.push(s);
    if (n > 1) doubled.push(s);
  }
  const extra = [...seen.keys()].filter((s) => s < from || s >= from + count);
  if (missing.length) problems.push(`${missing.length} missing (first ${missing.slice(0, 5).join(', ')})`);
  if (doubled.length) problems.push(`${doubled.length} doubled (first ${doubled.slice(0, 5).join(', ')})`);
  if (extra.length) problems.push(`${extra.length} unexpected (first ${extra.slice(0, 5).join(', ')})`);
  if (outOfOrder) problems.push(`${outOfOrder} out of order`);
  return problems.length ? problems.slice(0, 6).join('; ') : null;
}
