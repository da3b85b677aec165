/**
 * Servers at runtime: `set server ... state|weight`, `show servers state`
 * and the `show stat` CSV, both parsed by their header names (2.6 has 128
 * stat columns and 3.0 has 205: never by position). Backends are named as
 * HAProxy knows them (the rendered name).
 */
import { RuntimeError, type SocketClient } from './client.js';
import { expectSuccess } from './replies.js';

export type ServerAdminState = 'ready' | 'drain' | 'maint';

/** `show servers state` rows, field name -> value (be_name, srv_name, srv_admin_state...). */
export function parseServersState(reply: string): Record<string, string>[] {
  const lines = reply.split('\n');
  const header = lines.find((l) => l.startsWith('# be_id'))?.slice(2).trim().split(' ');
  if (!header) throw new RuntimeError(`unexpected "show servers state" answer: ${reply.trim().slice(0, 200)}`, reply);
  return lines.filter((l) => /^\d+ /.test(l)).map((l) => Object.fromEntries(l.split(' ').map((v, i) => [header[i] ?? `#${i}`, v])));
}

/** One CSV line; HAProxy quotes a field holding a comma or a quote ("" inside). */
function csvFields(line: string, limit?: number): string[] {
  // Most lines quote nothing: split them at once, up to the last field wanted (a stat dump of 10,000 backends is 20,000 lines of 200 fields).
  if (!line.includes('"')) return line.split(',', limit);
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * `show stat` CSV rows, column name -> value (pxname, svname, status,
 * check_status...). `columns`: only those (pxname and svname always), which
 * is what a caller reading a few fields of thousands of rows wants.
 */
export function parseStat(csv: string, columns?: readonly string[]): Record<string, string>[] {
  const lines = csv.split('\n');
  const head = lines[0]?.startsWith('# ') ? csvFields(lines[0].slice(2)) : [];
  if (!head.includes('pxname') || !head.includes('svname')) throw new RuntimeError(`unexpected "show stat" answer: ${csv.trim().slice(0, 200)}`, csv);
  const picked = columns ? [...new Set(['pxname', 'svname', ...columns])].map((c) => [c, head.indexOf(c)] as const).filter(([, i]) => i >= 0) : head.map((c, i) => [c, i] as const);
  const limit = columns ? Math.max(...picked.map(([, i]) => i)) + 1 : undefined;
  const out: Record<string, string>[] = [];
  for (let n = 1; n < lines.length; n++) {
    const l = lines[n]!;
    if (l.trim() === '') continue;
    const f = csvFields(l, limit);
    const row: Record<string, string> = {};
    for (const [c, i] of picked) if (f[i] !== undefined) row[c] = f[i];
    if (!columns) for (let i = head.length; i < f.length; i++) row[`#${i}`] = f[i]!;
    out.push(row);
  }
  return out;
}

/** The columns a StatRow is made of. */
const HEALTH_COLUMNS = ['status', 'check_status', 'check_duration', 'last_chk', 'weight', 'scur'] as const;
/** A scrape's columns: a StatRow's without the last check's text (far along the line, and free text). */
const SCRAPE_COLUMNS = ['status', 'check_status', 'check_duration', 'weight', 'scur'] as const;

/** What HAProxy does with a server now, from `show stat`'s status column. */
export type OperationalState = 'UP' | 'DOWN' | 'MAINT' | 'DRAIN' | 'NOLB' | 'UNKNOWN';

/**
 * `show stat`'s status as one of the five states. HAProxy writes transitions
 * with a count ("UP 1/3" is up and failing checks, "DOWN 1/2" down and
 * passing them: still UP and DOWN), "no check" for a server it does not
 * check (it takes traffic: UP), and "MAINT (resolution)" or "MAINT (via
 * b/s)" for inherited maintenance.
 */
export function operationalState(status: string): OperationalState {
  const s = status.trim().toUpperCase();
  if (s === 'NO CHECK' || s === 'OPEN' || s.startsWith('UP')) return 'UP';
  for (const k of ['DOWN', 'MAINT', 'DRAIN', 'NOLB'] as const) if (s.startsWith(k)) return k;
  return 'UNKNOWN';
}

/** A backend's or server's health, from `show stat`. */
export interface StatRow {
  /** Absent for the backend's own row. */
  server?: string;
  /** As HAProxy writes it ("UP", "DOWN 1/2", "no check", "MAINT (via x/y)"). */
  status: string;
  state: OperationalState;
  checkStatus: string;
  /** ms; null when no check ran. */
  checkDurationMs: number | null;
  lastCheck: string;
  weight: number | null;
  currentSessions: number | null;
}

const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));

/** Admin-state bits of `srv_admin_state` (HAProxy's SRV_ADMF_*): maint set by the CLI or inherited, drain. */
const WANT: Record<ServerAdminState, (admin: number) => boolean> = {
  maint: (a) => (a & 0x01) !== 0,
  drain: (a) => (a & 0x08) !== 0,
  ready: (a) => (a & 0x09) === 0,
};

function statRow(r: Record<string, string>): StatRow {
  const status = r.status ?? '?';
  return {
    ...(r.svname !== 'BACKEND' ? { server: r.svname ?? '' } : {}),
    status,
    state: operationalState(status),
    checkStatus: r.check_status ?? '',
    checkDurationMs: num(r.check_duration),
    lastCheck: r.last_chk ?? '',
    weight: num(r.weight),
    currentSessions: num(r.scur),
  };
}

export function createServers(client: SocketClient) {
  const set = async (cmd: string) => expectSuccess(cmd, await client.send(cmd));
  const state = async (backend?: string) => parseServersState(await client.send(backend === undefined ? 'show servers state' : `show servers state ${backend}`));
  return {
    /** `show servers state` rows, of one backend or all. */
    state,
    /**
     * Sets `backend/server`'s administrative state (and, when `weight` is
     * given, its weight), then reads `srv_admin_state` back.
     */
    async setState(backend: string, server: string, to: ServerAdminState, weight?: number): Promise<void> {
      const id = `${backend}/${server}`;
      await set(`set server ${id} state ${to}`);
      if (weight !== undefined) await set(`set server ${id} weight ${weight}`);
      const row = (await state(backend)).find((r) => r.srv_name === server);
      if (!row || row.srv_admin_state === undefined) throw new RuntimeError(`cannot read back the state of ${id}`);
      if (!WANT[to](Number(row.srv_admin_state))) throw new RuntimeError(`the state of ${id} did not change to ${to}`);
    },
    /** All `show stat` rows, by column name. */
    stat: async () => parseStat(await client.send('show stat')),
    /** The `show stat` rows of `backend`: its servers (or only `server`) and the backend's own row; no frontend. */
    async health(backend: string, server?: string): Promise<StatRow[]> {
      return parseStat(await client.send('show stat'), HEALTH_COLUMNS)
        .filter((r) => r.pxname === backend && r.svname !== 'FRONTEND' && (server === undefined || r.svname === server || r.svname === 'BACKEND'))
        .map(statRow);
    },
    /**
     * Every backend's rows (servers and its own), by the backend's HAProxy
     * name, from one `show stat -1 6 -1` (backends and servers: frontends are
     * not dumped at all).
     */
    async healthByBackend(): Promise<Map<string, StatRow[]>> {
      const out = new Map<string, StatRow[]>();
      for (const r of parseStat(await client.send('show stat -1 6 -1'), HEALTH_COLUMNS)) {
        if (r.svname === 'FRONTEND' || r.pxname === undefined) continue;
        const list = out.get(r.pxname) ?? [];
        list.push(statRow(r));
        out.set(r.pxname, list);
      }
      return out;
    },
    /**
     * Every server's health, HAProxy backend name -> server -> row, from
     * `show stat -1 4 -1` (servers only) read up to the check duration (no
     * last check text): the least a scrape of 10,000 backends can ask for.
     */
    async states(): Promise<Map<string, Map<string, StatRow>>> {
      const out = new Map<string, Map<string, StatRow>>();
      for (const r of parseStat(await client.send('show stat -1 4 -1'), SCRAPE_COLUMNS)) {
        if (r.pxname === undefined || r.svname === undefined || r.svname === 'BACKEND' || r.svname === 'FRONTEND') continue;
        let m = out.get(r.pxname);
        if (!m) out.set(r.pxname, (m = new Map()));
        m.set(r.svname, statRow(r));
      }
      return out;
    },
    /**
     * Every frontend's request and response counters since the worker
     * started (`show stat -1 1 -1`: frontends only), by frontend name.
     */
    async frontendCounters(): Promise<Map<string, FrontendCounters>> {
      const out = new Map<string, FrontendCounters>();
      for (const r of parseStat(await client.send('show stat -1 1 -1'), ['req_tot', 'hrsp_4xx', 'hrsp_5xx'])) {
        if (r.svname !== 'FRONTEND' || r.pxname === undefined) continue;
        out.set(r.pxname, { requests: num(r.req_tot) ?? 0, responses4xx: num(r.hrsp_4xx) ?? 0, responses5xx: num(r.hrsp_5xx) ?? 0 });
      }
      return out;
    },
  };
}
export type Servers = ReturnType<typeof createServers>;

/** A frontend's HTTP counters (cumulative since its worker started; a reload starts them again). */
export interface FrontendCounters {
  requests: number;
  responses4xx: number;
  responses5xx: number;
}
