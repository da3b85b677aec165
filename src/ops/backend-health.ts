/**
 * The escalation's BackendHealth port over the runtime API: `show stat` rows
 * of a backend (by its configured name) in the shape the analysis prompt
 * shows: server, status, last check. At most 20 rows.
 */
import type { Runtime } from '../haproxy/runtime/index.js';
import { haproxyBackendName } from '../haproxy/render.js';
import type { BackendHealth } from './escalation.js';

export function backendHealthFrom(runtime: Runtime): BackendHealth {
  return async (backend, server) =>
    (await runtime.servers.health(haproxyBackendName(backend), server)).slice(0, 20).map((r) => ({
      backend,
      ...(r.server !== undefined ? { server: r.server } : {}),
      status: r.status,
      checkDetail: `${r.checkStatus} ${r.lastCheck}`.trim(),
    }));
}
