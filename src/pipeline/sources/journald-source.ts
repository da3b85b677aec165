/**
 * Reads the systemd journal through `journalctl -f -o json`, for hosts where
 * HAProxy (or an application) logs only to the journal.
 *
 * - Command: `journalctl -f -o json --no-pager --all --output-fields=MESSAGE
 *   [-u unit ...] (--after-cursor <cursor> | --lines=0 | --no-tail)`.
 *   `--output-fields` keeps the JSON small (journalctl always adds __CURSOR
 *   and __REALTIME_TIMESTAMP); `--all` makes journalctl print messages over
 *   4096 bytes instead of null (they are cut to maxLineBytes here).
 * - Each entry's MESSAGE becomes one RawLine (one per line if it holds
 *   newlines). journalctl prints MESSAGE as a string when it is printable
 *   UTF-8 and as an array of byte values otherwise: those bytes go through
 *   the same decoding as file lines (U+FFFD, binary garbage dropped).
 *   __REALTIME_TIMESTAMP (microseconds) is the line's receivedAt.
 * - Position: the __CURSOR of the last delivered entry, saved as
 *   `{"v":1,"cursor":...}`; a restart (of journalctl or of the daemon)
 *   passes `--after-cursor` so nothing is delivered twice. Without a saved
 *   cursor, `startAt` decides: "end" (`--lines=0`, the default) or
 *   "beginning" (`--no-tail`: everything journalctl -f would show).
 * - journalctl exiting (or failing to start) is reported and it is started
 *   again after a backoff (doubling from `restartMinMs` to `restartMaxMs`,
 *   back to the minimum once it has delivered an entry). If it fails three
 *   times in a row without output while given a saved cursor (a cursor the
 *   journal no longer accepts), the cursor is dropped, reported, and
 *   `startAt` applies.
 *
 * Limits: `journalctl -f` follows the current boot only, so entries of a
 * previous boot written after the saved cursor (the last lines before a
 * reboot) are not read; a cursor vacuumed out of the journal makes
 * journalctl start from the oldest entry it still has (possible repeats
 * are impossible to tell from new entries). lag_bytes is not known (null).
 *
 * Tests: journald cannot run in a container without systemd as PID 1, so the
 * tests put a fake `journalctl` first on PATH (test/sources/fixtures/
 * fake-journalctl.mjs): it prints recorded JSON entries, honours the
 * arguments above, follows its journal file, and can exit on demand. It is
 * the one faked party of the source tests; the argument set was checked
 * against the real journalctl (systemd 252) here, which accepts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { RawLine, SourceFormat } from '../types.js';
import { LineSplitter, type SplitCounters } from './line-splitter.js';
import { SourceCounters, SourceOutput, errMessage } from './source-base.js';
import type { LogSource, SourceDeps, SourceStats } from './source.js';
import { exponentialDelay } from '../../util/backoff.js';
import { childEnv } from '../../util/child-env.js';

export interface JournaldSourceOptions {
  name: string;
  format: SourceFormat;
  /** Units to read (`-u`); none: the whole journal. */
  units?: string[];
  /** The journalctl executable; default "journalctl", found on PATH. */
  journalctl?: string;
  /** Where to start without a saved cursor. Default "end". */
  startAt?: 'end' | 'beginning';
  /** Longer lines are cut to this many bytes and counted. Default 64 KiB. */
  maxLineBytes?: number;
  /** First restart delay after journalctl exits. Default 1 s. */
  restartMinMs?: number;
  /** Longest restart delay. Default 30 s. */
  restartMaxMs?: number;
  /** Save the cursor at most this often. Default 1 s. */
  saveIntervalMs?: number;
  /** Key in the PositionStore. Default `journald:<name>`. */
  positionKey?: string;
}

const FAILURES_BEFORE_DROPPING_CURSOR = 3;
const STDERR_TAIL = 2048;

export class JournaldSource implements LogSource {
  readonly name: string;
  private readonly o: Required<JournaldSourceOptions>;
  private readonly out: SourceOutput;
  private readonly counters: SourceCounters;
  private child: ChildProcess | null = null;
  private childExited: Promise<void> = Promise.resolve();
  private running = false;
  private cursor: string | null = null;
  private savedCursor: string | null = null;
  private lastSaveAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private gotOutput = false;
  /** Splits journalctl's stdout into JSON lines; its own counters, not the source's. */
  private stdoutSplitter: LineSplitter;
  private readonly jsonCounters: SplitCounters = { decode_errors: 0, truncated: 0, dropped: 0 };
  private readonly messageSplitter: LineSplitter;

  constructor(options: JournaldSourceOptions, deps: SourceDeps) {
    this.name = options.name;
    this.o = {
      units: [],
      journalctl: 'journalctl',
      startAt: 'end',
      maxLineBytes: 64 * 1024,
      restartMinMs: 1000,
      restartMaxMs: 30_000,
      saveIntervalMs: 1000,
      positionKey: `journald:${options.name}`,
      ...options,
    };
    this.counters = new SourceCounters();
    this.out = new SourceOutput(this.name, deps, this.counters);
    this.stdoutSplitter = this.newStdoutSplitter();
    this.messageSplitter = new LineSplitter(this.o.maxLineBytes, this.counters);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.cursor = readCursor(this.out.loadPosition(this.o.positionKey));
    this.savedCursor = this.cursor;
    this.spawnJournalctl();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.save();
    const child = this.child;
    if (child) {
      child.stdout?.removeAllListeners('data');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await this.childExited;
      clearTimeout(killer);
    }
  }

  stats(): SourceStats {
    return this.counters.snapshot(null);
  }

  /** The arguments for the next run of journalctl. */
  args(): string[] {
    const a = ['-f', '-o', 'json', '--no-pager', '--all', '--output-fields=MESSAGE'];
    for (const u of this.o.units) a.push('-u', u);
    if (this.cursor !== null) a.push('--after-cursor', this.cursor);
    else a.push(this.o.startAt === 'end' ? '--lines=0' : '--no-tail');
    return a;
  }

  private spawnJournalctl(): void {
    if (!this.running) return;
    this.gotOutput = false;
    this.stdoutSplitter = this.newStdoutSplitter();
    let stderr = '';
    let child: ChildProcess;
    try {
      child = spawn(this.o.journalctl, this.args(), { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
    } catch (e) {
      this.out.error('process', `cannot start ${this.o.journalctl}: ${errMessage(e)}`, e);
      this.scheduleRestart();
      return;
    }
    this.child = child;
    let exited!: () => void;
    this.childExited = new Promise<void>((r) => (exited = r));
    let spawnError: Error | null = null;
    child.stdout!.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.on('error', (e) => {
      // ENOENT (not installed) or EACCES: 'close' follows.
      spawnError = e;
    });
    child.on('close', (code, signal) => {
      this.child = null;
      exited();
      if (!this.running) return;
      const why = spawnError
        ? `cannot start ${this.o.journalctl}: ${spawnError.message}`
        : `journalctl exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      this.out.error('process', `${why}; restarting`, spawnError ?? undefined);
      if (this.gotOutput) this.failures = 0;
      else this.failures++;
      if (!this.gotOutput && this.cursor !== null && this.failures >= FAILURES_BEFORE_DROPPING_CURSOR && !spawnError) {
        this.out.error('position', `journalctl failed ${this.failures} times with --after-cursor; dropping the saved cursor (start: ${this.o.startAt})`);
        this.cursor = null;
        this.failures = 0;
      }
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    if (!this.running) return;
    const delay = exponentialDelay(this.failures, { baseMs: this.o.restartMinMs, maxMs: this.o.restartMaxMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.spawnJournalctl();
    }, delay);
  }

  private onStdout(chunk: Buffer): void {
    if (!this.running) return;
    try {
      const jsonLines: string[] = [];
      this.stdoutSplitter.push(chunk, jsonLines);
      const now = Date.now();
      const batch: RawLine[] = [];
      for (const j of jsonLines) this.entry(j, now, batch);
      if (jsonLines.length > 0) {
        this.gotOutput = true;
        this.failures = 0;
      }
      this.out.deliver(batch, now);
      if (this.cursor !== this.savedCursor && now - this.lastSaveAt >= this.o.saveIntervalMs) this.save();
    } catch (e) {
      this.out.error('io', `reading journalctl's output: ${errMessage(e)}`, e);
    }
  }

  /** One journal entry (a JSON line) to RawLines appended to `batch`. */
  private entry(json: string, now: number, batch: RawLine[]): void {
    let e: unknown;
    try {
      e = JSON.parse(json);
    } catch {
      this.counters.decode_errors++;
      return;
    }
    if (!e || typeof e !== 'object' || Array.isArray(e)) {
      this.counters.decode_errors++;
      return;
    }
    const entry = e as Record<string, unknown>;
    if (typeof entry.__CURSOR === 'string') this.cursor = entry.__CURSOR;
    const at = realtime(entry.__REALTIME_TIMESTAMP) ?? now;
    const texts: string[] = [];
    for (const bytes of messageBytes(entry.MESSAGE)) {
      this.counters.bytes += bytes.length;
      this.messageSplitter.push(bytes, texts);
      this.messageSplitter.flush(texts);
    }
    if (entry.MESSAGE === null) this.counters.dropped++; // journalctl without --all prints null for large fields
    for (const line of texts) batch.push({ source: this.name, line, format: this.o.format, receivedAt: at });
  }

  private save(): void {
    this.lastSaveAt = Date.now();
    if (this.cursor === null || this.cursor === this.savedCursor) return;
    this.savedCursor = this.cursor;
    this.out.savePosition(this.o.positionKey, JSON.stringify({ v: 1, cursor: this.cursor }));
  }

  private newStdoutSplitter(): LineSplitter {
    // A JSON line carries the message escaped (up to 6 bytes a byte as \uXXXX, more as a byte array) plus the other fields.
    return new LineSplitter(this.o.maxLineBytes * 8 + 64 * 1024, this.jsonCounters);
  }
}

function readCursor(value: string | null): string | null {
  if (value === null) return null;
  try {
    const v = JSON.parse(value) as { v?: unknown; cursor?: unknown };
    return v.v === 1 && typeof v.cursor === 'string' && v.cursor !== '' ? v.cursor : null;
  } catch {
    return null;
  }
}

function realtime(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d{1,19}$/.test(v)) return null;
  return Math.floor(Number(v) / 1000);
}

/** MESSAGE as journalctl prints it: a string, an array of byte values, or (a field set more than once) an array of those. */
function messageBytes(m: unknown): Buffer[] {
  if (typeof m === 'string') return [Buffer.from(m, 'utf8')];
  if (!Array.isArray(m)) return [];
  if (m.every((b) => typeof b === 'number')) return [Buffer.from(m.map((b) => (b as number) & 0xff))];
  return m.flatMap((x) => messageBytes(x));
}
