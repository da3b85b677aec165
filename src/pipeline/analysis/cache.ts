/**
 * The analysis cache: identical incidents are answered once.
 *
 * Contract:
 * - The fingerprint is a hash of the rule, the subject type and the
 *   normalised templates of the samples (values masked, as the novelty
 *   detector masks them), so two clients hitting the same probe share one
 *   analysis while a new kind of line asks again.
 * - Entries expire after a TTL; at most `maxEntries` are kept (least
 *   recently used goes first).
 */
import { createHash } from 'node:crypto';
import type { Incident } from '../incidents/group.js';
import { maskText } from '../clustering/mask.js';
import type { AnalysisResult } from './reply.js';

export function fingerprint(inc: Incident, maxSamples: number): string {
  const templates = [...new Set(inc.samples.slice(0, maxSamples).map((s) => maskText(s)))].sort();
  return createHash('sha256')
    .update(JSON.stringify([inc.rule, inc.subject.type, templates]))
    .digest('hex')
    .slice(0, 32);
}

export interface CachedAnalysis {
  result: AnalysisResult;
  /** The subject value the analysis was made for (targets equal to it are re-aimed on a hit). */
  subject: string;
}

export function createAnalysisCache(maxEntries: number, ttlMs: number, now: () => number) {
  const map = new Map<string, { at: number; value: CachedAnalysis }>();
  return {
    get(key: string): CachedAnalysis | undefined {
      const e = map.get(key);
      if (!e) return undefined;
      if (now() - e.at >= ttlMs) { map.delete(key); return undefined; }
      map.delete(key);
      map.set(key, e);
      return e.value;
    },
    set(key: string, value: CachedAnalysis) {
      if (maxEntries === 0) return;
      map.delete(key);
      map.set(key, { at: now(), value });
      while (map.size > maxEntries) {
        const oldest = map.keys().next().value as string;
        map.delete(oldest);
      }
    },
    size: () => map.size,
  };
}
