/**
 * A/B of `monitor replay` between this checkout and another (a git worktree
 * of an earlier commit, with node_modules beside it): both replays run
 * alternately in one process on the same generated file of long realistic
 * lines (loggen.ts realisticLog), and their CPU times are compared. Between
 * separate processes on a shared 2-core machine the noise was about 10%;
 * alternating in one process it is about 2%, enough to see a change of a
 * few percent. Prints the best and median CPU ms of each, and the median of
 * the pairwise ratios (B: this checkout, over A: the other one).
 *
 *   git worktree add --detach /tmp/base <commit> && ln -s "$PWD/node_modules" /tmp/base/
 *   npm run bench:replay-ab -- /tmp/base [lines=300000] [rounds=6]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRealisticLog } from './loggen.js';

type Replay = (o: { input: string; format: 'haproxy'; json: boolean; write: (s: string) => void }) => Promise<{ lines: number; incidents: number }>;

if (process.argv[2] === '--write') {
  // The child: writes the generated lines to the file given.
  await writeRealisticLog(process.argv[3] as string, Number(process.argv[4]));
  process.exit(0);
}

const [, , other, linesArg, roundsArg] = process.argv;
if (!other) {
  process.stderr.write('usage: npm run bench:replay-ab -- <other checkout> [lines=300000] [rounds=6]\n');
  process.exit(2);
}
const lines = Number(linesArg ?? 300_000);
const rounds = Number(roundsArg ?? 6);
const here = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const load = async (root: string): Promise<Replay> => ((await import(join(resolve(root), 'src/cli/monitor-replay.ts'))) as { runReplay: Replay }).runReplay;

const dir = mkdtempSync(join(tmpdir(), 'hm-replay-ab-'));
try {
  const file = join(dir, 'haproxy.log');
  // Written by a child process: generating 125 MB of lines here first was seen to leave whichever replay ran
  // first half again slower (3.4 s against 2.2 s for the same code), which alternating cannot cancel.
  const gen = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--write', file, String(lines)], { stdio: 'inherit' });
  if (gen.status !== 0) throw new Error('generating the log failed');

  const a = await load(other);
  const b = await load(here);
  const incidents: number[] = [];
  const one = async (run: Replay): Promise<number> => {
    const c0 = process.cpuUsage();
    const r = await run({ input: file, format: 'haproxy', json: true, write: () => {} });
    const c = process.cpuUsage(c0);
    incidents.push(r.incidents);
    return (c.user + c.system) / 1000;
  };
  // One warm-up each (compilation), then alternating rounds.
  await one(a);
  await one(b);
  const xa: number[] = [];
  const xb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    xa.push(await one(a));
    xb.push(await one(b));
  }
  const sorted = (x: number[]) => [...x].sort((p, q) => p - q);
  const sa = sorted(xa);
  const sb = sorted(xb);
  const ratio = sorted(xa.map((x, i) => (xb[i] as number) / x))[rounds >> 1] as number;
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`monitor replay A/B, ${f(lines)} generated lines, ${rounds} alternating rounds in one process (CPU ms)`);
  console.log(`  A ${resolve(other)}: best ${f(sa[0] as number)}, median ${f(sa[rounds >> 1] as number)}  (${incidents[0]} incidents)`);
  console.log(`  B ${here}: best ${f(sb[0] as number)}, median ${f(sb[rounds >> 1] as number)}  (${incidents[1]} incidents)`);
  console.log(`  B/A: best ${((sb[0] as number) / (sa[0] as number)).toFixed(3)}, median of pairwise ratios ${ratio.toFixed(3)}  (below 1: this checkout is faster)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
