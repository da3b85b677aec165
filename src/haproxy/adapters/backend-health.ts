/**
 * The analysis stage's BackendHealth port over the runtime API: `show stat` rows
 * of a backend (by its configured name) in the shape the analysis prompt
 * shows: server, status, last check. At most 20 rows.
 */
import type { Runtime } from '../runtime/index.js';
import { haproxyBackendName } from '../config/render.js';
import type { BackendHealth } from '../../pipeline/analysis/stage.js';

export function backendHealthFrom(runtime: Runtime): BackendHealth {
  return async (backend, server) =>
    (await runtime.servers.health(haproxyBackendName(backend), server)).slice(0, 20).map((r) => ({
      backend,
      ...(r.server !== undefined ? { server: r.server } : {}),
      status: r.status,
      checkDetail: `${r.checkStatus} ${r.lastCheck}`.trim(),
    }));
}
