/**
 * Blocked IPs, trusted IPs and trusted proxies: the only place their SQL lives.
 * Addresses arrive canonical (validate/ip.ts), so equality is text equality.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface BlockedIp {
  id: number;
  ip_address: string;
  reason: string | null;
  blocked_at: string;
  blocked_by: string | null;
  /** ISO 8601; null for a permanent block. */
  expires_at: string | null;
}

export interface TrustedIp {
  id: number;
  ip_address: string;
  scope: 'real_ip' | 'source';
  note: string | null;
  created_at: string;
}

export interface TrustedProxy {
  id: number;
  cidr: string;
  note: string | null;
  created_at: string;
}

export const blocked = {
  list(db: Db): BlockedIp[] {
    return stmt(db, 'SELECT * FROM blocked_ips ORDER BY ip_address').all() as BlockedIp[];
  },
  /** The addresses alone (the map file), cheaper than list() at 100,000 blocks. */
  addresses(db: Db): string[] {
    return stmt(db, 'SELECT ip_address FROM blocked_ips ORDER BY ip_address').pluck().all() as string[];
  },
  count(db: Db): number {
    return stmt(db, 'SELECT count(*) FROM blocked_ips').pluck().get() as number;
  },
  get(db: Db, ip: string): BlockedIp | null {
    return (stmt(db, 'SELECT * FROM blocked_ips WHERE ip_address = ?').get(ip) as BlockedIp | undefined) ?? null;
  },
  insert(db: Db, b: { ip: string; reason: string | null; blockedBy: string | null; expiresAt: string | null }): number {
    return Number(
      stmt(db, 'INSERT INTO blocked_ips (ip_address, reason, blocked_by, expires_at) VALUES (?, ?, ?, ?)').run(b.ip, b.reason, b.blockedBy, b.expiresAt).lastInsertRowid,
    );
  },
  /** Extends (never shortens) a temporary block; a permanent block stays permanent. */
  extend(db: Db, ip: string, expiresAt: string, reason: string | null): void {
    stmt(db, 
      `UPDATE blocked_ips SET expires_at = CASE WHEN expires_at IS NULL THEN NULL WHEN expires_at > ? THEN expires_at ELSE ? END,
         reason = COALESCE(?, reason) WHERE ip_address = ?`,
    ).run(expiresAt, expiresAt, reason, ip);
  },
  /** Sets a block's reason, author and expiry as given (a fleet change: the last writer's values stand). */
  replace(db: Db, b: { ip: string; reason: string | null; blockedBy: string | null; expiresAt: string | null }): void {
    stmt(db, 'UPDATE blocked_ips SET reason = ?, blocked_by = ?, expires_at = ? WHERE ip_address = ?').run(b.reason, b.blockedBy, b.expiresAt, b.ip);
  },
  remove(db: Db, ip: string): boolean {
    return stmt(db, 'DELETE FROM blocked_ips WHERE ip_address = ?').run(ip).changes > 0;
  },
  expired(db: Db, nowIso: string): BlockedIp[] {
    return stmt(db, 'SELECT * FROM blocked_ips WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY ip_address').all(nowIso) as BlockedIp[];
  },
};

export const trusted = {
  list(db: Db): TrustedIp[] {
    return stmt(db, 'SELECT * FROM trusted_ips ORDER BY scope, ip_address').all() as TrustedIp[];
  },
  get(db: Db, ip: string, scope: TrustedIp['scope']): TrustedIp | null {
    return (stmt(db, 'SELECT * FROM trusted_ips WHERE ip_address = ? AND scope = ?').get(ip, scope) as TrustedIp | undefined) ?? null;
  },
  insert(db: Db, ip: string, scope: TrustedIp['scope'], note: string | null): number {
    return Number(stmt(db, 'INSERT INTO trusted_ips (ip_address, scope, note) VALUES (?, ?, ?)').run(ip, scope, note).lastInsertRowid);
  },
  remove(db: Db, ip: string, scope: TrustedIp['scope']): boolean {
    return stmt(db, 'DELETE FROM trusted_ips WHERE ip_address = ? AND scope = ?').run(ip, scope).changes > 0;
  },
};

export const proxies = {
  list(db: Db): TrustedProxy[] {
    return stmt(db, 'SELECT * FROM trusted_proxies ORDER BY cidr').all() as TrustedProxy[];
  },
  get(db: Db, cidr: string): TrustedProxy | null {
    return (stmt(db, 'SELECT * FROM trusted_proxies WHERE cidr = ?').get(cidr) as TrustedProxy | undefined) ?? null;
  },
  insert(db: Db, cidr: string, note: string | null): number {
    return Number(stmt(db, 'INSERT INTO trusted_proxies (cidr, note) VALUES (?, ?)').run(cidr, note).lastInsertRowid);
  },
  remove(db: Db, cidr: string): boolean {
    return stmt(db, 'DELETE FROM trusted_proxies WHERE cidr = ?').run(cidr).changes > 0;
  },
};
