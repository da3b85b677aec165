/**
 * Fleet analyses in PostgreSQL: the only place their SQL lives. One LLM
 * analysis per fleet incident: the node holding the claim calls the model
 * and stores the verdict; the others read it.
 *
 * Contract:
 * - claimAnalysis(): atomic (one INSERT ... ON CONFLICT): of nodes claiming
 *   at once exactly one gets the claim. A node gets it too when the row is
 *   its own claim, or a claim not renewed for `staleMs` (its node died or
 *   lost the database): taken over. A row with a verdict is never claimed
 *   again; the caller is handed the row instead.
 * - renewClaims(): the holder renews `claimed_at` while its analysis runs.
 * - saveVerdict(): the first verdict wins (a later one, say from a node that
 *   stopped waiting and asked the model itself, changes nothing); it may be
 *   saved without a claim.
 * - releaseClaim(): the holder gives up without a verdict (the model call was
 *   skipped or failed): the next node to ask claims it.
 * What a verdict holds is not checked here: readers check it (fleet/analysis.ts).
 */
import type pg from 'pg';

export interface FleetAnalysisRow {
  fleetIncidentId: number;
  analyser: string;
  status: 'claimed' | 'analysed';
  /** Unchecked JSON (jsonb) as stored. */
  verdict: unknown;
  model: string | null;
  strongModel: boolean;
  analysedBy: string | null;
}

type Sql = { fleet_incident_id: string; analyser: string; status: 'claimed' | 'analysed'; verdict: unknown; model: string | null; strong_model: boolean; analysed_by: string | null };

const toRow = (r: Sql): FleetAnalysisRow => ({
  fleetIncidentId: Number(r.fleet_incident_id),
  analyser: r.analyser,
  status: r.status,
  verdict: r.verdict,
  model: r.model,
  strongModel: r.strong_model,
  analysedBy: r.analysed_by,
});

export type ClaimResult = { claimed: true } | { claimed: false; row: FleetAnalysisRow | null };

export async function claimAnalysis(pool: pg.Pool, fleetIncidentId: number, node: string, staleMs: number): Promise<ClaimResult> {
  const r = await pool.query(
    `INSERT INTO fleet_analyses (fleet_incident_id, analyser) VALUES ($1, $2)
     ON CONFLICT (fleet_incident_id) DO UPDATE SET analyser = EXCLUDED.analyser, claimed_at = now()
       WHERE fleet_analyses.status = 'claimed'
         AND (fleet_analyses.analyser = EXCLUDED.analyser OR fleet_analyses.claimed_at < now() - make_interval(secs => $3::double precision / 1000))
     RETURNING analyser`,
    [fleetIncidentId, node, staleMs],
  );
  if ((r.rowCount ?? 0) > 0) return { claimed: true };
  // Released between the two statements: null (the caller claims again).
  return { claimed: false, row: await getAnalysis(pool, fleetIncidentId) };
}

export async function getAnalysis(pool: pg.Pool, fleetIncidentId: number): Promise<FleetAnalysisRow | null> {
  const r = await pool.query<Sql>('SELECT fleet_incident_id, analyser, status, verdict, model, strong_model, analysed_by FROM fleet_analyses WHERE fleet_incident_id = $1', [fleetIncidentId]);
  return r.rows[0] ? toRow(r.rows[0]) : null;
}

/** Renews this node's claims that still wait for their verdict. */
export async function renewClaims(pool: pg.Pool, fleetIncidentIds: readonly number[], node: string): Promise<void> {
  if (!fleetIncidentIds.length) return;
  await pool.query(`UPDATE fleet_analyses SET claimed_at = now() WHERE fleet_incident_id = ANY($1::bigint[]) AND analyser = $2 AND status = 'claimed'`, [fleetIncidentIds, node]);
}

export interface Verdict {
  /** The model's reply in the report_analysis tool's shape. */
  verdict: unknown;
  model: string;
  strongModel: boolean;
}

/** Stores a verdict unless one is there; true when this one was stored. */
export async function saveVerdict(pool: pg.Pool, fleetIncidentId: number, node: string, v: Verdict): Promise<boolean> {
  const r = await pool.query(
    `INSERT INTO fleet_analyses (fleet_incident_id, analyser, status, verdict, model, strong_model, analysed_by, analysed_at)
     VALUES ($1, $2, 'analysed', $3::jsonb, $4, $5, $2, now())
     ON CONFLICT (fleet_incident_id) DO UPDATE SET status = 'analysed', verdict = EXCLUDED.verdict, model = EXCLUDED.model,
       strong_model = EXCLUDED.strong_model, analysed_by = EXCLUDED.analysed_by, analysed_at = now()
       WHERE fleet_analyses.status = 'claimed'
     RETURNING fleet_incident_id`,
    [fleetIncidentId, node, JSON.stringify(v.verdict), v.model, v.strongModel],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Gives up this node's claim (no verdict). */
export async function releaseClaim(pool: pg.Pool, fleetIncidentId: number, node: string): Promise<void> {
  await pool.query(`DELETE FROM fleet_analyses WHERE fleet_incident_id = $1 AND analyser = $2 AND status = 'claimed'`, [fleetIncidentId, node]);
}

/** Every fleet analysis (tests, diagnostics). */
export async function listFleetAnalyses(pool: pg.Pool): Promise<FleetAnalysisRow[]> {
  const r = await pool.query<Sql>('SELECT fleet_incident_id, analyser, status, verdict, model, strong_model, analysed_by FROM fleet_analyses ORDER BY fleet_incident_id');
  return r.rows.map(toRow);
}

