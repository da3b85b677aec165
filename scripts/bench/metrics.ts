/**
 * How long a Prometheus scrape of GET /metrics takes on a big install:
 * 10,000 domains (rendered and loaded into the real HAProxy) and 100,000
 * live blocks, on each HAProxy version. Prints scrape time p50/p95/max over
 * 30 scrapes, the page size and the number of series (10,000 servers' live
 * state is read from HAProxy on each scrape).
 *
 *   npm run bench:metrics   (HAPROXY_BENCH_VERSIONS=2.6 to run one version)
 */
import { performance } from 'node:perf_hooks';
import { HAPROXIES, startBackend, startTestDaemon, httpRequest } from '../../test/helpers/harness.js';
import { upsertDomain } from '../../src/storage/domains.js';
import { blocked } from '../../src/storage/ip-lists.js';
import { detectHaproxy } from '../../src/haproxy/process/version.js';
import { ms, int, loadAvg, median, p95, max, table, selectedVersions } from './stats.js';

const DOMAINS = 10_000;
const BLOCKS = 100_000;
const SCRAPES = 30;

const rows: (string | number)[][] = [];
for (const h of selectedVersions(HAPROXIES)) {
  const be = await startBackend('bench');
  const td = await startTestDaemon(h.bin, { config: { haproxy: { command_timeout: '60s' } } });
  try {
    const { daemon } = td;
    const version = (await detectHaproxy(h.bin)).version;
    process.stderr.write(`${h.name}: inserting ${int(DOMAINS)} domains and ${int(BLOCKS)} blocks\n`);
    await daemon.applier.lock.run(() =>
      daemon.db.writer.transaction(() => {
        for (let i = 0; i < DOMAINS; i++) {
          upsertDomain(daemon.db.writer, {
            domain: `d${i}.bench.test`, isWildcard: false, backendName: `bench${i}`, kind: 'default', healthCheckPath: null, balance: 'roundrobin',
            servers: [{ name: 's1', address: '127.0.0.1', port: be.port, check: false, backup: false, weight: 100, maxconn: null, tls: false, tlsVerify: true, tlsCaFile: null, tlsSni: null }],
          });
        }
        for (let i = 0; i < BLOCKS; i++) {
          blocked.insert(daemon.db.writer, { ip: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, reason: 'bench', blockedBy: 'bench', expiresAt: null });
        }
      })(),
    );
    await daemon.applier.regenerate('bench', true);
    const scrape = () => httpRequest({ port: td.apiPort, path: '/metrics', headers: { authorization: `Bearer ${td.apiKey}` } });
    await scrape();
    const times: number[] = [];
    let bytes = 0;
    let families = 0;
    let series = 0;
    for (let i = 0; i < SCRAPES; i++) {
      const a = performance.now();
      const r = await scrape();
      times.push(performance.now() - a);
      if (r.status !== 200) throw new Error(`scrape answered ${r.status}`);
      bytes = Buffer.byteLength(r.body);
      families = (r.body.match(/^# TYPE /gm) ?? []).length;
      if (!r.body.includes(`haproxy_manager_blocked_ips ${BLOCKS}`)) throw new Error('the scrape does not show the blocks');
      // Every server's live state (one stat dump of 10,000 backends per scrape).
      if (!r.body.includes(`haproxy_manager_server_up{backend="bench${DOMAINS - 1}",server="s1"} 1`)) throw new Error('the scrape does not show the servers');
      series = r.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    }
    rows.push([h.name, version, int(DOMAINS), int(BLOCKS), ms(median(times)), ms(p95(times)), ms(max(times)), `${(bytes / 1024).toFixed(1)} KiB`, families, int(series)]);
  } finally {
    await td.stop();
    await be.close();
  }
}
console.log(`\nGET /metrics scrape time (${SCRAPES} scrapes, over HTTP, ms); load ${loadAvg()}`);
console.log(table(['HAProxy', 'version', 'domains', 'blocks', 'p50', 'p95', 'max', 'page', 'families', 'series'], rows));
