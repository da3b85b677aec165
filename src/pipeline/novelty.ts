/**
 * Novel application errors: application lines are clustered into templates
 * (templates/drain.ts, one miner per source); an error-level line whose
 * template was never seen before, after a warm-up of `warmup` lines of that
 * source (so a restart does not flag everything), becomes a finding marked
 * for escalation to the analysis tier. Bursts of known templates are the
 * triage rules' business (app-error-burst).
 */
import { createMiner, type Miner, type TemplateInfo } from './templates/drain.js';
import type { Finding, ParsedLine } from './types.js';

export interface Novelty {
  observe(source: string, line: ParsedLine, raw: string, time: number): Finding | null;
  templates(): { source: string; templates: TemplateInfo[] }[];
}

const MAX_SOURCES = 256;

export function createNovelty(opts: { warmup: number; maxTemplates?: number }): Novelty {
  const perSource = new Map<string, { miner: Miner; seen: number }>();
  return {
    observe(source, line, raw, time) {
      const message = typeof line.fields.message === 'string' ? line.fields.message : raw;
      if (!message) return null;
      let s = perSource.get(source);
      if (!s) {
        if (perSource.size >= MAX_SOURCES) return null;
        s = { miner: createMiner({ maxTemplates: opts.maxTemplates ?? 5000 }), seen: 0 };
        perSource.set(source, s);
      }
      s.seen++;
      const r = s.miner.add(message, time);
      const level = line.fields.level;
      const isError = level === 'error' || level === 'fatal' || level === 'critical';
      if (!r.isNew || !isError || s.seen <= opts.warmup) return null;
      return {
        rule: 'novel-app-error',
        category: 'application',
        severity: 'medium',
        subject: { type: 'path', value: `${source}:${r.id}` },
        time,
        count: 1,
        actions: [{ type: 'escalate' }],
        escalate: true,
        sample: raw.slice(0, 2000),
      };
    },
    templates: () => [...perSource.entries()].map(([source, s]) => ({ source, templates: s.miner.templates() })),
  };
}
