import type { PgMigration } from './migration.js';

/**
 * Migration 8: one LLM analysis per fleet incident (issue 17). A row is the
 * claim of the node that analyses the fleet incident (`analyser`; it renews
 * `claimed_at` while its analysis runs) and, once there is one, the verdict:
 * `status` 'analysed' with `verdict` (the model's reply in the
 * report_analysis tool's shape, targets already mapped back to real values),
 * the model and the node that made it (`analysed_by`). The other nodes read
 * the verdict and check it as they check a model's reply (fleet/analysis.ts).
 * A claim not renewed for a while is stale and may be taken over
 * (storage/pg/analyses.ts).
 */
export const migration: PgMigration = {
  version: 8,
  name: 'fleet analyses',
  sql: `
    CREATE TABLE fleet_analyses (
      fleet_incident_id bigint PRIMARY KEY REFERENCES fleet_incidents (id) ON DELETE CASCADE,
      analyser text NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now(),
      status text NOT NULL DEFAULT 'claimed' CHECK (status IN ('claimed', 'analysed')),
      verdict jsonb,
      model text,
      strong_model boolean NOT NULL DEFAULT false,
      analysed_by text,
      analysed_at timestamptz
    );
  `,
};
