/**
 * Offline grouping: every message of a finite input gets the group it ends up
 * in and that group's FINAL template (after all messages are seen). This is
 * what `logs templates` prints, and how grouping accuracy is measured.
 *
 * Contract: `add` every message in order, then `finish` once. A message's
 * group is the cluster it joined, followed through absorptions; clusters
 * whose final templates are the same text are one group (the first one's id).
 * Memory: one 32-bit slot per message plus the miner's clusters; the miner is
 * given large caps here, and a group evicted anyway keeps its last template
 * for the messages that joined it.
 */
import { createMiner, type MinerOptions, type TemplateInfo } from './drain.js';

export interface GroupedTemplate {
  id: string;
  template: string;
  count: number;
  example: string;
}

export interface Grouping {
  /** Messages seen. */
  readonly lines: number;
  /** The group id of message `i` (0-based, input order). */
  groupOf(i: number): string;
  /** The final template of message `i`'s group. */
  templateOf(i: number): string;
  /** The groups, most frequent first. */
  groups: GroupedTemplate[];
}

export interface Grouper {
  add(message: string): void;
  finish(): Grouping;
}

export function createGrouper(opts: Omit<MinerOptions, 'onEvict'> = {}): Grouper {
  const evicted = new Map<string, TemplateInfo>();
  const miner = createMiner({
    // Offline, accuracy first: far higher caps than the daemon's (a large leaf costs time, not correctness).
    maxTemplates: 1_000_000,
    maxClustersPerLeaf: 512,
    // One event per log statement: a word that differs at one position is a
    // value of that statement (a state, a protocol, a rule name), as in Drain.
    // The daemon's miner keeps word variants apart instead (drain.ts
    // `splitValues`), because there a changed word is worth a low-severity look.
    splitValues: 0,
    ...opts,
    onEvict: (t) => {
      evicted.set(t.id, t);
      for (const a of t.aliases ?? []) evicted.set(a, t);
    },
  });
  const idIndex = new Map<string, number>();
  const ids: string[] = [];
  let slots = new Uint32Array(1024);
  let n = 0;
  return {
    add(message: string): void {
      const r = miner.add(message, 0);
      let k = idIndex.get(r.id);
      if (k === undefined) {
        k = ids.length;
        ids.push(r.id);
        idIndex.set(r.id, k);
      }
      if (n === slots.length) {
        const bigger = new Uint32Array(slots.length * 2);
        bigger.set(slots);
        slots = bigger;
      }
      slots[n++] = k;
    },
    finish(): Grouping {
      // Clusters that are one event by their longest common pattern join one group before ids are resolved.
      miner.consolidate();
      // Each raw id -> its final cluster, then clusters with the same final text -> one group.
      const byText = new Map<string, GroupedTemplate>();
      const final: GroupedTemplate[] = [];
      for (const id of ids) {
        const t = miner.resolve(id) ?? evicted.get(id);
        const template = t?.template ?? '';
        let g = byText.get(template);
        if (!g) {
          g = { id: t?.id ?? id, template, count: 0, example: t?.example ?? '' };
          byText.set(template, g);
        }
        final.push(g);
      }
      for (let i = 0; i < n; i++) final[slots[i]!]!.count++;
      const groups = [...byText.values()].sort((a, b) => b.count - a.count);
      const lines = n;
      return {
        lines,
        groupOf: (i) => final[slots[i]!]!.id,
        templateOf: (i) => final[slots[i]!]!.template,
        groups,
      };
    },
  };
}

/** Groups an array of messages at once (tests, small inputs). */
export function groupMessages(messages: Iterable<string>, opts: Omit<MinerOptions, 'onEvict'> = {}): Grouping {
  const g = createGrouper(opts);
  for (const m of messages) g.add(m);
  return g.finish();
}
