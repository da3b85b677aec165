/**
 * The analysis cache: identical incidents are answered once.
 *
 * Contract:
 * - The fingerprint is a hash of the rule, the subject type and the
 *   normalised templates of the samples (values masked, as the novelty
 *   detector masks them), so two clients hitting the same probe share one
 *   analysis while a new kind of line asks again. (With folding on, the
 *   analyser keys it by fold.ts `foldKey` instead.)
 * - An entry lives while it is used: it answers for `ttlMs` after it was made
 *   or last answered an incident (a fold whose incidents keep coming keeps its
 *   one verdict), but never past `maxAgeMs` after it was made, so every
 *   verdict is made again at least that often. At most `maxEntries` are kept
 *   (least recently used goes first).
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

export function createAnalysisCache(maxEntries: number, ttlMs: number, now: () => number, maxAgeMs: number = ttlMs) {
  const map = new Map<string, { made: number; used: number; value: CachedAnalysis }>();
  return {
    /** The live entry for `key`, or undefined; a hit counts as a use (see the module contract). */
    get(key: string): CachedAnalysis | undefined {
      const e = map.get(key);
      if (!e) return undefined;
      const t = now();
      if (t - e.used >= ttlMs || t - e.made >= maxAgeMs) { map.delete(key); return undefined; }
      e.used = t;
      map.delete(key);
      map.set(key, e);
      return e.value;
    },
    set(key: string, value: CachedAnalysis) {
      if (maxEntries === 0) return;
      map.delete(key);
      const t = now();
      map.set(key, { made: t, used: t, value });
      while (map.size > maxEntries) {
        const oldest = map.keys().next().value as string;
        map.delete(oldest);
      }
    },
    size: () => map.size,
  };
}
