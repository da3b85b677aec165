/**
 * Certificate files: one combined PEM per certificate, mode 0600.
 *
 * Publishing is: check the pair (key matches leaf) in memory, stage the file
 * in the certificate directory (same filesystem), read it back and check it
 * again, copy the live file to the backup directory, rename the staged file
 * over the live one. On any failure the live file is untouched (the original
 * truncated live PEMs before validating, 22dab68).
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AppError, ioError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { run } from '../util/exec.js';
import { checkCombined, combine, type CertInfo } from './pem.js';

/** The file name for a certificate's primary name: `*.example.com` -> `_wildcard_.example.com.pem`. */
export function certFileName(name: string): string {
  if (!/^(\*\.)?[a-z0-9.-]+$/.test(name)) throw new AppError('validation', `not a certificate name: ${name}`);
  return `${name.replace(/^\*\./, '_wildcard_.')}.pem`;
}

export function publishPem(certDir: string, backupDir: string, fileName: string, chainPem: string, keyPem: string): { file: string; info: CertInfo; pem: string } {
  const { pem, leaf } = combine(chainPem, keyPem);
  mkdirSync(certDir, { recursive: true, mode: 0o700 });
  mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const file = join(certDir, fileName);
  const staged = join(certDir, `.${fileName}.staged`);
  try {
    writeFileAtomic(staged, pem, 0o600);
    chmodSync(staged, 0o600);
    checkCombined(readFileSync(staged, 'utf8'));
    if (existsSync(file)) {
      try {
        checkCombined(readFileSync(file, 'utf8'));
        copyFileSync(file, join(backupDir, `${basename(file)}.${new Date().toISOString().replace(/[:.]/g, '-')}`));
      } catch {
        // A broken live file is not worth backing up; it is replaced.
      }
    }
    renameSync(staged, file);
  } catch (e) {
    try {
      rmSync(staged, { force: true });
    } catch {
      // Whatever is in the way stays; the live file is untouched either way.
    }
    const storage = ioError(e, file);
    if (storage instanceof AppError) throw storage;
    throw new AppError('internal', `cannot write certificate ${fileName}: ${(e as Error).message}`, { cause: e });
  }
  return { file, info: leaf, pem };
}

/** Moves a certificate file to the backup directory (never deletes it outright). */
export function retirePem(file: string, backupDir: string): void {
  if (!existsSync(file)) return;
  mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  renameSync(file, join(backupDir, `${basename(file)}.retired.${new Date().toISOString().replace(/[:.]/g, '-')}`));
}

/** A self-signed certificate (ECDSA P-256, 10 years) so the HTTPS listener always has something to serve. */
export async function createSelfSigned(commonName: string): Promise<{ chain: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hm-selfsigned-'));
  try {
    const r = await run(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '3650', '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=DNS:${commonName}`],
      { timeoutMs: 30_000 },
    );
    if (r.code !== 0) throw new AppError('internal', `openssl could not create the self-signed certificate: ${r.stderr.trim().slice(0, 500)}`);
    return { chain: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
