/**
 * PEM handling for combined certificate files: split, inspect, and check that
 * a key belongs to a certificate. Uses node:crypto only.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.js';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

export interface PemBlocks {
  certs: string[];
  keys: string[];
}

export function splitPem(text: string): PemBlocks {
  const certs: string[] = [];
  const keys: string[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const block = m[0].replace(/\r\n/g, '\n');
    if (m[1] === 'CERTIFICATE') certs.push(block);
    else if (/PRIVATE KEY$/.test(m[1]!) && !/ENCRYPTED/.test(m[1]!)) keys.push(block);
  }
  return { certs, keys };
}

export interface CertInfo {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  names: string[];
  fingerprint256: string;
}

export function inspect(certPem: string): CertInfo {
  const x = new X509Certificate(certPem);
  const names = (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  return {
    subject: x.subject,
    issuer: x.issuer.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? x.issuer.replace(/\n/g, ', '),
    serial: x.serialNumber.toUpperCase(),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    names,
    fingerprint256: x.fingerprint256,
  };
}

/**
 * Builds the combined PEM HAProxy loads (leaf, chain, key) and checks it:
 * at least one certificate, exactly one unencrypted key, and that key matching
 * the leaf. No blank lines (HAProxy's runtime payload ends at an empty line).
 */
export function combine(chainPem: string, keyPem: string): { pem: string; leaf: CertInfo; key: KeyObject } {
  const { certs } = splitPem(chainPem);
  const { keys } = splitPem(keyPem);
  if (certs.length === 0) throw new AppError('validation', 'no certificate in the PEM');
  if (keys.length !== 1) throw new AppError('validation', keys.length === 0 ? 'no unencrypted private key in the PEM' : 'more than one private key in the PEM');
  let key: KeyObject;
  try {
    key = createPrivateKey(keys[0]!);
  } catch (e) {
    throw new AppError('validation', `the private key cannot be read: ${(e as Error).message}`);
  }
  const leaf = new X509Certificate(certs[0]!);
  if (!leaf.checkPrivateKey(key)) throw new AppError('validation', 'the private key does not match the certificate');
  const pem = [...certs, keys[0]!].map((b) => b.trim()).join('\n') + '\n';
  return { pem, leaf: inspect(certs[0]!), key };
}

/** Checks a combined PEM file's content as `combine` does; returns the leaf's facts. */
export function checkCombined(text: string): CertInfo {
  const { certs, keys } = splitPem(text);
  return combine(certs.join('\n'), keys.join('\n')).leaf;
}
