/**
 * The stored backends joined with what HAProxy reports about them now (one
 * `show stat`): each server's operational state, last check and sessions,
 * and per backend how many servers are up. For GET /api/backends and the
 * metrics. `live: false` (and `health: null` on every server) when HAProxy
 * cannot be asked: the stored administrative state (`state`: ready, drain,
 * maint) is what the daemon asked for, never proof of what HAProxy does.
 */
import type { Runtime } from '../runtime/index.js';
import type { OperationalState, StatRow } from '../runtime/servers.js';
import { haproxyBackendName } from '../config/render.js';
import type { Backend, Server } from '../../storage/domains.js';

export interface ServerHealth {
  state: OperationalState;
  /** HAProxy's own status text ("UP", "DOWN 1/2", "no check", "MAINT (via b/s)"). */
  status: string;
  checkStatus: string | null;
  checkDurationMs: number | null;
  lastCheck: string | null;
  weight: number | null;
  currentSessions: number | null;
}

/** A backend as HAProxy serves it (its site's options are the domain's, shown by GET /api/domains). */
export interface BackendHealthView extends Omit<Backend, 'servers' | 'site'> {
  /** The backend's own state in HAProxy (UP while a server is up); null when not live. */
  health: { state: OperationalState; status: string; currentSessions: number | null } | null;
  serversUp: number | null;
  serversTotal: number;
  servers: (Server & { health: ServerHealth | null })[];
}

const orNull = (s: string) => (s === '' ? null : s);

function serverHealth(r: StatRow): ServerHealth {
  return {
    state: r.state,
    status: r.status,
    checkStatus: orNull(r.checkStatus),
    checkDurationMs: r.checkDurationMs,
    lastCheck: orNull(r.lastCheck),
    weight: r.weight,
    currentSessions: r.currentSessions,
  };
}

export async function backendsWithHealth(runtime: Runtime, backends: Backend[]): Promise<{ live: boolean; backends: BackendHealthView[] }> {
  let stat: Map<string, StatRow[]> | null = null;
  try {
    stat = await runtime.servers.healthByBackend();
  } catch {
    stat = null;
  }
  return {
    live: stat !== null,
    backends: backends.map(({ site: _site, ...b }) => {
      const rows = stat?.get(haproxyBackendName(b.name)) ?? null;
      const own = rows?.find((r) => r.server === undefined);
      const servers = b.servers.map((s) => {
        const row = rows?.find((r) => r.server === s.name);
        return { ...s, health: row ? serverHealth(row) : null };
      });
      return {
        ...b,
        health: own ? { state: own.state, status: own.status, currentSessions: own.currentSessions } : null,
        serversUp: rows ? servers.filter((s) => s.health?.state === 'UP').length : null,
        serversTotal: servers.length,
        servers,
      };
    }),
  };
}

/** A backend's servers' states for the metrics: null when HAProxy does not list the server (or cannot be asked). */
export interface BackendStates {
  backend: string;
  /** health null when HAProxy does not list the server (or cannot be asked). */
  servers: { name: string; health: StatRow | null }[];
}

/**
 * The stored backends and server names (rows of backend, server) joined with
 * HAProxy's operational state of each, from one servers-only stat dump; the
 * lean path of a scrape (no Backend objects, no check details). `live`
 * false when HAProxy cannot be asked.
 */
export async function serverStates(runtime: Runtime, rows: { backend: string; server: string | null }[]): Promise<{ live: boolean; backends: BackendStates[] }> {
  let live: Map<string, Map<string, StatRow>> | null = null;
  try {
    live = await runtime.servers.states();
  } catch {
    live = null;
  }
  const out: BackendStates[] = [];
  let cur = null as BackendStates | null;
  let states: Map<string, StatRow> | undefined;
  for (const r of rows) {
    if (cur?.backend !== r.backend) {
      cur = { backend: r.backend, servers: [] };
      out.push(cur);
      states = live?.get(haproxyBackendName(r.backend));
    }
    if (r.server !== null) cur.servers.push({ name: r.server, health: states?.get(r.server) ?? null });
  }
  return { live: live !== null, backends: out };
}
