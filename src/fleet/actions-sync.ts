/**
 * Shared remediation actions (issue 17): every node's action records reach
 * every node, so each node's GET /api/actions and console list the fleet's
 * actions with the node that took each, and a person can approve, reject or
 * revert one from any node.
 *
 * A sibling of sync.ts with the same guarantees, simpler because an action is
 * one record, not a log of changes to a key:
 * - Out: a save of a shared record (this node's own, or another node's that a
 *   person reverted or rejected here) marks its row (storage/fleet-actions.ts)
 *   in the same statement; the worker upserts marked rows into PostgreSQL's
 *   fleet_actions by fleet id and clears the mark. PostgreSQL away: the marks
 *   stay and are written on return; a rewrite is an upsert: nothing doubled.
 * - In: a dedicated connection LISTENs; a notification, a (re)connect and a
 *   periodic tick run one catch-up: the rows written after the last version
 *   applied here (kept in fleet_state), each checked (action-schema.ts; a
 *   failing one is audited as fleet.action_refused and skipped, never
 *   repaired), then inserted or updated here; this node's own writes are
 *   skipped (no echo), and a row with a local change not yet written is left
 *   for that write (last writer wins; the writer records the conflict).
 * - Nothing is carried out on arrival: a record is a record. Effects are
 *   shared where they are shared (blocked and trusted addresses, sync.ts);
 *   what a person does here to another node's action is carried out here,
 *   through the executor, with this node's own guardrails (executor.ts).
 * - Conflicts: the last writer wins; its node audits fleet.conflict. The
 *   fleet's recent conflicts (of every kind of shared state) are read on
 *   each run, for GET /api/fleet and the console.
 */
import pg from 'pg';
import { nodeName, type FleetSettings } from '../config/fleet.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import { describe } from '../errors.js';
import type { Unit } from '../units.js';
import { fleetState } from '../storage/fleet.js';
import { fleetActions, type DirtyAction } from '../storage/fleet-actions.js';
import { recordAudit } from '../storage/audit.js';
import { CHANNEL, migratePg } from '../storage/pg/schema.js';
import { ACTIONS_CHANNEL, actionsAfter, recentConflicts, writeActions, type ConflictRow, type StoredAction } from '../storage/pg/actions.js';
import { pgConfig } from './connection.js';
import { checkStoredAction, toRemote, type ActionBody } from './action-schema.js';
import { issueLines } from '../util/zod-issues.js';

const LAST_VERSION = 'last_action_version';
const BATCH = 500;
const TICK_MS = 5000;
const RETRY_MS = [250, 500, 1000, 2000];
/** How many recent conflicts are kept for the operator. */
export const CONFLICTS_SHOWN = 50;

export interface FleetActionsStatus {
  connected: boolean;
  lastVersion: number;
  /** Records changed here and not yet written to PostgreSQL. */
  pending: number;
  lastError: string | null;
}

export interface FleetActions extends Unit {
  /** This node's name (the executor shows it on its own records). */
  readonly node: string;
  /** After a save of a shared record (outside the caller's transaction): wakes the worker. */
  changed(): void;
  status(): FleetActionsStatus;
  /** The fleet's most recent conflicts, newest first, as last read (empty until the first read). */
  conflicts(): readonly ConflictRow[];
  /** Resolves once nothing is pending here and every row PostgreSQL holds is applied (tests). */
  settled(): Promise<void>;
}

/** The record as PostgreSQL holds it (action-schema.ts checks it on the way in). */
function bodyOf(d: DirtyAction): ActionBody {
  const r = d.record;
  return {
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    action: r.action,
    target: r.target,
    ttlS: r.ttlS,
    expiresAt: r.expiresAt,
    decidedBy: r.decidedBy,
    actor: r.actor,
    mode: r.mode,
    status: r.status,
    reason: r.reason,
    analysisSummary: r.analysisSummary,
    result: r.result,
    reviewedBy: r.reviewedBy,
    revertsFleetId: d.revertsFleetId,
  };
}

export function createFleetActions(d: { settings: FleetSettings; db: Db; log: Logger }): FleetActions {
  const { settings, db, log } = d;
  const node = settings.nodeName;
  const conf = pgConfig(settings);
  let pool: pg.Pool | null = null;
  let listener: pg.Client | null = null;
  let connected = false;
  let stopped = true;
  let lastError: string | null = null;
  let loop: Promise<void> | null = null;
  let wakeLoop: (() => void) | null = null;
  let tick: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let conflicts: ConflictRow[] = [];
  const waiters: (() => void)[] = [];

  const lastVersion = () => Number(fleetState.get(db, LAST_VERSION) ?? 0);

  async function flush(p: pg.Pool): Promise<void> {
    for (;;) {
      const rows = fleetActions.dirty(db, BATCH);
      if (!rows.length) return;
      const res = await writeActions(
        p,
        node,
        rows.map((r) => ({ fleetId: r.record.fleetId, node: r.record.node ?? node, localId: r.record.id, body: bodyOf(r), baseVersion: r.fleetVersion })),
      );
      db.transaction(() => {
        rows.forEach((r, i) => fleetActions.markWritten(db, r.record.id, r.dirty, res.versions[i]!));
        for (const c of res.conflicts) {
          recordAudit(db, { actor: `fleet:${node}`, action: 'fleet.conflict', target: c.key, detail: { winner_version: c.version, winner_node: node, loser_version: c.loserVersion, loser_node: c.loserNode }, result: 'ok' });
        }
      })();
      for (const c of res.conflicts) log.warn('fleet conflict: this node overwrote a newer write of another node to an action (last writer wins)', { key: c.key, version: c.version, loser_node: c.loserNode, loser_version: c.loserVersion });
    }
  }

  /** One row from PostgreSQL: checked, then applied; a failing one is audited and logged. Runs inside the page's transaction. */
  function applyOne(s: StoredAction): void {
    const parsed = checkStoredAction(s);
    if (!parsed.success) {
      // The error names what failed; the row's own text goes into the audit and log only where it passed.
      const error = `version ${s.version}: ${issueLines(parsed.error.issues, s).join('; ')}`;
      const writer = nodeName.safeParse(s.writtenBy).success ? s.writtenBy : '(not a node name)';
      recordAudit(db, { actor: `fleet:${writer}`, action: 'fleet.action_refused', target: s.fleetId, detail: { version: s.version, node: nodeName.safeParse(s.node).success ? s.node : null }, result: 'failed', error });
      log.error('a fleet action does not pass the checks: skipped', { node: writer, version: s.version, error });
      return;
    }
    fleetActions.applyRemote(db, toRemote(parsed.data), node);
  }

  async function catchUp(p: pg.Pool): Promise<void> {
    for (;;) {
      const rows = await actionsAfter(p, lastVersion(), BATCH);
      if (!rows.length) return;
      db.transaction(() => {
        for (const s of rows) if (s.writtenBy !== node) applyOne(s);
        fleetState.set(db, LAST_VERSION, String(rows.at(-1)!.version));
      })();
    }
  }

  async function work(): Promise<void> {
    const p = pool;
    if (!p || !connected) return;
    try {
      await flush(p);
      await catchUp(p);
      conflicts = await recentConflicts(p, CONFLICTS_SHOWN);
      lastError = null;
      if (fleetActions.count(db) === 0) for (const w of waiters.splice(0)) w();
    } catch (e) {
      lastError = describe(e);
      log.warn('fleet action sync failed; retried on the next notification, tick or reconnect', { error: lastError });
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
    // Idempotent and cheap when done (sync.ts runs it too): whichever unit connects first migrates.
    await migratePg(c);
    c.on('notification', () => wake());
    // The change log's channel too: its writes may add conflicts to show.
    await c.query(`LISTEN ${ACTIONS_CHANNEL}`);
    await c.query(`LISTEN ${CHANNEL}`);
    connected = true;
    log.debug('fleet actions connected', { node, last_action_version: lastVersion(), pending: fleetActions.count(db) });
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
      log.debug('fleet actions: database unreachable; changed records wait here', { error: lastError ?? 'connection closed', pending: fleetActions.count(db) });
      await sleep(RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!);
    }
  }

  return {
    name: 'fleet-actions',
    node,
    start() {
      stopped = false;
      pool = new pg.Pool({ ...conf, max: 2, idleTimeoutMillis: 30_000 });
      pool.on('error', (e) => log.debug('fleet actions pool connection lost', { error: describe(e) }));
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
    changed: () => void setImmediate(wake),
    status: () => ({ connected, lastVersion: lastVersion(), pending: fleetActions.count(db), lastError }),
    conflicts: () => conflicts,
    settled: () => new Promise<void>((r) => (fleetActions.count(db) === 0 && connected && !running ? r() : (waiters.push(r), wake()))),
  };
}
