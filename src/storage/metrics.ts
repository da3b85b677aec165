/**
 * Aggregates the metrics page reads at scrape time (src/metrics/). Each is
 * one grouped query over a bounded set of labels: rule names, severities,
 * action kinds, origins, statuses and channel names come from the config and
 * the code, never from a client. No address is ever grouped on.
 */
import type { Db } from './db.js';
import { stmt } from './statements.js';

export interface IncidentCount {
  rule: string;
  severity: string;
  opened: number;
  resolved: number;
  open: number;
}

export interface ActionCount {
  action: string;
  origin: string;
  status: string;
  n: number;
}

export interface ChannelCount {
  channel: string;
  pending: number;
  delivered: number;
  dead: number;
  failed_attempts: number;
}

export const metricsQueries = {
  /** Each stored backend's name with its servers' names (server null for a backend without one), in backend order: the light join the server gauges need. */
  servers(db: Db): { backend: string; server: string | null }[] {
    return stmt(db, 'SELECT b.name AS backend, s.name AS server FROM backends b LEFT JOIN servers s ON s.backend_id = b.id ORDER BY b.name, s.id').all() as {
      backend: string;
      server: string | null;
    }[];
  },
  incidents(db: Db): IncidentCount[] {
    return stmt(
      db,
      `SELECT rule, severity, COUNT(*) AS opened, SUM(status = 'resolved') AS resolved, SUM(status = 'open') AS open
       FROM incidents GROUP BY rule, severity`,
    ).all() as IncidentCount[];
  },
  actions(db: Db): ActionCount[] {
    return stmt(db, 'SELECT action, decided_by AS origin, status, COUNT(*) AS n FROM actions GROUP BY action, decided_by, status').all() as ActionCount[];
  },
  outbox(db: Db): ChannelCount[] {
    return stmt(
      db,
      `SELECT channel,
         SUM(delivered_at IS NULL AND next_attempt_at IS NOT NULL) AS pending,
         SUM(delivered_at IS NOT NULL) AS delivered,
         SUM(delivered_at IS NULL AND next_attempt_at IS NULL) AS dead,
         COALESCE(SUM(attempts), 0) - COALESCE(SUM(delivered_at IS NOT NULL), 0) AS failed_attempts
       FROM outbox GROUP BY channel`,
    ).all() as ChannelCount[];
  },
  trustedCount(db: Db): { scope: string; n: number }[] {
    return stmt(db, 'SELECT scope, COUNT(*) AS n FROM trusted_ips GROUP BY scope').all() as { scope: string; n: number }[];
  },
  certificates(db: Db): { name: string; not_after: string | null; last_error: string | null; failures: number; challenge: string }[] {
    return stmt(db, 'SELECT name, not_after, last_error, failures, challenge FROM certificates').all() as never;
  },
};
