/**
 * The fleet change log and the shared blocked/trusted addresses in
 * PostgreSQL: the only place their SQL lives. Writes are batches of one
 * node's queued changes in one transaction under WRITE_LOCK (schema.ts);
 * each change is inserted once (by change id), updates its key's state row,
 * and the commit NOTIFYs the new highest version.
 */
import type pg from 'pg';
import { CHANNEL, WRITE_LOCK } from './schema.js';
import { applyConfigState, configKey, CONFIG_KINDS, type ConfigChange } from './config-changes.js';

/** One change to shared blocked/trusted addresses, as every node applies it. */
export type IpChange =
  | { kind: 'block'; ip: string; reason: string | null; blockedBy: string | null; expiresAt: string | null }
  | { kind: 'unblock'; ip: string }
  | { kind: 'trust'; ip: string; scope: 'real_ip' | 'source'; note: string | null }
  | { kind: 'untrust'; ip: string; scope: 'real_ip' | 'source' };

/** Any change the fleet shares: addresses (here) or configuration (config-changes.ts). */
export type FleetChange = IpChange | ConfigChange;

export const isConfigChange = (c: FleetChange): c is ConfigChange => CONFIG_KINDS.has(c.kind);

export interface ChangeToWrite {
  changeId: string;
  change: FleetChange;
  /** The last version the writing node had applied when it made the change. */
  baseVersion: number;
  madeAt: string;
}

export interface StoredChange {
  version: number;
  changeId: string;
  node: string;
  key: string;
  /** A later change for the same key exists: applying this one would be undone (or wrongly win over a newer local one). */
  superseded: boolean;
  /** As stored: unchecked until fleet/change-schema.ts has passed it. */
  change: FleetChange;
}

/** A change that overwrote a key another node had set after the writer last looked: last writer won. */
export interface Conflict {
  key: string;
  version: number;
  loserVersion: number;
  loserNode: string;
}

export interface WriteResult {
  /** Versions of changes inserted now, in order (a change already there is skipped). */
  versions: number[];
  duplicates: number;
  conflicts: Conflict[];
}

/** What a change is about: one key per blocked address, per trusted address and scope, and per configuration entity (configKey). */
export const keyOf = (c: FleetChange) =>
  isConfigChange(c) ? configKey(c) : c.kind === 'block' || c.kind === 'unblock' ? `blocked:${c.ip}` : `trusted:${c.scope}:${c.ip}`;

/** The latest change for a key (before the one being written), or null. */
async function latestFor(c: pg.ClientBase, key: string): Promise<{ version: number; node: string } | null> {
  const r = await c.query<{ version: string; node: string }>('SELECT version, node FROM fleet_changes WHERE key = $1 ORDER BY version DESC LIMIT 1', [key]);
  const row = r.rows[0];
  return row ? { version: Number(row.version), node: row.node } : null;
}

async function applyState(c: pg.ClientBase, ch: FleetChange, version: number, node: string): Promise<void> {
  if (isConfigChange(ch)) return applyConfigState(c, ch, version, node);
  switch (ch.kind) {
    case 'block':
      await c.query(
        `INSERT INTO fleet_blocked_ips (ip_address, reason, blocked_by, expires_at, version, node) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (ip_address) DO UPDATE SET reason = excluded.reason, blocked_by = excluded.blocked_by, expires_at = excluded.expires_at, version = excluded.version, node = excluded.node`,
        [ch.ip, ch.reason, ch.blockedBy, ch.expiresAt, version, node],
      );
      return;
    case 'unblock':
      await c.query('DELETE FROM fleet_blocked_ips WHERE ip_address = $1', [ch.ip]);
      return;
    case 'trust':
      await c.query(
        `INSERT INTO fleet_trusted_ips (ip_address, scope, note, version, node) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (ip_address, scope) DO UPDATE SET note = excluded.note, version = excluded.version, node = excluded.node`,
        [ch.ip, ch.scope, ch.note, version, node],
      );
      return;
    case 'untrust':
      await c.query('DELETE FROM fleet_trusted_ips WHERE ip_address = $1 AND scope = $2', [ch.ip, ch.scope]);
      return;
  }
}

/** Writes one node's queued changes, in order, in one transaction. */
export async function writeChanges(pool: pg.Pool, node: string, items: readonly ChangeToWrite[]): Promise<WriteResult> {
  const c = await pool.connect();
  // A checked-out client whose connection dies between two queries emits 'error' on itself (the pool
  // only listens while it is idle): without a listener that would end the process. The failing
  // query rejects anyway; the client is then destroyed rather than returned.
  let broken: Error | undefined;
  const onError = (e: Error) => (broken = e);
  c.on('error', onError);
  const out: WriteResult = { versions: [], duplicates: 0, conflicts: [] };
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
    for (const it of items) {
      // Checked first (under the lock, so no race) so a resend does not draw a version; ON CONFLICT stays as the guarantee.
      if ((await c.query('SELECT 1 FROM fleet_changes WHERE change_id = $1', [it.changeId])).rowCount) {
        out.duplicates++;
        continue;
      }
      const key = keyOf(it.change);
      const owner = await latestFor(c, key);
      const ins = await c.query<{ version: string }>(
        'INSERT INTO fleet_changes (change_id, node, kind, key, body, made_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (change_id) DO NOTHING RETURNING version',
        [it.changeId, node, it.change.kind, key, JSON.stringify(it.change), it.madeAt],
      );
      if (!ins.rows[0]) {
        out.duplicates++;
        continue;
      }
      const version = Number(ins.rows[0].version);
      // Another node changed this key after the writer last caught up: the writer wins, the other's change is the loser.
      if (owner && owner.node !== node && owner.version > it.baseVersion) {
        const conflict = { key, version, loserVersion: owner.version, loserNode: owner.node };
        await c.query('INSERT INTO fleet_conflicts (version, winner_node, loser_version, loser_node, key) VALUES ($1, $2, $3, $4, $5)', [version, node, owner.version, owner.node, conflict.key]);
        out.conflicts.push(conflict);
      }
      await applyState(c, it.change, version, node);
      out.versions.push(version);
    }
    if (out.versions.length) await c.query('SELECT pg_notify($1, $2)', [CHANNEL, String(out.versions.at(-1))]);
    await c.query('COMMIT');
    return out;
  } catch (e) {
    broken ??= e as Error;
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.removeListener('error', onError);
    c.release(broken);
  }
}

/** Changes after `version`, oldest first, at most `limit`. */
export async function changesAfter(pool: pg.Pool, version: number, limit: number): Promise<StoredChange[]> {
  const r = await pool.query<{ version: string; change_id: string; node: string; key: string; superseded: boolean; body: FleetChange }>(
    `SELECT f.version, f.change_id, f.node, f.key, f.body,
            EXISTS (SELECT 1 FROM fleet_changes l WHERE l.key = f.key AND l.version > f.version) AS superseded
       FROM fleet_changes f WHERE f.version > $1 ORDER BY f.version LIMIT $2`,
    [version, limit],
  );
  return r.rows.map((x) => ({ version: Number(x.version), changeId: x.change_id, node: x.node, key: x.key, superseded: x.superseded, change: x.body }));
}

/** The shared blocked addresses now (tests, the bench and a later snapshot catch-up). */
export async function sharedBlocked(pool: pg.Pool): Promise<{ ip: string; expiresAt: Date | null; version: number; node: string }[]> {
  const r = await pool.query<{ ip_address: string; expires_at: Date | null; version: string; node: string }>('SELECT ip_address, expires_at, version, node FROM fleet_blocked_ips ORDER BY ip_address');
  return r.rows.map((x) => ({ ip: x.ip_address, expiresAt: x.expires_at, version: Number(x.version), node: x.node }));
}

/** How many times each change id appears in the log (tests: nothing doubled). */
export async function changeCounts(pool: pg.Pool): Promise<{ total: number; distinct: number }> {
  const r = await pool.query<{ total: string; distinct: string }>('SELECT count(*) AS total, count(DISTINCT change_id) AS distinct FROM fleet_changes');
  return { total: Number(r.rows[0]!.total), distinct: Number(r.rows[0]!.distinct) };
}
