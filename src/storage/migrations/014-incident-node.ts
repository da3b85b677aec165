import type { Migration } from './migration.js';
/**
 * Migration 16: incidents carry the fleet node that saw them (issue 17).
 * - node: this node's fleet.node_name when the incident was stored; null on a
 *   single node (and for incidents from before).
 * - fleet_incident_id, fleet_notifier: the fleet incident (PostgreSQL
 *   fleet_incidents) this one is part of, and the node that sends its
 *   notifications; null until the fleet was asked, and on a single node.
 */
export const migration: Migration = {
  version: 14,
  name: 'incident node and fleet incident',
  sql: `
      ALTER TABLE incidents ADD COLUMN node TEXT;
      ALTER TABLE incidents ADD COLUMN fleet_incident_id INTEGER;
      ALTER TABLE incidents ADD COLUMN fleet_notifier TEXT;
    `,
};
