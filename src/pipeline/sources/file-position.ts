/**
 * How a file follower recognises the files it was reading: the saved
 * position's format, the head fingerprint, and the search through a path's
 * numbered rotations (`path.1` ... `path.N`, logrotate's default naming).
 *
 * A followed file is identified by its inode (and device) and by its first
 * bytes (up to HEAD_BYTES). The inode finds a file that was renamed; the
 * first bytes find a copy (copytruncate's `path.1` has a new inode but the
 * same head) and tell a replaced file from the one we read even when the
 * inode number was reused.
 */
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';

export const HEAD_BYTES = 1024;

/** One file's resume point. */
export interface FilePosition {
  ino: number;
  dev: number;
  /** Bytes consumed into complete lines. */
  offset: number;
  /** How many head bytes the fingerprint covers (0: nothing read yet, the inode alone decides). */
  fpLen: number;
  /** sha256 (hex) of the first fpLen bytes. */
  fp: string;
  /** The line at `offset` is the rest of a line that was delivered cut: discard it. */
  skip: boolean;
}

/** What a file source stores: the files it was reading, oldest first (rotated ones still draining, then the followed path's). */
export interface SavedFilePositions {
  v: 1;
  files: FilePosition[];
}

export function fingerprint(head: Buffer): string {
  return createHash('sha256').update(head).digest('hex');
}

export function encodePositions(files: FilePosition[]): string {
  const saved: SavedFilePositions = { v: 1, files };
  return JSON.stringify(saved);
}

/** Null when the value is not a position this version wrote (then the source starts as if none was saved). */
export function decodePositions(value: string | null): SavedFilePositions | null {
  if (value === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || (v as { v?: unknown }).v !== 1) return null;
  const files = (v as { files?: unknown }).files;
  if (!Array.isArray(files)) return null;
  const out: FilePosition[] = [];
  for (const f of files) {
    if (!f || typeof f !== 'object') return null;
    const p = f as Record<string, unknown>;
    const nums = [p.ino, p.dev, p.offset, p.fpLen];
    if (!nums.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) return null;
    if (typeof p.fp !== 'string') return null;
    out.push({
      ino: p.ino as number,
      dev: p.dev as number,
      offset: p.offset as number,
      fpLen: p.fpLen as number,
      fp: p.fp,
      skip: p.skip === true,
    });
  }
  return { v: 1, files: out };
}

/** Reads up to `n` bytes from the start of an open file. */
export function readHead(fd: number, n: number): Buffer {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, got);
    if (r === 0) break;
    got += r;
  }
  return got === n ? buf : buf.subarray(0, got);
}

/** Reads up to `n` head bytes of a path, or null if it cannot be read. */
export function readHeadOf(path: string, n: number): Buffer | null {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    return readHead(fd, n);
  } catch {
    return null;
  } finally {
    if (fd !== -1) closeSync(fd);
  }
}

export function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

export interface RotationCandidate {
  /** 0 for the path itself, k for `path.k`. */
  index: number;
  path: string;
  st: Stats;
}

/** `path` (index 0) and its numbered rotations `path.1` .. `path.N` that exist and are regular files. */
export function rotationCandidates(path: string, rotations: number): RotationCandidate[] {
  const out: RotationCandidate[] = [];
  for (let i = 0; i <= rotations; i++) {
    const p = i === 0 ? path : `${path}.${i}`;
    const st = statOrNull(p);
    if (st?.isFile()) out.push({ index: i, path: p, st });
  }
  return out;
}

/** True when the file at `path` starts with the bytes the fingerprint covers. */
export function headMatches(path: string, fpLen: number, fp: string): boolean {
  if (fpLen === 0) return true;
  const head = readHeadOf(path, fpLen);
  return head !== null && head.length === fpLen && fingerprint(head) === fp;
}

/** Same as headMatches, against head bytes held in memory. */
export function headBytesMatch(path: string, head: Buffer): boolean {
  if (head.length === 0) return false;
  const got = readHeadOf(path, head.length);
  return got !== null && got.equals(head);
}
