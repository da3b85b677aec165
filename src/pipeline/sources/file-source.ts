/**
 * Follows a log file: across rename rotation (logrotate `create`) and
 * `copytruncate`, through deletion and re-creation, and from a saved
 * position after a restart, delivering every line once.
 *
 * Why not a library. The design named the `tail` package; its 2.2.6 release
 * loses lines on rotation (it drops its queue on a rename and re-watches at
 * the old offset a second later; on copytruncate it jumps to the current
 * size: see ../shared/docs/test-infra.md). `@logdna/tail-file` (4.x) drains
 * the old descriptor after a rename and would be lossless there, but it
 * follows one name from one start position (`startPos`): it cannot resume
 * into `path.1` after a rotation that happened while the daemon was stopped,
 * cannot tell a replaced file from the one it read (no inode or head
 * fingerprint to save), and after a copytruncate it goes on from the start
 * of the truncated file, so what it had not read yet (now only in the copy)
 * is lost. It hands out raw chunks, so line splitting, the length cap and
 * the offset of the last complete line would be ours anyway. What remains
 * of a library is a poll loop, which is short; so this is written on
 * node:fs: reads by offset on descriptors it holds, `fs.watch` on the
 * directory for latency, and a poll (every `pollIntervalMs`) that alone is
 * enough when watching is unavailable (NFS, some container filesystems).
 * The rotation tests (test/sources/file-rotation.test.ts) are the proof:
 * 100,000 lines across rename and copytruncate rotations, none lost or
 * doubled, with and without fs.watch.
 *
 * How each case is handled:
 * - Rename (`create`): the path names a new inode. The old descriptor is
 *   kept and read to its end, and read again on each poll until it has not
 *   grown for `rotateWaitMs` (HAProxy or an app writes to it until it
 *   reopens its log); the new file is read from its start. Rotated files
 *   we have never seen (several rotations between two polls, or a file
 *   that appeared and rotated before we looked) are read in between,
 *   oldest (highest number) first; "seen" is by inode and first bytes,
 *   and everything present at start-up counts as seen.
 * - copytruncate: the file shrank, or its first bytes changed. The copy
 *   (`path.k`, found by its first bytes) is read from our offset to its
 *   end, which recovers lines written before the copy but not read yet;
 *   newer copies are read whole; then the file from its start. When the
 *   file was empty at the last poll its content cannot show a truncation,
 *   so a copy never seen that does not start as the file does counts as
 *   one. Limit, by design of copytruncate: bytes written between
 *   logrotate's copy and its truncation are in neither file.
 * - Deleted: the open descriptor is drained as for a rename; a file created
 *   later at the path is read from its start. A file that appears after
 *   start-up is read from its start as well.
 * - Restart: the position (per file: inode, device, offset of the last
 *   complete line, sha256 of the first up-to-1024 bytes) is saved in the
 *   PositionStore. On start, each saved file is looked for at the path and
 *   `path.1` .. `path.N` (by inode and head, then by head alone for a
 *   copytruncate copy); it is read from its offset, any newer rotations from
 *   their start, then the path. When no saved file is found (deleted, or
 *   compressed away) the path is read from its start and this is reported.
 * - Lines: see LineSplitter (length cap, U+FFFD, binary garbage). A partial
 *   last line is held until its newline, or delivered after
 *   `flushPartialAfterMs` without growth (its rest, if it comes later, is
 *   then a line of its own). The saved offset excludes a held partial line.
 *
 * Limits: rotations named otherwise than `path.N` (dateext) or compressed
 * before we read them (`compress` without `delaycompress`) cannot be found
 * after a restart; a copytruncate that leaves the first 1024 bytes identical
 * is not seen until the file shrinks; reads are synchronous (fast on local
 * disks and the page cache, and bounded per turn of the event loop).
 */
import { closeSync, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { RawLine, SourceFormat } from '../types.js';
import { LineSplitter } from './line-splitter.js';
import {
  HEAD_BYTES,
  decodePositions,
  encodePositions,
  fingerprint,
  headBytesMatch,
  readHead,
  readHeadOf,
  rotationCandidates,
  statOrNull,
  type FilePosition,
  type RotationCandidate,
} from './file-position.js';
import { SEEN_HEAD_BYTES, SeenFiles, fileIdOf, planResume } from './file-rotations.js';
import { SourceCounters, SourceOutput, errMessage } from './source-base.js';
import type { LogSource, SourceDeps, SourceStats } from './source.js';

export interface FileSourceOptions {
  /** The source's name, copied into every RawLine. */
  name: string;
  path: string;
  format: SourceFormat;
  /** Longer lines are cut to this many bytes and counted. Default 64 KiB. */
  maxLineBytes?: number;
  /** Where to start a file that exists at start-up when no position is saved: its end (default, like `tail -f`) or its beginning. Files that appear or rotate in later are always read from their beginning. */
  startAt?: 'end' | 'beginning';
  /** Poll period; also the latency when fs.watch is unavailable. Default 250 ms. */
  pollIntervalMs?: number;
  /** Deliver a partial last line after this long without growth. Default 5 s. */
  flushPartialAfterMs?: number;
  /** Keep reading a rotated-away or deleted file until it has not grown for this long. Default 5 s. */
  rotateWaitMs?: number;
  /** How many numbered rotations (`path.1` ..) to look at. Default 5. */
  rotations?: number;
  /** Save the position at most this often while reading. Default 1 s. */
  saveIntervalMs?: number;
  /** Bytes per read; one batch per read. Default 256 KiB. */
  readChunkBytes?: number;
  /** Bytes read per turn of the event loop before yielding. Default 1 MiB. */
  turnBudgetBytes?: number;
  /** Key in the PositionStore. Default `file:<path>`. */
  positionKey?: string;
  /** Use fs.watch on the directory for latency (the poll runs anyway). Default true. */
  watch?: boolean;
}

interface Followed {
  fd: number;
  ino: number;
  dev: number;
  /** Next read position. */
  offset: number;
  splitter: LineSplitter;
  /** The file's first bytes (up to HEAD_BYTES). */
  head: Buffer;
  lastDataAt: number;
  atEof: boolean;
}

export class FileSource implements LogSource {
  readonly name: string;
  private readonly o: Required<FileSourceOptions>;
  private readonly out: SourceOutput;
  private readonly counters: SourceCounters;
  private current: Followed | null = null;
  /** Rotated-away, deleted or copied files still being read, oldest first. */
  private draining: Followed[] = [];
  private running = false;
  private tickQueued = false;
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private lastSaveAt = 0;
  private dirty = false;
  /** Files seen at the path or its rotations: a rotated file not seen came in between two polls. */
  private readonly seen = new SeenFiles();

  constructor(options: FileSourceOptions, deps: SourceDeps) {
    this.name = options.name;
    this.o = {
      maxLineBytes: 64 * 1024,
      startAt: 'end',
      pollIntervalMs: 250,
      flushPartialAfterMs: 5000,
      rotateWaitMs: 5000,
      rotations: 5,
      saveIntervalMs: 1000,
      readChunkBytes: 256 * 1024,
      turnBudgetBytes: 1024 * 1024,
      positionKey: `file:${options.path}`,
      watch: true,
      ...options,
    };
    this.counters = new SourceCounters();
    this.out = new SourceOutput(this.name, deps, this.counters);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.buf = Buffer.allocUnsafe(this.o.readChunkBytes);
    try {
      this.openAtStart();
    } catch (e) {
      this.out.error('io', `cannot open ${this.o.path}: ${errMessage(e)}`, e);
    }
    this.ensureWatcher();
    this.timer = setInterval(() => this.tick(), this.o.pollIntervalMs);
    this.timer.unref();
    this.scheduleTick();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    this.save();
    for (const f of this.followed()) closeFile(f);
    this.draining = [];
    this.current = null;
  }

  stats(): SourceStats {
    let lag = 0;
    for (const f of this.followed()) {
      if (f.fd === -1) continue;
      try {
        lag += Math.max(0, fstatSync(f.fd).size - f.offset) + f.splitter.pendingBytes;
      } catch {
        // A descriptor closed by stop() between the copy and the fstat: no lag to report.
      }
    }
    return this.counters.snapshot(lag);
  }

  // ---- start-up -------------------------------------------------------------

  private openAtStart(): void {
    // Whatever is there now is old (or handled by the saved position): only files that appear later are new.
    this.seen.rememberAll(this.o.path, this.o.rotations);
    const saved = decodePositions(this.out.loadPosition(this.o.positionKey));
    if (saved && saved.files.length > 0) {
      this.resume(saved.files);
      return;
    }
    const st = statOrNull(this.o.path);
    if (!st?.isFile()) return;
    const f = this.open(this.o.path, 0, false);
    if (this.o.startAt === 'end') {
      const size = fstatSync(f.fd).size;
      f.offset = size;
      // Starting mid-line: discard the fragment up to the next newline.
      if (size > 0) {
        const last = Buffer.alloc(1);
        readSync(f.fd, last, 0, 1, size - 1);
        if (last[0] !== 10) f.splitter = this.splitter(true);
      }
    }
    this.current = f;
    this.dirty = true;
  }

  /** Finds the saved files among the path and its rotations; reads them from their offsets, newer rotations and the path from the start. */
  private resume(saved: FilePosition[]): void {
    const plan = planResume(this.o.path, this.o.rotations, saved);
    if (plan.lost > 0) {
      this.out.error(
        'position',
        `${plan.lost} saved file position(s) not found (neither ${this.o.path} nor ${this.o.path}.1..${this.o.rotations} holds the file: deleted, compressed or renamed otherwise); what was not read of it is lost, newer files are read from their start`,
      );
    }
    for (const { candidate: c, offset, skip } of plan.open) {
      let f: Followed;
      try {
        f = this.open(c.path, offset, skip);
      } catch (e) {
        this.out.error('io', `cannot open ${c.path}: ${errMessage(e)}`, e);
        continue;
      }
      if (c.index === 0) this.current = f;
      else this.draining.push(f);
    }
    this.dirty = true;
  }

  // ---- the poll --------------------------------------------------------------

  private scheduleTick(): void {
    if (this.tickQueued || !this.running) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  /**
   * One poll. The consumer may call stop() from inside onLines: every step
   * after a delivery checks `running` so nothing is read, saved or closed
   * after stop() has saved and released.
   */
  private tick(): void {
    if (!this.running) return;
    const now = Date.now();
    try {
      this.checkPath(now);
      let budget = this.o.turnBudgetBytes;
      let more = false;
      for (const f of [...this.draining, ...(this.current ? [this.current] : [])]) {
        if (!this.running) return;
        budget = this.readFile(f, budget, now);
        if (budget <= 0) {
          more = true;
          break;
        }
      }
      if (this.running) this.retireDrained(now);
      if (this.running) this.flushQuiet(now);
      if (!this.running) return;
      if (this.dirty && now - this.lastSaveAt >= this.o.saveIntervalMs) this.save();
      if (!this.watcher && this.o.watch) this.ensureWatcher();
      if (more) this.scheduleTick();
    } catch (e) {
      this.out.error('io', `reading ${this.o.path}: ${errMessage(e)}`, e);
    }
  }

  /** Notices rotation, deletion, replacement, truncation and a file that appears. */
  private checkPath(now: number): void {
    const st = statOrNull(this.o.path);
    const cur = this.current;
    if (!cur && st) {
      // The file we were draining is back at the path (renamed back): follow it again, do not reread it.
      const back = this.draining.findIndex((f) => f.ino === st.ino && f.dev === st.dev);
      if (back !== -1) {
        this.current = this.draining[back]!;
        this.draining.splice(back, 1);
        return;
      }
    }
    if (cur) {
      if (!st || st.ino !== cur.ino || st.dev !== cur.dev) {
        // Renamed away, deleted or replaced: drain the descriptor we hold.
        cur.lastDataAt = now;
        this.draining.push(cur);
        this.current = null;
        this.dirty = true;
      } else {
        const size = fstatSync(cur.fd).size;
        if (size < cur.offset || (size > 0 && cur.head.length > 0 && !headIs(cur.fd, cur.head))) {
          this.truncated(cur, now);
        } else if (cur.head.length === 0) {
          // The file was empty when we last looked, so a copytruncate since then cannot be told
          // from its content; a copy we have never seen tells it: read the missed copies first.
          // A copy that starts as the file does is a copy of what we are about to read (logrotate
          // copying it right now, the truncation still to come): not a missed one.
          this.readUnknownRotations(rotationCandidates(this.o.path, this.o.rotations), now, readHead(cur.fd, SEEN_HEAD_BYTES));
        }
      }
    }
    if (!this.current && st) {
      if (!st.isFile()) {
        this.out.error('io', `${this.o.path} is not a regular file`);
        return;
      }
      this.openRotatedIn(now);
    }
  }

  /**
   * A new file at the path (after a rotation, a deletion, or for the first time): read it from its
   * start, after any rotated file we have never seen. Those were at the path and rotated away
   * between two polls (two rotations in a row, or a file that appeared and rotated before we
   * looked); they are read oldest first.
   */
  private openRotatedIn(now: number): void {
    const f = this.open(this.o.path, 0, false);
    try {
      // A copy that starts as the new file does is logrotate copying it right now (copytruncate), not a missed rotation.
      this.readUnknownRotations(rotationCandidates(this.o.path, this.o.rotations), now, f.head);
    } catch (e) {
      closeFile(f);
      throw e;
    }
    this.current = f;
    this.dirty = true;
  }

  /**
   * Starts draining, oldest first and from their start, the rotated files we have never seen
   * (below index `below` when given; except those that start as `notLike` does, when given and not empty).
   */
  private readUnknownRotations(cands: RotationCandidate[], now: number, notLike?: Buffer, below = Infinity): void {
    const followed = new Set(this.followed().map(fileIdOf));
    for (const c of cands.filter((c) => c.index > 0 && c.index < below).sort((a, b) => b.index - a.index)) {
      if (followed.has(fileIdOf(c.st)) || this.seen.has(c)) continue;
      if (notLike && notLike.length > 0) {
        const head = readHeadOf(c.path, SEEN_HEAD_BYTES);
        // Empty: a copy just created, still being written; looked at again on the next poll.
        if (!head || head.length === 0) continue;
        const n = Math.min(notLike.length, head.length);
        if (head.subarray(0, n).equals(notLike.subarray(0, n))) continue;
      }
      const f = this.open(c.path, 0, false);
      f.lastDataAt = now;
      this.draining.push(f);
      this.dirty = true;
    }
    this.seen.keepOnly(new Set([...cands.map((c) => fileIdOf(c.st)), ...this.followed().map(fileIdOf)]));
  }

  /**
   * copytruncate: read the copy (path.k, same head) from our offset, newer copies from their start,
   * then the truncated file from its start.
   */
  private truncated(cur: Followed, now: number): void {
    const cands = rotationCandidates(this.o.path, this.o.rotations).filter((c) => c.index > 0);
    const copy = cands.find((c) => headBytesMatch(c.path, cur.head));
    if (copy) {
      const f = this.open(copy.path, 0, false);
      f.offset = cur.offset;
      f.splitter = cur.splitter; // the held partial line continues in the copy
      f.lastDataAt = now;
      this.draining.push(f);
      // Newer copies (several copytruncates between two polls), oldest first.
      this.readUnknownRotations(cands, now, undefined, copy.index);
    } else {
      this.out.error('io', `${this.o.path} was truncated and no copy of it was found at ${this.o.path}.1..${this.o.rotations}; lines not read before the truncation are lost`);
      const out: string[] = [];
      cur.splitter.flush(out);
      this.deliver(out, now);
    }
    cur.offset = 0;
    cur.splitter = this.splitter(false);
    cur.head = Buffer.alloc(0);
    cur.atEof = false;
    this.dirty = true;
  }

  /** Reads until the end of the file or the budget; returns the budget left. */
  private readFile(f: Followed, budget: number, now: number): number {
    const buf = this.buf;
    while (budget > 0) {
      const n = readSync(f.fd, buf, 0, buf.length, f.offset);
      if (n === 0) {
        f.atEof = true;
        return budget;
      }
      f.atEof = false;
      f.offset += n;
      f.lastDataAt = now;
      budget -= n;
      this.counters.bytes += n;
      this.dirty = true;
      if (f.head.length < HEAD_BYTES && f.head.length < f.offset) f.head = readHead(f.fd, Math.min(HEAD_BYTES, f.offset));
      const lines: string[] = [];
      f.splitter.push(n === buf.length ? buf : buf.subarray(0, n), lines);
      this.deliver(lines, now);
      if (!this.running) return 0;
    }
    return budget;
  }

  private deliver(lines: string[], now: number): void {
    if (lines.length === 0) return;
    const batch: RawLine[] = new Array(lines.length);
    const { name } = this;
    const { format } = this.o;
    for (let i = 0; i < lines.length; i++) batch[i] = { source: name, line: lines[i]!, format, receivedAt: now };
    this.out.deliver(batch, now);
  }

  /** Closes drained files that have been quiet for rotateWaitMs. */
  private retireDrained(now: number): void {
    for (const f of [...this.draining]) {
      if (!this.running) return;
      if (f.atEof && now - f.lastDataAt >= this.o.rotateWaitMs) {
        this.draining = this.draining.filter((d) => d !== f);
        this.dirty = true;
        const out: string[] = [];
        f.splitter.flush(out);
        closeFile(f);
        this.deliver(out, now);
      }
    }
  }

  private flushQuiet(now: number): void {
    for (const f of this.followed()) {
      if (!this.running) return;
      if (f.splitter.pendingBytes > 0 && f.atEof && now - f.lastDataAt >= this.o.flushPartialAfterMs) {
        const out: string[] = [];
        f.splitter.flush(out);
        this.deliver(out, now);
        this.dirty = true;
      }
    }
  }

  // ---- helpers ----------------------------------------------------------------

  private followed(): Followed[] {
    return this.current ? [...this.draining, this.current] : [...this.draining];
  }

  private open(path: string, offset: number, skip: boolean): Followed {
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd);
      const head = readHead(fd, Math.min(HEAD_BYTES, st.size));
      this.seen.remember(st, head);
      return {
        fd,
        ino: st.ino,
        dev: st.dev,
        offset,
        splitter: this.splitter(skip),
        head,
        lastDataAt: Date.now(),
        atEof: false,
      };
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }

  private splitter(skip: boolean): LineSplitter {
    return new LineSplitter(this.o.maxLineBytes, this.counters, skip);
  }

  private save(): void {
    this.lastSaveAt = Date.now();
    this.dirty = false;
    const files: FilePosition[] = [];
    for (const f of this.followed()) {
      files.push({
        ino: f.ino,
        dev: f.dev,
        offset: f.offset - f.splitter.pendingBytes,
        fpLen: f.head.length,
        fp: fingerprint(f.head),
        skip: f.splitter.skipping,
      });
    }
    this.out.savePosition(this.o.positionKey, encodePositions(files));
  }

  private ensureWatcher(): void {
    if (!this.o.watch || this.watcher) return;
    const base = basename(this.o.path);
    try {
      const w = watch(dirname(this.o.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename.startsWith(base)) this.scheduleTick();
      });
      w.on('error', () => {
        // The directory went away or the watch broke: the poll goes on and re-creates it.
        w.close();
        if (this.watcher === w) this.watcher = null;
      });
      this.watcher = w;
    } catch {
      // No directory yet, or no inotify: polling alone.
    }
  }
}

function headIs(fd: number, head: Buffer): boolean {
  return readHead(fd, head.length).equals(head);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to do: the descriptor is gone either way.
  }
}

/** Closes once: a descriptor number is reused at once by the next open, so a second close would close someone else's file. */
function closeFile(f: Followed): void {
  if (f.fd === -1) return;
  closeQuietly(f.fd);
  f.fd = -1;
}
