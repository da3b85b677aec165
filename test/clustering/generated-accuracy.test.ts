/**
 * Grouping accuracy of `logs templates` (src/pipeline/clustering/group.ts,
 * the grouping behind `--json`) on generated labelled logs of 20 kinds of
 * systems (./gen/: block storage, batch jobs, supercomputers, OS daemons,
 * Windows servicing, mobile apps, a proxy client, web servers, a cloud
 * controller, Kubernetes, a database, a Java service), 2,000 lines each.
 *
 * One generic setup for all of them: the defaults, no per-system option.
 * Two draws: `TUNE_SEED` is what the clusterer was improved on;
 * `HELDOUT_SEED` draws fresh values and frequencies and was only checked,
 * never looked into, so a fix that fits one draw shows as a gap here. The
 * public labelled log-parsing benchmarks are deliberately not used: the
 * generators' text is this project's own.
 *
 * Issue 15's target is mean >= 0.95 and every system >= 0.85, on both
 * draws. Issue 15 target 0.95/0.85 not yet reached; this floor guards what
 * is achieved (mean 0.869 and 0.874 on the two draws, each system's lower GA of the two
 * draws, rounded down): raise it as the clusterer improves, never lower it
 * to let a change through.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { groupMessages } from '../../src/pipeline/clustering/group.js';
import { groupingAccuracy } from './gen/accuracy.js';
import { corpora, HELDOUT_SEED, SYSTEMS, TUNE_SEED } from './gen/systems.js';

const MEAN_FLOOR = 0.865;
/** Per system: the level reached on the worse of the two draws, rounded down (the 0.85 target is not yet met by all). */
const SYSTEM_FLOORS: Readonly<Record<string, number>> = {
  blockstore: 1, mapreduce: 1, spark: 1, zookeeper: 0.79,
  ras: 1, hpc: 1, 'tbird-kernel': 0.95,
  'syslog-auth': 0.65, sshd: 0.99, macos: 0.85, 'cbs-servicing': 0.88,
  android: 0.98, 'health-app': 0.99, proxy: 0.21, 'apache-error': 1, 'nginx-error': 0.95,
  'cloud-controller': 0.33, 'kube-controller': 1, postgres: 0.8, 'java-app': 0.9,
};

for (const [name, seed] of [['tuning draw', TUNE_SEED], ['held-out draw', HELDOUT_SEED]] as const) {
  describe(`grouping accuracy, generated logs, ${name} (seed ${seed})`, () => {
    const results: { system: string; ga: number }[] = [];
    for (const c of corpora(seed)) {
      const floor = SYSTEM_FLOORS[c.system] ?? 1;
      test(`${c.system}: GA >= ${floor}`, (t) => {
        const g = groupMessages(c.messages);
        const ga = groupingAccuracy(c.messages.map((_, i) => g.groupOf(i)), c.truth);
        results.push({ system: c.system, ga });
        t.diagnostic(`${c.system}: GA ${ga.toFixed(3)} (${g.groups.length} groups for ${new Set(c.truth).size} events, ${c.messages.length} lines)`);
        assert.ok(ga >= floor, `${c.system}: GA ${ga.toFixed(3)} < ${floor}`);
      });
    }
    test(`mean GA >= ${MEAN_FLOOR}`, (t) => {
      assert.equal(results.length, SYSTEMS.length);
      const mean = results.reduce((s, r) => s + r.ga, 0) / results.length;
      const weakest = results.reduce((a, b) => (b.ga < a.ga ? b : a));
      t.diagnostic(`mean GA ${mean.toFixed(3)} over ${results.length} systems; weakest ${weakest.system} ${weakest.ga.toFixed(3)}`);
      assert.ok(mean >= MEAN_FLOOR, `mean GA ${mean.toFixed(3)}`);
    });
  });
}

describe('the generators', () => {
  test('20 systems, 2,000 lines each, every event present, deterministic per seed, different across seeds', () => {
    const a = corpora(TUNE_SEED);
    const b = corpora(TUNE_SEED);
    const h = corpora(HELDOUT_SEED);
    assert.ok(a.length >= 16);
    for (let k = 0; k < a.length; k++) {
      const c = a[k]!;
      assert.equal(c.messages.length, 2000, c.system);
      assert.equal(new Set(c.truth).size, SYSTEMS[k]!.events.length, `${c.system}: every event at least once`);
      assert.deepEqual(c.messages, b[k]!.messages, `${c.system}: same seed, same lines`);
      assert.notDeepEqual(c.messages.slice(0, 50), h[k]!.messages.slice(0, 50), `${c.system}: another seed, other lines`);
    }
  });
});

describe('groupingAccuracy', () => {
  test('a perfect grouping scores 1 whatever the ids', () => assert.equal(groupingAccuracy(['x', 'x', 'y'], ['A', 'A', 'B']), 1));
  test('a merged group makes all its lines wrong', () => assert.equal(groupingAccuracy(['x', 'x', 'x', 'y'], ['A', 'A', 'B', 'C']), 0.25));
  test('a split group makes all its lines wrong', () => assert.equal(groupingAccuracy(['x', 'z', 'y'], ['A', 'A', 'B']), 1 / 3));
  test('lengths must match', () => assert.throws(() => groupingAccuracy(['x'], [])));
});
