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
  out.push(...phraseSets(clusters));
  return out;
}

/** The pattern of a template: its positions (with tokens) that share the line count most positions share. */
function patternKey(tokens: readonly string[], freq: Map<string, number>[]): string | null {
  const byCount = new Map<number, number>();
  for (let p = 0; p < tokens.length; p++) {
    const t = tokens[p]!;
    // A token holding a mask (`[req-<*>`, `<*>]`) frames a value: it says nothing of which event this is.
    if (t.includes(WILDCARD)) continue;
    const f = freq[p]!.get(t)!;
    byCount.set(f, (byCount.get(f) ?? 0) + 1);
  }
  let best = -1;
  let bestN = 0;
  // Ties go to the lower line count: the more specific pattern. Joining two events is the mistake
  // that cannot be seen afterwards; two clusters of one event left apart still name that event.
  for (const [f, k] of byCount) if (k > bestN || (k === bestN && f < best)) [best, bestN] = [f, k];
  if (best < 0) return null;
  let key = '';
  for (let p = 0; p < tokens.length; p++) {
    const t = tokens[p]!;
    if (!t.includes(WILDCARD) && freq[p]!.get(t) === best) key += `${p}\u0000${t}\u0001`;
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

/** A variable with the mark that ends it (`<*>:`, `<*>,`, `<*>;`). */
const FRAMED = /^<\*>[:,;]$/;

/** The longest phrase value considered (tokens). */
const MAX_PHRASE = 8;

/**
 * Whether the token at `i` opens a phrase value: a value introducer after
 * the first token (`reason:`, `client`, ./heuristics.ts `introducesValue`),
 * a lone `=` or `:`, or a colon after a value or an exception class (`<*>:`,
 * `java.io.IOException:`), where programs print an error string
 * (`code 7: Not permitted here`, `status = 3: Disk full`); or a comma after a
 * word, for a phrase that ends the line (`closed, idle too long`): 'tail'.
 */
function opensPhrase(tokens: readonly string[], i: number): 'word' | 'colon' | 'tail' | null {
  const t = tokens[i]!;
  if (i === 0) return null;
  // A lone `=` or `:` between a name and its value (`ErrorCode = NOTFOUND`).
  if (t === '=' || t === ':') return 'colon';
  if (t.endsWith(':') && !t.endsWith('::') && (t.includes(WILDCARD) || /\w\.\w/.test(t))) return 'colon';
  if (introducesValue(t, i)) return t.endsWith(':') || t.endsWith('=') ? 'colon' : 'word';
  return t.length > 2 && t.endsWith(',') && !t.includes(WILDCARD) ? 'tail' : null;
}

/**
 * A token that may be part of a phrase value: no mask, not a label (a word
 * ending in `:` introduces a value of its own, so the words before it are the
 * message, not a value: `AH<*>: File does not exist: <*>`), and (after a word
 * introducer) not an introducer itself.
 */
function phraseToken(t: string, guard: boolean): boolean {
  if (t.includes(WILDCARD) || t.length > 64 || t.endsWith(':')) return false;
  return !guard || !introducesValue(t, 1);
}

/**
 * Phrase values of varying length: clusters (of any lengths) that have the
 * same tokens up to a token that opens a phrase value and the same tokens
 * after a span of words (a run of `<*>` counts as a span too) are one event
 * whose value is that span: `wake reason: lid open` / `wake reason: <*>`,
 * `started by client Update Agent` / `... client <*>`, `session <*> closed,
 * idle too long` / `... closed, expired`. After a word introducer the span
 * may not hold one itself, so `bad password for <*>` and `bad password for
 * unknown user <*>` stay apart; a span is never empty. Returns sets of
 * indices, as `consolidate`.
 */
export function phraseSets(clusters: readonly ClusterView[]): number[][] {
  const parent = clusters.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const byKey = new Map<string, Map<number, number>>();
  for (let k = 0; k < clusters.length; k++) {
    const t = clusters[k]!.tokens;
    let prefix = '';
    for (let i = 0; i < t.length - 1; i++) {
      prefix += `${t[i]}\u0001`;
      const kind = opensPhrase(t, i);
      if (kind === null) continue;
      const guard = kind === 'word';
      // Spans t[i+1..j]: a run of `<*>`, or words only; after a comma, only a span that ends the line.
      const first = t[i + 1]!;
      const ends: number[] = [];
      if (first === WILDCARD) {
        for (let j = i + 1; j < t.length && t[j] === WILDCARD; j++) ends.push(j);
      } else if (FRAMED.test(first)) {
        // A variable that keeps its closing mark (`<*>,`, drain.ts `generalise`) is a span of its own.
        ends.push(i + 1);
      } else {
        for (let j = i + 1; j < t.length && j - i <= MAX_PHRASE && phraseToken(t[j]!, guard); j++) ends.push(j);
      }
      for (const j of ends) {
        if (kind === 'tail' && j !== t.length - 1) continue;
        // Only clusters of different lengths join here: within one length, `split` decides.
        const key = `${prefix}\u0002${t.slice(j + 1).join('\u0001')}`;
        let at = byKey.get(key);
        if (at === undefined) byKey.set(key, (at = new Map()));
        if (!at.has(t.length)) at.set(t.length, k);
        for (const [n, o] of at) if (n !== t.length) parent[find(k)] = find(o);
      }
    }
  }
  const sets = new Map<number, number[]>();
  for (let k = 0; k < clusters.length; k++) {
    const r = find(k);
    let a = sets.get(r);
    if (!a) sets.set(r, (a = []));
    a.push(k);
  }
  return [...sets.values()].filter((s) => s.length > 1);
}
