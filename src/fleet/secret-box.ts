/**
 * Sealing certificate private keys for the fleet's PostgreSQL (issue 17).
 *
 * Why this scheme: the database is shared infrastructure (backups, replicas,
 * a DBA's session) and must never hold a usable private key, yet every node
 * must be able to serve every certificate. So each key is sealed with
 * AES-256-GCM (node:crypto; authenticated, no library of our own) under one
 * 32-byte fleet key that every node holds in a 0600 file or a systemd
 * credential (fleet.secret_key_file / fleet-secret-key) and that never goes
 * into the database, a log or an API answer. A key is unsealed only on a node,
 * in memory, right before it is written to that node's 0600 PEM file.
 *
 * Format (text, one column): `hm1:<key id>:<iv>:<tag>:<ciphertext>`, base64
 * parts, a fresh random 96-bit IV per seal. The additional data binds the
 * sealed key to its certificate (name and serial), so a sealed key copied to
 * another row does not open. The key id (16 hex digits of a SHA-256 of the
 * key, domain-separated) lets a node with a different key say so instead of
 * reporting a forgery; it reveals nothing usable about a 256-bit random key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';

const FORMAT = 'hm1';

/** A short, non-secret identifier of a fleet key (shown when keys differ). */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('haproxy-manager fleet key id\0').update(key).digest('hex').slice(0, 16);
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new AppError('config', 'the fleet secret key must be 32 bytes');
}

/** Seals `plaintext` for the database; `context` (the certificate's name and serial) must be given again to open it. */
export function seal(key: Buffer, plaintext: string, context: string): string {
  checkKey(key);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return [FORMAT, keyId(key), iv.toString('base64'), c.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
}

/**
 * Opens a sealed value. Throws AppError('validation') when it was sealed with
 * another key, for another certificate, or was altered: nothing is returned
 * unless GCM authenticates it. Messages never hold key material.
 */
export function unseal(key: Buffer, sealed: string, context: string): string {
  checkKey(key);
  const parts = sealed.split(':');
  if (parts.length !== 5 || parts[0] !== FORMAT) throw new AppError('validation', 'not a sealed key (unknown format)');
  const [, id, iv, tag, ct] = parts as [string, string, string, string, string];
  if (id !== keyId(key)) throw new AppError('validation', `sealed with another fleet key (key id ${id}; this node's is ${keyId(key)}): give every node the same fleet.secret_key_file`);
  try {
    // authTagLength pins the tag at 16 bytes: a truncated tag is refused, not checked on fewer bytes.
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'), { authTagLength: 16 });
    d.setAAD(Buffer.from(context, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64')), d.final()]).toString('utf8');
  } catch (e) {
    throw new AppError('validation', 'the sealed key does not authenticate (altered, or sealed for another certificate)', { cause: e });
  }
}
