/**
 * Blocking and trusting addresses: the operations behind the API (and, later,
 * the remediation actions). Each is a runtime change: live at once through
 * the runtime API, written to its map or list file so a reload keeps it, and
 * committed to the database only when both worked.
 */
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Applier } from '../config/apply.js';
import type { HaproxyControl } from '../process/control.js';
import { FILES, renderList } from '../config/render.js';
import { AppError } from '../../errors.js';
import { blocked, proxies, trusted, type BlockedIp, type TrustedIp } from '../../storage/ip-lists.js';
import type { Db } from '../../storage/db.js';
import type { FleetChange, IpChange } from '../../storage/pg/changes.js';

export interface Ops {
  cfg: Config;
  applier: Applier;
  /**
   * In a fleet (fleet/sync.ts): records a change to shared state (addresses,
   * trusted proxies, domains, TCP services) in the node's outbox, inside the
   * change's own transaction, so it reaches PostgreSQL even when made while
   * the database is away. Absent on a single node, and on the Ops the fleet
   * applies other nodes' changes with (no echo). Expiry is not recorded:
   * every node expires a block at the same absolute time.
   */
  record?: (db: Db, change: FleetChange) => void;
}

const mapPath = (cfg: Config, rel: string) => join(cfg.paths.generatedDir, rel);

function blockedFiles(db: Db) {
  const f = renderList('blocked', blocked.addresses(db));
  return new Map([[f.rel, f.text]]);
}

export interface BlockInput {
  ip: string;
  reason: string | null;
  blockedBy: string | null;
  /** ISO 8601, or null for permanent. */
  expiresAt: string | null;
  /** A person forced a block covering these protected ranges: the audit entry names them. */
  forcedOver?: readonly string[];
}

/** What the fleet shares of a block: its row as it stands after the change (an extension shares the new expiry). */
const blockChange = (r: BlockedIp): IpChange => ({ kind: 'block', ip: r.ip_address, reason: r.reason, blockedBy: r.blocked_by, expiresAt: r.expires_at });

/**
 * Blocks an address. A duplicate permanent block is a conflict; a temporary block of a blocked address extends it and never shortens it or makes a permanent one expire.
 * `replace` (another fleet node's block): a blocked address takes the given reason and expiry as they are (last writer wins).
 */
export async function blockIp(ops: Ops, actor: string, b: BlockInput, opts: { extendIfPresent: boolean; replace?: boolean }) {
  return ops.applier.runtimeChange({
    actor,
    action: 'blocked_ip.add',
    target: b.ip,
    detail: { reason: b.reason, expires_at: b.expiresAt, ...(b.forcedOver?.length ? { forced: true, covers_protected: b.forcedOver } : {}) },
    mutate(db): { id: number; existing: boolean; row: BlockedIp } {
      const cur = blocked.get(db, b.ip);
      if (cur) {
        if (!opts.extendIfPresent) throw new AppError('conflict', `${b.ip} is already blocked`, { field: 'ip_address' });
        if (opts.replace) blocked.replace(db, b);
        else if (b.expiresAt) blocked.extend(db, b.ip, b.expiresAt, b.reason);
        const row = blocked.get(db, b.ip)!;
        ops.record?.(db, blockChange(row));
        return { id: cur.id, existing: true, row };
      }
      const id = blocked.insert(db, b);
      const row = blocked.get(db, b.ip)!;
      ops.record?.(db, blockChange(row));
      return { id, existing: false, row };
    },
    files: blockedFiles,
    runtime: (control) => control.runtime.maps.set('map', mapPath(ops.cfg, FILES.blockedMap), b.ip, true),
  });
}

/** One block of a batch, with who asked for it (each gets its own audit entry). */
export interface BatchBlock extends BlockInput {
  actor: string;
}

/**
 * Blocks many addresses as one runtime change (a flood of distinct attackers):
 * one database write, one map file write, one runtime payload, one audit entry
 * per address. Like blockIp with extendIfPresent: a blocked address is
 * extended, never shortened (`replace`, other fleet nodes' blocks: set as
 * given, as blockIp). All or nothing: a failure fails every item.
 * Returns each item's row, in order.
 */
export async function blockIps(ops: Ops, items: readonly BatchBlock[], opts: { replace?: boolean } = {}) {
  return ops.applier.runtimeChange({
    actor: items[0]?.actor ?? 'daemon',
    action: 'blocked_ip.add',
    target: null,
    each: items.map((b) => ({ actor: b.actor, target: b.ip, detail: { reason: b.reason, expires_at: b.expiresAt, batch: items.length } })),
    mutate(db): BlockedIp[] {
      return items.map((b) => {
        if (blocked.get(db, b.ip)) {
          if (opts.replace) blocked.replace(db, b);
          else if (b.expiresAt) blocked.extend(db, b.ip, b.expiresAt, b.reason);
        } else {
          blocked.insert(db, b);
        }
        const row = blocked.get(db, b.ip)!;
        ops.record?.(db, blockChange(row));
        return row;
      });
    },
    files: blockedFiles,
    runtime: (control) => control.runtime.maps.setMany('map', mapPath(ops.cfg, FILES.blockedMap), items.map((b) => b.ip), true),
  });
}

export async function unblockIp(ops: Ops, actor: string, ip: string) {
  return ops.applier.runtimeChange({
    actor,
    action: 'blocked_ip.remove',
    target: ip,
    mutate(db) {
      if (!blocked.remove(db, ip)) throw new AppError('not_found', `${ip} is not blocked`, { field: 'ip_address' });
      ops.record?.(db, { kind: 'unblock', ip });
      return true;
    },
    files: blockedFiles,
    runtime: (control) => control.runtime.maps.set('map', mapPath(ops.cfg, FILES.blockedMap), ip, false),
  });
}

/** Removes every temporary block whose time is up. */
export async function clearExpired(ops: Ops, actor: string, now = new Date()) {
  const nowIso = now.toISOString();
  return ops.applier.runtimeChange({
    actor,
    action: 'blocked_ip.clear_expired',
    target: null,
    mutate(db) {
      const rows = blocked.expired(db, nowIso);
      for (const r of rows) blocked.remove(db, r.ip_address);
      return rows.map((r) => r.ip_address);
    },
    files: blockedFiles,
    async runtime(control, expired) {
      const path = mapPath(ops.cfg, FILES.blockedMap);
      await control.runtime.maps.setMany('map', path, expired, false);
    },
  });
}

/** Rewrites the runtime blocked map from the database (the original's /api/blocked-ips/sync). */
export async function syncBlocked(ops: Ops, actor: string) {
  return ops.applier.runtimeChange({
    actor,
    action: 'blocked_ip.sync',
    target: null,
    mutate: (db) => blocked.addresses(db),
    files: blockedFiles,
    async runtime(control, all) {
      const path = mapPath(ops.cfg, FILES.blockedMap);
      const want = new Set(all);
      const have = new Set(await control.runtime.maps.keys('map', path));
      await control.runtime.maps.setMany('map', path, [...have].filter((ip) => !want.has(ip)), false);
      await control.runtime.maps.setMany('map', path, [...want].filter((ip) => !have.has(ip)), true);
    },
  });
}

/** Where a trusted address lives: the real-IP map or the source ACL list, its file and its runtime command. */
function trustedTarget(ops: Ops, scope: TrustedIp['scope']) {
  const kind = scope === 'real_ip' ? ('trustedRealIp' as const) : ('trustedSource' as const);
  return {
    files(db: Db) {
      const f = renderList(kind, trusted.list(db).filter((t) => t.scope === scope).map((t) => t.ip_address));
      return new Map([[f.rel, f.text]]);
    },
    set: (control: HaproxyControl, ip: string, present: boolean) =>
      scope === 'real_ip'
        ? control.runtime.maps.set('map', mapPath(ops.cfg, FILES.trustedMap), ip, present)
        : control.runtime.maps.set('acl', mapPath(ops.cfg, FILES.trustedSourceList), ip, present),
  };
}

export async function trustIp(ops: Ops, actor: string, ip: string, scope: TrustedIp['scope'], note: string | null) {
  const target = trustedTarget(ops, scope);
  return ops.applier.runtimeChange({
    actor,
    action: 'trusted_ip.add',
    target: ip,
    detail: { scope, note },
    mutate(db) {
      if (trusted.get(db, ip, scope)) throw new AppError('conflict', `${ip} is already trusted (${scope})`, { field: 'ip_address' });
      const id = trusted.insert(db, ip, scope, note);
      ops.record?.(db, { kind: 'trust', ip, scope, note });
      return id;
    },
    files: target.files,
    runtime: (control) => target.set(control, ip, true),
  });
}

export async function untrustIp(ops: Ops, actor: string, ip: string, scope: TrustedIp['scope']) {
  const target = trustedTarget(ops, scope);
  return ops.applier.runtimeChange({
    actor,
    action: 'trusted_ip.remove',
    target: ip,
    detail: { scope },
    mutate(db) {
      if (!trusted.remove(db, ip, scope)) throw new AppError('not_found', `${ip} is not trusted (${scope})`, { field: 'ip_address' });
      ops.record?.(db, { kind: 'untrust', ip, scope });
      return true;
    },
    files: target.files,
    runtime: (control) => target.set(control, ip, false),
  });
}

function proxyFiles(db: Db) {
  const f = renderList('trustedProxies', proxies.list(db).map((p) => p.cidr));
  return new Map([[f.rel, f.text]]);
}

export async function addProxy(ops: Ops, actor: string, cidr: string, note: string | null) {
  return ops.applier.runtimeChange({
    actor,
    action: 'trusted_proxy.add',
    target: cidr,
    detail: { note },
    mutate(db) {
      if (proxies.get(db, cidr)) throw new AppError('conflict', `${cidr} is already a trusted proxy`, { field: 'cidr' });
      const id = proxies.insert(db, cidr, note);
      ops.record?.(db, { kind: 'trusted_proxy', cidr, note });
      return id;
    },
    files: proxyFiles,
    runtime: (control) => control.runtime.maps.set('acl', mapPath(ops.cfg, FILES.trustedProxiesList), cidr, true),
  });
}

export async function removeProxy(ops: Ops, actor: string, cidr: string) {
  return ops.applier.runtimeChange({
    actor,
    action: 'trusted_proxy.remove',
    target: cidr,
    mutate(db) {
      if (!proxies.remove(db, cidr)) throw new AppError('not_found', `${cidr} is not a trusted proxy`, { field: 'cidr' });
      ops.record?.(db, { kind: 'trusted_proxy_remove', cidr });
      return true;
    },
    files: proxyFiles,
    runtime: (control) => control.runtime.maps.set('acl', mapPath(ops.cfg, FILES.trustedProxiesList), cidr, false),
  });
}
