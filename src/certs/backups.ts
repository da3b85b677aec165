/**
 * The certificate backups (store.ts copies each live PEM here before
 * replacing it, and moves a removed certificate's PEM here): every file
 * holds a private key, so only the newest `keep` of each certificate file are
 * kept. Names are `<file>.pem.<time>` and `<file>.pem.retired.<time>`, the
 * time as store.ts writes it (ISO with `:` and `.` as `-`), so the newest is
 * the greatest; a file of any other name is left alone.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const BACKUP = /^(.+\.pem)\.(?:retired\.)?(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)$/;

/** Deletes all but the newest `keep` backups of each certificate file in `dir`; returns the files deleted. A missing directory is empty. */
export function pruneCertBackups(dir: string, keep: number): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const byCert = new Map<string, { name: string; at: string }[]>();
  for (const name of names) {
    const m = BACKUP.exec(name);
    if (!m) continue;
    const list = byCert.get(m[1]!) ?? [];
    list.push({ name, at: m[2]! });
    byCert.set(m[1]!, list);
  }
  const deleted: string[] = [];
  for (const list of byCert.values()) {
    list.sort((a, b) => (a.at === b.at ? b.name.localeCompare(a.name) : b.at.localeCompare(a.at)));
    for (const old of list.slice(keep)) {
      rmSync(join(dir, old.name), { force: true });
      deleted.push(old.name);
    }
  }
  return deleted.sort();
}
