/**
 * What every log source (file, journald, syslog) promises the pipeline.
 * The implementations are file-source.ts, journald-source.ts and syslog-source.ts;
 * the composition root builds them from the config and wires `onLines` to parse.
 */
import type { RawLine } from '../types.js';

/**
 * A log source.
 *
 * Contract:
 * - The constructor only stores its options and dependencies; `start()` does
 *   the work (opens files, spawns journalctl, binds the socket) and resolves
 *   once the source is running. A start-up problem the source can retry (a
 *   missing file, journalctl not installed) is reported through `onError` and
 *   retried; only a configuration mistake (an address that is not loopback)
 *   rejects `start()`.
 * - Delivery is in batches: `onLines(batch)` is called synchronously from
 *   the source's I/O callback, in order, one call per batch of one or more
 *   lines (a read chunk, a journalctl output chunk, a turn of the event loop
 *   of datagrams). A batch is never empty and belongs to the consumer once
 *   the call returns. Batches are cheaper than one call per line (one call,
 *   one timestamp, one try/catch per read chunk: the file follower delivers
 *   about 5 million lines/s to an empty consumer). The hot path (parse,
 *   triage) is plain synchronous code, so there is no queue between a source
 *   and parse: a source reads no faster than the consumer returns (syslog,
 *   which cannot slow its senders down, has a bounded queue instead).
 * - The consumer owns what it does with the lines; if `onLines` throws, the
 *   error goes to `onError` and the batch counts as delivered (it is never
 *   delivered twice: a consumer that always throws must not loop forever).
 * - A source never throws out of its I/O callbacks. Every I/O error goes to
 *   `onError(e)` (a `SourceError`, with the same message at most once a
 *   minute, so a missing file does not flood the log) and the operation is
 *   retried on the next poll or after a backoff.
 * - Positions: a source that can resume (file, journald) keeps its position
 *   in the `PositionStore` under its own key, written at most every
 *   `saveIntervalMs`, when it moves to another file, and on `stop()`. After a
 *   clean `stop()` and a new `start()` with the same store no line is lost or
 *   delivered twice; after a crash, lines read since the last save are
 *   delivered again (at least once, never lost).
 * - `stop()` stops reading, saves the position, releases every descriptor,
 *   process and socket, and resolves when they are released. It is
 *   idempotent; no `onLines` call happens after it resolves.
 * - `stats()` is cheap and may be called at any time (the status API).
 */
export interface LogSource {
  /** The configured name, copied into every RawLine's `source`. */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): SourceStats;
}

/** A source's counters since it was constructed (a restart of the daemon starts them at zero). */
export interface SourceStats {
  /** Lines delivered to the consumer. */
  lines: number;
  /** Bytes read (newlines included; for journald, the MESSAGE bytes; for syslog, datagram bytes). */
  bytes: number;
  /** Lines delivered per second, averaged over the last minute (or since start when younger). */
  lines_per_second: number;
  /** The same over the last 10 seconds: what is arriving now. */
  lines_per_second_10s: number;
  /**
   * Lines that were not valid UTF-8 (delivered with U+FFFD in place of the bad
   * bytes), binary garbage (not delivered, see `dropped`), and for journald,
   * output lines that were not a JSON entry.
   */
  decode_errors: number;
  /** Lines longer than the maximum, delivered cut to it. */
  truncated: number;
  /**
   * Lines read but not delivered: binary garbage (files, journald), and for
   * syslog, datagrams dropped because the consumer fell behind (the bounded
   * queue, plus the kernel's own receive-buffer drops where /proc shows them);
   * for the intake socket, also the lines HAProxy's ring announced it
   * dropped before they reached the daemon.
   */
  dropped: number;
  /**
   * How far behind the source is, in bytes: for files, what the followed
   * files hold that was not delivered yet; for syslog, the bytes waiting in the
   * kernel receive buffer; null where it is not known (journald).
   */
  lag_bytes: number | null;
  /** When the last line was delivered (ms since epoch), or null. */
  last_line_at: number | null;
}

/** Receives a non-empty batch of lines, in order. See `LogSource`. */
export type LineSink = (lines: RawLine[]) => void;

/**
 * Where sources keep their resume positions. The daemon backs it with SQLite;
 * tests and `monitor replay` use `MemoryPositionStore`.
 *
 * Contract: `get` returns what the last `set` stored under the key, across
 * restarts for a persistent store, or null. Values are opaque strings owned
 * by the source (JSON with a version field); a value a source cannot read is
 * treated as no position. Both calls are synchronous and may throw (a full
 * disk): the source reports that through `onError` and goes on.
 */
export interface PositionStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
}

/** What every source receives at construction besides its own options. */
export interface SourceDeps {
  onLines: LineSink;
  /** Every I/O problem, as a SourceError. Must not throw (a throw is swallowed). */
  onError: (e: SourceError) => void;
  /** Absent: positions are not saved and a start begins where the source's `startAt` says. */
  positions?: PositionStore;
}

export type SourceErrorCode =
  | 'io' // a read, open, stat or socket error; retried
  | 'position' // a saved position could not be used or saved
  | 'process' // journalctl could not start or exited; restarted with backoff
  | 'consumer'; // onLines threw

export class SourceError extends Error {
  readonly source: string;
  readonly code: SourceErrorCode;

  constructor(source: string, code: SourceErrorCode, message: string, cause?: unknown) {
    super(`${source}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'SourceError';
    this.source = source;
    this.code = code;
  }
}

/** A PositionStore in memory: for tests, replay, and a daemon without a database. */
export class MemoryPositionStore implements PositionStore {
  readonly values = new Map<string, string>();
  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }
  set(key: string, value: string): void {
    this.values.set(key, value);
  }
}
