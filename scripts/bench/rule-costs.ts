/**
 * What each shipped rule costs a line: CPU time per line of parsing alone,
 * of parsing with every rule, and of parsing with one rule at a time (the
 * difference is that rule's cost, the engine's per-line work for a rule list
 * included), on the long realistic lines `bench:monitor` replays
 * (loggen.ts realisticLog). Run it pinned to one core; each figure is the
 * best of BENCH_ROUNDS passes, taken in turn so that a burst of load from
 * elsewhere hits them all, after a warm-up pass. The differences are small
 * (tenths of a µs): on a noisy machine, more rounds. Prints figures; asserts nothing.
 *
 *   taskset -c 0 npm run -s bench:rule-costs
 *   BENCH_LINES=100000 BENCH_ROUNDS=5 BENCH_CLIENTS=16 taskset -c 0 npm run -s bench:rule-costs
 *
 * BENCH_CLIENTS (default 20,000) sets the number of client addresses: with
 * few clients every rule's state stays in the cache, so the difference to the
 * default is what memory costs.
 */
import { loadRules } from '../../src/pipeline/triage/load.js';
import { createTriage } from '../../src/pipeline/triage/engine.js';
import { parseLine } from '../../src/pipeline/parse/index.js';
import { SHIPPED_RULES_DIR } from '../../src/monitor/monitor.js';
import type { RuleSpec } from '../../src/pipeline/triage/schema.js';
import { realisticLog } from './loggen.js';

const N = Number(process.env.BENCH_LINES ?? 300_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 20_000);

// Strings of their own (as the replay's reader makes them), not slices of one text.
const lines = [...realisticLog(N, { clients: CLIENTS })].map((l) => Buffer.from(l, 'latin1').toString('latin1'));
const all = loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: null }).rules.filter((r) => r.enabled);

/** CPU µs per line of parsing every line, and triage with `specs` when given. Also the lines the rules matched. */
function pass(specs: RuleSpec[] | null): { us: number; matched: number } {
  const triage = specs === null ? null : createTriage(specs, {});
  const ctx = { now: Date.UTC(2026, 10, 25) };
  const c0 = process.cpuUsage();
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k] as string;
    const p = parseLine(l, 'haproxy', ctx);
    if (triage !== null) triage.process(p, 'bench', l);
  }
  const c = process.cpuUsage(c0);
  const matched = triage === null ? 0 : triage.stats().rules.reduce((a, r) => a + r.matched, 0);
  return { us: (c.user + c.system) / lines.length, matched };
}

const runs: { label: string; specs: RuleSpec[] | null }[] = [
  { label: '(parse alone)', specs: null },
  { label: '(every rule)', specs: all },
  ...all.map((r) => ({ label: r.name, specs: [r] })),
];
// Warm-up, not counted: the parser and the engine optimised before the first figure.
pass(null);
pass(all);
const best = new Map<string, { us: number; matched: number }>();
for (let round = 0; round < ROUNDS; round++) {
  for (const r of runs) {
    const x = pass(r.specs);
    const b = best.get(r.label);
    if (b === undefined || x.us < b.us) best.set(r.label, x);
  }
}

const parse = best.get('(parse alone)')!.us;
const every = best.get('(every rule)')!.us;
const singles = all.map((r) => ({ name: r.name, cost: best.get(r.name)!.us - parse, matched: best.get(r.name)!.matched })).sort((a, b) => b.cost - a.cost);
const f = (x: number) => x.toFixed(2).padStart(6);
console.log(`rule costs: ${N.toLocaleString('en-US')} realistic long lines, ${CLIENTS.toLocaleString('en-US')} clients, CPU µs a line, best of ${ROUNDS} passes`);
console.log(`  parse alone          ${f(parse)}`);
console.log(`  parse + every rule   ${f(every)}   (the rules: ${f(every - parse).trim()}; the sum of the rules alone below: ${(singles.reduce((a, s) => a + s.cost, 0)).toFixed(2)}, the engine's per-line work counted once per rule there)`);
console.log("  each rule alone, over parse alone (µs a line, the engine's per-line work for a list of one rule included: about the smallest figure; lines it matched):");
for (const s of singles) console.log(`    ${s.name.padEnd(28)} ${f(s.cost)}   ${s.matched.toLocaleString('en-US').padStart(9)}`);
