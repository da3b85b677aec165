/**
 * Applying other nodes' configuration changes (domains with their backends,
 * servers and site options; TCP services) through the applier, as ONE config
 * change: one render, one `haproxy -c`, one swap and one reload however many
 * changes a catch-up brings (ten thousand domains after an outage or on a
 * new node), with the applier's rollback when the reload fails.
 *
 * Each change is applied in a savepoint of its own with the storage rules a
 * local change meets (storage/domains.ts, storage/tcp-services.ts, this
 * node's reserved ports); one that breaks them is undone entirely (the run
 * is made again without it), audited as failed with the node that made it,
 * and never repaired. The rest are
 * audited as applied, in the same transaction as the change itself.
 * Order: a run holds at most one change per key (superseded ones are
 * skipped), so the changes are independent but for references between them;
 * they are applied in phases that keep those valid: changed existing
 * domains first without their path routes (an old route may point at a
 * backend deleted next), then deletions, then new domains (without routes)
 * and TCP services, then every route.
 * If the candidate fails `haproxy -c` as a whole, each change is tried alone,
 * so only the faulty one is refused (as the applier does with coalesced
 * local changes).
 */
import type { Db } from '../storage/db.js';
import type { Logger } from '../log.js';
import type { Ops } from '../haproxy/changes/ip-lists.js';
import { tcpServiceRefusal } from '../haproxy/changes/tcp-services.js';
import { deleteDomain, getDomain, upsertDomain, type DomainInput } from '../storage/domains.js';
import { deleteTcpService, passthroughFor, upsertTcpService } from '../storage/tcp-services.js';
import { eachApart } from '../storage/transactions.js';
import { recordAudit } from '../storage/audit.js';
import { AppError, describe, isAppError } from '../errors.js';
import type { CheckedConfigChange } from './change-schema.js';

type Applied = Extract<CheckedConfigChange, { kind: 'domain' | 'domain_delete' | 'tcp_service' | 'tcp_service_delete' }>;

/** One checked change from another node, with its place in the log. */
export interface ConfigItem {
  version: number;
  node: string;
  change: Applied;
}

export const appliedByConfigRun = (c: CheckedConfigChange): c is Applied => c.kind === 'domain' || c.kind === 'domain_delete' || c.kind === 'tcp_service' || c.kind === 'tcp_service_delete';

const ACTIONS: Record<Applied['kind'], string> = { domain: 'domain.upsert', domain_delete: 'domain.delete', tcp_service: 'tcp_service.upsert', tcp_service_delete: 'tcp_service.delete' };
const targetOf = (c: Applied) => ('domain' in c ? c.domain : c.name);

function withoutRoutes(input: DomainInput): DomainInput {
  return input.site?.routes?.length ? { ...input, site: { ...input.site, routes: [] } } : input;
}

function saveDomain(db: Db, input: DomainInput): void {
  // As a local save: an HTTPS site and a TLS passthrough of one name cannot both answer on the HTTPS port.
  const tcp = passthroughFor(db, input.domain);
  if (tcp) throw new AppError('conflict', `${input.domain} is passed through to TCP service ${tcp} on this node`, { field: 'domain' });
  upsertDomain(db, input);
}

/** Thrown to undo an attempt that refused some changes (their earlier phases included). */
class Refused extends Error {}

/** Applies `items` in phases, each in a savepoint of its own; returns the ones refused, with why. */
function attempt(ops: Ops, db: Db, items: readonly ConfigItem[]): Map<ConfigItem, unknown> {
  const failed = new Map<ConfigItem, unknown>();
  const phase = (list: readonly ConfigItem[], fn: (it: ConfigItem) => void) => {
    const r = eachApart(db, list.filter((it) => !failed.has(it)), fn);
    for (const f of r.failed) {
      // A bug, not a refusal: the whole run fails and is retried later.
      if (!isAppError(f.error)) throw f.error;
      failed.set(f.item, f.error);
    }
  };
  const domains = items.filter((it) => it.change.kind === 'domain');
  const existing = new Set(domains.filter((it) => getDomain(db, targetOf(it.change)) !== null));
  const input = (it: ConfigItem) => (it.change as Extract<Applied, { kind: 'domain' }>).input;
  phase([...existing], (it) => saveDomain(db, withoutRoutes(input(it))));
  phase(
    items.filter((it) => it.change.kind === 'domain_delete' || it.change.kind === 'tcp_service_delete'),
    (it) => {
      const c = it.change;
      // Already gone here: the state is as wanted.
      if (c.kind === 'domain_delete') deleteDomain(db, c.domain);
      else if (c.kind === 'tcp_service_delete') deleteTcpService(db, c.name);
    },
  );
  phase(
    items.filter((it) => (it.change.kind === 'domain' && !existing.has(it)) || it.change.kind === 'tcp_service'),
    (it) => {
      const c = it.change;
      if (c.kind === 'domain') return saveDomain(db, withoutRoutes(c.input));
      if (c.kind !== 'tcp_service') return;
      const refused = tcpServiceRefusal(ops, c.input);
      if (refused) throw new AppError('conflict', `${refused.message} on this node`, { field: refused.field });
      upsertTcpService(db, c.input);
    },
  );
  phase(domains.filter((it) => input(it).site?.routes?.length), (it) => void upsertDomain(db, input(it)));
  return failed;
}

/**
 * The run's mutation: deterministic given the same state (the applier runs
 * it twice). A change refused in a later phase leaves nothing from an
 * earlier one: the attempt is undone and made again without it.
 */
function mutateRun(ops: Ops, db: Db, items: readonly ConfigItem[]): { applied: number; refused: number } {
  const refused = new Map<ConfigItem, unknown>();
  for (;;) {
    const r = eachApart(db, [items.filter((it) => !refused.has(it))], (todo) => {
      const failed = attempt(ops, db, todo);
      for (const [it, e] of failed) refused.set(it, e);
      if (failed.size) throw new Refused();
    });
    if (r.ok.length) break;
    if (!(r.failed[0]!.error instanceof Refused)) throw r.failed[0]!.error;
  }
  for (const it of items) {
    const error = refused.get(it);
    recordAudit(db, {
      actor: `fleet:${it.node}`,
      action: ACTIONS[it.change.kind],
      target: targetOf(it.change),
      detail: { version: it.version },
      result: error === undefined ? 'ok' : 'failed',
      error: error === undefined ? null : describe(error),
    });
  }
  return { applied: items.length - refused.size, refused: refused.size };
}

/**
 * Applies a run of other nodes' configuration changes (in log order) as one
 * config change. Resolves once they are applied or refused; rejects when
 * the apply itself failed (a reload, the disk): the caller retries later.
 */
export async function applyConfigRun(ops: Ops, db: Db, log: Logger, items: readonly ConfigItem[]): Promise<void> {
  if (!items.length) return;
  const nodes = [...new Set(items.map((it) => it.node))];
  try {
    const { result } = await ops.applier.submit({
      actor: nodes.length === 1 ? `fleet:${nodes[0]}` : 'fleet',
      action: 'fleet.apply',
      target: null,
      detail: { changes: items.length, from_version: items[0]!.version, to_version: items.at(-1)!.version, nodes },
      mutate: (d) => mutateRun(ops, d, items),
    });
    if (result.refused) log.warn('fleet configuration changes refused by this node (audited)', { refused: result.refused, applied: result.applied });
  } catch (e) {
    if (!isAppError(e) || e.kind !== 'haproxy_check') throw e;
    if (items.length > 1) {
      log.warn('fleet configuration changes fail the check together; applying them one by one', { changes: items.length });
      for (const it of items) await applyConfigRun(ops, db, log, [it]);
      return;
    }
    // One change HAProxy refuses: audited and skipped, never repaired.
    const it = items[0]!;
    recordAudit(db, { actor: `fleet:${it.node}`, action: ACTIONS[it.change.kind], target: targetOf(it.change), detail: { version: it.version }, result: 'failed', error: describe(e) });
    log.error('a fleet configuration change fails the check on this node: skipped', { node: it.node, version: it.version, target: targetOf(it.change), error: describe(e) });
  }
}
