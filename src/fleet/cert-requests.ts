/**
 * Certificate orders and renewals asked of any node (issue 17). Only the
 * leader talks to the CA (leader.ts); a node that does not lead queues the
 * request in PostgreSQL (fleet_cert_requests) and answers 202 with its id;
 * the leader carries it out through the certificate service's usual path
 * (service.ts `carryOut`: the same skip and keep-names rules as a request
 * made to it) and records the outcome; the certificate reaches every node
 * through the shared certificates (shared-certs.ts).
 *
 * The leader's worker looks for queued requests when it becomes leader, on
 * each notification and every few seconds (a missed notification, or a
 * request queued while nobody led, is found on the next look). It runs one
 * request at a time, in the order they were queued.
 *
 * A leader that dies (or loses its lock) mid-request leaves the row
 * `running` under its term (the backend pid of the session that held the
 * lock); the next leader sees that term's lock is gone and queues the row
 * again. A leader that lost its lock but finishes anyway cannot record its
 * outcome over the new run (finishing is conditional on the term). A request
 * started MAX_STARTS times without an outcome is failed, not retried forever.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { CertResult, QueuedRequest } from '../certs/service.js';
import { describeRequest, parseCertRequest, type CertRequest } from '../certs/request.js';
import { AppError, describe } from '../errors.js';
import { claimCertRequest, enqueueCertRequest, finishCertRequest, getCertRequest, recentCertRequests, requeueOrphans, type CertRequestRow } from '../storage/pg/cert-requests.js';

const MAX_STARTS = 3;

export interface CertRequests {
  /** Queues a request for the leader; throws when the database cannot be reached (nothing is queued then). */
  enqueue(req: CertRequest, actor: string): Promise<QueuedRequest>;
  get(id: number): Promise<CertRequestRow | null>;
  recent(limit: number): Promise<CertRequestRow[]>;
  /** Asks the worker to look for queued requests (it does nothing unless this node leads). */
  wake(): void;
  /** Resolves after a full look that began after this call (tests). */
  settled(): Promise<void>;
  /** Resolves when no request is being carried out here (stop). */
  idle(): Promise<void>;
}

export interface CertRequestsDeps {
  pool: pg.Pool;
  node: string;
  log: Logger;
  leads: () => boolean;
  /** The current leadership term (the lock session's backend pid) while this node leads, else null. */
  term: () => number | null;
  /** The node leading now, as this node knows it. */
  leader: () => string | null;
  carryOut: (req: CertRequest, actor: string) => Promise<CertResult[]>;
}

export function createCertRequests(d: CertRequestsDeps): CertRequests {
  const { pool, node, log } = d;
  let running: Promise<void> | null = null;
  let again = false;
  let waiters: (() => void)[] = [];

  const outcomeOf = (results: CertResult[]) => {
    const failed = results.filter((r) => r.status === 'failed');
    return failed.length
      ? { state: 'failed' as const, result: results, error: failed.map((f) => `${f.domain}: ${f.error ?? 'failed'}`).join('; ') }
      : { state: 'done' as const, result: results, error: null };
  };

  async function work(): Promise<void> {
    const term = d.term();
    if (!d.leads() || term === null) return;
    const back = await requeueOrphans(pool);
    if (back.length) log.warn('certificate requests left running by a leader that is gone are queued again', { ids: back.join(',') });
    while (d.leads() && d.term() === term) {
      const r = await claimCertRequest(pool, node, term);
      if (!r) return;
      if (r.attempts > MAX_STARTS) {
        await finishCertRequest(pool, r.id, term, { state: 'failed', result: null, error: `given up: started ${MAX_STARTS} times without an outcome (its leader died or lost the lock each time)` });
        log.error('certificate request given up', { id: r.id, names: r.names.join(','), starts: MAX_STARTS });
        continue;
      }
      let req: CertRequest;
      try {
        req = parseCertRequest(r.body);
      } catch (e) {
        await finishCertRequest(pool, r.id, term, { state: 'failed', result: null, error: `not a request this node can carry out: ${describe(e).slice(0, 300)}` });
        log.error('a queued certificate request is not valid; failed without acting on it', { id: r.id, from: r.requestedNode });
        continue;
      }
      log.info('carrying out a certificate request queued by another node', { id: r.id, kind: r.kind, names: r.names.join(','), requested_by: `${r.requestedActor}@${r.requestedNode}`, start: r.attempts });
      let outcome: { state: 'done' | 'failed'; result: unknown; error: string | null };
      try {
        outcome = outcomeOf(await d.carryOut(req, `${r.requestedActor}@${r.requestedNode}`));
      } catch (e) {
        if (!d.leads() || d.term() !== term) {
          log.warn('leadership lost while carrying out a certificate request; the next leader runs it again', { id: r.id, error: describe(e) });
          return;
        }
        outcome = { state: 'failed', result: null, error: describe(e) };
      }
      const recorded = await finishCertRequest(pool, r.id, term, outcome);
      log[outcome.state === 'done' ? 'info' : 'warn']('certificate request finished', { id: r.id, state: outcome.state, recorded, ...(outcome.error ? { error: outcome.error } : {}) });
    }
  }

  const wake = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        const done = waiters;
        waiters = [];
        try {
          await work();
        } catch (e) {
          log.warn('looking for queued certificate requests failed; retried on the next notification or tick', { error: describe(e) });
        }
        for (const w of done) w();
      } while (again);
    })().finally(() => {
      running = null;
      if (again || waiters.length) wake();
    });
  };

  return {
    async enqueue(req, actor) {
      let r: CertRequestRow;
      try {
        r = await enqueueCertRequest(pool, { ...describeRequest(req), body: req, node, actor });
      } catch (e) {
        throw new AppError('unavailable', `the request could not be queued for the fleet leader (the fleet database did not answer: ${describe(e)}); nothing was queued`, { cause: e });
      }
      log.info('certificate request queued for the fleet leader', { id: r.id, kind: r.kind, names: r.names.join(','), leader: d.leader() ?? 'none' });
      return { id: r.id, state: r.state, leader: d.leader() };
    },
    get: (id) => getCertRequest(pool, id),
    recent: (limit) => recentCertRequests(pool, limit),
    wake,
    idle: async () => {
      await running;
    },
    settled: () =>
      new Promise<void>((r) => {
        waiters.push(r);
        if (running) again = true;
        else wake();
      }),
  };
}
