/**
 * The ActionDeps the action units carry themselves out with
 * (pipeline/actions/types.ts), built from the HAProxy-side operations: the
 * ip-list operations, a server's admin state, the applier's live reload and
 * the process control's restart. Built once by the composition root.
 */
import type { HaproxyControl } from '../process/control.js';
import type { ActionDeps } from '../../pipeline/actions/types.js';
import { changeServerState } from '../changes/domains.js';
import { blockIps, trustIp, unblockIp, untrustIp, type Ops } from '../changes/ip-lists.js';
import { createBlockBatcher } from './block-batcher.js';

export function actionDeps(ops: Ops, control: Pick<HaproxyControl, 'restart'>): ActionDeps {
  // The daemon's blocks come in floods (one per attacker): coalesced.
  const batcher = createBlockBatcher((items) => blockIps(ops, items));
  return {
    ipLists: {
      async block(actor, ip, reason, expiresAt) {
        const res = await batcher.block({ actor, ip, reason, blockedBy: actor, expiresAt });
        return `blocked${expiresAt ? ` until ${res.row.expires_at ?? 'permanently'}` : ' permanently'} (runtime: ${res.runtimeApplied})`;
      },
      unblock: async (actor, ip) => void (await unblockIp(ops, actor, ip)),
      trust: async (actor, ip, note) => void (await trustIp(ops, actor, ip, 'real_ip', note)),
      untrust: async (actor, ip) => void (await untrustIp(ops, actor, ip, 'real_ip')),
    },
    serverState: async (actor, backend, server, state) => void (await changeServerState(ops, actor, backend, server, state)),
    reload: async (actor) => void (await ops.applier.reloadLive(actor)),
    restart: () => control.restart(),
  };
}
