/**
 * The journald source against a fake `journalctl` placed first on PATH
 * (fixtures/fake-journalctl.mjs). journald cannot run in this container
 * (no systemd as PID 1, no /run/systemd/journal), so journalctl is the one
 * faked party here: the fake prints recorded `journalctl -o json` entries
 * (fixtures/journal-haproxy.jsonl and generated ones), honours the
 * arguments the source passes (-u, --after-cursor, --lines=0, --no-tail,
 * --output-fields), follows its journal file like -f, and can crash once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JournaldSource, type JournaldSourceOptions } from '../../src/pipeline/sources/journald-source.js';
import { MemoryPositionStore, type PositionStore } from '../../src/pipeline/sources/source.js';
import { Collector, FIXTURES, sleep, tempDir, waitFor } from './helpers.js';

const tmp = tempDir('journald');
const journal = join(tmp.dir, 'journal.jsonl');
const argsLog = join(tmp.dir, 'args.jsonl');
const marker = join(tmp.dir, 'crashed');

before(() => {
  const bin = join(tmp.dir, 'bin');
  const wrapper = join(bin, 'journalctl');
  mkdirSync(bin, { recursive: true });
  writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${join(FIXTURES, 'fake-journalctl.mjs')}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  process.env.FAKE_JOURNAL = journal;
  process.env.FAKE_JOURNAL_LOG = argsLog;
});
after(() => tmp.cleanup());

function reset(): void {
  copyFileSync(join(FIXTURES, 'journal-haproxy.jsonl'), journal);
  writeFileSync(argsLog, '');
  delete process.env.FAKE_JOURNAL_EXIT_AFTER;
  delete process.env.FAKE_JOURNAL_EXIT_MARKER;
}

function invocations(): string[][] {
  return readFileSync(argsLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown)
    .filter((a): a is string[] => Array.isArray(a));
}

/** Waits until the fake journalctl has positioned itself (-n 0 starts at the end as it is then). */
async function ready(): Promise<void> {
  await waitFor(() => readFileSync(argsLog, 'utf8').includes('"ready"'), 5000, () => 'journalctl to start');
}

let seq = 1000;
function entry(msg: string, unit = 'haproxy.service'): string {
  seq++;
  return JSON.stringify({
    __CURSOR: `s=5d3a1f0e9b2c4e8f8a1b2c3d4e5f6a7b;i=${seq.toString(16)};b=0c2e7b5a9d8f4e3c8b1a2d3e4f5a6b7c;m=${seq.toString(16)};t=61e8f0a1b${seq.toString(16)};x=${(seq * 7919).toString(16)}`,
    __REALTIME_TIMESTAMP: String(1718000001000000 + seq * 1000),
    __MONOTONIC_TIMESTAMP: String(439041601 + seq),
    _BOOT_ID: '0c2e7b5a9d8f4e3c8b1a2d3e4f5a6b7c',
    PRIORITY: '6',
    SYSLOG_IDENTIFIER: 'haproxy',
    _PID: '812',
    _SYSTEMD_UNIT: unit,
    MESSAGE: msg,
  });
}
function appendEntries(from: number, count: number): void {
  let s = '';
  for (let i = from; i < from + count; i++) s += entry(`line ${i}`) + '\n';
  appendFileSync(journal, s);
}

function source(c: Collector, store: PositionStore, o: Partial<JournaldSourceOptions> = {}): JournaldSource {
  return new JournaldSource({ name: 'haproxy', format: 'haproxy', restartMinMs: 50, restartMaxMs: 200, ...o }, c.deps(store));
}

test('recorded entries: MESSAGE as text, as a byte array (latin-1: U+FFFD), multi-line; __REALTIME_TIMESTAMP as receivedAt', async () => {
  reset();
  const c = new Collector();
  const src = source(c, new MemoryPositionStore(), { units: ['haproxy.service', 'app-api.service'], startAt: 'beginning' });
  await src.start();
  try {
    await waitFor(() => c.lines.length >= 8, 5000, () => `8 lines, have ${c.lines.length}`);
    const t = c.texts();
    assert.match(t[0]!, /^192\.0\.2\.10:51234 \[10\/Jun\/2024:06:13:20\.123\] fe_https~ /);
    assert.match(t[1]!, /<NOSRV>.*"GET \/\.env HTTP\/1\.1"$/);
    assert.equal(t[2], 'ERROR db timeout after 5000 ms');
    assert.equal(t[3], 'GET /caf\uFFFD user=J\uFFFDrgen');
    assert.deepEqual(t.slice(4, 7), ['Traceback (most recent call last):', '  File "app.py", line 10, in handler', 'ValueError: bad id']);
    assert.match(t[7]!, /^Server be_app\/app2 is DOWN/);
    assert.equal(c.lines[0]!.receivedAt, 1718000000123);
    assert.equal(c.lines[0]!.format, 'haproxy');
    assert.equal(c.lines[0]!.source, 'haproxy');
    const st = src.stats();
    assert.equal(st.lines, 8);
    assert.equal(st.decode_errors, 1);
    assert.equal(st.lag_bytes, null);
    const args = invocations()[0]!;
    assert.deepEqual(args, ['-f', '-o', 'json', '--no-pager', '--all', '--output-fields=MESSAGE', '-u', 'haproxy.service', '-u', 'app-api.service', '--no-tail']);
  } finally {
    await src.stop();
  }
});

test('units filter; startAt "end" (--lines=0) shows only new entries, which are followed', async () => {
  reset();
  const c = new Collector();
  const src = source(c, new MemoryPositionStore(), { units: ['haproxy.service'] });
  await src.start();
  try {
    await ready();
    await sleep(100);
    assert.equal(c.lines.length, 0);
    appendFileSync(journal, entry('for another unit', 'other.service') + '\n' + entry('new haproxy line') + '\n');
    await waitFor(() => c.lines.length >= 1, 5000, () => 'the new line');
    await sleep(100);
    assert.deepEqual(c.texts(), ['new haproxy line']);
    assert.ok(invocations()[0]!.includes('--lines=0'));
  } finally {
    await src.stop();
  }
});

test('cursor resume: stop, entries arrive, a new source starts --after-cursor and gets exactly the new ones', async () => {
  reset();
  const store = new MemoryPositionStore();
  const c1 = new Collector();
  const s1 = source(c1, store, { startAt: 'beginning' });
  await s1.start();
  await waitFor(() => c1.lines.length >= 8, 5000, () => '8 lines');
  await s1.stop();
  const saved = JSON.parse(store.get('journald:haproxy')!) as { cursor: string };
  assert.match(saved.cursor, /;i=4f6;/);
  appendEntries(1, 500);
  const c2 = new Collector();
  const s2 = source(c2, store, { startAt: 'beginning' });
  await s2.start();
  try {
    await waitFor(() => c2.lines.length >= 500, 5000, () => `500 lines, have ${c2.lines.length}`);
    await sleep(150);
    assert.deepEqual(
      c2.texts(),
      Array.from({ length: 500 }, (_, i) => `line ${i + 1}`),
    );
    const args = invocations()[1]!;
    assert.deepEqual(args.slice(-2), ['--after-cursor', saved.cursor]);
    assert.ok(!args.includes('--no-tail'));
  } finally {
    await s2.stop();
  }
});

test('journalctl exits: reported, restarted after a backoff with --after-cursor, no line lost or doubled', async () => {
  reset();
  writeFileSync(journal, '');
  appendEntries(1, 1000);
  process.env.FAKE_JOURNAL_EXIT_AFTER = '300';
  process.env.FAKE_JOURNAL_EXIT_MARKER = marker + Math.random();
  const c = new Collector();
  const src = source(c, new MemoryPositionStore(), { startAt: 'beginning' });
  await src.start();
  try {
    await waitFor(() => c.lines.length >= 1000, 5000, () => `1000 lines, have ${c.lines.length}`);
    await sleep(150);
    assert.deepEqual(
      c.texts(),
      Array.from({ length: 1000 }, (_, i) => `line ${i + 1}`),
    );
    assert.equal(c.errors.length, 1);
    assert.equal(c.errors[0]!.code, 'process');
    assert.match(c.errors[0]!.message, /journalctl exited \(code 1\): journalctl: simulated crash; restarting/);
    const inv = invocations();
    assert.equal(inv.length, 2);
    assert.ok(inv[0]!.includes('--no-tail'));
    assert.equal(inv[1]![inv[1]!.indexOf('--after-cursor') + 1], (JSON.parse(readFileSync(journal, 'utf8').split('\n')[299]!) as { __CURSOR: string }).__CURSOR);
  } finally {
    await src.stop();
  }
});

test('a cursor journalctl refuses: retried with backoff, then dropped and reported; startAt applies', async () => {
  reset();
  const store = new MemoryPositionStore();
  store.set('journald:haproxy', JSON.stringify({ v: 1, cursor: 's=unknown;i=1' }));
  const c = new Collector();
  const src = source(c, store, { restartMinMs: 20, restartMaxMs: 40 });
  await src.start();
  try {
    await waitFor(() => c.errors.some((e) => e.code === 'position'), 5000, () => 'the dropped cursor');
    await waitFor(() => invocations().some((a) => a.includes('--lines=0')), 5000, () => 'a start without the cursor');
    await ready();
    appendEntries(1, 3);
    await waitFor(() => c.lines.length >= 3, 5000, () => '3 lines');
    assert.deepEqual(c.texts(), ['line 1', 'line 2', 'line 3']);
    assert.match(c.errors[0]!.message, /Failed to seek to cursor/);
  } finally {
    await src.stop();
  }
});

test('journalctl missing: reported and retried, never thrown; stop() ends the retries', async () => {
  reset();
  const c = new Collector();
  const src = source(c, new MemoryPositionStore(), { journalctl: join(tmp.dir, 'no-such-journalctl'), restartMinMs: 20, restartMaxMs: 20 });
  await src.start();
  await waitFor(() => c.errors.length >= 1, 5000, () => 'an error');
  await src.stop();
  assert.equal(c.errors[0]!.code, 'process');
  assert.match(c.errors[0]!.message, /cannot start .*ENOENT/);
});

test('garbage on stdout (not JSON, not an object) is counted, the entries around it delivered', async () => {
  reset();
  writeFileSync(journal, `${entry('before')}\nthis is not json\n[1,2,3]\n${entry('after')}\n`);
  const c = new Collector();
  const src = source(c, new MemoryPositionStore(), { startAt: 'beginning' });
  await src.start();
  try {
    await waitFor(() => c.lines.length >= 2, 5000, () => '2 lines');
    assert.deepEqual(c.texts(), ['before', 'after']);
    assert.equal(src.stats().decode_errors, 2);
  } finally {
    await src.stop();
  }
});

test('a message longer than the maximum is cut and counted', async () => {
  reset();
  writeFileSync(journal, `${entry('M'.repeat(200_000))}\n${entry('short')}\n`);
  const c = new Collector();
  const src = source(c, new MemoryPositionStore(), { startAt: 'beginning' });
  await src.start();
  try {
    await waitFor(() => c.lines.length >= 2, 5000, () => '2 lines');
    assert.deepEqual(
      c.texts().map((t) => t.length),
      [65536, 5],
    );
    assert.equal(src.stats().truncated, 1);
  } finally {
    await src.stop();
  }
});
