/**
 * The fleet sync unit (issue 17): shares this node's blocked and trusted
 * addresses through PostgreSQL and applies the other nodes'.
 *
 * - Out: every local change (API, console, policy) lands in the SQLite
 *   fleet_outbox in its own transaction (Ops.record); the unit writes the
 *   outbox to PostgreSQL in order, in batches (up to GATHER changes per
 *   transaction), and deletes what was written.
 *   PostgreSQL away: the outbox grows and is written on return; a resend is a
 *   no-op there (change id), so nothing is lost or doubled.
 * - In: one dedicated connection (not the pool's) LISTENs; a notification,
 *   a (re)connect and a periodic tick all run the same catch-up: the changes
 *   after the last version applied here (kept in SQLite), oldest first,
 *   applied through the same ops as local ones, with Ops that do not record
 *   (no echo). This node's own changes are skipped, and so is a change with
 *   a later one for its key in the log or this node's outbox: the last
 *   writer wins on every node, also one that wrote late after an outage.
 * - Conflicts: last writer (highest version) wins in PostgreSQL; the writer
 *   records the overwritten key in fleet_conflicts and audits it here.
 * - Configuration (domains, TCP services, trusted proxies): shared the same
 *   way, keyed per entity (storage/pg/config-changes.ts). A catch-up gathers
 *   up to GATHER changes and applies the domains and TCP services among them
 *   as one applier change, so one reload however many (apply-config.ts);
 *   trusted proxies, like addresses, are runtime changes. A server's
 *   administrative state (drain, maint, ready) is a runtime change applied
 *   after the configuration (apply-server-states.ts).
 * - Start: before HAProxy is rendered, the daemon waits up to START_WAIT_MS
 *   for one flush and catch-up (catchUpBeforeServing), so a node back from a
 *   long outage serves the fleet's state, not its old one. The database
 *   unreachable then: the node serves its local copy and catches up when it
 *   connects. A new node starts from version 0: superseded changes are
 *   skipped, so replaying the log applies each key's latest change once,
 *   which is the shared state (the log is never pruned).
 * One worker runs flush and catch-up one after the other, never together.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { FleetSettings } from '../config/fleet.js';
import { redactDatabaseUrl } from '../config/fleet.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import { describe, isAppError } from '../errors.js';
import type { Unit } from '../units.js';
import { fleetOutbox, fleetState } from '../storage/fleet.js';
import { recordAudit } from '../storage/audit.js';
import { migratePg, listenForChanges } from '../storage/pg/schema.js';
import { changesAfter, keyOf, writeChanges, type FleetChange, type IpChange, type StoredChange } from '../storage/pg/changes.js';
import { addProxy, blockIp, blockIps, removeProxy, trustIp, unblockIp, untrustIp, type BatchBlock, type Ops } from '../haproxy/changes/ip-lists.js';
import { pgConfig } from './connection.js';
import { fleetChangeSchema, type CheckedChange, type CheckedConfigChange } from './change-schema.js';
import { appliedByConfigRun, applyConfigRun, type ConfigItem } from './apply-config.js';
import { applyServerStates, type ServerStateItem } from './apply-server-states.js';
import { issueLines } from '../util/zod-issues.js';

const LAST_APPLIED = 'last_applied_version';
const BATCH = 500;
/** Changes gathered (in pages of BATCH) before applying: the configuration among them goes as one reload. */
const GATHER = 20_000;
/** How long a starting node waits for its first catch-up before HAProxy is rendered. */
export const START_WAIT_MS = 5000;
const TICK_MS = 5000;
const RETRY_MS = [250, 500, 1000, 2000];

export interface FleetSyncStatus {
  node: string;
  connected: boolean;
  lastAppliedVersion: number;
  outbox: number;
  lastError: string | null;
}

export interface FleetSync extends Unit {
  /** For Ops.record: queues a local change (inside the caller's transaction) and wakes the worker after it. */
  record(db: Db, change: FleetChange): void;
  status(): FleetSyncStatus;
  /**
   * At start, before HAProxy is rendered: connects, writes this node's queued
   * changes and applies the fleet's, waiting at most `waitMs`; logs what
   * happened. Never throws: an unreachable database leaves the local copy.
   */
  catchUpBeforeServing(waitMs?: number): Promise<'caught_up' | 'unreachable' | 'failed' | 'still_running'>;
  /** Resolves once the outbox is empty and every change known to PostgreSQL is applied (tests, bench). */
  settled(): Promise<void>;
}

export interface FleetSyncDeps {
  settings: FleetSettings;
  db: Db;
  /** Ops without `record`: what other nodes' changes are applied with. */
  ops: Ops;
  log: Logger;
}

/** Changes applied one by one as runtime changes: addresses and trusted proxies. */
type RuntimeItem = IpChange | Extract<CheckedConfigChange, { kind: 'trusted_proxy' | 'trusted_proxy_remove' }>;

/** A change from the log, checked (change-schema.ts); a failing one is audited and logged, and null is returned. */
function checked(db: Db, log: Logger, s: StoredChange): CheckedChange | null {
  const parsed = fleetChangeSchema.safeParse(s.change);
  if (parsed.success) return parsed.data;
  const error = `version ${s.version}: ${issueLines(parsed.error.issues, s.change).join('; ')}`;
  recordAudit(db, { actor: `fleet:${s.node}`, action: 'fleet.change_refused', target: null, detail: { version: s.version, change_id: s.changeId }, result: 'failed', error });
  log.error('a fleet change does not pass the checks: skipped', { node: s.node, version: s.version, error });
  return null;
}

/** Applies one change from another node; a state already as wanted is not an error. */
async function applyOne(ops: Ops, node: string, c: RuntimeItem): Promise<void> {
  const actor = `fleet:${node}`;
  try {
    switch (c.kind) {
      case 'block':
        await blockIp(ops, actor, { ip: c.ip, reason: c.reason, blockedBy: c.blockedBy, expiresAt: c.expiresAt }, { extendIfPresent: true, replace: true });
        return;
      case 'unblock':
        await unblockIp(ops, actor, c.ip);
        return;
      case 'trust':
        await trustIp(ops, actor, c.ip, c.scope, c.note);
        return;
      case 'untrust':
        await untrustIp(ops, actor, c.ip, c.scope);
        return;
      case 'trusted_proxy':
        await addProxy(ops, actor, c.cidr, c.note);
        return;
      case 'trusted_proxy_remove':
        await removeProxy(ops, actor, c.cidr);
        return;
    }
  } catch (e) {
    if (isAppError(e) && (e.kind === 'not_found' || e.kind === 'conflict')) return;
    throw e;
  }
}

/**
 * Applies a run of other nodes' changes in order. Consecutive blocks go as
 * one batch (one runtime change: a node catching up after an outage applies
 * hundreds at once); a block already expired is dropped (every node lifts it
 * at that time anyway). `done(version)` is called as each part is applied.
 */
async function applyRun(ops: Ops, run: { s: StoredChange; c: RuntimeItem }[], done: (version: number) => void): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < run.length; ) {
    const { s, c } = run[i]!;
    if (c.kind !== 'block') {
      await applyOne(ops, s.node, c);
      done(s.version);
      i++;
      continue;
    }
    let j = i;
    const blocks: BatchBlock[] = [];
    const seen = new Set<string>();
    for (; j < run.length && run[j]!.c.kind === 'block' && !seen.has((run[j]!.c as IpChange).ip); j++) {
      const b = run[j]!.c as Extract<IpChange, { kind: 'block' }>;
      seen.add(b.ip);
      if (b.expiresAt !== null && Date.parse(b.expiresAt) <= now) continue;
      blocks.push({ actor: `fleet:${run[j]!.s.node}`, ip: b.ip, reason: b.reason, blockedBy: b.blockedBy, expiresAt: b.expiresAt });
    }
    if (blocks.length) await blockIps(ops, blocks, { replace: true });
    done(run[j - 1]!.s.version);
    i = j;
  }
}

export function createFleetSync(d: FleetSyncDeps): FleetSync {
  const { settings, db, log } = d;
  const node = settings.nodeName;
  const conf = pgConfig(settings);
  let pool: pg.Pool | null = null;
  let listener: pg.Client | null = null;
  let connected = false;
  let stopped = true;
  let lastError: string | null = null;
  let migrated = false;
  let loop: Promise<void> | null = null;
  let wakeLoop: (() => void) | null = null;
  let tick: NodeJS.Timeout | null = null;
  // The worker: one run at a time; a wake during a run asks for one more.
  let running: Promise<void> | null = null;
  let again = false;
  const waiters: (() => void)[] = [];

  const lastApplied = () => Number(fleetState.get(db, LAST_APPLIED) ?? 0);

  async function flush(p: pg.Pool): Promise<boolean> {
    for (;;) {
      // Up to GATHER at once, in one transaction: the other nodes see them together and apply the configuration among them with one reload.
      const rows = fleetOutbox.oldest(db, GATHER);
      if (!rows.length) return true;
      const res = await writeChanges(
        p,
        node,
        rows.map((r) => {
          const b = r.body as { change: FleetChange; madeAt: string };
          return { changeId: r.changeId, change: b.change, baseVersion: r.baseVersion, madeAt: b.madeAt };
        }),
      );
      fleetOutbox.remove(db, rows.map((r) => r.id));
      for (const c of res.conflicts) {
        recordAudit(db, { actor: `fleet:${node}`, action: 'fleet.conflict', target: c.key, detail: { winner_version: c.version, winner_node: node, loser_version: c.loserVersion, loser_node: c.loserNode }, result: 'ok' });
        log.warn('fleet conflict: this node overwrote a newer change of another node (last writer wins)', { key: c.key, version: c.version, loser_node: c.loserNode, loser_version: c.loserVersion });
      }
      if (res.versions.length || res.duplicates) log.debug('fleet changes written', { written: res.versions.length, duplicates: res.duplicates });
    }
  }

  async function catchUp(p: pg.Pool): Promise<void> {
    for (;;) {
      const changes: StoredChange[] = [];
      for (let after = lastApplied(); changes.length < GATHER; after = changes.at(-1)!.version) {
        const page = await changesAfter(p, after, BATCH);
        changes.push(...page);
        if (page.length < BATCH) break;
      }
      if (!changes.length) return;
      // Keys this node changed and has not written yet: its change is newer than anything in the log.
      const pending = new Set(fleetOutbox.oldest(db, 100_000).map((r) => keyOf((r.body as { change: FleetChange }).change)));
      const run: { s: StoredChange; c: RuntimeItem }[] = [];
      const config: ConfigItem[] = [];
      const states: ServerStateItem[] = [];
      for (const s of changes) {
        if (s.node === node || s.superseded || pending.has(s.key)) continue;
        const c = checked(db, log, s);
        if (!c) continue;
        if (c.kind === 'server_state') states.push({ version: s.version, node: s.node, change: c });
        else if ('ip' in c || !appliedByConfigRun(c)) run.push({ s, c: c as RuntimeItem });
        else config.push({ version: s.version, node: s.node, change: c });
      }
      // Addresses and configuration are independent keys: addresses first (each part marked applied as it
      // goes, unless configuration below it waits), then the configuration as one change, then server
      // states (after the domains that hold their servers: apply-server-states.ts).
      await applyRun(d.ops, run, config.length || states.length ? () => undefined : (v) => fleetState.set(db, LAST_APPLIED, String(v)));
      await applyConfigRun(d.ops, db, log, config);
      await applyServerStates(d.ops, db, log, states);
      // Skipped changes at the end count as applied too.
      fleetState.set(db, LAST_APPLIED, String(changes.at(-1)!.version));
    }
  }

  async function work(): Promise<void> {
    const p = pool;
    if (!p || !connected) return;
    try {
      // Out before in: a local change made before a remote one reaches PostgreSQL first.
      await flush(p);
      await catchUp(p);
      lastError = null;
      if (fleetOutbox.count(db) === 0) for (const w of waiters.splice(0)) w();
    } catch (e) {
      lastError = describe(e);
      log.warn('fleet sync failed; retried on the next notification, tick or reconnect', { error: lastError });
    }
  }

  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await work();
      } while (again && !stopped);
    })().finally(() => {
      running = null;
      // A wake between the loop's last check and here (a microtask, e.g. settled()) found it still running: run once more.
      if (again && !stopped) wake();
    });
  }

  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wakeLoop = () => {
        clearTimeout(t);
        r();
      };
    });

  /** One connection's life: connect, migrate, LISTEN, catch up; resolves when the connection ends. */
  async function session(): Promise<void> {
    const c = new pg.Client(conf);
    listener = c;
    const ended = new Promise<void>((r) => {
      c.once('end', () => r());
      c.on('error', (e) => {
        lastError = describe(e);
        r();
      });
    });
    await c.connect();
    if (!migrated) {
      const applied = await migratePg(c);
      if (applied.length) log.info('fleet database schema migrated', { versions: applied.join(',') });
      migrated = true;
    }
    c.on('notification', () => wake());
    await listenForChanges(c);
    connected = true;
    log.info('fleet database connected', { node, database: redactDatabaseUrl(settings.databaseUrl), last_applied_version: lastApplied(), outbox: fleetOutbox.count(db) });
    wake();
    await ended;
    connected = false;
    c.removeAllListeners('notification');
    await c.end().catch(() => undefined);
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopped) {
      try {
        await session();
        attempt = 0;
      } catch (e) {
        lastError = describe(e);
        connected = false;
        await listener?.end().catch(() => undefined);
      }
      if (stopped) return;
      // Once per outage at warn; the retries after it at debug.
      log[attempt === 0 ? 'warn' : 'debug']('fleet database unreachable: this node serves and acts alone; its changes are queued', { error: lastError ?? 'connection closed', outbox: fleetOutbox.count(db) });
      await sleep(RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!);
    }
  }

  return {
    name: 'fleet',
    start() {
      stopped = false;
      pool = new pg.Pool({ ...conf, max: 4, idleTimeoutMillis: 30_000 });
      // An idle pooled connection that dies (the database stopped) is dropped; the next use reconnects.
      pool.on('error', (e) => log.debug('fleet pool connection lost', { error: describe(e) }));
      loop = run();
      tick = setInterval(() => wake(), TICK_MS);
      tick.unref();
    },
    async stop() {
      stopped = true;
      if (tick) clearInterval(tick);
      wakeLoop?.();
      await listener?.end().catch(() => undefined);
      await loop;
      await running;
      await pool?.end().catch(() => undefined);
      pool = null;
    },
    record(db2, change) {
      fleetOutbox.add(db2, randomUUID(), { change, madeAt: new Date().toISOString() }, Number(fleetState.get(db2, LAST_APPLIED) ?? 0));
      // After the caller's transaction: the worker reads committed rows only.
      setImmediate(wake);
    },
    async catchUpBeforeServing(waitMs = START_WAIT_MS) {
      const t0 = Date.now();
      const p = new pg.Pool({ ...conf, max: 1 });
      p.on('error', (e) => log.debug('fleet start-up connection lost', { error: describe(e) }));
      const result = { outcome: 'unreachable' as 'caught_up' | 'unreachable' | 'failed' };
      const job = (async () => {
        if (!migrated) {
          const c = await p.connect();
          result.outcome = 'failed';
          try {
            const applied = await migratePg(c);
            if (applied.length) log.info('fleet database schema migrated', { versions: applied.join(',') });
            migrated = true;
          } finally {
            c.release();
          }
        }
        await flush(p);
        result.outcome = 'failed';
        await catchUp(p);
        result.outcome = 'caught_up';
      })()
        .catch((e) => {
          lastError = describe(e);
        })
        .finally(() => {
          void p.end().catch(() => undefined);
        });
      // The worker's slot: a wake meanwhile (the unit started) runs after this, never beside it.
      running = job.finally(() => {
        running = null;
        if (again) wake();
      });
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([job.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), waitMs)))]);
      clearTimeout(timer);
      const ms = Date.now() - t0;
      if (late) {
        log.warn('fleet catch-up at start takes longer than the wait: serving while it goes on', { wait_ms: waitMs, last_applied_version: lastApplied() });
        return 'still_running';
      }
      if (result.outcome === 'caught_up') log.info('fleet caught up before serving', { ms, last_applied_version: lastApplied(), outbox: fleetOutbox.count(db) });
      else if (result.outcome === 'failed') log.error('fleet catch-up at start failed: serving this node\'s local copy; retried once connected', { ms, error: lastError ?? 'unknown', last_applied_version: lastApplied() });
      else log.warn('fleet database unreachable at start: serving this node\'s local copy; it catches up once connected', { ms, error: lastError ?? 'unknown', outbox: fleetOutbox.count(db) });
      return result.outcome;
    },
    status: () => ({ node, connected, lastAppliedVersion: lastApplied(), outbox: fleetOutbox.count(db), lastError }),
    settled: () => new Promise<void>((r) => (fleetOutbox.count(db) === 0 && connected && !running ? r() : (waiters.push(r), wake()))),
  };
}
