/**
 * Novel application errors, as findings: error-level application lines go to
 * the novelty detector (novelty.ts beside this file: a Drain miner per source); a
 * template never seen before (after a warm-up per source, so a restart does
 * not flag everything) or a burst of one template becomes a finding marked
 * for escalation to the analysis tier. The subject is the template, named
 * `<source>:<template id>`.
 */
import { createNoveltyDetector } from './novelty.js';
import type { TemplateInfo } from './drain.js';
import type { Finding, ParsedLine } from '../types.js';

export interface Novelty {
  observe(source: string, line: ParsedLine, raw: string, time: number): Finding | null;
  templates(): { source: string; templates: TemplateInfo[] }[];
}

export function createNovelty(opts: { warmup: number }): Novelty {
  const detector = createNoveltyDetector({ warmupLines: opts.warmup });
  const sources = new Set<string>();
  return {
    observe(source, line, raw, time) {
      if (line.fields.level !== 'error') return null;
      const message = typeof line.fields.message === 'string' && line.fields.message ? line.fields.message : raw;
      sources.add(source);
      const ev = detector.observe({ message, time, source });
      if (!ev) return null;
      const novel = ev.kind === 'new_template';
      return {
        rule: novel ? 'novel-app-error' : 'app-error-template-burst',
        category: 'app-errors',
        // A word variant of a known template is less news than a new kind of error.
        severity: novel && ev.variantOf ? 'low' : 'medium',
        subject: { type: 'path', value: `${source}:${ev.templateId}` },
        time: ev.time,
        count: ev.count,
        actions: [{ type: 'escalate' }],
        escalate: true,
        sample: ev.sample.slice(0, 2000),
      };
    },
    templates: () => [...sources].map((source) => ({ source, templates: detector.miner(source)?.templates() ?? [] })),
  };
}
