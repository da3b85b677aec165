/**
 * ACME issuance with acme-client: one order for a set of names, solved by
 * HTTP-01 (through HAProxy to the daemon's responder) or DNS-01 (an operator
 * hook, or a person setting the TXT record by hand between two API calls).
 *
 * Contract:
 * - The account key is created once, kept at <state>/acme/account.key (0600)
 *   and reused; the account is registered with the contact email and, when
 *   configured, External Account Binding. In a fleet with a secret key the
 *   account is the fleet's (deps.account, fleet/acme-account.ts): the stored
 *   one is used; with none stored, this node's is registered and stored.
 * - Every challenge answer set up is removed again, whatever happens.
 * - Errors are AppError('acme') with a message an operator can act on; the
 *   library's bare TLS/connection failures are wrapped with the directory URL.
 */
import acme from 'acme-client';
import https from 'node:https';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { AppError, describe } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { durationMs } from '../util/duration.js';
import { run } from '../util/exec.js';
import type { Responder } from './responder.js';
import { createSelfCheck } from './self-check.js';

export type ChallengeKind = 'http-01' | 'dns-01';

export interface Issued {
  chain: string;
  key: string;
  orderUrl: string;
}

/** A DNS-01 order waiting for a person to publish TXT records (the original's two-step API). */
export interface PendingManual {
  names: string[];
  records: { name: string; value: string }[];
  complete(): Promise<Issued>;
  cancel(): Promise<void>;
}

export function directoryUrl(cfg: Config): string {
  const d = cfg.acme.directory;
  if (d === 'letsencrypt') return acme.directory.letsencrypt.production;
  if (d === 'letsencrypt-staging') return acme.directory.letsencrypt.staging;
  return d;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CA's last Retry-After on a 429/503 (acme-client's errors do not carry the response). */
let lastRetryAfter: { at: number; value: string } | null = null;
let interceptorInstalled = false;

/** Turns acme-client's errors into messages that say what failed and where. */
export function acmeError(e: unknown, cfg: Config, what: string): AppError {
  if (e instanceof AppError) return e;
  const msg = describe(e);
  const err = e as { code?: string; response?: { status?: number; headers?: Record<string, string> } };
  let text = msg;
  if (e instanceof TypeError && /reading 'config'|Cannot read properties/.test(msg)) {
    text = `cannot reach the ACME server at ${directoryUrl(cfg)} (connection or TLS failure)`;
  } else if (err.code && /^E[A-Z]+/.test(err.code)) {
    text = `cannot reach the ACME server at ${directoryUrl(cfg)}: ${err.code}`;
  }
  const retryAfter = err.response?.headers?.['retry-after'] ?? (lastRetryAfter && Date.now() - lastRetryAfter.at < 10_000 ? lastRetryAfter.value : undefined);
  return new AppError('acme', `${what}: ${text}`, { cause: e, ...(retryAfter ? { detail: { retry_after: retryAfter } } : {}) });
}

/**
 * A wildcard needs DNS-01, and unattended DNS-01 needs acme.dns_hook: without
 * one it is the operator's configuration, not the CA, that stops the order
 * (409, the same words at every entry point and in the CLI).
 */
export function wildcardWithoutHook(name: string): AppError {
  return new AppError(
    'conflict',
    `${name} is a wildcard: it needs a DNS-01 challenge, and no DNS hook is configured (acme.dns_hook); configure one, or publish the TXT record by hand through POST /api/ssl/dns-challenge/request and /verify`,
    { detail: { name } },
  );
}

export interface AcmeDeps {
  cfg: Config;
  log: Logger;
  responder: Responder;
  /** In a fleet with a secret key, the fleet's one account (fleet/acme-account.ts); absent: this node's files under <state>/acme. */
  account?: AccountStore | null;
}

/**
 * Where a fleet keeps its one ACME account. `load` gives the stored account
 * for a directory (null: none yet) and throws when it cannot be read or
 * opened here (then nothing is ordered); `save` stores a newly registered
 * one and returns the account that is stored (another node's, when it
 * stored first). The key never leaves these two calls but to acme-client.
 */
export interface AccountStore {
  load(directory: string): Promise<{ key: Buffer; url: string } | null>;
  save(directory: string, a: { key: Buffer; url: string }): Promise<{ key: Buffer; url: string }>;
}

export function createAcme(deps: AcmeDeps) {
  const { cfg, log } = deps;
  const timeoutMs = durationMs(cfg.acme.timeout);
  let clientPromise: Promise<acme.Client> | null = null;
  const selfCheck = createSelfCheck(cfg, log, deps.responder);

  if (cfg.acme.ca_file) {
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(cfg.acme.ca_file) });
  }
  acme.axios.defaults.timeout = timeoutMs;
  // acme-client would retry 5xx and 429 itself, sleeping for the whole Retry-After (an hour, for a
  // rate limit) inside the request. Instead a failure surfaces at once, the CA's Retry-After is kept,
  // and the renewal schedule retries the certificate no earlier than the CA asked.
  const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
  settings.retryMaxAttempts = 0;
  if (!interceptorInstalled) {
    interceptorInstalled = true;
    acme.axios.interceptors.response.use((r) => {
      const ra = r.headers?.['retry-after'];
      if ((r.status === 429 || r.status === 503) && typeof ra === 'string') lastRetryAfter = { at: Date.now(), value: ra };
      return r;
    });
  }

  const accountKey = async (): Promise<Buffer> => {
    const file = join(cfg.paths.acmeDir, 'account.key');
    if (existsSync(file)) return readFileSync(file);
    mkdirSync(cfg.paths.acmeDir, { recursive: true, mode: 0o700 });
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    writeFileAtomic(file, key, 0o600);
    log.info('ACME account key created', { file });
    return key;
  };

  /** The account URL from an earlier registration with this directory, so a restart does not register again. */
  const accountFile = join(cfg.paths.acmeDir, 'account.json');
  const savedAccountUrl = (): string | undefined => {
    if (!existsSync(accountFile)) return undefined;
    try {
      const a = JSON.parse(readFileSync(accountFile, 'utf8')) as { directory?: string; url?: string };
      return a.directory === directoryUrl(cfg) && typeof a.url === 'string' ? a.url : undefined;
    } catch {
      return undefined;
    }
  };

  const client = (): Promise<acme.Client> => {
    clientPromise ??= (async () => {
      const eab = cfg.acme.eab ? { kid: cfg.acme.eab.kid, hmacKey: readFileSync(cfg.acme.eab.hmac_key_file, 'utf8').trim() } : undefined;
      const directory = directoryUrl(cfg);
      // In a fleet the account is the fleet's (fleet/acme-account.ts): the stored one, else this node's, registered and stored.
      const shared = deps.account ? await deps.account.load(directory) : null;
      const make = (accountKey: Buffer, accountUrl: string | undefined) =>
        new acme.Client({
          directoryUrl: directory,
          accountKey,
          backoffAttempts: 20,
          backoffMin: 200,
          backoffMax: 5000,
          ...(accountUrl ? { accountUrl } : {}),
          ...(eab ? { externalAccountBinding: eab } : {}),
        });
      const key = shared?.key ?? (await accountKey());
      const accountUrl = shared?.url ?? savedAccountUrl();
      let c = make(key, accountUrl);
      if (!accountUrl) {
        await c.createAccount({ termsOfServiceAgreed: true, ...(cfg.acme.email ? { contact: [`mailto:${cfg.acme.email}`] } : {}) });
        writeFileAtomic(accountFile, JSON.stringify({ directory, url: c.getAccountUrl() }) + '\n', 0o600);
      }
      if (deps.account && !shared) {
        // Another node may have stored one first: the stored account is the fleet's.
        const kept = await deps.account.save(directory, { key, url: c.getAccountUrl() });
        if (kept.url !== c.getAccountUrl()) c = make(kept.key, kept.url);
      }
      log.info('ACME account ready', { directory, account: c.getAccountUrl(), reused: accountUrl !== undefined, ...(deps.account ? { fleet_account: true } : {}) });
      return c;
    })().catch((e) => {
      clientPromise = null;
      throw acmeError(e, cfg, 'ACME account');
    });
    return clientPromise;
  };

  const newKey = async (): Promise<Buffer> => {
    switch (cfg.acme.key_type) {
      case 'rsa-2048':
        return acme.crypto.createPrivateRsaKey(2048);
      case 'rsa-4096':
        return acme.crypto.createPrivateRsaKey(4096);
      default:
        return acme.crypto.createPrivateEcdsaKey('P-256');
    }
  };

  const dnsRecord = (authz: acme.Authorization) => `_acme-challenge.${authz.identifier.value}`;

  const runHook = async (action: 'set' | 'clear', record: string, value: string) => {
    const hook = cfg.acme.dns_hook;
    if (!hook) throw wildcardWithoutHook(record.replace(/^_acme-challenge\./, '*.'));
    const r = await run(hook, [action, record, value], { timeoutMs });
    if (r.code !== 0 || r.timedOut) {
      throw new AppError('acme', `the DNS hook failed to ${action} ${record}: ${r.timedOut ? 'timed out' : (r.stderr || r.stdout).trim().slice(0, 500) || `exit ${r.code}`}`);
    }
  };

  /** Creates the order and its authorizations; returns what is needed to answer and finish it. */
  const openOrder = async (names: string[]) => {
    const c = await client();
    log.info('ACME order', { names: names.join(',') });
    const order = await c.createOrder({ identifiers: names.map((n) => ({ type: 'dns', value: n })) }).catch((e) => {
      throw acmeError(e, cfg, `order for ${names.join(', ')}`);
    });
    const authzs = await c.getAuthorizations(order).catch((e) => {
      throw acmeError(e, cfg, 'authorizations');
    });
    return { c, order, authzs };
  };

  const finish = async (c: acme.Client, order: acme.Order, names: string[]): Promise<Issued> => {
    const key = await newKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: names }, key);
    try {
      const finalized = await c.finalizeOrder(order, csr);
      const chain = await c.getCertificate(finalized);
      return { chain, key: key.toString(), orderUrl: order.url };
    } catch (e) {
      throw acmeError(e, cfg, `finalizing the order for ${names.join(', ')}`);
    }
  };

  const validate = async (c: acme.Client, authz: acme.Authorization, ch: { url: string; type: string }, names: string[]) => {
    try {
      await c.completeChallenge(ch as never);
      await c.waitForValidStatus(ch as never);
    } catch (e) {
      throw acmeError(e, cfg, `${ch.type} validation of ${authz.identifier.value} failed (does ${authz.identifier.value} point at this host?)`);
    }
    void names;
  };

  return {
    /** Issues a certificate for `names` (the first is the primary). */
    async issue(names: string[], kind: ChallengeKind): Promise<Issued> {
      if (kind === 'dns-01' && !cfg.acme.dns_hook) throw wildcardWithoutHook(names.find((n) => n.startsWith('*.')) ?? names[0]!);
      // Each name must reach this HAProxy before the CA is asked (acme.self_check).
      if (kind === 'http-01') await selfCheck.check(names);
      const { c, order, authzs } = await openOrder(names);
      for (const authz of authzs) {
        if (authz.status === 'valid') continue;
        const ch = authz.challenges.find((x) => x.type === kind);
        if (!ch) throw new AppError('acme', `the CA offers no ${kind} challenge for ${authz.identifier.value}${kind === 'http-01' && authz.wildcard ? ' (wildcards need dns-01)' : ''}`);
        const keyAuth = await c.getChallengeKeyAuthorization(ch);
        if (kind === 'http-01') {
          const token = (ch as { token: string }).token;
          await deps.responder.set(token, keyAuth);
          try {
            await validate(c, authz, ch, names);
          } finally {
            await deps.responder.remove(token);
          }
        } else {
          const record = dnsRecord(authz);
          await runHook('set', record, keyAuth);
          try {
            const wait = durationMs(cfg.acme.dns_propagation_wait);
            if (wait > 0) await sleep(wait);
            await validate(c, authz, ch, names);
          } finally {
            await runHook('clear', record, keyAuth).catch((e) => log.warn('DNS hook cleanup failed', { record, error: describe(e) }));
          }
        }
      }
      return finish(c, order, names);
    },

    /** Starts a DNS-01 order whose TXT records a person publishes; `complete` finishes it. */
    async startManual(names: string[]): Promise<PendingManual> {
      const { c, order, authzs } = await openOrder(names);
      const parts: { authz: acme.Authorization; ch: { url: string; type: string }; name: string; value: string }[] = [];
      for (const authz of authzs) {
        if (authz.status === 'valid') continue;
        const ch = authz.challenges.find((x) => x.type === 'dns-01');
        if (!ch) throw new AppError('acme', `the CA offers no dns-01 challenge for ${authz.identifier.value}`);
        parts.push({ authz, ch, name: dnsRecord(authz), value: await c.getChallengeKeyAuthorization(ch) });
      }
      return {
        names,
        records: parts.map((p) => ({ name: p.name, value: p.value })),
        async complete() {
          for (const p of parts) await validate(c, p.authz, p.ch, names);
          return finish(c, order, names);
        },
        async cancel() {
          for (const p of parts) await c.deactivateAuthorization(p.authz).catch(() => undefined);
        },
      };
    },

    /** True when the account can be reached (for status). */
    ready: () => client().then(() => true),
  };
}

export type Acme = ReturnType<typeof createAcme>;
