/**
 * GET /health: 200 only when HAProxy is serving; 503 with the reason otherwise. No auth.
 * A serving HAProxy whose logs the monitor cannot see (the intake not listening, a source
 * failing, requests served with no line arriving) is `degraded`, still 200, with the reasons.
 */
import type Router from '@koa/router';
import type { ApiDeps } from '../context.js';
import { protections } from '../../haproxy/process/version.js';
import { databaseReadable } from '../../storage/health.js';
import { mount, route } from '../contract/route.js';
import { healthOut } from '../schemas/operations.js';

const example = {
  status: 'healthy',
  haproxy_status: 'running',
  database: 'connected',
  haproxy: { version: '3.0.11', mode: 'managed', master_pid: 4121, workers: 1 },
  protections: [{ name: 'timeouts', active: true }, { name: 'http2_rapid_reset', active: true }],
};

export const health = route({
  id: 'health',
  method: 'GET',
  path: '/health',
  tag: 'health',
  summary: 'Whether HAProxy serves and the database answers (no key needed)',
  auth: 'none',
  responses: {
    200: { description: 'Serving (degraded: serving, but the log monitor cannot see its traffic)', schema: healthOut, example },
    503: { description: 'Not serving, with the reason', schema: healthOut, example: { ...example, status: 'unhealthy', haproxy_status: 'stopped', reason: 'no worker is running', haproxy: { ...example.haproxy, master_pid: null, workers: 0 } } },
  },
});

export function healthRoutes(r: Router, d: ApiDeps): void {
  mount(r, health, async (ctx) => {
    const database = databaseReadable(d.reader) ? 'connected' : 'error';
    const st = await d.control.status();
    const healthy = st.serving && database === 'connected';
    const degraded = healthy && d.monitor ? d.monitor.degraded(await servedRequests(d)) : [];
    ctx.status = healthy ? 200 : 503;
    ctx.body = {
      status: healthy ? (degraded.length ? 'degraded' : 'healthy') : 'unhealthy',
      ...(degraded.length ? { degraded } : {}),
      haproxy_status: st.serving ? 'running' : 'stopped',
      database,
      ...(healthy ? {} : { reason: st.serving ? 'database not readable' : st.reason }),
      haproxy: { version: d.info.version, mode: d.cfg.mode, master_pid: st.masterPid ?? null, workers: st.workers ?? 0 },
      protections: protections(d.info),
    };
  });
}

/** Requests HAProxy's frontends served (their req_tot, the daemon's stats page excluded: it does not log); null when unknown. */
async function servedRequests(d: ApiDeps): Promise<number | null> {
  try {
    const rows = await d.control.runtime.servers.stat();
    return rows.filter((r) => r.svname === 'FRONTEND' && r.pxname !== 'hm-stats').reduce((n, r) => n + (Number(r.req_tot) || 0), 0);
  } catch {
    return null;
  }
}
