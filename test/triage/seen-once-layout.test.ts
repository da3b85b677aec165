/**
 * SeenOnceWindow keeps its set's first value in the state's row and the
 * others in an array (windows.ts). These tests hold it to a plain model of
 * the condition (a list of entries, written out below as the reference):
 * the same answer on every hit and the same set after it, over random runs
 * of values and times; and a set saved across a restart comes back whole,
 * from either layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenOnceWindow, SubjectState } from '../../src/pipeline/triage/windows.js';
import { hash32 } from '../../src/pipeline/triage/hash.js';

/**
 * The condition written plainly, as a model: a list of entries (value, last
 * seen, seen again) instead of numbers in rows and arrays.
 */
class Reference {
  entries: { h: number; at: number; again: number }[] = [];
  constructor(
    readonly threshold: number,
    readonly windowMs: number,
    readonly quietMs: number,
    readonly hold: number,
  ) {}

  hit(t: number, value: string): number {
    const h = hash32(value);
    const fire = (once: number) => (once >= this.threshold ? once : 0);
    // This value is seen again now; others leave when older than the window.
    let found = false;
    const kept = this.entries.flatMap((e) => {
      if (e.h === h) {
        found = true;
        return [{ h, at: t, again: 1 }];
      }
      return e.at > t - this.windowMs ? [e] : [];
    });
    let once = kept.filter((e) => e.again === 0 && e.at <= t - this.quietMs).length;
    if (!found && kept.length === this.hold) {
      // Full: the least recently seen of the values seen again (the first of equals) gives way; none, and the new value is not taken.
      const again = kept.map((e, i) => ({ e, i })).filter((x) => x.e.again === 1);
      if (again.length === 0) {
        this.entries = kept;
        return fire(once);
      }
      const oldest = again.reduce((m, x) => (x.e.at < m.e.at ? x : m)).i;
      kept[oldest] = kept[kept.length - 1]!;
      kept.pop();
    }
    if (!found) {
      kept.push({ h, at: t, again: 0 });
      if (this.quietMs === 0) once++;
    }
    this.entries = kept;
    return fire(once);
  }

  get n(): number {
    return this.entries.length;
  }

  set(): number[] {
    return this.entries.flatMap((e) => [e.h, e.at, e.again]);
  }

  reset(): void {
    this.entries = [];
  }
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const T0 = Date.UTC(2026, 10, 25);

test('seen_once with its first value in the row answers and holds exactly what the plain layout does', () => {
  const r = rng(7);
  let hits = 0;
  let fired = 0;
  for (let run = 0; run < 300; run++) {
    const threshold = 1 + Math.floor(r() * 6);
    const hold = threshold * (1 + Math.floor(r() * 3));
    const windowMs = 1000 * (5 + Math.floor(r() * 60));
    const quietMs = r() < 0.2 ? 0 : Math.floor(windowMs * r() * 0.9);
    const c = new SeenOnceWindow(threshold, windowMs, quietMs, hold);
    const ref = new Reference(threshold, windowMs, quietMs, hold);
    const s = new SubjectState('client');
    // Mostly one value (a browser), sometimes bursts of fresh ones (a rotating bot), sometimes a few that recur.
    const alphabet = r() < 0.3 ? 1 : r() < 0.5 ? 3 : 400;
    let t = T0;
    for (let i = 0; i < 400; i++) {
      t += Math.floor(r() * r() * 20_000);
      const v = `ua/${Math.floor(r() * alphabet)}`;
      const got = c.hit(s, t, v);
      const want = ref.hit(t, v);
      assert.equal(got, want, `run ${run}, hit ${i}`);
      assert.equal(s.n, ref.n, `run ${run}, hit ${i}: values held`);
      assert.deepEqual(c.savedTimes(s) ?? [], ref.set(), `run ${run}, hit ${i}: the set`);
      hits++;
      if (got > 0) {
        fired++;
        c.reset(s);
        ref.reset();
      }
    }
  }
  assert.equal(hits, 120_000);
  assert.ok(fired > 100, `the runs fire too (${fired})`);
});

test('a seen_once set saved across a restart comes back whole, from either layout', () => {
  const c = new SeenOnceWindow(3, 600_000, 60_000, 6);
  const s = new SubjectState('client');
  for (let i = 0; i < 5; i++) c.hit(s, T0 + i * 1000, `ua/${i}`);
  const saved = c.savedTimes(s);
  assert.equal(saved?.length, 15);

  // The new layout, taken back into a fresh state: the same set, and the same answers after.
  const back = new SubjectState('client');
  back.n = s.n;
  c.loadTimes(back, saved);
  assert.deepEqual(c.savedTimes(back), saved);
  assert.equal(c.hit(back, T0 + 70_000, 'ua/9'), c.hit(s, T0 + 70_000, 'ua/9'));
  assert.deepEqual(c.savedTimes(back), c.savedTimes(s));

  // The plain layout saved its spare room too (an array longer than 3 x n): only n triples come back.
  const old = new SubjectState('client');
  old.n = 2;
  c.loadTimes(old, [hash32('a'), T0, 0, hash32('b'), T0 + 1, 1, 999, 999, 999, 0, 0, 0]);
  assert.deepEqual(c.savedTimes(old), [hash32('a'), T0, 0, hash32('b'), T0 + 1, 1]);
  c.loadTimes(old, null);
  assert.equal(old.n, 0);
});
