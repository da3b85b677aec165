/**
 * GET /health: 200 only when HAProxy is serving; 503 with the reason otherwise. No auth.
 * A serving HAProxy whose logs the monitor cannot see (the intake not listening, a source
 * failing, requests served with no line arriving) is `degraded`, still 200, with the reasons.
 */
import type Router from '@koa/router';
import type { ApiDeps } from '../context.js';
import { protections } from '../../haproxy/process/version.js';
import { databaseReadable } from '../../storage/health.js';

export function healthRoutes(r: Router, d: ApiDeps): void {
  r.get('/health', async (ctx) => {
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
