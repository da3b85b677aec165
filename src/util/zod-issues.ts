/**
 * zod issues as `path: reason` lines for data files with a `rules:` list
 * (triage rules, the remediation policy): list positions are written
 * `rules[7] (rule-name)` so an operator finds the rule without counting.
 */
import type { z } from 'zod';

export function issueLines(issues: z.core.$ZodIssue[], raw: unknown): string[] {
  return issues.map((i) => {
    const parts: string[] = [];
    i.path.forEach((p, n) => {
      if (typeof p === 'number') {
        let label = `[${p}]`;
        if (n === 1 && i.path[0] === 'rules') {
          const r = (raw as { rules?: unknown[] }).rules?.[p] as { name?: unknown } | undefined;
          if (r && typeof r.name === 'string') label += ` (${r.name})`;
        }
        parts.push(label);
      } else parts.push(parts.length ? `.${String(p)}` : String(p));
    });
    const where = parts.length ? parts.join('') : '(root)';
    if (i.code === 'unrecognized_keys') return `${where}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return `${where}: ${i.message}`;
  });
}
