/**
 * How a node connects to the fleet's PostgreSQL: TLS per fleet.tls (verified
 * unless the operator turned it off for a loopback database, which the
 * config check enforces), short timeouts so an unreachable database is
 * noticed, TCP keepalive so a silent partition ends the LISTEN connection.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import type { FleetSettings } from '../config/fleet.js';

export function pgConfig(s: FleetSettings): pg.ClientConfig & pg.PoolConfig {
  return {
    connectionString: s.databaseUrl,
    ssl: s.tls.enabled ? { rejectUnauthorized: s.tls.verify, ...(s.tls.caFile ? { ca: readFileSync(s.tls.caFile, 'utf8') } : {}) } : false,
    application_name: `haproxy-manager ${s.nodeName}`,
    connectionTimeoutMillis: 3000,
    query_timeout: 15_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5000,
  };
}
