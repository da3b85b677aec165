/**
 * `monitor replay --threads N` (cli/replay-shards.ts): parse and triage in
 * worker threads sharded by client address give the incidents one thread
 * gives, on a generated realistic log (long lines, IPv6, attacks, events)
 * with lines the router cannot read (rip=-, IPv4-mapped addresses, lines
 * without rip) and a User-Agent that tries to steer its line, and on every
 * shipped rule's fixtures; blocks the main thread deals and blocks each
 * shard cuts itself (UTF-8, carriage returns). Lines are never misrouted; a
 * shard that cannot start fails the replay with its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realisticLog } from '../scripts/bench/loggen.js';
import { runReplay } from '../src/cli/monitor-replay.js';
import { addressOf, dealBlock, routeKey, shardOf } from '../src/cli/replay-route.js';
import { replaySharded } from '../src/cli/replay-shards.js';
import { SHIPPED_RULES_DIR } from '../src/monitor/monitor.js';
import { createPipeline } from '../src/monitor/pipeline.js';
import { createTriage } from '../src/pipeline/triage/engine.js';
import { loadRules } from '../src/pipeline/triage/load.js';
import { parseLine } from '../src/pipeline/parse/index.js';

const HEAD = '<134>1 2026-11-25T06:00:00.003000+00:00 lb1 haproxy 2231 - - ';
const REST = ' [25/Nov/2026:06:00:00.003] web~ app/s1 0/0/0/10/12 200 512 - - ---- 3/3/1/1/0 0/0';

test('the router reads the address the rules group by, or declines', () => {
  const cases: [string, string | null][] = [
    [`${HEAD}192.0.2.7:4000${REST} {a.example|curl/8} "GET / HTTP/1.1" rip=198.51.100.9 rid=C0A8:1F_AB.1`, '198.51.100.9'],
    [`${HEAD}192.0.2.7:4000${REST} {a.example|curl/8} "GET / HTTP/1.1" rip=2001:db8::5 rid=-`, '2001:db8::5'],
    [`${HEAD}192.0.2.7:4000${REST} {a.example|curl/8} "GET / HTTP/1.1" rip=- rid=x1`, '192.0.2.7'],
    // Not certain: the parser decides (an IPv4-mapped address is rewritten; a quoted or odd value; no rip at all).
    [`${HEAD}192.0.2.7:4000${REST} {a.example|curl/8} "GET / HTTP/1.1" rip=::ffff:198.51.100.9 rid=x1`, null],
    [`${HEAD}[2001:db8::7]:4000${REST} {a.example|curl/8} "GET / HTTP/1.1" rip=- rid=x1`, null],
    [`${HEAD}192.0.2.7:4000${REST} {a.example|curl/8} "GET / HTTP/1.1" rip="198.51.100.9" rid=x1`, null],
    [`${HEAD}192.0.2.7:4000${REST} {a.example|curl/8} "GET / HTTP/1.1"`, null],
    [`${HEAD}192.0.2.7:4000${REST} {a.example|curl/8} "GET / HTTP/1.1" rip=198.51.100.9 rid=x1 extra=1`, null],
    // A User-Agent carrying " rip=... rid=..." does not steer the line: the end of the line is HAProxy's.
    [`${HEAD}192.0.2.7:4000${REST} {a.example|x rip=6.6.6.6 rid=y} "GET / HTTP/1.1" rip=198.51.100.9 rid=x1`, '198.51.100.9'],
  ];
  for (const [line, want] of cases) {
    assert.equal(routeKey(line), want, line);
    if (want !== null) assert.equal(addressOf(parseLine(line, 'haproxy')), want, `parsed: ${line}`);
  }
  // A block dealt by the main thread: each routed line to its key's shard alone, each unrouted one to every shard.
  const lines = [...cases.map(([l]) => l), '192.0.2.8:4000 [25/Nov/2026:06:00:00.003] web~ app/s1 0/0/0/10/12 200 512 - - ---- 3/3/1/1/0 0/0 "GET / HTTP/1.1" rip=- rid=a'];
  const block = Buffer.from(lines.join('\n') + '\n', 'latin1');
  for (const n of [2, 3]) {
    const dealt = dealBlock(block, block.length, n)!;
    assert.equal(dealt.lines, lines.length);
    lines.forEach((line, k) => {
      const key = routeKey(line);
      const holders = dealt.mine.flatMap((q, w) => {
        for (let i = 0; i < q.length; i += 4) if (q[i] === k) return [[w, q[i + 3]!, block.toString('latin1', q[i + 1], q[i + 2])] as const];
        return [];
      });
      if (key === null) assert.deepEqual(holders.map((h) => [h[0], h[1]]), Array.from({ length: n }, (_, w) => [w, 0]), `unrouted to all: ${line}`);
      else assert.deepEqual(holders.map((h) => [h[0], h[1]]), [[shardOf(key, n), 1]], `routed: ${line}`);
      for (const h of holders) assert.equal(h[2], line);
    });
  }
  assert.equal(routeKey(lines[lines.length - 1]!), '192.0.2.8', 'a line that starts with the client word');
  assert.equal(dealBlock(Buffer.from('caf\u00e9\n'), 6, 2), null, 'a block that is not ASCII is cut by each shard');

  // Spread: 10,000 addresses over 4 shards, none nearly empty.
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 10_000; i++) counts[shardOf(`10.${i >> 8}.${i & 255}.1`, 4)]!++;
  assert.ok(counts.every((c) => c > 2000), `spread ${counts}`);
});

/** A realistic log with lines the router declines or an attacker shapes, among the usual ones. */
function mixedLog(n: number): string[] {
  const out: string[] = [];
  let i = 0;
  for (const line of realisticLog(n)) {
    i++;
    if (i % 97 === 0) out.push(line.replace(/ rip=(\S+) /, ' rip=- '));
    else if (i % 89 === 0) out.push(line.replace(/ rip=(\d+\.\d+\.\d+\.\d+) /, ' rip=::ffff:$1 '));
    else if (i % 83 === 0) out.push(line.replace(/ rip=\S+ rid=\S+$/, ''));
    else if (i % 79 === 0) out.push(line.replace(/\{([^|}]*)\|/, '{$1|evil rip=6.6.6.6 rid=1 '));
    // A block with UTF-8 or a carriage return is cut by each shard itself (replay-lines.ts); the others by the main thread.
    else if (i % 20_011 === 0) out.push(line.replace(/\{([^|}]*)\|/, '{$1|Caf\u00e9Bot/1.0 '));
    else if (i % 30_011 === 0) out.push(line + '\r');
    else out.push(line);
  }
  return out;
}

async function replayOut(file: string, threads: number): Promise<{ out: string; lines: number; incidents: number }> {
  let out = '';
  const r = await runReplay({ input: file, format: 'haproxy', json: true, threads, write: (s) => void (out += s) });
  return { out, lines: r.lines, incidents: r.incidents };
}

test('a sharded replay opens the incidents one thread opens, on a realistic log and on every fixture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-shards-'));
  try {
    const realistic = join(dir, 'realistic.log');
    writeFileSync(realistic, mixedLog(60_000).join('\n') + '\n');
    const fixtures = join(dir, 'fixtures.log');
    const fdir = join(SHIPPED_RULES_DIR, 'fixtures');
    writeFileSync(fixtures, readdirSync(fdir).filter((f) => f.endsWith('.log')).sort().map((f) => readFileSync(join(fdir, f), 'utf8')).join('\n'));
    for (const file of [realistic, fixtures]) {
      const one = await replayOut(file, 1);
      const rules = new Set(one.out.trim().split('\n').map((l) => (JSON.parse(l) as { rule: string }).rule));
      // Both kinds of rules are in play: keyed by the client (run in the shards) and by something else (run where the shards meet).
      assert.ok(rules.has('request-flood') || rules.has('scanner-user-agent'), `${file}: client rules fired: ${[...rules]}`);
      assert.ok(['backend-5xx-storm', '404-storm', 'server-down', 'credential-stuffing', 'basic-auth-spray'].some((r) => rules.has(r)), `${file}: other rules fired: ${[...rules]}`);
      for (const threads of [2, 3]) {
        const many = await replayOut(file, threads);
        assert.equal(many.lines, one.lines, `${file}: lines with ${threads} threads`);
        assert.equal(many.incidents, one.incidents, `${file}: incidents with ${threads} threads`);
        assert.equal(many.out, one.out, `${file}: the same incidents, in the same order, with ${threads} threads`);
      }
    }

    // No line is routed by an address it does not have (replay-route.ts), in either log.
    for (const file of [realistic, fixtures]) {
      const rules = loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: null });
      const pipeline = createPipeline({ triage: createTriage(rules.rules), incidents: { quietMs: 600_000, maxSamples: 10, maxOpen: 10_000 }, noveltyWarmup: 1000 });
      const r = await replaySharded(createReadStream(file), pipeline, { shards: 2, rules: rules.rules, protectedRanges: [], receivedAt: Date.UTC(2026, 10, 26) }, () => {}, () => {});
      assert.equal(r.misrouted, 0, `${file}: misrouted lines`);
      assert.ok(r.lines > 300, `${file}: lines ${r.lines}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a shard that cannot start fails the replay with its reason, and nothing hangs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-shards-'));
  try {
    const file = join(dir, 'a.log');
    writeFileSync(file, [...realisticLog(5000)].join('\n') + '\n');
    const rules = loadRules({ dir: SHIPPED_RULES_DIR, operatorDir: null });
    const pipeline = createPipeline({ triage: createTriage(rules.rules), incidents: { quietMs: 600_000, maxSamples: 10, maxOpen: 10_000 }, noveltyWarmup: 1000 });
    // Rules no shard can compile (one defined twice): the shards fail as they start.
    const twice = [...rules.rules, rules.rules[0]!];
    await assert.rejects(
      replaySharded(createReadStream(file), pipeline, { shards: 2, rules: twice, protectedRanges: [], receivedAt: Date.now() }, () => {}, () => {}),
      new RegExp(`rule ${rules.rules[0]!.name} is defined twice`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
