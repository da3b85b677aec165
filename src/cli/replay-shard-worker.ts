/**
 * One shard of a sharded `monitor replay` (replay-shards.ts), in a worker
 * thread. Every shard gets every block of lines with the lines dealt to it
 * (or cuts the block itself); it parses and triages the lines of its own
 * clients (replay-route.ts) with the rules keyed by the
 * client, and hands back, per block: each line's own time (NaN for lines
 * not its own or without one), the findings those rules made, and for every
 * other rule what its window needs (engine.ts forward), each tagged with the
 * line and the rule, so the main thread can take them in the order one
 * thread would have.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseLine, type ParseContext } from '../pipeline/parse/index.js';
import { createTriage } from '../pipeline/triage/engine.js';
import { inAnyRange } from '../validate/ip.js';
import { linesOf } from './replay-lines.js';
import { routeKey, shardOf, shardOfParsed } from './replay-route.js';
import type { ShardBlock, ShardItem, ShardResult, ShardSetup } from './replay-shards.js';

const setup = workerData as ShardSetup;
let items: ShardItem[] = [];
let lineNo = 0;
// The rules the main thread loaded (no YAML read or validated again here: that was most of a shard's start-up).
const triage = createTriage(setup.rules, {
  isProtected: inAnyRange(setup.protectedRanges),
  forward: (rule, key, value, t, raw) => {
    items.push([lineNo, rule, key, value, t, raw]);
  },
});
// A finding names its rule; the main thread orders a line's results by the rule's place (engine.ts rules).
const ruleIndex = new Map(triage.rules.map((name, i) => [name, i]));
const ctx: ParseContext = { now: setup.receivedAt };
if (setup.maxAheadMs !== undefined) ctx.maxAheadMs = setup.maxAheadMs;
const me = setup.shard;
const n = setup.shards;

let times = new Float64Array(0);
let unparsed = 0;
let misrouted = 0;

/** Line `k` of the block, with its route when one was read (`routed`): parsed and triaged when it is this shard's. */
function take(k: number, line: string, routed: boolean): void {
  const p = parseLine(line, 'haproxy', ctx);
  if (routed) {
    // The owner of a routed line checks the route: all lines of one address must meet in one shard.
    if (shardOfParsed(p, n) !== me) misrouted++;
  } else if (shardOfParsed(p, n) !== me) return;
  if (!p.ok) unparsed++;
  if (p.time !== null) times[k] = p.time;
  lineNo = k;
  const found = triage.process(p, 'replay', line);
  for (let i = 0; i < found.length; i++) {
    const f = found[i]!;
    items.push([k, ruleIndex.get(f.rule) ?? -1, f]);
  }
}

parentPort!.on('message', (m: ShardBlock) => {
  const bytes = Buffer.from(m.bytes, 0, m.length);
  items = [];
  unparsed = 0;
  misrouted = 0;
  let count: number;
  if (m.mine !== undefined) {
    // Dealt by the main thread (replay-route.ts dealBlock): only this shard's lines are decoded here.
    count = m.lines;
    times = new Float64Array(count).fill(NaN);
    const q = m.mine;
    for (let i = 0; i < q.length; i += 4) take(q[i]!, bytes.toString('latin1', q[i + 1], q[i + 2]), q[i + 3] === 1);
  } else {
    const lines = linesOf(bytes, m.last);
    count = lines.length;
    times = new Float64Array(count).fill(NaN);
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k] as string;
      const key = routeKey(line);
      if (key !== null && shardOf(key, n) !== me) continue;
      take(k, line, key !== null);
    }
  }
  const out: ShardResult = { seq: m.seq, shard: me, lines: count, times, items, unparsed, misrouted };
  parentPort!.postMessage(out, [times.buffer]);
});
