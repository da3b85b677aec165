/** trust_ip: trusts an address (real-IP scope). Changes trust, so counts as widening. */
import type { ActionUnit } from './types.js';
import { actorOf } from './types.js';
import { ipTarget } from './targets.js';

export const trustIpUnit = {
  name: 'trust_ip',
  targetKind: 'ip',
  access: 'widens',
  addsEntry: true,
  timed: false,
  change: true,
  help: 'add to the trusted real-IP map; target: the address',
  inverse: 'untrust_ip',
  validate: (raw) => ipTarget('trust_ip', raw),
  text: (t) => t,
  async execute(deps, ip, r) {
    await deps.ipLists.trust(actorOf(r), ip, r.reason.slice(0, 500));
    return 'trusted';
  },
  describe: (r) => `trust ${r.target ?? '?'}`,
} as const satisfies ActionUnit<string>;
