/** block_ip: a temporary block (a person's may be permanent), live through the runtime API. */
import type { ActionUnit } from './types.js';
import { actorOf } from './types.js';
import { ipTarget } from './targets.js';

export const blockIpUnit = {
  name: 'block_ip',
  targetKind: 'ip',
  access: 'narrows',
  addsEntry: true,
  timed: true,
  change: true,
  help: 'deny an IP or CIDR for ttl_s seconds; target: the address',
  inverse: 'unblock_ip',
  validate: (raw) => ipTarget('block_ip', raw),
  text: (t) => t,
  async execute(deps, ip, r) {
    const expiresAt = r.ttlS ? new Date(Date.now() + r.ttlS * 1000).toISOString() : null;
    return deps.ipLists.block(actorOf(r), ip, r.reason.slice(0, 500), expiresAt);
  },
  describe: (r) => `block ${r.target ?? '?'}${r.ttlS ? ` for ${r.ttlS}s` : ' permanently'}`,
} as const satisfies ActionUnit<string>;
