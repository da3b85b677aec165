/**
 * One of each job in a fleet (issue 17): the leader election.
 *
 * One leader for every fleet-once job (ACME orders, renewals, pruning the
 * shared challenge tokens), not one lock per job family: the jobs are rare
 * and light, they share the ACME account and the certificate store, and one
 * answer to "who does this" is what an operator needs in GET /api/fleet.
 *
 * Mechanism: a session-level advisory lock (pg_try_advisory_lock) taken on
 * a dedicated connection, which also LISTENs for shared certificates.
 * - Every LEADER_TICK_MS a node that does not lead tries the lock; the one
 *   that gets it leads until that connection ends. PostgreSQL frees the lock
 *   when the connection ends, so when the leader's process dies another node
 *   leads within about one tick. When its host vanishes without closing the
 *   connection, the server's keepalive (set per session, storage/pg/leader.ts)
 *   frees it in about 10 s.
 * - The leader proves its lock every tick with a round trip (HEARTBEAT_MS
 *   timeout). A failed round trip, an error or the end of the connection and
 *   it steps down at once, before the server can hand the lock to another
 *   node: at most one node believes it leads; for a few seconds maybe none.
 * - A node that lost the lock against its will waits HOLD_OFF_MS before it
 *   tries again, so a node with a flaky connection does not flap back: the
 *   others (trying every tick) take over.
 * - PostgreSQL unreachable: nobody can prove it leads, so no node orders or
 *   renews certificates (API: 503); local-only jobs (block expiry, pruning
 *   its own SQLite) run on every node regardless. An order already under way
 *   when the leader loses its lock finishes; its result is shared on return.
 */
import pg from 'pg';
import type { FleetSettings } from '../config/fleet.js';
import type { Logger } from '../log.js';
import type { Unit } from '../units.js';
import { describe } from '../errors.js';
import { sleeper } from '../util/sleeper.js';
import { pgConfig } from './connection.js';
import { migratePg } from '../storage/pg/schema.js';
import { REQUEST_CHANNEL, listenForRequests } from '../storage/pg/cert-requests.js';
import { CERT_CHANNEL, heartbeat, leaderHolder, listenForCertificates, tryLeaderLock, tuneLeaderSession } from '../storage/pg/leader.js';

export const LEADER_TICK_MS = 1000;
const HEARTBEAT_MS = 3000;
const HOLD_OFF_MS = 3 * LEADER_TICK_MS;
const RETRY_MS = [250, 500, 1000, 2000];

export interface LeaderStatus {
  /** This node holds the lock now. */
  isLeader: boolean;
  /** The node holding the lock (null: nobody, or the database is unreachable: unknown). */
  leader: string | null;
  /** When this node became the leader (ISO), null when it does not lead. */
  since: string | null;
  connected: boolean;
}

export interface FleetLeader extends Unit {
  leads(): boolean;
  /** While this node leads: its term, the backend pid of the session holding the lock (cert-requests.ts); else null. */
  term(): number | null;
  status(): LeaderStatus;
}

export interface FleetLeaderDeps {
  settings: FleetSettings;
  log: Logger;
  /** Called as leadership is gained (true) or lost (false); a throwing listener is logged. */
  onChange?: (leads: boolean) => void;
  /** Called on each (re)connect and shared-certificate notification, and every 5 ticks while connected. */
  onCertificates?: (why: 'connect' | 'notify' | 'tick') => void;
  /** Called when a node queues a certificate request (cert-requests.ts). */
  onRequests?: () => void;
  /** A job only the leader runs, every 60 ticks while it leads (a failure is logged). */
  leaderTick?: () => Promise<void>;
}

/** The node name in a holder's application_name (`haproxy-manager <node>`, connection.ts). */
const nodeOf = (applicationName: string) => /^haproxy-manager (\S+)$/.exec(applicationName)?.[1] ?? (applicationName || 'unknown');

export function createFleetLeader(d: FleetLeaderDeps): FleetLeader {
  const { settings, log } = d;
  const node = settings.nodeName;
  let client: pg.Client | null = null;
  let stopped = true;
  let isLeader = false;
  let since: string | null = null;
  let leader: string | null = null;
  let connected = false;
  let loop: Promise<void> | null = null;
  const nap = sleeper();
  let ticks = 0;
  let holdOffUntil = 0;

  const set = (leads: boolean, why: string) => {
    if (leads === isLeader) return;
    if (!leads && !stopped) holdOffUntil = Date.now() + HOLD_OFF_MS;
    isLeader = leads;
    since = leads ? new Date().toISOString() : null;
    if (leads) leader = node;
    log[leads ? 'info' : 'warn'](leads ? 'this node now leads the fleet: it runs ACME orders, renewals and fleet-once jobs' : 'this node no longer leads the fleet', { node, reason: why });
    try {
      d.onChange?.(leads);
    } catch (e) {
      log.error('a leadership listener failed', { error: describe(e) });
    }
  };

  /** One connection's life: resolves (or throws) when it ends; leadership ends with it. */
  async function session(): Promise<void> {
    const c = new pg.Client({ ...pgConfig(settings), query_timeout: HEARTBEAT_MS });
    client = c;
    let ended = false;
    const end = (why: string) => {
      ended = true;
      connected = false;
      set(false, why);
      nap.cut();
    };
    c.on('error', (e) => end(describe(e)));
    c.on('end', () => end('connection closed'));
    await c.connect();
    await migratePg(c);
    await tuneLeaderSession(c);
    c.on('notification', (n) => {
      if (n.channel === CERT_CHANNEL) d.onCertificates?.('notify');
      if (n.channel === REQUEST_CHANNEL) d.onRequests?.();
    });
    await listenForCertificates(c);
    await listenForRequests(c);
    connected = true;
    d.onCertificates?.('connect');
    while (!stopped && !ended) {
      if (isLeader) {
        await heartbeat(c);
      } else if (Date.now() >= holdOffUntil && (await tryLeaderLock(c))) {
        set(true, 'took the leader lock');
      } else {
        const holder = await leaderHolder(c);
        leader = holder === null ? null : nodeOf(holder);
      }
      if (++ticks % 5 === 0) d.onCertificates?.('tick');
      if (isLeader && d.leaderTick && ticks % 60 === 0) await d.leaderTick().catch((e) => log.warn('a leader job failed', { error: describe(e) }));
      await nap.sleep(LEADER_TICK_MS);
    }
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopped) {
      try {
        await session();
        attempt = 0;
      } catch (e) {
        if (!stopped) log[attempt === 0 ? 'warn' : 'debug']('fleet leader connection failed: this node does not lead until it is back', { error: describe(e) });
      }
      connected = false;
      leader = null;
      set(false, 'connection ended');
      // Whatever ended the session, the connection goes (and the lock with it).
      // A partitioned connection may never answer the goodbye: do not wait for it longer than a tick.
      const c = client;
      client = null;
      if (c) await Promise.race([c.end().catch(() => undefined), new Promise((r) => setTimeout(r, LEADER_TICK_MS).unref())]);
      if (stopped) return;
      await nap.sleep(RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!);
    }
  }

  return {
    name: 'fleet-leader',
    start() {
      stopped = false;
      loop = run();
    },
    async stop() {
      stopped = true;
      nap.cut();
      await client?.end().catch(() => undefined);
      await loop;
    },
    leads: () => isLeader,
    term: () => (isLeader ? ((client as unknown as { processID: number | null } | null)?.processID ?? null) : null),
    status: () => ({ isLeader, leader: isLeader ? node : leader, since, connected }),
  };
}
