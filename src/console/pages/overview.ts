/**
 * The overview: HAProxy (version, mode, workers, protections), the last
 * hour of traffic as a chart, open incidents by severity, live blocks, the
 * certificate that expires soonest, the log sources and their rates, the
 * analysis budget used, and in a fleet this node's place in it with the
 * fleet's recent conflicts (node names and keys come from PostgreSQL: shown
 * as text, autoescaped like everything else).
 */
import type { PageRegistrar } from '../console.js';
import { SEVERITIES } from '../../pipeline/types.js';
import type { AnswerOf, ItemOf } from '../wire.js';
import type { health as healthRoute } from '../../api/routes/health.js';
import type { traffic as trafficRoute } from '../../api/routes/traffic.js';
import type { status as certStatus } from '../../api/routes/certificates.js';
import type { list as listIncidents } from '../../api/routes/incidents.js';
import type { list as listBlocked } from '../../api/routes/blocked-ips.js';
import type { status as monitorStatus } from '../../api/routes/incidents.js';
import type { fleetStatus } from '../../api/routes/fleet.js';

type Health = AnswerOf<typeof healthRoute>;
type Traffic = AnswerOf<typeof trafficRoute>;
type Cert = AnswerOf<typeof certStatus>['certificates'][number];

export function overviewPages(page: PageRegistrar): void {
  page('/', async (_ctx, { api }) => {
    const [health, traffic, open, blocks, certs, status, fleet] = await Promise.all([
      // /health answers 503 with the same body when HAProxy is down: the card says so.
      api.get<Health>('/health').catch(() => null),
      api.get<Traffic>('/api/traffic'),
      api.get<ItemOf<typeof listIncidents>[]>('/api/incidents', { status: 'open', limit: 1000 }),
      api.get<ItemOf<typeof listBlocked>[]>('/api/blocked-ips'),
      api.get<{ certificates: Cert[] }>('/api/certificates/status'),
      api.get<AnswerOf<typeof monitorStatus>>('/api/monitor/status'),
      api.get<AnswerOf<typeof fleetStatus>>('/api/fleet'),
    ]);
    const bySeverity = SEVERITIES.map((s) => ({ severity: s, n: open.filter((i) => i.severity === s).length })).reverse();
    const soonest = certs.certificates.filter((c) => c.expires).sort((a, b) => Date.parse(a.expires!) - Date.parse(b.expires!))[0] ?? null;
    const now = Math.round(Date.now() / 1000);
    const chart = {
      from: now - 3600,
      to: now,
      t: traffic.points.map((p) => Date.parse(p.at) / 1000),
      series: [
        { label: 'requests/s', values: traffic.points.map((p) => p.requests_per_second) },
        { label: '4xx/s', values: traffic.points.map((p) => p.responses_4xx_per_second) },
        { label: '5xx/s', values: traffic.points.map((p) => p.responses_5xx_per_second) },
      ],
    };
    const last = traffic.points.at(-1) ?? null;
    return {
      template: 'overview.njk',
      data: { title: 'Overview', health, chart, last, bySeverity, openTotal: open.length, blocks: blocks.length, soonest, status, fleet: fleet.enabled ? fleet : null },
    };
  });
}
