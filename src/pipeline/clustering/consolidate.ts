/**
 * Threshold-free consolidation of clusters, after the idea of Brain (Yu et
 * al., "Brain: Log Parsing with Bidirectional Parallel Tree", IEEE TSC
 * 2023): the constant words of one event occur in exactly as many lines as
 * the event has, so among the tokens of a template, the largest set that
 * shares one line count is the event's longest common pattern.
 *
 * Contract: `consolidate(clusters, opts)` takes clusters as
 * `{tokens, count}` (masked tokens, `<*>` for variables; the lines each
 * holds) and returns sets of indices (two or more) that are one event.
 * Pure, no state; cost linear in the total number of tokens.
 *
 * Per token count: each position's token is counted over the lines of the
 * clusters of that length (`freq`). A cluster's pattern is the set of its
 * non-`<*>` positions whose frequency is the one most positions share (ties:
 * the higher frequency); clusters with the same pattern are candidates. The
 * positions outside the pattern either hold a variable (many values across
 * the candidates) or tell events apart: a column whose values are at most
 * `splitValues` words that may tell events apart (the miner's own rule,
 * ./heuristics.ts `wordsApart`) splits the candidates by its value; any other
 * column is a variable, so the candidates merge. Nothing here is a
 * similarity threshold: what decides is which tokens occur together.
 */
import { WILDCARD as MASK } from './mask.js';
import { introducesValue, wordsApart } from './heuristics.js';

const WILDCARD: string = MASK;

export interface ClusterView {
  readonly tokens: readonly string[];
  readonly count: number;
}

export interface ConsolidateOptions {
  /** Distinct words a column may hold and still tell events apart (as the miner's splitValues). */
  splitValues: number;
}

/** Sets (two or more indices into `clusters`) that are one event. */
export function consolidate(clusters: readonly ClusterView[], opts: ConsolidateOptions): number[][] {
  const byLength = new Map<number, number[]>();
  for (let i = 0; i < clusters.length; i++) {
    const n = clusters[i]!.tokens.length;
    if (n === 0) continue;
    let a = byLength.get(n);
    if (!a) byLength.set(n, (a = []));
    a.push(i);
  }
  const out: number[][] = [];
  for (const [n, members] of byLength) {
    if (members.length < 2) continue;
    // Line counts of each (position, token).
    const freq: Map<string, number>[] = Array.from({ length: n }, () => new Map());
    for (const i of members) {
      const c = clusters[i]!;
      for (let p = 0; p < n; p++) {
        const t = c.tokens[p]!;
        if (t === WILDCARD) continue;
        const m = freq[p]!;
        m.set(t, (m.get(t) ?? 0) + c.count);
      }
    }
    // Candidates: clusters with the same longest common pattern.
    const candidates = new Map<string, number[]>();
    for (const i of members) {
      const key = patternKey(clusters[i]!.tokens, freq);
      if (key === null) continue;
      let a = candidates.get(key);
      if (!a) candidates.set(key, (a = []));
      a.push(i);
    }
    for (const set of candidates.values()) {
      if (set.length < 2) continue;
      for (const part of split(clusters, set, opts.splitValues)) if (part.length > 1) out.push(part);
    }
  }
  return out;
}

/** The pattern of a template: its positions (with tokens) that share the line count most positions share. */
function patternKey(tokens: readonly string[], freq: Map<string, number>[]): string | null {
  const byCount = new Map<number, number>();
  for (let p = 0; p < tokens.length; p++) {
    const t = tokens[p]!;
    if (t === WILDCARD) continue;
    const f = freq[p]!.get(t)!;
    byCount.set(f, (byCount.get(f) ?? 0) + 1);
  }
  let best = -1;
  let bestN = 0;
  for (const [f, k] of byCount) if (k > bestN || (k === bestN && f > best)) [best, bestN] = [f, k];
  if (best < 0) return null;
  let key = '';
  for (let p = 0; p < tokens.length; p++) {
    const t = tokens[p]!;
    if (t !== WILDCARD && freq[p]!.get(t) === best) key += `${p}\u0000${t}\u0001`;
  }
  return key;
}

/**
 * Splits candidates by the columns that tell events apart: a column whose
 * values (in every candidate a non-`<*>` token) are at most `splitValues`
 * words, each pair of them words that may tell events apart, and not after a
 * word that introduces a value. Other differing columns are variables.
 */
function split(clusters: readonly ClusterView[], set: number[], splitValues: number): number[][] {
  const n = clusters[set[0]!]!.tokens.length;
  for (let p = 0; p < n; p++) {
    const values = new Map<string, number[]>();
    let wild = false;
    for (const i of set) {
      const t = clusters[i]!.tokens[p]!;
      if (t === WILDCARD) {
        wild = true;
        break;
      }
      let a = values.get(t);
      if (!a) values.set(t, (a = []));
      a.push(i);
    }
    if (wild || values.size < 2 || values.size > splitValues) continue;
    const words = [...values.keys()];
    let apart = true;
    for (let a = 0; a < words.length && apart; a++) for (let b = a + 1; b < words.length && apart; b++) apart = wordsApart(words[a]!, words[b]!);
    if (!apart) continue;
    const prevs = new Set(set.map((i) => clusters[i]!.tokens[p - 1]));
    if (prevs.size === 1 && introducesValue(clusters[set[0]!]!.tokens[p - 1], p - 1)) continue;
    return [...values.values()].flatMap((part) => split(clusters, part, splitValues));
  }
  return [set];
}
