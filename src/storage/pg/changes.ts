/**
 * The fleet change log and the shared blocked/trusted addresses in
 * PostgreSQL: the only place their SQL lives. Writes are batches of one
 * node's queued changes in one transaction under WRITE_LOCK (schema.ts);
 * each change is inserted once (by change id), its key's state row takes the
 * batch's last change for it, and the commit NOTIFYs the new highest version.
 */
import type pg from 'pg';
import { CHANNEL, WRITE_LOCK } from './schema.js';
import { applyConfigState, configKey, CONFIG_KINDS, type ConfigChange } from './config-changes.js';
import { inTransaction } from './transaction.js';

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

/** Rows per statement: a write of thousands of changes (an import shared) is a few set-based statements per chunk, not several per change. */
const CHUNK = 500;

type Owner = { version: number; node: string };

/** Inserts one chunk of changes (in order) and notes what each did; `latest` is each key's newest change so far. */
async function writeChunk(c: pg.ClientBase, node: string, chunk: readonly ChangeToWrite[], out: WriteResult, latest: Map<string, Owner>, final: Map<string, { change: FleetChange; version: number }>): Promise<void> {
  // Checked first (under the lock, so no race) so a resend does not draw a version; ON CONFLICT stays as the guarantee.
  const known = await c.query<{ change_id: string }>('SELECT change_id FROM fleet_changes WHERE change_id = ANY($1::uuid[])', [chunk.map((it) => it.changeId)]);
  const seen = new Set(known.rows.map((r) => r.change_id));
  const fresh = chunk.filter((it) => !seen.has(it.changeId));
  out.duplicates += chunk.length - fresh.length;
  if (!fresh.length) return;
  const keys = fresh.map((it) => keyOf(it.change));
  const unknown = [...new Set(keys)].filter((k) => !latest.has(k));
  if (unknown.length) {
    const r = await c.query<{ key: string; version: string; node: string }>(
      'SELECT DISTINCT ON (key) key, version, node FROM fleet_changes WHERE key = ANY($1::text[]) ORDER BY key, version DESC',
      [unknown],
    );
    for (const row of r.rows) latest.set(row.key, { version: Number(row.version), node: row.node });
  }
  // Versions are drawn in the chunk's order (the rows are inserted sorted by their position).
  const ins = await c.query<{ version: string; change_id: string }>(
    `INSERT INTO fleet_changes (change_id, node, kind, key, body, made_at)
     SELECT u.change_id, $1, u.kind, u.key, u.body, u.made_at
       FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[]) WITH ORDINALITY AS u(change_id, kind, key, body, made_at, ord)
      ORDER BY u.ord
     ON CONFLICT (change_id) DO NOTHING RETURNING version, change_id`,
    [node, fresh.map((it) => it.changeId), fresh.map((it) => it.change.kind), keys, fresh.map((it) => JSON.stringify(it.change)), fresh.map((it) => it.madeAt)],
  );
  const versionOf = new Map(ins.rows.map((r) => [r.change_id, Number(r.version)]));
  for (const [i, it] of fresh.entries()) {
    const version = versionOf.get(it.changeId);
    if (version === undefined) {
      out.duplicates++;
      continue;
    }
    const key = keys[i]!;
    const owner = latest.get(key);
    // Another node changed this key after the writer last caught up: the writer wins, the other's change is the loser.
    if (owner && owner.node !== node && owner.version > it.baseVersion) {
      const conflict = { key, version, loserVersion: owner.version, loserNode: owner.node };
      await c.query('INSERT INTO fleet_conflicts (version, winner_node, loser_version, loser_node, key) VALUES ($1, $2, $3, $4, $5)', [version, node, owner.version, owner.node, key]);
      out.conflicts.push(conflict);
    }
    latest.set(key, { version, node });
    final.set(key, { change: it.change, version });
    out.versions.push(version);
  }
}

/**
 * Writes one node's queued changes, in order, in one transaction (however
 * many: the readers see them all at once, with one notification, so a node
 * catching up applies them together). The state tables get each key's last
 * change of the batch.
 */
export async function writeChanges(pool: pg.Pool, node: string, items: readonly ChangeToWrite[]): Promise<WriteResult> {
  return inTransaction(pool, async (c) => {
    const out: WriteResult = { versions: [], duplicates: 0, conflicts: [] };
    await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
    const latest = new Map<string, Owner>();
    const final = new Map<string, { change: FleetChange; version: number }>();
    for (let i = 0; i < items.length; i += CHUNK) await writeChunk(c, node, items.slice(i, i + CHUNK), out, latest, final);
    for (const { change, version } of final.values()) await applyState(c, change, version, node);
    if (out.versions.length) await c.query('SELECT pg_notify($1, $2)', [CHANNEL, String(Math.max(...out.versions))]);
    return out;
  });
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

/**
 * Deletes changes that a later change for the same key superseded, when both
 * were committed more than `olderThanS` seconds ago; at most `limit` rows a
 * call (the leader calls it now and then). Safe for catch-up: a node skips a
 * superseded change anyway, and each key keeps its latest change, so a node
 * replaying the log from any version still ends at the current state. The
 * horizon is long because a resend of a pruned change (a node that wrote it,
 * died before clearing its outbox and stayed away that long) would be taken
 * as new. Returns how many were deleted.
 */
export async function pruneSupersededChanges(pool: pg.Pool, olderThanS: number, limit: number): Promise<number> {
  const r = await pool.query(
    `DELETE FROM fleet_changes WHERE version IN (
       SELECT f.version FROM fleet_changes f
        WHERE f.committed_at < now() - make_interval(secs => $1)
          AND EXISTS (SELECT 1 FROM fleet_changes l WHERE l.key = f.key AND l.version > f.version AND l.committed_at < now() - make_interval(secs => $1))
        ORDER BY f.version LIMIT $2)`,
    [olderThanS, limit],
  );
  return r.rowCount ?? 0;
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
