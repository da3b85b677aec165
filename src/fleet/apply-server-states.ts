/**
 * Applying other nodes' server administrative states (ready, drain, maint;
 * key `server_state:<backend>/<server>`): each through the same runtime
 * change as a local one (haproxy/changes/domains.ts changeServerState): live
 * at once through the runtime API, no reload, stored in SQLite and rendered
 * into haproxy.cfg (maint = disabled, drain = weight 0) so a reload or a
 * restart keeps it, audited with the actor `fleet:<node>`.
 *
 * Order: sync.ts applies them after the configuration changes of the same
 * catch-up, so a server whose domain arrives in the same catch-up (a new node
 * replaying the log, a node back from an outage) exists when its state is
 * set. A server that still does not exist here is refused, not kept for
 * later: the log is in order, so the domain that held it when it was drained
 * has reached this node already; if the server is missing, this node refused
 * that domain (audited) or a later edit removed the server, and a state kept
 * aside would wrongly land on a server of the same name made afterwards. The
 * refusal is audited by the applier (`server.state`, failed, "no server ...")
 * and logged. A state already as wanted is skipped (a new node replaying the
 * log does not run one change per ready server), and so is "ready" for a
 * server this node does not have: the node that removed a drained server
 * shares it as ready (haproxy/changes/domains.ts), which asks nothing of the
 * others.
 */
import type { Db } from '../storage/db.js';
import type { Logger } from '../log.js';
import type { Ops } from '../haproxy/changes/ip-lists.js';
import { changeServerState } from '../haproxy/changes/domains.js';
import { getServerState } from '../storage/domains.js';
import { describe, isAppError } from '../errors.js';
import type { CheckedConfigChange } from './change-schema.js';

/** One checked server state change from another node, with its place in the log. */
export interface ServerStateItem {
  version: number;
  node: string;
  change: Extract<CheckedConfigChange, { kind: 'server_state' }>;
}

/**
 * Applies `items` in log order. Resolves once each is applied, skipped or
 * refused; rejects when an apply itself failed (the runtime API and the
 * fallback reload both): the caller retries later.
 */
export async function applyServerStates(ops: Ops, db: Db, log: Logger, items: readonly ServerStateItem[]): Promise<void> {
  for (const { version, node, change: c } of items) {
    const now = getServerState(db, c.backend, c.server);
    // As wanted already; a server this node does not have takes no traffic, so "ready" asks nothing of it.
    if (now === c.state || (now === null && c.state === 'ready')) continue;
    try {
      await changeServerState(ops, `fleet:${node}`, c.backend, c.server, c.state);
    } catch (e) {
      if (!isAppError(e) || e.kind !== 'not_found') throw e;
      log.warn('a fleet server state change names a server this node does not have: refused (audited)', { node, version, target: `${c.backend}/${c.server}`, state: c.state, error: describe(e) });
    }
  }
}
