/**
 * Drain's fixed-depth parse tree: the first level keys messages by token
 * count, the next `depth` levels by their leading tokens, and each leaf holds
 * the clusters of the messages routed there.
 *
 * Contract: `leaf(tokens)` is where a message is looked for (an exact token
 * child, else the `<*>` child, else none); `make(tokens)` is where a new
 * cluster goes (creating nodes; a token that routes as a value, or any new
 * token once a node has `maxChildren` children, takes the `<*>` branch);
 * `remove` takes a cluster out of its leaf and prunes the nodes it leaves
 * empty, so the tree never outgrows its clusters. The last token of a message
 * never routes: a short message is compared with its neighbours, not only
 * looked up.
 */
import { WILDCARD as MASK } from './mask.js';
import { routesAsWildcard } from './heuristics.js';

const WILDCARD: string = MASK;

export interface Leaf<C> {
  key: string;
  parent: Leaf<C> | null;
  children: Map<string, Leaf<C>> | null;
  /** The clusters here (null above the leaves). */
  clusters: C[] | null;
  /** The token count of the messages below (unlinks first-level nodes from the root). */
  length: number;
}

export interface Tree<C> {
  leaf(tokens: readonly string[]): Leaf<C> | undefined;
  make(tokens: readonly string[]): Leaf<C>;
  /** Whether a leaf is still in the tree (removing its last cluster prunes it). */
  attached(n: Leaf<C>): boolean;
  remove(n: Leaf<C>, c: C): void;
}

export function createTree<C>(depth: number, maxChildren: number): Tree<C> {
  const root = new Map<number, Leaf<C>>();
  const routed = (n: number) => Math.max(0, Math.min(depth, n - 1));

  return {
    leaf(tokens) {
      let node = root.get(tokens.length);
      const levels = routed(tokens.length);
      for (let i = 0; node && i < levels; i++) {
        const t = tokens[i]!;
        const children: Map<string, Leaf<C>> = node.children!;
        node = (routesAsWildcard(t) ? undefined : children.get(t)) ?? children.get(WILDCARD);
      }
      return node;
    },
    make(tokens) {
      let node = root.get(tokens.length);
      if (!node) {
        node = { key: String(tokens.length), parent: null, children: new Map(), clusters: null, length: tokens.length };
        root.set(tokens.length, node);
      }
      const levels = routed(tokens.length);
      for (let i = 0; i < levels; i++) {
        const t = tokens[i]!;
        const children: Map<string, Leaf<C>> = node.children!;
        let key = routesAsWildcard(t) ? WILDCARD : t;
        let next = children.get(key);
        if (!next && key !== WILDCARD && children.size >= (children.has(WILDCARD) ? maxChildren : maxChildren - 1)) {
          key = WILDCARD;
          next = children.get(key);
        }
        if (!next) {
          next = { key, parent: node, children: i + 1 < levels ? new Map() : null, clusters: null, length: tokens.length };
          children.set(key, next);
        }
        node = next;
      }
      if (!node.clusters) node.clusters = [];
      return node;
    },
    attached(n) {
      return n.clusters !== null && (n.parent === null ? root.get(n.length) === n : n.parent.children!.get(n.key) === n);
    },
    remove(n, c) {
      const list = n.clusters!;
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
      let node: Leaf<C> | null = n;
      while (node && (node.clusters === null || node.clusters.length === 0) && (node.children === null || node.children.size === 0)) {
        const parent: Leaf<C> | null = node.parent;
        if (parent) parent.children!.delete(node.key);
        else root.delete(node.length);
        node = parent;
      }
    },
  };
}
