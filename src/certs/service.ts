/**
 * Certificates as the API and the renewal schedule see them: obtain (one
 * order per set of names, however many callers ask at once), install
 * (publish the PEM, record its facts, hot-load it), renew what is due, remove
 * what no domain uses any more, and the two-step manual DNS-01 flow.
 *
 * Contract: a failure at any step before publishing leaves the live
 * certificate file byte-identical and HAProxy serving it; a failed renewal is
 * recorded on the certificate (error, failure count, next attempt) and logged
 * at error level.
 */
import { join, resolve, sep } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Db } from '../storage/db.js';
import type { Applier } from '../haproxy/config/apply.js';
import { FILES } from '../haproxy/config/render.js';
import { AppError, describe } from '../errors.js';
import { certificates, covers, type CertificateRow, type Challenge } from '../storage/certificates.js';
import { listDomains } from '../storage/domains.js';
import { durationMs } from '../util/duration.js';
import { exponentialDelay, parseRetryAfter } from '../util/backoff.js';
import { wildcardWithoutHook, type Acme, type PendingManual } from './acme.js';
import type { Ari } from './ari.js';
import { certFileName, createSelfSigned, publishPem, retirePem } from './store.js';
import { hotLoad, hotUnload } from './hot-load.js';
import { splitPem } from './pem.js';
import type { CertRequest } from './request.js';

export interface CertResult {
  domain: string;
  names: string[];
  status: 'success' | 'renewed' | 'skipped' | 'failed';
  cert_path?: string;
  not_after?: string;
  serial?: string;
  message?: string;
  error?: string;
  /** skipped: the valid certificate that already covers the names. */
  covered_by?: string;
}

/** How a request is made: www.<name> only when asked; force orders even when a valid certificate covers the names. */
export interface RequestOptions {
  includeWww: boolean;
  force: boolean;
}

/** The names a request for `domain` asks for: the name, and www.<name> only when asked (never for a wildcard or a www. name). */
export function askedNames(domain: string, includeWww: boolean): string[] {
  return includeWww && !domain.startsWith('*.') && !domain.startsWith('www.') ? [domain, `www.${domain}`] : [domain];
}

export interface CertDeps {
  cfg: Config;
  log: Logger;
  db: Db;
  reader: Db;
  applier: Applier;
  acme: Acme;
  /** ACME Renewal Information, when the CA offers it. */
  ari?: Ari | null;
  /** In a fleet (fleet/leader.ts, fleet/shared-certs.ts): who may order, and where issued certificates go. Absent on a single node. */
  fleet?: CertFleet | null;
}

/** A certificate issued or renewed here, as the fleet shares it. */
export interface IssuedHere {
  name: string;
  names: string[];
  chain: string;
  key: string;
  challenge: Challenge;
  orderUrl: string | null;
  serial: string;
  notBefore: string;
  notAfter: string;
}

/**
 * The fleet's part in certificates. `assertMayOrder` throws (409 naming the
 * leader, or 503 when the database is unreachable) unless this node leads:
 * every order and renewal runs on the leader only. `published`/`removed`
 * share what this node issued or removed; they never throw.
 */
export interface CertFleet {
  assertMayOrder(): void;
  /**
   * True when a request made here goes to the leader's queue (this node does
   * not lead but reaches the fleet database, even while nobody leads); false
   * when this node leads; throws 503 when it cannot reach the database.
   */
  queues(): boolean;
  /** Queues a request for the leader (fleet/cert-requests.ts). */
  enqueue(req: CertRequest, actor: string): Promise<QueuedRequest>;
  published(c: IssuedHere): Promise<void>;
  removed(name: string, serial: string | null): Promise<void>;
}

/** A request queued for the fleet's leader: GET /api/fleet/requests/:id follows it. */
export interface QueuedRequest {
  id: number;
  state: 'queued' | 'running' | 'done' | 'failed';
  /** The node leading now (null: nobody at this moment; the next leader carries it out). */
  leader: string | null;
}

const SELF_SIGNED = 'haproxy-manager-default';

export function createCertService(deps: CertDeps) {
  const { cfg, log, applier, acme } = deps;
  const inflight = new Map<string, Promise<CertResult>>();
  const manual = new Map<string, { pending: PendingManual; expires: number }>();
  const crtListPath = join(cfg.paths.generatedDir, FILES.crtList);
  const https = cfg.haproxy.https_port !== null;

  const crtListFiles = (db: Db) => {
    const files = certificates.list(db).map((c) => c.file);
    return new Map([[FILES.crtList, files.length ? files.join('\n') + '\n' : '']]);
  };

  /** Publishes a certificate and makes it live: file (atomic, 0600, backup), database row, crt-list, hot-load. */
  const install = async (primary: string, names: string[], chain: string, key: string, challenge: Challenge, orderUrl: string | null, actor: string, share = true) => {
    const published = publishPem(cfg.paths.certDir, cfg.paths.certBackupDir, certFileName(primary), chain, key);
    const r = await applier.runtimeChange({
      actor,
      action: 'certificate.install',
      target: primary,
      detail: { names, serial: published.info.serial, not_after: published.info.notAfter },
      mutate: (db) =>
        certificates.save(db, {
          name: primary,
          names,
          file: published.file,
          issuer: published.info.issuer,
          serial: published.info.serial,
          notBefore: published.info.notBefore,
          notAfter: published.info.notAfter,
          keyType: challenge === 'self-signed' ? 'ecdsa-p256' : cfg.acme.key_type,
          challenge,
          orderUrl,
        }),
      files: crtListFiles,
      runtime: async (control) => {
        if (!https) return;
        await hotLoad(control.runtime.ssl, crtListPath, published.file, published.pem, published.info.serial);
      },
    });
    log.info('certificate installed', { name: primary, serial: published.info.serial, not_after: published.info.notAfter, hot_loaded: r.runtimeApplied, reloaded: r.reloaded });
    // Issued here: the other nodes of a fleet get it too (not what came from them).
    if (share && deps.fleet) await deps.fleet.published({ name: primary, names, chain, key, challenge, orderUrl, serial: published.info.serial, notBefore: published.info.notBefore, notAfter: published.info.notAfter });
    return { file: published.file, info: published.info, hotLoaded: r.runtimeApplied, reloaded: r.reloaded };
  };

  const kindFor = (names: string[]) => (names.some((n) => n.startsWith('*.')) ? 'dns-01' : 'http-01');

  /** One order per set of names: a second caller for the same names waits for the first one's result. */
  const obtain = (primary: string, names: string[], actor: string): Promise<CertResult> => {
    try {
      deps.fleet?.assertMayOrder();
    } catch (e) {
      return Promise.reject(e);
    }
    const key = [...names].sort().join(',');
    const running = inflight.get(key);
    if (running) return running;
    const p = (async (): Promise<CertResult> => {
      const kind = kindFor(names);
      try {
        const issued = await acme.issue(names, kind);
        const inst = await install(primary, names, issued.chain, issued.key, kind, issued.orderUrl, actor);
        return { domain: primary, names, status: 'success', cert_path: inst.file, not_after: inst.info.notAfter, serial: inst.info.serial, message: `certificate for ${names.join(', ')} issued` };
      } catch (e) {
        const msg = describe(e);
        log.error('certificate request failed', { name: primary, names: names.join(','), error: msg });
        return { domain: primary, names, status: 'failed', error: msg };
      }
    })().finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };

  const lifetimeDue = (c: CertificateRow, now: number) => {
    if (!c.not_after || !c.not_before) return true;
    const nb = Date.parse(c.not_before);
    const na = Date.parse(c.not_after);
    return now >= na - (na - nb) / 3;
  };

  /** The CA's Retry-After when it gave one in the future (even if shorter); else retry_base doubling per failure, at most a day. */
  const backoffMs = (failures: number, retryAfter: string | undefined) => {
    const asked = parseRetryAfter(retryAfter);
    if (asked !== undefined && asked > 0) return asked;
    return exponentialDelay(failures + 1, { baseMs: durationMs(cfg.acme.retry_base), maxMs: 86_400_000 });
  };

  const renewOne = async (c: CertificateRow, actor: string): Promise<CertResult> => {
    if (c.challenge === 'dns-01-manual') {
      const msg = 'set by hand through the two-step DNS challenge: cannot renew unattended; configure acme.dns_hook or repeat the two steps';
      certificates.recordFailure(deps.db, c.name, msg, new Date(Date.now() + 86_400_000).toISOString());
      log.error('certificate due but cannot renew unattended', { name: c.name, not_after: c.not_after ?? undefined });
      return { domain: c.name, names: c.names, status: 'failed', error: msg };
    }
    const kind = c.challenge === 'dns-01' ? 'dns-01' : 'http-01';
    try {
      const issued = await acme.issue(c.names, kind);
      const inst = await install(c.name, c.names, issued.chain, issued.key, kind, issued.orderUrl, actor);
      return { domain: c.name, names: c.names, status: 'renewed', cert_path: inst.file, not_after: inst.info.notAfter, serial: inst.info.serial };
    } catch (e) {
      const msg = describe(e);
      const retryAfter = e instanceof AppError && e.detail && typeof e.detail === 'object' ? (e.detail as { retry_after?: string }).retry_after : undefined;
      const next = new Date(Date.now() + backoffMs(c.failures, retryAfter)).toISOString();
      certificates.recordFailure(deps.db, c.name, msg, next);
      log.error('certificate renewal failed; the current certificate stays in place', { name: c.name, error: msg, failures: c.failures + 1, next_attempt_at: next, not_after: c.not_after ?? undefined });
      return { domain: c.name, names: c.names, status: 'failed', error: msg };
    }
  };

  /** A valid certificate (not due for renewal) holding every one of `names` (exactly, or by a wildcard); the one named after the first name first. */
  const coveredBy = (names: string[], now: number): CertificateRow | null => {
    const holds = (c: CertificateRow, n: string) => c.names.includes(n) || c.names.some((x) => covers(x, n));
    const valid = certificates.list(deps.reader).filter((c) => c.challenge !== 'self-signed' && !lifetimeDue(c, now) && names.every((n) => holds(c, n)));
    return valid.find((c) => c.name === names[0]) ?? valid[0] ?? null;
  };

  const skipped = (primary: string, names: string[], c: CertificateRow): CertResult => ({
    domain: primary,
    names,
    status: 'skipped',
    covered_by: c.name,
    cert_path: c.file,
    ...(c.not_after ? { not_after: c.not_after } : {}),
    ...(c.serial ? { serial: c.serial } : {}),
    message: `skipped: the valid certificate ${c.name} (${c.names.join(', ')}) already covers ${names.join(', ')} and is not due for renewal${c.not_after ? ` (until ${c.not_after})` : ''}; nothing was ordered (force to order anyway)`,
  });

  /** Throws the 409 of a wildcard that would be ordered without acme.dns_hook, or of a fleet node that does not lead (before anything is ordered). */
  const assertOrderable = (requests: { names: string[] }[], force: boolean) => {
    deps.fleet?.assertMayOrder();
    assertWildcards(requests, force);
  };
  const assertWildcards = (requests: { names: string[] }[], force: boolean) => {
    if (cfg.acme.dns_hook) return;
    const now = Date.now();
    for (const r of requests) {
      const wild = r.names.find((n) => n.startsWith('*.'));
      if (wild && (force || !coveredBy(r.names, now))) throw wildcardWithoutHook(wild);
    }
  };

  /**
   * One certificate named after `primary` for `asked` (the same at every entry
   * point): skipped when a valid certificate already covers the names, unless
   * forced; else ordered, keeping every name the certificate named after
   * `primary` already holds (a request never shrinks a certificate).
   */
  const requestOne = async (primary: string, asked: string[], opts: { force: boolean }, actor: string): Promise<CertResult> => {
    if (!opts.force) {
      const c = coveredBy(asked, Date.now());
      if (c) {
        log.info('certificate request skipped: already covered', { name: primary, covered_by: c.name });
        return skipped(primary, asked, c);
      }
    }
    const existing = certificates.get(deps.reader, primary);
    const kept = existing && existing.challenge !== 'self-signed' ? existing.names.filter((n) => !asked.includes(n)) : [];
    const names = [...asked, ...kept];
    const r = await obtain(primary, names, actor);
    return kept.length && r.status !== 'failed' ? { ...r, message: `${r.message ?? 'issued'} (kept ${kept.join(', ')}, which the certificate already held)` } : r;
  };

  /** Certificates no domain is covered by any more (a SAN bundle stays while any of its names has a domain). */
  const unused = (db: Db, removedDomain: string): CertificateRow[] => {
    const domains = listDomains(db).map((d) => d.domain);
    return certificates
      .list(db)
      .filter((c) => c.challenge !== 'self-signed' && c.names.some((n) => covers(n, removedDomain) || n === removedDomain))
      .filter((c) => !domains.some((d) => c.names.some((n) => covers(n, d) || n === d)));
  };

  /** What a renewal covers; throws the 404 of a name no certificate covers, and the 409 of a wildcard that cannot renew unattended. */
  const renewTargets = (opts: { domain?: string }) => {
    const all = certificates.list(deps.reader).filter((c) => c.challenge !== 'self-signed');
    const chosen = opts.domain ? all.filter((c) => c.name === opts.domain || c.names.includes(opts.domain!)) : all;
    if (opts.domain && chosen.length === 0) throw new AppError('not_found', `no certificate managed here covers ${opts.domain}`, { field: 'domain' });
    // Asked for by name: a wildcard that cannot renew unattended is the configuration's 409, not a CA failure.
    const stuck = opts.domain && !cfg.acme.dns_hook ? chosen.find((c) => c.challenge === 'dns-01') : undefined;
    if (stuck) throw wildcardWithoutHook(stuck.names.find((n) => n.startsWith('*.')) ?? stuck.name);
    return chosen;
  };

  const removeCert = async (c: CertificateRow, actor: string, share = true) => {
    await applier.runtimeChange({
      actor,
      action: 'certificate.remove',
      target: c.name,
      mutate: (db) => certificates.remove(db, c.name),
      files: crtListFiles,
      runtime: async (control) => {
        if (https) await hotUnload(control.runtime.ssl, crtListPath, c.file);
      },
    });
    retirePem(c.file, cfg.paths.certBackupDir);
    log.info('certificate removed (no domain uses it)', { name: c.name });
    if (share && deps.fleet) await deps.fleet.removed(c.name, c.serial);
  };

  /** Certificates superseded by a bundle (all their names covered by it) are retired after it is live. */
  const retireSuperseded = async (primary: string, names: string[], actor: string) => {
    const removed: string[] = [];
    const errors: string[] = [];
    const skipped: string[] = [];
    for (const c of certificates.list(deps.reader)) {
      if (c.name === primary || c.challenge === 'self-signed') continue;
      if (c.names.every((n) => names.includes(n))) {
        try {
          await removeCert(c, actor);
          removed.push(c.name);
        } catch (e) {
          errors.push(`${c.name}: ${describe(e)}`);
        }
      } else if (c.names.some((n) => names.includes(n))) skipped.push(c.name);
    }
    return { removed, errors, skipped };
  };

  /**
   * POST /api/ssl/bundle: one certificate for exactly `names`, skipped when a
   * valid one covers them (unless forced); once it is live, the certificates
   * it supersedes are retired. `cleanup` is null unless it was issued.
   */
  const bundle = async (primary: string, names: string[], force: boolean, actor: string) => {
    assertOrderable([{ names }], force);
    const covering = force ? null : coveredBy(names, Date.now());
    if (covering) return { result: skipped(primary, names, covering), cleanup: null };
    const result = await obtain(primary, names, actor);
    if (result.status === 'failed') return { result, cleanup: null };
    return { result, cleanup: await retireSuperseded(primary, names, actor) };
  };

  const service = {
    /** At start, before HAProxy renders: the HTTPS listener always has a certificate to serve. */
    async ensureSelfSigned(): Promise<void> {
      if (!https) return;
      const row = certificates.get(deps.db, SELF_SIGNED);
      if (row && existsSync(row.file)) return;
      const { chain, key } = await createSelfSigned(SELF_SIGNED);
      const p = publishPem(cfg.paths.certDir, cfg.paths.certBackupDir, certFileName(SELF_SIGNED), chain, key);
      certificates.save(deps.db, { name: SELF_SIGNED, names: [SELF_SIGNED], file: p.file, issuer: p.info.issuer, serial: p.info.serial, notBefore: p.info.notBefore, notAfter: p.info.notAfter, keyType: 'ecdsa-p256', challenge: 'self-signed', orderUrl: null });
      log.info('self-signed default certificate created', { file: p.file });
    },

    obtain,
    assertOrderable,
    coveredBy,
    skipped,

    /** POST /api/ssl: one certificate for `domain` (and www.<domain> when asked). A wildcard without acme.dns_hook throws the 409. */
    async request(domain: string, opts: RequestOptions, actor: string): Promise<CertResult> {
      deps.fleet?.assertMayOrder();
      const asked = askedNames(domain, opts.includeWww);
      assertOrderable([{ names: asked }], opts.force);
      return requestOne(domain, asked, opts, actor);
    },

    /** The original's /api/certificates/request: each domain (plus www. when asked) gets its own certificate. Call assertOrderable first. */
    async requestMany(domains: string[], opts: RequestOptions, actor: string, onResult?: (r: CertResult) => void): Promise<CertResult[]> {
      deps.fleet?.assertMayOrder();
      assertOrderable(domains.map((d) => ({ names: askedNames(d, opts.includeWww) })), opts.force);
      const queue = [...domains];
      const results: CertResult[] = new Array(domains.length);
      const worker = async () => {
        for (let i = domains.length - queue.length; queue.length; i = domains.length - queue.length) {
          const d = queue.shift()!;
          const r = await requestOne(d, askedNames(d, opts.includeWww), opts, actor);
          results[i] = r;
          onResult?.(r);
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, domains.length) }, worker));
      return results;
    },

    /** Renews what is due (or `domain`, or everything with `force`); reports per certificate. */
    async renew(opts: { domain?: string; force?: boolean }, actor: string): Promise<CertResult[]> {
      deps.fleet?.assertMayOrder();
      const now = Date.now();
      const chosen = renewTargets(opts);
      const results: CertResult[] = [];
      for (const c of chosen) {
        // The CA's renewal window when it offers one (ARI), else a third of the lifetime left.
        let due = lifetimeDue(c, now);
        if (deps.ari && !opts.force) {
          const leaf = existsSync(c.file) ? splitPem(readFileSync(c.file, 'utf8')).certs[0] : undefined;
          const win = leaf ? await deps.ari.window(leaf, now) : null;
          if (win) due = now >= win.dueAt;
        }
        const waiting = c.next_attempt_at !== null && Date.parse(c.next_attempt_at) > now;
        if (!opts.force && !opts.domain && (!due || waiting)) {
          results.push({ domain: c.name, names: c.names, status: 'skipped', not_after: c.not_after ?? undefined, message: !due ? 'not due' : `retrying after ${c.next_attempt_at}` });
          continue;
        }
        if (!opts.force && !due) {
          results.push({ domain: c.name, names: c.names, status: 'skipped', not_after: c.not_after ?? undefined, message: 'not due; use force to renew anyway' });
          continue;
        }
        results.push(await renewOne(c, actor));
      }
      return results;
    },

    /** After a domain is removed: its certificates go too, unless another domain still uses them. */
    async pruneFor(domain: string, actor: string): Promise<string[]> {
      const gone: string[] = [];
      for (const c of unused(deps.db, domain)) {
        try {
          await removeCert(c, actor);
          gone.push(c.name);
        } catch (e) {
          log.error('could not remove an unused certificate', { name: c.name, error: describe(e) });
        }
      }
      return gone;
    },

    retireSuperseded,
    bundle,

    async manualRequest(base: string): Promise<{ records: { name: string; value: string }[] }> {
      deps.fleet?.assertMayOrder();
      const prev = manual.get(base);
      if (prev) await prev.pending.cancel();
      const pending = await acme.startManual([`*.${base}`]);
      manual.set(base, { pending, expires: Date.now() + 3_600_000 });
      return { records: pending.records };
    },

    async manualVerify(base: string, actor: string): Promise<CertResult> {
      deps.fleet?.assertMayOrder();
      const m = manual.get(base);
      if (!m || m.expires < Date.now()) throw new AppError('not_found', `no DNS challenge is pending for ${base}; call /api/ssl/dns-challenge/request first`, { field: 'domain' });
      const name = `*.${base}`;
      try {
        const issued = await m.pending.complete();
        manual.delete(base);
        const inst = await install(name, [name], issued.chain, issued.key, 'dns-01-manual', issued.orderUrl, actor);
        return { domain: name, names: [name], status: 'success', cert_path: inst.file, not_after: inst.info.notAfter, serial: inst.info.serial };
      } catch (e) {
        manual.delete(base);
        throw e;
      }
    },

    /** The certificate a domain is served with: the one named after it, else one covering it. */
    find(domain: string): CertificateRow | null {
      const all = certificates.list(deps.reader).filter((c) => c.challenge !== 'self-signed');
      return all.find((c) => c.name === domain) ?? all.find((c) => c.names.includes(domain)) ?? all.find((c) => c.names.some((n) => covers(n, domain))) ?? null;
    },

    /** Reads a managed certificate's file; the path comes from the database and must lie inside the certificate directory. */
    readParts(c: CertificateRow): { combined: string; chain: string; key: string } {
      const dir = resolve(cfg.paths.certDir) + sep;
      const file = resolve(c.file);
      if (!file.startsWith(dir)) throw new AppError('not_found', 'certificate file is outside the certificate directory');
      const combined = readFileSync(file, 'utf8');
      const parts = splitPem(combined);
      return { combined, chain: parts.certs.join('\n') + '\n', key: parts.keys.join('\n') + '\n' };
    },

    list: () => certificates.list(deps.reader),
    lifetimeDue,

    /** A certificate another fleet node issued (fleet/shared-certs.ts): installed as any other, not shared again. */
    async installShared(c: { name: string; names: string[]; chain: string; key: string; challenge: Challenge; orderUrl: string | null }, actor: string): Promise<void> {
      await install(c.name, c.names, c.chain, c.key, c.challenge, c.orderUrl, actor, false);
    },

    /**
     * A certificate another fleet node removed: removed here too (not shared
     * again), unless a domain on this node still uses it; false when kept.
     */
    async removeShared(name: string, actor: string): Promise<boolean> {
      const c = certificates.get(deps.db, name);
      if (!c) return true;
      const used = listDomains(deps.db).map((d) => d.domain).filter((d) => c.names.some((n) => covers(n, d) || n === d));
      if (used.length) {
        log.warn('another node removed a certificate a domain here still uses: kept', { name, domains: used.slice(0, 10).join(',') });
        return false;
      }
      await removeCert(c, actor, false);
      return true;
    },
  };

  return {
    ...service,

    /**
     * In a fleet, on a node that does not lead: checks what can be checked
     * here (a wildcard without acme.dns_hook: 409; a renewal of a name no
     * certificate covers: 404; nothing is queued then) and queues the request
     * for the leader. Null: this node carries requests out itself (it leads,
     * or there is no fleet). 503 when the fleet database cannot be reached.
     */
    async forward(req: CertRequest, actor: string): Promise<QueuedRequest | null> {
      if (!deps.fleet?.queues()) return null;
      if (req.op === 'request') assertWildcards([{ names: askedNames(req.domain, req.include_www) }], req.force);
      else if (req.op === 'request_many') assertWildcards(req.domains.map((d) => ({ names: askedNames(d, req.include_www) })), req.force);
      else if (req.op === 'bundle') assertWildcards([{ names: req.names }], req.force);
      else renewTargets(req.domain ? { domain: req.domain } : {});
      return deps.fleet.enqueue(req, actor);
    },

    /** On the leader: carries out a request another node queued, by the same path as one made here. */
    async carryOut(req: CertRequest, actor: string): Promise<CertResult[]> {
      switch (req.op) {
        case 'request':
          return [await service.request(req.domain, { includeWww: req.include_www, force: req.force }, actor)];
        case 'request_many':
          return service.requestMany(req.domains, { includeWww: req.include_www, force: req.force }, actor);
        case 'bundle':
          return [(await bundle(req.primary, req.names, req.force, actor)).result];
        case 'renew':
          return service.renew({ ...(req.domain ? { domain: req.domain } : {}), force: req.force }, actor);
      }
    },
  };
}

export type CertService = ReturnType<typeof createCertService>;
