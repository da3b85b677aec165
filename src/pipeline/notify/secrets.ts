/** Reads a secret from a file: its first line, without the newline. Never logged. */
import { readFileSync } from 'node:fs';

export function readSecretFile(file: string): string {
  const v = (readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  if (v === '') throw new Error(`${file}: the secret file is empty`);
  return v;
}
