/** unblock_ip: lifts a block. Widens access. */
import type { ActionUnit } from './types.js';
import { actorOf } from './types.js';
import { ipTarget } from './targets.js';

export const unblockIpUnit = {
  name: 'unblock_ip',
  targetKind: 'ip',
  access: 'widens',
  timed: false,
  change: true,
  help: 'lift a block; target: the address',
  inverse: 'block_ip',
  validate: (raw) => ipTarget('unblock_ip', raw),
  text: (t) => t,
  async execute(deps, ip, r) {
    await deps.ipLists.unblock(actorOf(r), ip);
    return 'unblocked';
  },
  describe: (r) => `unblock ${r.target ?? '?'}`,
} as const satisfies ActionUnit<string>;
