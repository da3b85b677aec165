/**
 * The file follower's knowledge of rotated files: which files it has already
 * seen (so a rotated file it has not is read, and one it has is not read
 * twice), and where the files of a saved position are after a restart.
 * See file-position.ts for how a file is identified.
 */
import type { Stats } from 'node:fs';
import { headMatches, readHeadOf, rotationCandidates, type FilePosition, type RotationCandidate } from './file-position.js';

/** Bytes of a file's start kept to recognise it when its inode number comes back. */
export const SEEN_HEAD_BYTES = 64;

export const fileIdOf = (st: Pick<Stats, 'dev' | 'ino'>): string => `${st.dev}:${st.ino}`;

/**
 * Files seen at the path or its rotations: dev:ino and their first bytes.
 * A rotated file that is not here appeared between two polls.
 */
export class SeenFiles {
  private readonly heads = new Map<string, Buffer>();

  remember(st: Pick<Stats, 'dev' | 'ino'>, head: Buffer): void {
    this.heads.set(fileIdOf(st), head.subarray(0, SEEN_HEAD_BYTES));
  }

  /** Everything at the path and its rotations now: at start-up, all of it is old (or the saved position's business). */
  rememberAll(path: string, rotations: number): void {
    for (const c of rotationCandidates(path, rotations)) this.remember(c.st, readHeadOf(c.path, SEEN_HEAD_BYTES) ?? Buffer.alloc(0));
  }

  /** Same inode, and the same first bytes as far as both go (inode numbers are reused; a file may have grown). */
  has(c: RotationCandidate): boolean {
    const k = this.heads.get(fileIdOf(c.st));
    if (!k) return false;
    const head = readHeadOf(c.path, SEEN_HEAD_BYTES);
    if (!head) return true;
    const n = Math.min(k.length, head.length);
    return k.subarray(0, n).equals(head.subarray(0, n));
  }

  /** Forgets files no longer present under any name we look at. */
  keepOnly(present: Set<string>): void {
    for (const id of this.heads.keys()) if (!present.has(id)) this.heads.delete(id);
  }
}

export interface ResumePlan {
  /** What to open, oldest first: the path (index 0) last. */
  open: { candidate: RotationCandidate; offset: number; skip: boolean }[];
  /** Saved files found nowhere (deleted, compressed, renamed otherwise). */
  lost: number;
}

/**
 * Where the saved files are now. Each is looked for among the path and its rotations, first by
 * inode and head (renamed, or still in place; the file must not have shrunk), then by head alone
 * (a copytruncate copy). The oldest found is read from its offset and everything newer (the
 * rotations between it and the path, and the path) from its start, each file once.
 */
export function planResume(path: string, rotations: number, saved: FilePosition[]): ResumePlan {
  const cands = rotationCandidates(path, rotations);
  const matchedAt = new Map<number, FilePosition>();
  const found = new Set<FilePosition>();
  for (const byInode of [true, false]) {
    for (const pos of saved) {
      if (found.has(pos)) continue;
      const c = cands.find(
        (c) =>
          !matchedAt.has(c.index) &&
          (byInode ? c.st.ino === pos.ino && c.st.dev === pos.dev && c.st.size >= pos.offset : pos.fpLen > 0) &&
          headMatches(c.path, pos.fpLen, pos.fp),
      );
      if (c) {
        matchedAt.set(c.index, pos);
        found.add(pos);
      }
    }
  }
  const oldest = matchedAt.size > 0 ? Math.max(...matchedAt.keys()) : 0;
  const seen = new Set<string>();
  const open: ResumePlan['open'] = [];
  for (const c of [...cands].sort((a, b) => b.index - a.index)) {
    if (c.index > oldest || seen.has(fileIdOf(c.st))) continue;
    seen.add(fileIdOf(c.st));
    const pos = matchedAt.get(c.index);
    open.push({ candidate: c, offset: pos?.offset ?? 0, skip: pos?.skip ?? false });
  }
  return { open, lost: saved.length - found.size };
}
