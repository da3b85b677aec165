/**
 * Atomic file writes: write a temporary file beside the target, fsync it,
 * rename it over the target, fsync the directory. A reader (HAProxy, a
 * reload) sees the old file or the new one, never a torn one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, rmSync, readFileSync, existsSync, copyFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

export function writeFileAtomic(path: string, content: string | Buffer, mode = 0o644): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w', mode);
    const buf = typeof content === 'string' ? Buffer.from(content) : content;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== -1) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

export function readIfExists(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

/** Copies a file atomically (through writeFileAtomic's temporary file). */
export function copyFileAtomic(from: string, to: string, mode = 0o644): void {
  const tmp = `${to}.${process.pid}.copy.tmp`;
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, tmp);
  renameSync(tmp, to);
  void mode;
}
