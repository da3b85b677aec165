/**
 * One shard of a sharded `monitor replay` (replay-shards.ts), in a worker
 * thread. Every shard gets every block of lines; it parses and triages the
 * lines of its own clients (replay-route.ts) with the rules keyed by the
 * client, and hands back, per block: each line's own time (NaN for lines
 * not its own or without one), the findings those rules made, and for every
 * other rule what its window needs (engine.ts forward), each tagged with the
 * line and the rule, so the main thread can take them in the order one
 * thread would have.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseLine, type ParseContext } from '../pipeline/parse/index.js';
import { loadRules } from '../pipeline/triage/load.js';
import { createTriage } from '../pipeline/triage/engine.js';
import { ipInRange } from '../validate/ip.js';
import { linesOf } from './replay-lines.js';
import { addressOf, routeKey, shardOf, shardOfParsed } from './replay-route.js';
import type { ShardBlock, ShardItem, ShardResult, ShardSetup } from './replay-shards.js';

const setup = workerData as ShardSetup;
const rules = loadRules({ dir: setup.rulesDir, operatorDir: setup.operatorRulesDir });
let items: ShardItem[] = [];
let lineNo = 0;
const triage = createTriage(rules.rules, {
  isProtected: (ip) => setup.protectedRanges.some((r) => ipInRange(ip, r)),
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

parentPort!.on('message', (m: ShardBlock) => {
  const lines = linesOf(Buffer.from(m.bytes, 0, m.length), m.last);
  const times = new Float64Array(lines.length).fill(NaN);
  items = [];
  let unparsed = 0;
  let misrouted = 0;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k] as string;
    const key = routeKey(line);
    if (key !== null && shardOf(key, n) !== me) continue;
    const p = parseLine(line, 'haproxy', ctx);
    if (key === null) {
      if (shardOfParsed(p, n) !== me) continue;
    } else if (addressOf(p) !== key) misrouted++;
    if (!p.ok) unparsed++;
    if (p.time !== null) times[k] = p.time;
    lineNo = k;
    const found = triage.process(p, 'replay', line);
    for (let i = 0; i < found.length; i++) {
      const f = found[i]!;
      items.push([k, ruleIndex.get(f.rule) ?? -1, f]);
    }
  }
  const out: ShardResult = { seq: m.seq, shard: me, lines: lines.length, times, items, unparsed, misrouted };
  parentPort!.postMessage(out, [times.buffer]);
});
