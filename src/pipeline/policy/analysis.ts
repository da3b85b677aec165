/**
 * Turning the analysis stage's result into the policy's `Analysis`.
 * Structural on purpose (no import from the analysis stage): any object with
 * a summary, a confidence and recommendations fits. A type is read under
 * the name the model sees (ActionUnit.modelName: `notify_only` for `notify`);
 * an empty target means none.
 */
import type { Analysis, RecommendedAction } from './types.js';
import type { Severity } from '../types.js';
import { allUnits } from '../actions/registry.js';

/** The model's name of an action -> its registry name. */
const FROM_MODEL = new Map(allUnits().flatMap((u) => (u.modelName ? [[u.modelName, u.name] as const] : [])));

export interface AnalysisLike {
  summary: string;
  likelyCause?: string;
  severity?: Severity;
  confidence: number;
  recommendations: readonly { type: string; target?: string | null; ttl_s?: number; reason?: string }[];
}

export function fromAnalysisResult(r: AnalysisLike, source: 'llm' | 'rules' = 'llm'): Analysis {
  const recommended_actions: RecommendedAction[] = r.recommendations.map((x) => ({
    type: FROM_MODEL.get(x.type) ?? x.type,
    target: x.target ? x.target : null,
    ttl_s: x.ttl_s ?? null,
    ...(x.reason !== undefined ? { reason: x.reason } : {}),
  }));
  return {
    source,
    summary: r.summary,
    ...(r.likelyCause !== undefined ? { likely_cause: r.likelyCause } : {}),
    ...(r.severity !== undefined ? { severity: r.severity } : {}),
    confidence: Number.isFinite(r.confidence) ? Math.min(1, Math.max(0, r.confidence)) : 0,
    recommended_actions,
  };
}
