/**
 * Labelled corpora (fixtures/<system>.tsv: EventId, EventTemplate, Content)
 * and the LogHub grouping-accuracy metric.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Corpus {
  system: string;
  messages: string[];
  /** Ground-truth event id of each message. */
  truth: string[];
  templates: Map<string, string>;
}

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function loadCorpora(): Corpus[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.tsv'))
    .sort()
    .map((f) => {
      const rows = readFileSync(join(FIXTURES, f), 'utf8').split('\n').slice(1).filter((l) => l.length > 0);
      const c: Corpus = { system: f.replace(/\.tsv$/, ''), messages: [], truth: [], templates: new Map() };
      for (const row of rows) {
        const a = row.indexOf('\t');
        const b = row.indexOf('\t', a + 1);
        const id = row.slice(0, a);
        c.truth.push(id);
        c.templates.set(id, row.slice(a + 1, b));
        c.messages.push(row.slice(b + 1));
      }
      return c;
    });
}

/**
 * LogHub's grouping accuracy: a message counts as correct when the set of
 * messages in its predicted group equals the set of messages in its true
 * group. Returns the share of correct messages.
 */
export function groupingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) throw new Error('length mismatch');
  const byPred = new Map<string, number[]>();
  predicted.forEach((p, i) => {
    let a = byPred.get(p);
    if (!a) byPred.set(p, (a = []));
    a.push(i);
  });
  const truthSize = new Map<string, number>();
  for (const t of truth) truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
  let correct = 0;
  for (const members of byPred.values()) {
    const t = truth[members[0]!]!;
    if (members.every((i) => truth[i] === t) && truthSize.get(t) === members.length) correct += members.length;
  }
  return predicted.length === 0 ? 1 : correct / predicted.length;
}
