/**
 * Atomic file writes: write a temporary file beside the target, fsync it,
 * rename it over the target, fsync the directory. A reader (HAProxy, a
 * reload) sees the old file or the new one, never a torn one. A full disk,
 * a read-only or forbidden directory is thrown as a `storage` error naming
 * the target (errors.ts ioError).
 */
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, writeSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { ioError } from '../errors.js';

export function writeFileAtomic(path: string, content: string | Buffer, mode = 0o644): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError(e, dir);
  }
  const tmp = tmpName(path, 'tmp');
  try {
    writeDurably(tmp, content, mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError(e, path);
  }
  fsyncDir(dir);
}

/** One file of a unit: its path and the bytes it must hold. */
export interface UnitFile {
  path: string;
  content: string | Buffer;
  mode?: number;
}

/** A unit of files swapped in together; `rollback` puts back exactly what was there before, `commit` forgets it. */
export interface WrittenUnit {
  rollback(): void;
  commit(): void;
}

function tmpName(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.${tag}`);
}

/** Fsyncs a directory so a rename in it is durable; a filesystem that refuses is ignored. */
export function fsyncDir(dir: string): void {
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the renames are still atomic.
  }
}

function writeDurably(path: string, content: string | Buffer, mode: number): void {
  let fd = -1;
  try {
    fd = openSync(path, 'w', mode);
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    fsyncSync(fd);
  } catch (e) {
    // Writes through a descriptor name no file: say which one failed.
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err === 'object' && err.path === undefined) err.path = path;
    throw e;
  } finally {
    if (fd !== -1) closeSync(fd);
  }
}

/**
 * Writes several files as one unit. Contract:
 * - Every file is first staged beside its target (same filesystem) and
 *   fsynced; a failure there (ENOSPC, EROFS, EACCES) removes the staged files
 *   and throws with nothing live changed.
 * - Then each target is renamed into place, its previous version kept as a
 *   hard link; if a rename fails, what was renamed is put back before the
 *   error is thrown, so the targets hold all old or all new content.
 * - The caller ends the unit with `commit()` (drop the previous versions) or
 *   `rollback()` (put them back, e.g. when the reload that follows fails).
 * Errors are the file system's own (with `code` and `path`); callers map them.
 */
export function writeFilesAsUnit(files: UnitFile[]): WrittenUnit {
  const staged: { path: string; tmp: string }[] = [];
  try {
    for (const f of files) {
      mkdirSync(dirname(f.path), { recursive: true });
      const tmp = tmpName(f.path, 'tmp');
      staged.push({ path: f.path, tmp });
      writeDurably(tmp, f.content, f.mode ?? 0o644);
    }
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  const swapped: { path: string; prev: string | null }[] = [];
  const putBack = () => {
    for (const s of swapped.reverse()) {
      try {
        if (s.prev) renameSync(s.prev, s.path);
        else rmSync(s.path, { force: true });
      } catch {
        // Best effort: the original error is what the caller reports.
      }
    }
    swapped.length = 0;
  };
  try {
    for (const s of staged) {
      let prev: string | null = null;
      if (existsSync(s.path)) {
        prev = tmpName(s.path, 'prev');
        linkSync(s.path, prev);
      }
      renameSync(s.tmp, s.path);
      swapped.push({ path: s.path, prev });
    }
  } catch (e) {
    putBack();
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  for (const d of new Set(files.map((f) => dirname(f.path)))) fsyncDir(d);
  let ended = false;
  return {
    rollback() {
      if (ended) return;
      ended = true;
      putBack();
    },
    commit() {
      if (ended) return;
      ended = true;
      for (const s of swapped) if (s.prev) rmSync(s.prev, { force: true });
      swapped.length = 0;
    },
  };
}
