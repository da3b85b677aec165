/** GET /health: 200 only when HAProxy is serving; 503 with the reason otherwise. No auth. */
import type Router from '@koa/router';
import type { ApiDeps } from '../context.js';
import { protections } from '../../haproxy/process/version.js';
import { databaseReadable } from '../../storage/health.js';

export function healthRoutes(r: Router, d: ApiDeps): void {
  r.get('/health', async (ctx) => {
    const database = databaseReadable(d.reader) ? 'connected' : 'error';
    const st = await d.control.status();
    const healthy = st.serving && database === 'connected';
    ctx.status = healthy ? 200 : 503;
    ctx.body = {
      status: healthy ? 'healthy' : 'unhealthy',
      haproxy_status: st.serving ? 'running' : 'stopped',
      database,
      ...(healthy ? {} : { reason: st.serving ? 'database not readable' : st.reason }),
      haproxy: { version: d.info.version, mode: d.cfg.mode, master_pid: st.masterPid ?? null, workers: st.workers ?? 0 },
      protections: protections(d.info),
    };
  });
}
