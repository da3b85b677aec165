/** untrust_ip: removes a trusted address (real-IP scope). Changes trust, so counts as widening. */
import type { ActionUnit } from './types.js';
import { actorOf } from './types.js';
import { ipTarget } from './targets.js';

export const untrustIpUnit = {
  name: 'untrust_ip',
  targetKind: 'ip',
  access: 'widens',
  timed: false,
  change: true,
  help: 'remove from the trusted map; target: the address',
  inverse: 'trust_ip',
  validate: (raw) => ipTarget('untrust_ip', raw),
  text: (t) => t,
  async execute(deps, ip, r) {
    await deps.ipLists.untrust(actorOf(r), ip);
    return 'no longer trusted';
  },
  describe: (r) => `stop trusting ${r.target ?? '?'}`,
} as const satisfies ActionUnit<string>;
