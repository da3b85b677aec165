/**
 * What the three sources share: counters with line rates over one minute and ten seconds,
 * delivery that a throwing consumer cannot break, and error reporting that
 * does not repeat the same message more than once a minute.
 */
import type { RawLine } from '../types.js';
import { SourceError, type SourceDeps, type SourceErrorCode, type SourceStats } from './source.js';

const WINDOW_S = 60;
const REPEAT_MS = 60_000;

export class SourceCounters {
  lines = 0;
  bytes = 0;
  decode_errors = 0;
  truncated = 0;
  dropped = 0;
  last_line_at: number | null = null;
  private readonly perSecond = new Float64Array(WINDOW_S);
  private readonly secondOf = new Float64Array(WINDOW_S).fill(-1);
  private readonly startedMs: number;

  constructor(now = Date.now()) {
    this.startedMs = now;
  }

  delivered(n: number, now: number): void {
    this.lines += n;
    this.last_line_at = now;
    const s = Math.floor(now / 1000);
    const i = s % WINDOW_S;
    if (this.secondOf[i] !== s) {
      this.secondOf[i] = s;
      this.perSecond[i] = 0;
    }
    this.perSecond[i] = (this.perSecond[i] ?? 0) + n;
  }

  /**
   * Lines per second over the last `windowS` seconds (at most a minute): the
   * lines of the seconds in the window, the current one included, divided by
   * the exact time the window spans up to `now` (or since start when younger),
   * so a burst shows at its rate rather than diluted by whole idle seconds.
   */
  linesPerSecond(now: number, windowS = WINDOW_S): number {
    const w = Math.min(WINDOW_S, Math.max(1, windowS));
    const s = Math.floor(now / 1000);
    let sum = 0;
    for (let i = 0; i < WINDOW_S; i++) {
      const at = this.secondOf[i] ?? -1;
      if (at > s - w && at <= s) sum += this.perSecond[i] ?? 0;
    }
    const from = Math.max(this.startedMs, (s - w + 1) * 1000);
    const spanS = Math.max(1, now - from) / 1000;
    return Math.round((sum / Math.max(spanS, 0.001)) * 10) / 10;
  }

  snapshot(lagBytes: number | null, now = Date.now()): SourceStats {
    return {
      lines: this.lines,
      bytes: this.bytes,
      lines_per_second: this.linesPerSecond(now),
      lines_per_second_10s: this.linesPerSecond(now, 10),
      decode_errors: this.decode_errors,
      truncated: this.truncated,
      dropped: this.dropped,
      lag_bytes: lagBytes,
      last_line_at: this.last_line_at,
    };
  }
}

/** Delivery and error reporting for one source. */
export class SourceOutput {
  private readonly lastReported = new Map<string, number>();

  constructor(
    private readonly name: string,
    private readonly deps: SourceDeps,
    readonly counters: SourceCounters,
  ) {}

  /** Hands a batch to the consumer; a throw is reported, the batch counts as delivered. */
  deliver(batch: RawLine[], now: number): void {
    if (batch.length === 0) return;
    this.counters.delivered(batch.length, now);
    try {
      this.deps.onLines(batch);
    } catch (e) {
      this.error('consumer', `the consumer threw on a batch of ${batch.length} lines: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }

  /** Reports an error, the same message at most once a minute. */
  error(code: SourceErrorCode, message: string, cause?: unknown): void {
    const now = Date.now();
    const key = `${code}:${message}`;
    const last = this.lastReported.get(key);
    if (last !== undefined && now - last < REPEAT_MS) return;
    if (this.lastReported.size > 200) this.lastReported.clear();
    this.lastReported.set(key, now);
    try {
      this.deps.onError(new SourceError(this.name, code, message, cause));
    } catch {
      // onError must not throw; if it does, there is nowhere left to report it.
    }
  }

  /** Saves a position; a failing store is reported, never thrown. */
  savePosition(key: string, value: string): void {
    if (!this.deps.positions) return;
    try {
      this.deps.positions.set(key, value);
    } catch (e) {
      this.error('position', `cannot save the position: ${errMessage(e)}`, e);
    }
  }

  loadPosition(key: string): string | null {
    if (!this.deps.positions) return null;
    try {
      return this.deps.positions.get(key);
    } catch (e) {
      this.error('position', `cannot read the saved position: ${errMessage(e)}`, e);
      return null;
    }
  }
}

export function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
