/**
 * The fleet's "one of each job" part, as the composition root wires it
 * (issue 17): the leader election (leader.ts), shared certificates
 * (shared-certs.ts) and shared HTTP-01 tokens (challenges.ts) over one small
 * pool, plus the gate the certificate service asks before any order.
 *
 * Without fleet.secret_key_file (or the credential fleet-secret-key) the
 * leader still alone orders and renews, but certificates are not shared:
 * each node serves what it holds (logged at start, shown in GET /api/fleet).
 */
import pg from 'pg';
import type { FleetSettings } from '../config/fleet.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { Unit } from '../units.js';
import type { Responder } from '../certs/responder.js';
import type { AccountStore } from '../certs/acme.js';
import type { CertFleet, CertService } from '../certs/service.js';
import { AppError, describe } from '../errors.js';
import { pruneChallenges } from '../storage/pg/challenges.js';
import { pruneSupersededChanges } from '../storage/pg/changes.js';
import { pgConfig } from './connection.js';
import { createFleetLeader, type LeaderStatus } from './leader.js';
import { createSharedCerts, type LocalCerts, type SharedCerts } from './shared-certs.js';
import { sharedChallengeLookup, sharedResponder } from './challenges.js';
import { createCertRequests, type CertRequests } from './cert-requests.js';
import { createSharedAccount } from './acme-account.js';

/** Superseded changes older than this leave the change log (a week: see pruneSupersededChanges). */
const CHANGE_LOG_KEEP_S = 7 * 86_400;
const CHANGE_LOG_PRUNE_EVERY_MS = 3_600_000;
const CHANGE_LOG_PRUNE_BATCH = 50_000;

export interface FleetJobsStatus extends LeaderStatus {
  /** Certificates are shared (a fleet secret key is configured). */
  certificates: boolean;
}

export interface FleetJobs extends Unit {
  status(): FleetJobsStatus;
  leads(): boolean;
  /** The certificate service's fleet part. */
  certFleet: CertFleet;
  /** The responder the ACME client uses: tokens go to the shared store too. */
  responder(local: Responder): Responder;
  /** For the local responder: a token another node's order shared. */
  lookupChallenge(token: string): Promise<string | undefined>;
  /** Shared certificates; null without a fleet secret key. */
  sharedCerts: SharedCerts | null;
  /** Certificate requests queued for the leader (GET /api/fleet/requests). */
  requests: CertRequests;
  /** The fleet's one ACME account (null without a fleet secret key: each node keeps its own). */
  acmeAccount: AccountStore | null;
}

export function createFleetJobs(d: { settings: FleetSettings; db: Db; log: Logger; certs: () => LocalCerts & Pick<CertService, 'carryOut'>; onLeads?: (leads: boolean) => void }): FleetJobs {
  const { settings, log } = d;
  const pool = new pg.Pool({ ...pgConfig(settings), max: 3, idleTimeoutMillis: 30_000 });
  // An idle pooled connection that dies (the database stopped) is dropped; the next use reconnects.
  pool.on('error', (e) => log.debug('fleet pool connection lost', { error: describe(e) }));
  const shared = settings.secretKey ? createSharedCerts({ pool, key: settings.secretKey, node: settings.nodeName, db: d.db, log, certs: d.certs }) : null;
  let lastLogPrune = 0;
  const leader = createFleetLeader({
    settings,
    log,
    onChange: (leads) => {
      d.onLeads?.(leads);
      if (leads) requests.wake();
    },
    onCertificates: (why) => {
      shared?.wake();
      if (why === 'tick') requests.wake();
    },
    onRequests: () => requests.wake(),
    leaderTick: async () => {
      const n = await pruneChallenges(pool);
      if (n) log.debug('expired challenge tokens pruned', { count: n });
      // The change log keeps each key's latest change; superseded ones go after CHANGE_LOG_KEEP_S, a batch an hour.
      if (Date.now() - lastLogPrune >= CHANGE_LOG_PRUNE_EVERY_MS) {
        lastLogPrune = Date.now();
        const pruned = await pruneSupersededChanges(pool, CHANGE_LOG_KEEP_S, CHANGE_LOG_PRUNE_BATCH);
        if (pruned) log.info('superseded fleet changes pruned from the change log', { count: pruned, older_than_days: CHANGE_LOG_KEEP_S / 86_400 });
      }
    },
  });
  const lookup = sharedChallengeLookup(pool);
  const requests = createCertRequests({
    pool,
    node: settings.nodeName,
    log,
    leads: () => leader.leads(),
    term: () => leader.term(),
    leader: () => leader.status().leader,
    carryOut: (req, actor) => d.certs().carryOut(req, actor),
  });
  // Neither leading nor queueing is possible without the database.
  const assertReachable = (s: LeaderStatus) => {
    if (!s.connected) {
      throw new AppError('unavailable', 'this node cannot reach the fleet database, so it cannot prove it leads the fleet; certificates are ordered and renewed by the leader only (GET /api/fleet)');
    }
  };

  return {
    name: 'fleet-leader',
    start() {
      if (!shared) log.warn('no fleet secret key (fleet.secret_key_file): certificates are not shared; each node serves only what it holds');
      leader.start();
    },
    async stop() {
      await leader.stop();
      await requests.idle();
      await shared?.idle();
      await pool.end().catch(() => undefined);
    },
    status: () => ({ ...leader.status(), certificates: shared !== null }),
    leads: () => leader.leads(),
    certFleet: {
      assertMayOrder() {
        const s = leader.status();
        if (s.isLeader) return;
        assertReachable(s);
        throw new AppError(
          'conflict',
          s.leader
            ? `${s.leader} leads the fleet: certificates are ordered and renewed there and reach this node by themselves; send the request to ${s.leader}`
            : 'no node leads the fleet at this moment (an election is under way); try again in a few seconds',
          { detail: { leader: s.leader } },
        );
      },
      queues() {
        const s = leader.status();
        if (s.isLeader) return false;
        assertReachable(s);
        return true;
      },
      enqueue: (req, actor) => requests.enqueue(req, actor),
      published: (c) => shared?.published(c) ?? Promise.resolve(),
      removed: (name, serial) => shared?.removed(name, serial) ?? Promise.resolve(),
    },
    responder: (local) => sharedResponder(local, pool, settings.nodeName, log),
    lookupChallenge: (token) => lookup(token),
    sharedCerts: shared,
    requests,
    acmeAccount: settings.secretKey ? createSharedAccount({ pool, key: settings.secretKey, node: settings.nodeName, db: d.db, log }) : null,
  };
}
