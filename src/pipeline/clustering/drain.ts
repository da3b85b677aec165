/**
 * An online log template miner in the manner of Drain (He, Zhu, Zheng, Lyu:
 * "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017).
 *
 * A message is masked and tokenised (./mask.ts), then routed down a tree of
 * fixed depth (./tree.ts): by its token count, then by its first `depth`
 * tokens (a token holding a mask or a digit, or shaped like a path, file or
 * host name, takes the `<*>` branch, and so does any new token once a node
 * has `maxChildren` children). The leaf holds clusters; the message joins the most similar one
 * when the similarity reaches `similarity`, and the positions that differ
 * become `<*>` in its template; otherwise it founds a new cluster.
 *
 * Refinements over the paper, all generic:
 * - A position that varies keeps the mark that ends both tokens (`root:` and
 *   `backup:` give `<*>:`, see `generalise`): the template keeps the label
 *   or list structure, and a value of varying length after it can be found
 *   (./consolidate.ts).
 * - Masked tokens are parameters in the similarity (see `bestMatch`), so two
 *   messages do not look alike merely because both hold masked values.
 * - Words that tell events apart. When the only differences are between
 *   plain words (`flushed to disk` / `flushed to memory`, `link
 *   came up` / `link went down`), the message founds a variant cluster instead of turning the
 *   word into `<*>`, until more than `splitValues` distinct words have been
 *   seen at that position: then the position becomes `<*>` and the variants
 *   fold into one (a wide range of words is a variable: user names, states).
 * - Groups. Clusters whose templates have the same constant tokens in the
 *   same order (./heuristics.ts `groupKey`) are one group: an event whose
 *   variable parts span a different number of tokens or are sometimes
 *   absent. A cluster whose template comes to cover another cluster of its
 *   leaf absorbs it.
 *
 * Ids. What `add` reports is the group: its id is a short hash of the masked
 * message that founded it (the first template text). The template generalises
 * as messages arrive (`a b c` -> `a <*> c`) but the id never changes while the
 * group lives, and the same founding message gives the same id in another run
 * or after an eviction. When two groups merge, the younger one's id becomes an
 * alias of the older: `resolve(id)` returns the group an id now belongs to.
 *
 * Memory is bounded: at most `maxTemplates` clusters (the least recently seen
 * is evicted; `onEvict` hears of a group whose last cluster went), at most
 * `maxClustersPerLeaf` in a leaf (which also bounds the work per message), at
 * most `maxTokens` tokens per message, examples cut at MAX_EXAMPLE
 * characters; tree nodes, aliases and keys go with their clusters and groups.
 */
import { maskMessage, WILDCARD as MASK } from './mask.js';
import { collapseRuns, groupKey, introducesValue, wordsApart } from './heuristics.js';
import { createTree, type Leaf } from './tree.js';
import { consolidate as findEvents } from './consolidate.js';

/** A local copy: a module binding read on every token costs a getter call under some loaders. */
const WILDCARD: string = MASK;

export interface MinerOptions {
  /** Share (0..1) of a message's non-parameter positions whose tokens must equal the template's. Default 0.5. */
  similarity?: number;
  /** Leading tokens used to route in the tree (Drain's depth minus 2). Default 2. */
  depth?: number;
  /** Children per tree node before new tokens share the `<*>` branch. Default 100. */
  maxChildren?: number;
  /** Clusters kept; the least recently seen is evicted beyond it. Default 5000. */
  maxTemplates?: number;
  /** Clusters in one leaf; the least recently seen of the leaf is evicted beyond it. Bounds the work per message. Default 64. */
  maxClustersPerLeaf?: number;
  /** Tokens per message after masking; the rest is cut. Default 80. */
  maxTokens?: number;
  /** Distinct words a constant position may take, as variants, before it becomes `<*>`. Default 4; 0 = original Drain. */
  splitValues?: number;
  /**
   * Lines between two consolidations (./consolidate.ts: clusters whose
   * longest common pattern is one event join one group). Default 5000; 0 =
   * only when `consolidate()` is called.
   */
  consolidateEvery?: number;
  /** Called with a group's last state when its last cluster is evicted. */
  onEvict?: (t: TemplateInfo) => void;
}

export interface AddResult {
  /** The group's id (stable while the group lives; see the module comment). */
  id: string;
  /** The group's template as it is after this message. */
  template: string;
  /** True when this message founded a new group. */
  isNew: boolean;
  /** For a new group that differs from an existing one only in a word or two: that group's id. */
  variantOf?: string;
  /** Messages in the group, this one included. */
  count: number;
}

export interface TemplateInfo {
  id: string;
  template: string;
  count: number;
  /** The message that founded the group (cut at MAX_EXAMPLE characters). */
  example: string;
  /** Times (ms since epoch) of the first and the last message. */
  firstSeen: number;
  lastSeen: number;
  /** Ids of groups merged into this one (they resolve to it); absent when none. */
  aliases?: string[];
}

export interface Miner {
  /** Clusters one message. `time` (ms since epoch) defaults to the wall clock and only feeds firstSeen/lastSeen. */
  add(message: string, time?: number): AddResult;
  /** The live groups, most frequent first. */
  templates(): TemplateInfo[];
  /** The live group an id now belongs to (its own, or the one it merged into), or undefined when gone. */
  resolve(id: string): TemplateInfo | undefined;
  /**
   * Joins the groups whose clusters are one event by their longest common
   * pattern (./consolidate.ts); the younger groups' ids become aliases.
   * Returns the number of groups merged away.
   */
  consolidate(): number;
  /** Live clusters (what `maxTemplates` bounds). */
  readonly size: number;
}

export const MAX_EXAMPLE = 500;

interface Cluster {
  tokens: string[];
  leaf: Leaf<Cluster>;
  group: Group;
  lastSeen: number;
  /** Lines that joined this cluster (absorbed clusters' included). */
  count: number;
  /** Shared by a cluster and its word variants: the words seen at each contested position. */
  family: Map<number, Set<string>> | null;
  // Least-recently-seen list: head is the oldest.
  prev: Cluster | null;
  next: Cluster | null;
}

interface Group {
  id: string;
  seq: number;
  members: Cluster[];
  count: number;
  example: string;
  firstSeen: number;
  lastSeen: number;
  /** Keys in the key index that point here. */
  keys: string[];
  /** Ids merged into this group. */
  aliases: string[] | null;
  template: string | null;
}

/** 53-bit string hash (cyrb53), printed as 12 hex digits. */
export function shortHash(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const n = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return n.toString(16).padStart(14, '0').slice(-12);
}

/**
 * A group's text: its clusters of the first one's length, with `<*>` where
 * they differ; runs of `<*>` written once when clusters of several lengths
 * make it up.
 */
function groupText(g: Group): string {
  if (g.template === null) {
    const first = g.members[0];
    if (!first) g.template = '';
    else if (g.members.length === 1) g.template = first.tokens.join(' ');
    else {
      const merged = first.tokens.slice();
      let lengths = 1;
      for (let k = 1; k < g.members.length; k++) {
        const o = g.members[k]!.tokens;
        if (o.length !== merged.length) {
          lengths++;
          continue;
        }
        for (let i = 0; i < merged.length; i++) if (merged[i] !== o[i]) merged[i] = WILDCARD;
      }
      g.template = lengths === 1 ? merged.join(' ') : collapseRuns(merged);
    }
  }
  return g.template;
}

/** Punctuation that ends a word and that a variable keeps: `<*>:` (a name before a colon), `<*>,` (an item of a list). */
const FRAMES = ':,;';

/**
 * The template token for two different tokens at one position: `<*>`, or
 * `<*>:` / `<*>,` / `<*>;` when both end in that mark after something (`root:`
 * and `postgres:` give `<*>:`), so the template keeps the structure the mark
 * gives (a label, a list) while the word varies.
 */
function generalise(a: string, b: string): string {
  const n = a.length;
  if (n < 2 || b.length < 2) return WILDCARD;
  const c = a[n - 1]!;
  if (!FRAMES.includes(c) || b[b.length - 1] !== c || a[n - 2] === c || b[b.length - 2] === c) return WILDCARD;
  return WILDCARD + c;
}

/** Whether a framed variable (`<*>:`) takes token `t` (a word ending in the same mark). */
function framedBy(a: string, t: string): boolean {
  return a.startsWith(WILDCARD) && t.length >= 2 && t[t.length - 1] === a[3];
}

function info(g: Group): TemplateInfo {
  const t: TemplateInfo = { id: g.id, template: groupText(g), count: g.count, example: g.example, firstSeen: g.firstSeen, lastSeen: g.lastSeen };
  if (g.aliases) t.aliases = g.aliases.slice();
  return t;
}

export function createMiner(opts: MinerOptions = {}): Miner {
  const similarity = opts.similarity ?? 0.5;
  const depth = Math.max(0, Math.floor(opts.depth ?? 2));
  const maxChildren = Math.max(2, opts.maxChildren ?? 100);
  const maxTemplates = Math.max(1, opts.maxTemplates ?? 5000);
  const maxPerLeaf = Math.max(1, opts.maxClustersPerLeaf ?? 64);
  const maxTokens = Math.max(1, opts.maxTokens ?? 80);
  const splitValues = Math.max(0, Math.floor(opts.splitValues ?? 4));
  const onEvict = opts.onEvict;
  const consolidateEvery = Math.max(0, Math.floor(opts.consolidateEvery ?? 5000));
  let sinceConsolidation = 0;

  const tree = createTree<Cluster>(depth, maxChildren);
  const groups = new Map<string, Group>();
  const aliases = new Map<string, Group>();
  const keyIndex = new Map<string, Group>();
  let head: Cluster | null = null;
  let tail: Cluster | null = null;
  let size = 0;
  let seq = 0;

  // ---- least-recently-seen list
  function unlink(c: Cluster): void {
    if (c.prev) c.prev.next = c.next;
    else head = c.next;
    if (c.next) c.next.prev = c.prev;
    else tail = c.prev;
    c.prev = c.next = null;
  }
  function pushTail(c: Cluster): void {
    c.prev = tail;
    c.next = null;
    if (tail) tail.next = c;
    else head = c;
    tail = c;
  }
  function touch(c: Cluster): void {
    if (tail === c) return;
    unlink(c);
    pushTail(c);
  }

  // ---- groups
  function newGroup(template: string, example: string, now: number): Group {
    // An id that is an alias still names its group for whoever holds it: never reuse it while it lives.
    const base = shortHash(template);
    let id = base;
    for (let k = 2; groups.has(id) || aliases.has(id); k++) id = `${base}-${k}`;
    const g: Group = { id, seq: seq++, members: [], count: 0, example, firstSeen: now, lastSeen: now, keys: [], aliases: null, template: null };
    groups.set(id, g);
    return g;
  }

  /** Folds group `b` into `a`; `b`'s id becomes an alias of `a`. */
  function mergeGroups(a: Group, b: Group): Group {
    if (a === b) return a;
    if (b.seq < a.seq) [a, b] = [b, a];
    for (const c of b.members) c.group = a;
    a.members.push(...b.members);
    a.count += b.count;
    if (b.firstSeen < a.firstSeen) {
      a.firstSeen = b.firstSeen;
      a.example = b.example;
    }
    if (b.lastSeen > a.lastSeen) a.lastSeen = b.lastSeen;
    for (const k of b.keys) if (keyIndex.get(k) === b) keyIndex.set(k, a);
    a.keys.push(...b.keys);
    const ids = [b.id, ...(b.aliases ?? [])];
    for (const id of ids) aliases.set(id, a);
    (a.aliases ??= []).push(...ids);
    groups.delete(b.id);
    a.template = null;
    return a;
  }

  /** Files a cluster's (new) template under its key; a key already held by another group merges the two. */
  function indexKey(c: Cluster): void {
    const k = groupKey(c.tokens);
    const other = keyIndex.get(k);
    if (other === undefined) {
      keyIndex.set(k, c.group);
      c.group.keys.push(k);
    } else if (other !== c.group) {
      mergeGroups(other, c.group);
    }
  }

  function groupDied(g: Group): void {
    groups.delete(g.id);
    for (const k of g.keys) if (keyIndex.get(k) === g) keyIndex.delete(k);
    if (g.aliases) for (const a of g.aliases) if (aliases.get(a) === g) aliases.delete(a);
  }

  // ---- clusters
  /** Removes a cluster from its leaf, its group and the list; prunes the tree above an emptied leaf. */
  function drop(c: Cluster): void {
    unlink(c);
    size--;
    tree.remove(c.leaf, c);
    const g = c.group;
    const j = g.members.indexOf(c);
    if (j >= 0) g.members.splice(j, 1);
    g.template = null;
  }

  function evict(c: Cluster): void {
    const g = c.group;
    // The group's last state, taken while its last cluster is still in it.
    const last = g.members.length === 1 && onEvict ? info(g) : null;
    drop(c);
    if (g.members.length === 0) {
      groupDied(g);
      if (onEvict) onEvict(last ?? info(g));
    }
  }

  /**
   * Drain's similarity with masked tokens as parameters: a constant token
   * equal in both counts for; a differing one, or a template `<*>` facing a
   * constant, counts against (so templates made mostly of `<*>` do not
   * swallow everything); masked tokens that line up (`<*>` facing a masked
   * token, `blk_<*>` facing `blk_<*>`) count neither way. A message equal to
   * the template scores 1.
   */
  function bestMatch(list: Cluster[], tokens: string[], masked: boolean[]): { c: Cluster; sim: number } | null {
    let best: Cluster | null = null;
    let bestSim = -1;
    let bestPar = -1;
    const n = tokens.length;
    for (let k = 0; k < list.length; k++) {
      const c = list[k]!;
      const ct = c.tokens;
      let eq = 0;
      let neutral = 0;
      let par = 0;
      for (let i = 0; i < n; i++) {
        const a = ct[i]!;
        if (a === WILDCARD || (a.length === 4 && a.charCodeAt(0) === 60 && framedBy(a, tokens[i]!))) {
          par++;
          if (masked[i]) neutral++;
        } else if (a === tokens[i]) {
          if (masked[i]) neutral++;
          else eq++;
        }
      }
      const den = n - neutral;
      const sim = den === 0 ? 1 : eq / den;
      if (sim > bestSim || (sim === bestSim && par > bestPar)) {
        best = c;
        bestSim = sim;
        bestPar = par;
      }
    }
    return best !== null && bestSim >= similarity ? { c: best, sim: bestSim } : null;
  }

  /** Positions where `c` holds a word and the message another word that may make it another event, or null. */
  function contested(c: Cluster, tokens: string[]): number[] | null {
    let out: number[] | null = null;
    const ct = c.tokens;
    for (let i = 0; i < ct.length; i++) {
      const a = ct[i]!;
      const b = tokens[i]!;
      if (a === WILDCARD || a === b) continue;
      if (!wordsApart(a, b) || introducesValue(tokens[i - 1], i - 1)) continue;
      (out ??= []).push(i);
    }
    return out;
  }

  /** After `c` generalised: absorb the clusters of its leaf that its template now covers. */
  function absorbCovered(c: Cluster): void {
    const list = c.leaf.clusters!;
    for (let k = list.length - 1; k >= 0; k--) {
      const o = list[k];
      if (!o || o === c) continue;
      let covered = true;
      for (let i = 0; i < c.tokens.length; i++) {
        const a = c.tokens[i]!;
        if (a !== WILDCARD && a !== o.tokens[i]) {
          covered = false;
          break;
        }
      }
      if (!covered) continue;
      drop(o);
      c.count += o.count;
      if (o.lastSeen > c.lastSeen) c.lastSeen = o.lastSeen;
      mergeGroups(c.group, o.group);
    }
  }

  function found(tokens: string[], message: string, now: number, variantOf: Cluster | null): Cluster {
    const home = variantOf ? variantOf.leaf : tree.make(tokens);
    const list = home.clusters!;
    if (list.length >= maxPerLeaf) {
      let oldest: Cluster | null = null;
      for (const o of list) if (o !== variantOf && (oldest === null || o.lastSeen < oldest.lastSeen)) oldest = o;
      if (oldest) evict(oldest);
    }
    const leaf = tree.attached(home) ? home : tree.make(tokens);
    // A template another group already has under its key (other lengths of one event) joins that group.
    const key = groupKey(tokens);
    let g = keyIndex.get(key);
    if (!g) {
      g = newGroup(tokens.join(' '), message.length > MAX_EXAMPLE ? message.slice(0, MAX_EXAMPLE) : message, now);
      keyIndex.set(key, g);
      g.keys.push(key);
    }
    const c: Cluster = { tokens, leaf, group: g, lastSeen: now, count: 0, family: variantOf ? variantOf.family : null, prev: null, next: null };
    g.members.push(c);
    g.template = null;
    leaf.clusters!.push(c);
    pushTail(c);
    size++;
    while (size > maxTemplates && head && head !== c) evict(head);
    return c;
  }

  function consolidateNow(): number {
    sinceConsolidation = 0;
    const live: Cluster[] = [];
    for (let c = head; c; c = c.next) live.push(c);
    let merged = 0;
    for (const set of findEvents(live, { splitValues })) {
      let g = live[set[0]!]!.group;
      for (let k = 1; k < set.length; k++) {
        const o = live[set[k]!]!.group;
        if (o !== g) {
          g = mergeGroups(g, o);
          merged++;
        }
      }
    }
    return merged;
  }

  return {
    get size() {
      return size;
    },
    add(message: string, time?: number): AddResult {
      const now = time ?? Date.now();
      const tokens = maskMessage(message, maxTokens);
      const masked = tokens.map((t) => t.includes(WILDCARD));
      const leaf = tree.leaf(tokens);
      const hit = leaf && leaf.clusters ? bestMatch(leaf.clusters, tokens, masked) : null;
      let variantOf: Cluster | null = null;
      let c: Cluster;
      if (hit && splitValues > 0 && hit.sim < 1) {
        const words = contested(hit.c, tokens);
        if (words) {
          const family = (hit.c.family ??= new Map());
          let overflow = false;
          for (const p of words) {
            let seen = family.get(p);
            if (!seen) family.set(p, (seen = new Set([hit.c.tokens[p]!])));
            seen.add(tokens[p]!);
            if (seen.size > splitValues) overflow = true;
          }
          if (!overflow) variantOf = hit.c;
        }
      }
      if (hit && !variantOf) {
        c = hit.c;
        let changed = false;
        const ct = c.tokens;
        for (let i = 0; i < ct.length; i++) {
          const a = ct[i]!;
          if (a !== WILDCARD && a !== tokens[i]) {
            const g = generalise(a, tokens[i]!);
            if (g !== a) {
              ct[i] = g;
              changed = true;
            }
          }
        }
        if (now > c.lastSeen) c.lastSeen = now;
        touch(c);
        if (changed) {
          c.group.template = null;
          absorbCovered(c);
          indexKey(c);
        }
      } else {
        c = found(tokens, message, now, variantOf);
      }
      c.count++;
      let g = c.group;
      g.count++;
      if (consolidateEvery > 0 && ++sinceConsolidation >= consolidateEvery && consolidateNow() > 0) g = c.group;
      if (now > g.lastSeen) g.lastSeen = now;
      const r: AddResult = { id: g.id, template: groupText(g), isNew: g.count === 1, count: g.count };
      if (r.isNew && variantOf && groups.get(variantOf.group.id) === variantOf.group) r.variantOf = variantOf.group.id;
      return r;
    },
    consolidate(): number {
      return consolidateNow();
    },
    templates(): TemplateInfo[] {
      return [...groups.values()].map(info).sort((a, b) => b.count - a.count || a.firstSeen - b.firstSeen);
    },
    resolve(id: string): TemplateInfo | undefined {
      const g = groups.get(id) ?? aliases.get(id);
      return g ? info(g) : undefined;
    },
  };
}
