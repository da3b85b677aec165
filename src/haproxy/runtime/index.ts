/**
 * HAProxy's runtime API, typed: one object per socket. Only this folder
 * sends command strings (test/unit/runtime-commands.test.ts enforces it).
 */
import type { SocketClient } from './client.js';
import { createMaps } from './maps.js';
import { createServers } from './servers.js';
import { createSsl } from './ssl.js';
import { createTables } from './tables.js';
import { createStats } from './stats.js';

/** The stats socket (level admin). */
export function createRuntime(stats: SocketClient) {
  return {
    maps: createMaps(stats),
    servers: createServers(stats),
    ssl: createSsl(stats),
    tables: createTables(stats),
    stats: createStats(stats),
    /** Each command sent on the stats socket, with its duration (SocketClient.observe). */
    observe: stats.observe,
  };
}
export type Runtime = ReturnType<typeof createRuntime>;

export { createMaster, type Master, type ProcInfo, type ReloadReply } from './proc.js';
export { RuntimeError, socketClient, type CommandListener, type SocketClient } from './client.js';
export type { Servers, ServerAdminState, StatRow } from './servers.js';
export type { ListKind, Maps } from './maps.js';
export type { Ssl } from './ssl.js';
export type { Stats } from './stats.js';
export type { TableDump, Tables } from './tables.js';
