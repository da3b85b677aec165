/**
 * SeenOnceWindow keeps its set's first value in the state's row and the
 * others in an array (windows.ts). These tests hold it to the plain layout it
 * replaced (every triple in one array, written out below as the reference):
 * the same answer on every hit and the same set after it, over random runs
 * of values and times; and a set saved across a restart comes back whole,
 * from either layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenOnceWindow, SubjectState } from '../../src/pipeline/triage/windows.js';
import { hash32 } from '../../src/pipeline/triage/hash.js';

/** The plain layout: triples (hash, last seen, seen again) in `times`, n of them. */
class Reference {
  times: number[] = [];
  n = 0;
  constructor(
    readonly threshold: number,
    readonly windowMs: number,
    readonly quietMs: number,
    readonly hold: number,
  ) {}

  hit(t: number, value: string): number {
    const h = hash32(value);
    const edge = t - this.windowMs;
    const quiet = t - this.quietMs;
    const a = this.times;
    let w = 0;
    let found = false;
    let once = 0;
    let oldest = -1;
    for (let r = 0; r < this.n * 3; r += 3) {
      const hv = a[r] as number;
      let at = a[r + 1] as number;
      let again = a[r + 2] as number;
      if (hv === h) {
        found = true;
        again = 1;
        at = t;
      } else if (at <= edge) continue;
      a[w] = hv;
      a[w + 1] = at;
      a[w + 2] = again;
      if (again === 0 && at <= quiet) once++;
      if (again === 1 && hv !== h && (oldest === -1 || at < (a[oldest + 1] as number))) oldest = w;
      w += 3;
    }
    if (!found && w === this.hold * 3) {
      if (oldest === -1) {
        this.n = w / 3;
        return once >= this.threshold ? once : 0;
      }
      w -= 3;
      for (let i = 0; i < 3; i++) a[oldest + i] = a[w + i] as number;
    }
    if (!found) {
      a[w] = h;
      a[w + 1] = t;
      a[w + 2] = 0;
      w += 3;
      if (this.quietMs === 0) once++;
    }
    this.n = w / 3;
    return once >= this.threshold ? once : 0;
  }

  set(): number[] {
    return this.times.slice(0, this.n * 3);
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
        ref.n = 0;
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
