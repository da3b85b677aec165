/**
 * Runs every sample-log fixture in test/parse/fixtures (fail2ban style): a
 * `# expect: {...}` line holds a JSON subset that the ParsedLine of the next
 * non-comment line must contain. `# format: json|text|haproxy` sets the
 * format for the lines after it (default: haproxy). Expectation keys: ok,
 * kind, time (ISO 8601 of ParsedLine.time, or null), fields (a subset:
 * objects compared key by key, arrays and scalars exactly), absent (field
 * names that must not be set). Year-less syslog stamps get their year from
 * a fixed `now` (2026-12-01), so the expectations do not age.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseLine } from '../../src/pipeline/parse/index.js';
import type { ParsedLine, SourceFormat } from '../../src/pipeline/types.js';

const DIR = join(import.meta.dirname, 'fixtures');
const NOW = Date.UTC(2026, 11, 1);

interface Expect {
  ok?: boolean;
  kind?: string;
  time?: string | null;
  fields?: Record<string, unknown>;
  absent?: string[];
}

interface Case {
  file: string;
  lineNo: number;
  line: string;
  format: SourceFormat;
  expect: Expect;
}

function loadCases(): Case[] {
  const cases: Case[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.log')).sort()) {
    const lines = readFileSync(join(DIR, file), 'utf8').split('\n');
    let format: SourceFormat = 'haproxy';
    let pending: Expect | null = null;
    lines.forEach((line, k) => {
      if (line.startsWith('# format:')) format = line.slice(9).trim() as SourceFormat;
      else if (line.startsWith('# expect:')) pending = JSON.parse(line.slice(9)) as Expect;
      else if (line.startsWith('#')) return;
      else if (pending !== null) {
        cases.push({ file, lineNo: k + 1, line, format, expect: pending });
        pending = null;
      }
    });
  }
  return cases;
}

function subset(actual: unknown, expected: unknown, path: string): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) subset((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else {
    assert.deepEqual(actual, expected, `${path}`);
  }
}

function check(p: ParsedLine, e: Expect): void {
  if (e.ok !== undefined) assert.equal(p.ok, e.ok, 'ok');
  if (e.kind !== undefined) assert.equal(p.kind, e.kind, 'kind');
  if (e.time !== undefined) assert.equal(p.time === null ? null : new Date(p.time).toISOString(), e.time, 'time');
  if (e.fields !== undefined) subset(p.fields, e.fields, 'fields');
  for (const k of e.absent ?? []) assert.equal(p.fields[k], undefined, `fields.${k} should be absent, is ${JSON.stringify(p.fields[k])}`);
  // Whatever the line, the result is plain JSON data.
  assert.deepEqual(JSON.parse(JSON.stringify(p.fields)), p.fields);
}

const cases = loadCases();

describe('parse fixtures', () => {
  it('has fixtures', () => assert.ok(cases.length > 100, `only ${cases.length} fixture lines`));
  for (const c of cases) {
    it(`${c.file}:${c.lineNo}`, () => {
      const p = parseLine(c.line, c.format, { now: NOW });
      try {
        check(p, c.expect);
      } catch (err) {
        (err as Error).message += `\n  line: ${c.line}\n  got:  ${JSON.stringify(p)}`;
        throw err;
      }
    });
  }
});
