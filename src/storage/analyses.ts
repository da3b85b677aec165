/** LLM analyses of incidents: the only place their SQL lives. One row per final outcome (not per retry). */
import type { Db } from './db.js';

export interface AnalysisRow {
  id: number;
  incident_id: number;
  /** ms since epoch */
  created_at: number;
  status: 'analysed' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  reason: string | null;
  /** The policy's `analyse` entry that sent the incident. */
  trigger: string;
  model: string | null;
  cached: boolean;
  /** The stronger model was asked (the fast one said it needed it, or the incident was severe enough). */
  strong_model: boolean;
  summary: string | null;
  likely_cause: string | null;
  severity: string | null;
  confidence: number | null;
  recommendations: unknown[];
  dropped: unknown[];
  /** The fleet node whose model call this is, when another node's (its verdict taken from PostgreSQL); null for this node's own. */
  analysed_by: string | null;
}

type Sql = Omit<AnalysisRow, 'cached' | 'strong_model' | 'recommendations' | 'dropped'> & { cached: number; strong_model: number; recommendations: string; dropped: string };

const toRow = (r: Sql): AnalysisRow => ({
  ...r,
  cached: r.cached === 1,
  strong_model: r.strong_model === 1,
  recommendations: JSON.parse(r.recommendations) as unknown[],
  dropped: JSON.parse(r.dropped) as unknown[],
});

export const analyses = {
  save(db: Db, a: Omit<AnalysisRow, 'id' | 'analysed_by'> & { analysed_by?: string | null }): AnalysisRow {
    const info = db
      .prepare(
        `INSERT INTO analyses (incident_id, created_at, status, reason, trigger, model, cached, strong_model, summary, likely_cause, severity, confidence, recommendations, dropped, analysed_by)
         VALUES (@incident_id, @created_at, @status, @reason, @trigger, @model, @cached, @strong_model, @summary, @likely_cause, @severity, @confidence, @recommendations, @dropped, @analysed_by)`,
      )
      .run({
        ...a,
        analysed_by: a.analysed_by ?? null,
        cached: a.cached ? 1 : 0,
        strong_model: a.strong_model ? 1 : 0,
        recommendations: JSON.stringify(a.recommendations),
        dropped: JSON.stringify(a.dropped),
      });
    return { ...a, analysed_by: a.analysed_by ?? null, id: Number(info.lastInsertRowid) };
  },
  /** An incident's analyses, newest first. */
  forIncident(db: Db, incidentId: number): AnalysisRow[] {
    return (db.prepare('SELECT * FROM analyses WHERE incident_id = ? ORDER BY id DESC LIMIT 20').all(incidentId) as Sql[]).map(toRow);
  },
  counts(db: Db): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of db.prepare('SELECT status, COUNT(*) AS n FROM analyses GROUP BY status').all() as { status: string; n: number }[]) out[r.status] = r.n;
    return out;
  },
};
