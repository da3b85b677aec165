/** Hand-built parsed lines and rule specs for the triage unit tests. */
import type { ParsedLine } from '../../src/pipeline/types.js';
import { ruleSchema, type RuleSpec } from '../../src/pipeline/triage/schema.js';

export const T0 = Date.UTC(2026, 10, 25, 14, 0, 0);

export function http(time: number | null, fields: Record<string, unknown>): ParsedLine {
  return { ok: true, kind: 'http', time, fields: { client_ip: '203.0.113.9', method: 'GET', path: '/', status: 200, backend: 'web', server: 's1', termination_state: '----', ...fields } };
}

export function event(time: number | null, fields: Record<string, unknown>): ParsedLine {
  return { ok: true, kind: 'event', time, fields };
}

export function app(time: number | null, level: string, message: string): ParsedLine {
  return { ok: true, kind: 'app', time, fields: { level, message } };
}

/** A rule spec through the schema (defaults filled), from a partial one. */
export function rule(partial: Record<string, unknown>): RuleSpec {
  return ruleSchema.parse({
    name: 'test-rule',
    description: 'test',
    category: 'test',
    severity: 'medium',
    filter: { kind: 'http' },
    group_by: 'ip',
    condition: { type: 'count', threshold: 3, window: '1m' },
    ...partial,
  });
}
