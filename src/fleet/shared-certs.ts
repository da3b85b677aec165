/**
 * Shared certificates (issue 17): a certificate issued once, by the leader,
 * is served by every node.
 *
 * - Out: after a certificate ordered here is installed locally, its chain
 *   and its private key sealed with the fleet key (secret-box.ts) go to
 *   PostgreSQL (fleet_certificates), which notifies every node. A removal
 *   writes a tombstone naming the serial removed.
 * - In: on (re)connect, on a notification and every few seconds, the node
 *   compares the shared list (names and serials only) with its own
 *   certificates. A shared certificate it lacks, or newer than its own, is
 *   fetched, unsealed in memory and installed through the certificate
 *   service's usual path (0600 file, database row, hot-load into HAProxy,
 *   no reload). A tombstone removes exactly the serial it names, unless a
 *   domain on this node still uses that certificate (then it is kept).
 * - A local certificate the database lacks, or newer than the database's
 *   (issued while the database was away, or held before the node joined a
 *   fleet), is published: the newest certificate of a name wins everywhere.
 * - A removal is first written locally (storage/fleet-cert-removals.ts),
 *   then to PostgreSQL; one made while the database was away is sent at the
 *   start of the next comparison, before the shared list is read, so the
 *   shared copy of the serial removed here is never installed again. (Why
 *   not a fleet_outbox change: certificates are not in the change log; the
 *   tombstone they already have, naming the serial, is what is queued.) A
 *   newer certificate of that name issued meanwhile elsewhere is a different
 *   certificate: it is not removed, and the newest wins as always.
 * - A sealed key that does not open here (another fleet key, altered) is
 *   refused: audited once per serial and logged without key material; the
 *   node keeps serving what it has.
 * One worker: runs never overlap; a wake during a run asks for one more.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { CertificateRow, Challenge } from '../storage/certificates.js';
import type { IssuedHere } from '../certs/service.js';
import { recordAudit } from '../storage/audit.js';
import { pendingCertRemovals } from '../storage/fleet-cert-removals.js';
import { describe } from '../errors.js';
import { putSharedCert, removeSharedCert, sharedCert, sharedCertHeads, type SharedCert } from '../storage/pg/certificates.js';
import { seal, unseal } from './secret-box.js';
import { serialWorker } from './worker.js';


/** The certificate service as this unit needs it (certs/service.ts). */
export interface LocalCerts {
  list(): CertificateRow[];
  readParts(c: CertificateRow): { chain: string; key: string };
  /** Installs a certificate from another node (not shared again). */
  installShared(c: { name: string; names: string[]; chain: string; key: string; challenge: Challenge; orderUrl: string | null }, actor: string): Promise<void>;
  /** Removes a certificate another node removed (not shared again); false when a domain here still uses it (kept). */
  removeShared(name: string, actor: string): Promise<boolean>;
}

export interface SharedCerts {
  /** After a certificate is issued or renewed here. Never throws: a failure is logged and the next run publishes it. */
  published(c: IssuedHere): Promise<void>;
  /** After a certificate is removed here. Never throws. */
  removed(name: string, serial: string | null): Promise<void>;
  /** Asks for a comparison run. */
  wake(): void;
  /** Resolves after a full run that began after this call (tests). */
  settled(): Promise<void>;
  /** Resolves when no run is going on (stop). */
  idle(): Promise<void>;
}

const CHALLENGES: readonly Challenge[] = ['http-01', 'dns-01', 'dns-01-manual'];
const context = (name: string, serial: string) => `${name}\0${serial}`;

export function createSharedCerts(d: { pool: pg.Pool; key: Buffer; node: string; db: Db; log: Logger; certs: () => LocalCerts }): SharedCerts {
  const { pool, key, node, log } = d;
  // Shared certificates refused here, and removals not followed (a domain here uses the certificate): once each.
  const refused = new Set<string>();

  const share = async (c: IssuedHere) => {
    const row: SharedCert = { name: c.name, names: c.names, serial: c.serial, notBefore: c.notBefore, notAfter: c.notAfter, challenge: c.challenge, orderUrl: c.orderUrl, chain: c.chain, keySealed: seal(key, c.key, context(c.name, c.serial)) };
    const version = await putSharedCert(pool, node, row);
    log.info('certificate shared with the fleet', { name: c.name, serial: c.serial, version });
  };

  const publishLocal = async (l: CertificateRow) => {
    if (!l.serial || !l.not_before || !l.not_after) return;
    const parts = d.certs().readParts(l);
    await share({ name: l.name, names: l.names, chain: parts.chain, key: parts.key, challenge: l.challenge, orderUrl: l.order_url, serial: l.serial, notBefore: l.not_before, notAfter: l.not_after });
  };

  /** Removals made here that PostgreSQL has not recorded yet: sent before anything is read back. */
  const sendRemovals = async () => {
    for (const p of pendingCertRemovals.list(d.db)) {
      const marked = await removeSharedCert(pool, node, p.name, p.serial);
      pendingCertRemovals.done(d.db, p.name, p.serial);
      log.info(marked ? 'certificate removal shared with the fleet' : 'certificate removal sent; the fleet already had it or holds a newer certificate of that name', { name: p.name, serial: p.serial });
    }
  };

  async function compare(): Promise<void> {
    await sendRemovals();
    const certs = d.certs();
    const heads = await sharedCertHeads(pool);
    const local = new Map(certs.list().filter((c) => c.challenge !== 'self-signed').map((c) => [c.name, c]));
    const shared = new Set<string>();
    for (const h of heads) {
      shared.add(h.name);
      const l = local.get(h.name);
      if (h.removed) {
        const tag = `removed:${h.name}@${h.serial}`;
        if (l && l.serial === h.serial && !refused.has(tag)) {
          if (await certs.removeShared(h.name, `fleet:${h.node}`)) log.info('certificate removed as another node removed it', { name: h.name, serial: h.serial, by: h.node });
          else refused.add(tag);
        }
        continue;
      }
      if (l?.serial === h.serial) continue;
      if (l?.not_before && Date.parse(l.not_before) > h.notBefore.getTime()) {
        await publishLocal(l);
        continue;
      }
      const tag = `${h.name}@${h.serial}`;
      if (refused.has(tag)) continue;
      const full = await sharedCert(pool, h.name);
      if (!full || full.serial !== h.serial) continue; // changed since the list was read: the next run sees it
      let keyPem: string;
      try {
        if (!CHALLENGES.includes(full.challenge as Challenge)) throw new Error(`unknown challenge ${JSON.stringify(full.challenge.slice(0, 40))}`);
        keyPem = unseal(key, full.keySealed, context(full.name, full.serial));
      } catch (e) {
        refused.add(tag);
        const error = describe(e);
        recordAudit(d.db, { actor: `fleet:${h.node}`, action: 'fleet.certificate_refused', target: h.name, detail: { serial: h.serial, version: h.version }, result: 'failed', error });
        log.error('a shared certificate cannot be installed here; this node keeps what it serves', { name: h.name, serial: h.serial, from: h.node, error });
        continue;
      }
      await certs.installShared({ name: full.name, names: full.names, chain: full.chain, key: keyPem, challenge: full.challenge as Challenge, orderUrl: full.orderUrl }, `fleet:${h.node}`);
      log.info('certificate received from the fleet and installed', { name: full.name, serial: full.serial, from: h.node });
    }
    for (const l of local.values()) if (!shared.has(l.name)) await publishLocal(l);
  }

  // One run at a time; a wake during a run asks for one more (worker.ts).
  const worker = serialWorker({ run: compare, onError: (e) => log.warn('comparing certificates with the fleet failed; retried on the next notification or tick', { error: describe(e) }) });
  const wake = (): void => worker.wake();

  return {
    async published(c) {
      try {
        await share(c);
      } catch (e) {
        log.warn('could not share a certificate now; it is shared when the fleet database answers', { name: c.name, error: describe(e) });
      }
    },
    async removed(name, serial) {
      if (!serial) return;
      pendingCertRemovals.add(d.db, name, serial);
      try {
        await sendRemovals();
      } catch (e) {
        log.warn('could not share a certificate removal now; it is kept here and sent when the fleet database answers', { name, error: describe(e) });
      }
    },
    wake,
    idle: () => worker.idle(),
    settled: () => worker.next(),
  };
}
