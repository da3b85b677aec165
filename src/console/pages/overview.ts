/**
 * The overview: HAProxy (version, mode, workers, protections), the last
 * hour of traffic as a chart, open incidents by severity, live blocks, the
 * certificate that expires soonest, the log sources and their rates, and the
 * analysis budget used.
 */
import type { PageRegistrar } from '../console.js';
import { SEVERITIES } from '../../pipeline/types.js';

interface Health {
  status: string;
  haproxy: { version: string; mode: string; workers: number; master_pid: number | null };
  protections: { name: string; active: boolean; note?: string }[];
  degraded?: string[];
}
interface Traffic {
  interval_seconds: number;
  points: { at: string; requests_per_second: number | null; responses_4xx_per_second: number | null; responses_5xx_per_second: number | null }[];
}
interface Cert {
  domain: string;
  expires: string | null;
  days_until_expiry: number | null;
  last_error: string | null;
}

export function overviewPages(page: PageRegistrar): void {
  page('/', async (_ctx, { api }) => {
    const [health, traffic, open, blocks, certs, status] = await Promise.all([
      api.get<Health>('/health').catch((e: Error) => ({ error: e.message }) as unknown as Health),
      api.get<Traffic>('/api/traffic'),
      api.get<{ severity: string }[]>('/api/incidents', { status: 'open', limit: 1000 }),
      api.get<{ ip_address: string; expires_at: string | null }[]>('/api/blocked-ips'),
      api.get<{ certificates: Cert[] }>('/api/certificates/status'),
      api.get<Record<string, unknown>>('/api/monitor/status'),
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
      data: { title: 'Overview', health, chart, last, bySeverity, openTotal: open.length, blocks: blocks.length, soonest, status },
    };
  });
}
