/**
 * Grouping accuracy of `logs templates` (src/pipeline/clustering/group.ts,
 * the grouping behind `--json`) on generated labelled logs of 22 kinds of
 * systems (./gen/: an object store, a replica data node, a job master, a
 * dataflow executor, a quorum coordinator, supercomputer RAS, a cluster
 * scheduler, a cluster's syslog, Linux auth syslog, an SSH server, a desktop
 * Unix, Windows servicing, a phone, a fitness app, a proxy client, Apache,
 * nginx, HAProxy, a cloud controller, a Kubernetes-like controller, a
 * database, a Java service), 2,000 lines each.
 *
 * One generic setup for all of them: the defaults, no per-system option.
 * Two draws: `TUNE_SEED` is what the clusterer was improved on;
 * `HELDOUT_SEED` draws fresh values and frequencies and was only scored
 * (its per-system figures, never its lines), so a fix that fits one draw
 * shows as a gap here. The public labelled log-parsing benchmarks are
 * deliberately not used: the generators' templates are invented.
 *
 * Issue 15's target, asserted on both draws: mean >= 0.95 and every system
 * >= 0.85. Reached when this was written: mean 0.985 (tuning draw) and
 * 0.981 (held-out draw); weakest 0.895 (HAProxy: a multi-word reason with a
 * masked word in it) and 0.881 (the phone: multi-word kill reasons after a
 * value).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { groupMessages } from '../../src/pipeline/clustering/group.js';
import { groupingAccuracy } from './gen/accuracy.js';
import { corpora, HELDOUT_SEED, SYSTEMS, TUNE_SEED } from './gen/systems.js';

/** Issue 15: the mean over the systems, and the floor for each one. */
const MEAN_TARGET = 0.95;
const SYSTEM_TARGET = 0.85;

for (const [name, seed] of [['tuning draw', TUNE_SEED], ['held-out draw', HELDOUT_SEED]] as const) {
  describe(`grouping accuracy, generated logs, ${name} (seed ${seed})`, () => {
    const results: { system: string; ga: number }[] = [];
    for (const c of corpora(seed)) {
      const floor = SYSTEM_TARGET;
      test(`${c.system}: GA >= ${floor}`, (t) => {
        const g = groupMessages(c.messages);
        const ga = groupingAccuracy(c.messages.map((_, i) => g.groupOf(i)), c.truth);
        results.push({ system: c.system, ga });
        t.diagnostic(`${c.system}: GA ${ga.toFixed(3)} (${g.groups.length} groups for ${new Set(c.truth).size} events, ${c.messages.length} lines)`);
        assert.ok(ga >= floor, `${c.system}: GA ${ga.toFixed(3)} < ${floor}`);
      });
    }
    test(`mean GA >= ${MEAN_TARGET}`, (t) => {
      assert.equal(results.length, SYSTEMS.length);
      const mean = results.reduce((s, r) => s + r.ga, 0) / results.length;
      const weakest = results.reduce((a, b) => (b.ga < a.ga ? b : a));
      t.diagnostic(`mean GA ${mean.toFixed(3)} over ${results.length} systems; weakest ${weakest.system} ${weakest.ga.toFixed(3)}`);
      assert.ok(mean >= MEAN_TARGET, `mean GA ${mean.toFixed(3)}`);
      assert.ok(weakest.ga >= SYSTEM_TARGET, `weakest ${weakest.system} ${weakest.ga.toFixed(3)}`);
    });
  });
}

describe('the generators', () => {
  test('22 systems, 2,000 lines each, every event present, deterministic per seed, different across seeds', () => {
    const a = corpora(TUNE_SEED);
    const b = corpora(TUNE_SEED);
    const h = corpora(HELDOUT_SEED);
    assert.equal(a.length, 22);
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
