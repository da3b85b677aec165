/**
 * Blocks and trusted lists (/blocks): the blocked addresses with reason, who
 * and when, and a live countdown for temporary ones; the addresses exempt
 * from rate limits; the trusted proxies. The forms send to the API from the
 * browser (console.js): a block with a TTL goes to POST /api/security/
 * temporary-block, a permanent one to POST /api/blocked-ips; the API's
 * guardrails refuse a range covering loopback, the daemon's own path or a
 * protected address (403, the detail names what it covers) and the page
 * shows that refusal as a warning.
 */
import type { PageRegistrar } from '../console.js';
import type { ItemOf } from '../wire.js';
import type { list as listBlocked } from '../../api/routes/blocked-ips.js';
import type { listTrusted, listProxies } from '../../api/routes/trusted.js';

type Blocked = ItemOf<typeof listBlocked>;
type Trusted = ItemOf<typeof listTrusted>;
type Proxy = ItemOf<typeof listProxies>;

export function listsPages(page: PageRegistrar): void {
  page('/blocks', async (_ctx, { api, deps }) => {
    const [blocked, trusted, proxies] = await Promise.all([
      api.get<Blocked[]>('/api/blocked-ips'),
      api.get<Trusted[]>('/api/trusted-ips'),
      api.get<Proxy[]>('/api/trusted-proxies'),
    ]);
    // Temporary blocks first, the soonest to lapse on top; then the permanent ones, newest first.
    const temporary = blocked.filter((b) => b.expires_at !== null).sort((a, b) => Date.parse(a.expires_at!) - Date.parse(b.expires_at!));
    const permanent = blocked.filter((b) => b.expires_at === null).sort((a, b) => b.id - a.id);
    return {
      template: 'blocks.njk',
      data: {
        title: 'Blocks and trusted lists',
        blocked: [...temporary, ...permanent],
        trusted,
        proxies,
        maxMinutes: deps.api.cfg.blocks.max_duration_minutes,
      },
    };
  });
}
