/**
 * Fleet benchmark (issue 17, first slice): how fast a block made on one node
 * is refused by the others, and what being in a fleet adds to a local block.
 * Prints figures; asserts nothing.
 *
 *   npm run bench:fleet   (node --import tsx scripts/bench/fleet.ts)
 *
 * A throwaway PostgreSQL 15 (test/helpers/postgres.ts), three in-process
 * daemons each with its own managed HAProxy (the first selected version) on
 * loopback, plus one single-node daemon for comparison; clients behind a
 * trusted proxy (127.0.0.10) so each blocked address is its own.
 *   1. propagation: BENCH_BLOCKS blocks made on node A one after another
 *      through its API; for each, the time from sending the request to the
 *      first 403 for that address from B and from C (HAProxy polled every
 *      5 ms through GET /): p50/p95/max over every (block, node) pair, and the
 *      slower node per block;
 *   2. local block latency: POST /api/blocked-ips answered, on the fleet's
 *      node A and on the single node, alternately (the fleet's part is one outbox row in the
 *      same transaction; the write to PostgreSQL happens after the answer);
 *   3. PostgreSQL stopped: 4 x BENCH_BLOCKS blocks on A alone (blocks/s
 *      answered, changes/s queued in the outbox), then PostgreSQL started: ms
 *      until B refuses the last of them.
 *   4. BENCH_DOMAINS domains (each with its backend and one server) written on
 *      A as one change (the import's path, saveDomains): the time until A
 *      serves them, until A's outbox is in PostgreSQL, and until B and C each
 *      have them in their SQLite copy (their fleet version caught up, which
 *      is set once the change is committed, after their HAProxy reloaded with
 *      it) and their HAProxy routes the last of them; with the number of
 *      applier changes (= reloads) each took to get there.
 *
 * Environment knobs: BENCH_VERSIONS=2.6 (the first match is used), BENCH_BLOCKS=50, BENCH_DOMAINS=10000.
 */
import { HAPROXIES, domainBody, sleep, startBackend, startTestDaemon, type TestDaemon } from '../../test/helpers/harness.js';
import { saveDomains } from '../../src/haproxy/changes/domains.js';
import type { DomainInput } from '../../src/storage/domains.js';
import { startTestPostgres } from '../../test/helpers/postgres.js';
import { int, loadAvg, max, median, ms, p95, printFindings, progressClock, secs, selectedVersions, t, table } from './stats.js';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 50);
const DOMAINS = Number(process.env.BENCH_DOMAINS ?? 10_000);
const PROXY = '127.0.0.10';
const POLL_MS = 5;
const GIVE_UP_MS = 10_000;

const status = async (n: TestDaemon, ip: string) => (await n.get('shop.test', '/', { localAddress: PROXY, headers: { 'X-Forwarded-For': ip } })).status;

/** Ms from `start` until `n` refuses `ip`, or NaN after GIVE_UP_MS. */
async function refusedAfter(n: TestDaemon, ip: string, start: number, giveUpMs = GIVE_UP_MS): Promise<number> {
  while (t() - start < giveUpMs) {
    if ((await status(n, ip)) === 403) return t() - start;
    await sleep(POLL_MS);
  }
  return NaN;
}

async function main(): Promise<void> {
  const clock = progressClock('fleet');
  const h = selectedVersions(HAPROXIES)[0];
  if (!h) throw new Error('no HAProxy version selected');
  console.log(`fleet: ${BLOCKS} blocks on node A of three (${h.name}), a throwaway PostgreSQL 15 on loopback; load average ${loadAvg()}`);
  const pgc = await startTestPostgres();
  const url = await pgc.createDatabase('bench_fleet');
  const be = await startBackend('shop');
  const nodes: TestDaemon[] = [];
  const findings: string[] = [];
  try {
    for (const name of ['node-a', 'node-b', 'node-c']) nodes.push(await startTestDaemon(h.bin, { config: { fleet: { node_name: name, database_url: url, tls: { enabled: false } } } }));
    const single = await startTestDaemon(h.bin);
    nodes.push(single);
    const [a, b, c] = nodes as [TestDaemon, TestDaemon, TestDaemon];
    while (![a, b, c].every((n) => n.daemon.fleet!.status().connected)) await sleep(50);
    // The domain and the trusted proxy are shared: made on A (and on the single node), B and C get them.
    for (const n of [a, single]) {
      await n.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]));
      await n.api('POST', '/api/trusted-proxies', { cidr: PROXY });
    }
    for (const n of [b, c]) while ((await status(n, '192.0.2.1')) !== 200) await sleep(50);
    clock.progress('three nodes connected');

    const perPair: number[] = [];
    const perBlock: number[] = [];
    const localFleet: number[] = [];
    let missed = 0;
    for (let i = 0; i < BLOCKS; i++) {
      const ip = `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      const start = t();
      const watch = Promise.all([refusedAfter(b, ip, start), refusedAfter(c, ip, start)]);
      const r = await a.api('POST', '/api/blocked-ips', { ip_address: ip });
      localFleet.push(t() - start);
      if (r.status !== 201) throw new Error(`block ${ip} on A: ${r.status} ${r.body}`);
      const got = await watch;
      for (const x of got) (Number.isNaN(x) ? missed++ : perPair.push(x));
      if (got.every((x) => !Number.isNaN(x))) perBlock.push(Math.max(...got));
    }
    clock.progress('propagation measured');
    // Then, alternately (so both see the same load), a block on A with nobody polling and one on the single node.
    const localSingle: number[] = [];
    const localFleetQuiet: number[] = [];
    for (let i = 0; i < BLOCKS; i++) {
      for (const [n, out, net] of [[a, localFleetQuiet, 20], [single, localSingle, 19]] as const) {
        const start = t();
        const r = await n.api('POST', '/api/blocked-ips', { ip_address: `198.${net}.${Math.floor(i / 250)}.${(i % 250) + 1}` });
        out.push(t() - start);
        if (r.status !== 201) throw new Error(`block: ${r.status} ${r.body}`);
      }
    }
    // 3. PostgreSQL down: what A does alone (blocks answered per second, each queued), then the time from
    //    PostgreSQL's return until B refuses the last of them.
    // What A made before is in PostgreSQL first: the outbox then holds the outage's blocks only.
    await a.daemon.fleet!.settled();
    pgc.stop();
    while (a.daemon.fleet!.status().connected) await sleep(20);
    const outageStart = t();
    const OUTAGE = BLOCKS * 4;
    for (let i = 0; i < OUTAGE; i++) {
      const r = await a.api('POST', '/api/blocked-ips', { ip_address: `198.21.${Math.floor(i / 250)}.${(i % 250) + 1}` });
      if (r.status !== 201) throw new Error(`block during the outage: ${r.status}`);
    }
    const outageSeconds = (t() - outageStart) / 1000;
    const outageRate = OUTAGE / outageSeconds;
    const queued = a.daemon.fleet!.status().outbox;
    const queuedRate = queued / outageSeconds;
    const lastIp = `198.21.${Math.floor((OUTAGE - 1) / 250)}.${((OUTAGE - 1) % 250) + 1}`;
    const back = t();
    pgc.start();
    const caughtUp = await refusedAfter(b, lastIp, back, 30_000);
    clock.progress('outage measured');
    console.log(
      table(
        ['measure', 'n', 'p50 ms', 'p95 ms', 'max ms'],
        [
          ['propagation A -> each of B, C (request sent -> 403)', int(perPair.length), ms(median(perPair)), ms(p95(perPair)), ms(max(perPair))],
          ['propagation A -> both B and C (the slower)', int(perBlock.length), ms(median(perBlock)), ms(p95(perBlock)), ms(max(perBlock))],
          ['local block on A (fleet), B and C polled meanwhile', int(localFleet.length), ms(median(localFleet)), ms(p95(localFleet)), ms(max(localFleet))],
          ['local block on A (fleet), alternating with the single node', int(localFleetQuiet.length), ms(median(localFleetQuiet)), ms(p95(localFleetQuiet)), ms(max(localFleetQuiet))],
          ['local block on a single node', int(localSingle.length), ms(median(localSingle)), ms(p95(localSingle)), ms(max(localSingle))],
        ],
      ),
    );
    console.log(`\n  PostgreSQL down: node A blocked ${int(OUTAGE)} addresses alone at ${outageRate.toFixed(0)} blocks/s (answered, live in its HAProxy), queuing ${queuedRate.toFixed(0)} changes/s (${int(queued)} in its outbox);`);
    console.log(`  PostgreSQL back: B refused the last of them ${ms(caughtUp)} ms after the restart began (restart, reconnect, A's outbox written, B's catch-up).`);
    console.log(`\n  extra latency of a fleet on a local block (A minus the single node, alternating): p50 ${ms(median(localFleetQuiet) - median(localSingle))} ms, p95 ${ms(p95(localFleetQuiet) - p95(localSingle))} ms`);
    console.log(`  clock: propagation from sending the block to A's API to the first 403 from B / C, HAProxy polled every ${POLL_MS} ms; a local block from request to answer.`);

    // 4. Many domains written on A at once reach B and C.
    clock.progress('writing domains');
    const domains: DomainInput[] = Array.from({ length: DOMAINS }, (_, i) => ({
      domain: `d${i}.bench.test`,
      isWildcard: false,
      backendName: `bench${i}`,
      kind: 'default',
      healthCheckPath: null,
      balance: 'roundrobin',
      servers: [{ name: 's1', address: '127.0.0.1', port: be.port, check: false, backup: false, weight: 100, maxconn: null, tls: false, tlsVerify: true, tlsCaFile: null, tlsSni: null }],
    }));
    const lastHost = domains.at(-1)!.domain;
    const appliesOn = (n: TestDaemon) => n.logs.filter((l) => /^fleet\.apply applied/.test(l)).length;
    const appliesBefore = [b, c].map(appliesOn);
    const dStart = t();
    await saveDomains({ cfg: a.daemon.cfg, applier: a.daemon.applier, record: (db, ch) => a.daemon.fleet!.record(db, ch) }, 'bench', domains);
    const onA = t() - dStart;
    await a.daemon.fleet!.settled();
    const inPg = t() - dStart;
    const target = a.daemon.fleet!.status().lastAppliedVersion;
    const reached = async (n: TestDaemon): Promise<number> => {
      while (t() - dStart < 600_000) {
        if (n.daemon.fleet!.status().lastAppliedVersion >= target && (await n.get(lastHost, '/')).status === 200) return t() - dStart;
        await sleep(50);
      }
      return NaN;
    };
    const [onB, onC] = await Promise.all([reached(b), reached(c)]);
    const applies = [b, c].map((n, i) => appliesOn(n) - appliesBefore[i]!);
    const listed = await Promise.all([b, c].map(async (n) => (await n.api('GET', '/api/domains')).json<unknown[]>().length));
    clock.progress('domains measured');
    console.log(`\n  ${int(DOMAINS)} domains written on A as one change: A serves them after ${secs(onA)} s, they are in PostgreSQL after ${secs(inPg)} s;`);
    console.log(`  B has them (SQLite and HAProxy) after ${secs(onB)} s (${applies[0]} applier changes, i.e. reloads), C after ${secs(onC)} s (${applies[1]}); all three: ${secs(Math.max(onA, onB, onC))} s.`);
    for (const [i, n] of listed.entries()) if (n < DOMAINS) findings.push(`${['B', 'C'][i]} lists ${n} domains, expected at least ${DOMAINS}`);
    if (Number.isNaN(onB) || Number.isNaN(onC)) findings.push(`the domains did not reach B and C within 600 s`);
    if (Number.isNaN(caughtUp)) findings.push(`B did not refuse the outage's last block within 30 s of PostgreSQL's return`);
    if (queued !== OUTAGE) findings.push(`${queued} changes queued during the outage, expected ${OUTAGE}`);
    if (missed) findings.push(`${missed} (block, node) pairs not refused within ${GIVE_UP_MS / 1000} s`);
    const slow = perBlock.filter((x) => x >= 1000).length;
    if (slow) findings.push(`${slow} of ${perBlock.length} blocks took a second or more to reach both other nodes (target: under 1 s)`);
  } finally {
    for (const n of nodes) await n.stop();
    await be.close();
    pgc.destroy();
  }
  printFindings(findings, clock.elapsed());
}

await main();
