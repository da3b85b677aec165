/**
 * The fleet's PostgreSQL schema: numbered, forward-only migrations, applied
 * at a node's (re)connect under an advisory lock so several nodes starting at
 * once migrate once. Never edit a shipped migration; append the next one.
 *
 * fleet_changes is the change log: `version` (a sequence) is the fleet's
 * monotonic order. Writers take the WRITE_LOCK advisory lock for their whole
 * transaction, so versions become visible in the order they were drawn and a
 * catch-up "after version v" never skips a change that commits late.
 * `change_id` (made by the node when the change was made locally) makes a
 * resend a no-op. `key` names what a change is about (`blocked:<ip>`,
 * `trusted:<scope>:<ip>`): a change with a later one for its key is
 * superseded, and nodes catching up skip it (the last writer wins on every
 * node, not only in the state tables). The state tables hold the current shared value of each key
 * with the version and node that set it (last writer wins).
 */
import type pg from 'pg';
import { pgMigrations as migrations } from './migrations/index.js';

/** Advisory lock keys (pg_advisory_xact_lock): fixed numbers, "hm17" and "hm18" in ASCII. */
export const MIGRATE_LOCK = 0x686d3137;
export const WRITE_LOCK = 0x686d3138;
/** The NOTIFY channel; the payload is the highest version committed. */
export const CHANNEL = 'hm_fleet_changes';

export const LATEST_PG_SCHEMA = migrations.at(-1)!.version;

/** Brings the schema up to date; returns the versions applied now. */
export async function migratePg(c: pg.ClientBase): Promise<number[]> {
  const applied: number[] = [];
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    await c.query('CREATE TABLE IF NOT EXISTS fleet_schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const cur = Number((await c.query<{ v: number | null }>('SELECT max(version) AS v FROM fleet_schema_migrations')).rows[0]?.v ?? 0);
    if (cur > LATEST_PG_SCHEMA) throw new Error(`the fleet database has schema ${cur}, newer than this daemon knows (${LATEST_PG_SCHEMA}): upgrade this node`);
    for (const m of migrations.filter((x) => x.version > cur)) {
      await c.query(m.sql);
      await c.query('INSERT INTO fleet_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return applied;
}

/** Subscribes a dedicated connection to change notifications. */
export async function listenForChanges(c: pg.ClientBase): Promise<void> {
  await c.query(`LISTEN ${CHANNEL}`);
}
