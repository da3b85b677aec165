/**
 * The miner (src/pipeline/clustering/drain.ts): grouping, id stability while
 * templates generalise, word variants, groups across lengths, and bounded
 * memory under a million random lines.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMiner, shortHash, type TemplateInfo } from '../../src/pipeline/clustering/drain.js';
import { maskMessage } from '../../src/pipeline/clustering/mask.js';
import { groupMessages } from '../../src/pipeline/clustering/group.js';

describe('clustering', () => {
  test('lines of one event share an id; the template generalises; other events get other ids', () => {
    const m = createMiner();
    const a = m.add('session opened for user root by (uid=0)');
    const b = m.add('session opened for user news by (uid=0)');
    const c = m.add('session closed for user root');
    assert.equal(a.isNew, true);
    assert.equal(b.isNew, false);
    assert.equal(b.id, a.id);
    assert.equal(b.template, 'session opened for user <*> by (uid=<*>)');
    assert.equal(b.count, 2);
    assert.notEqual(c.id, a.id);
    assert.equal(c.isNew, true);
  });

  test('an empty message is a template of its own', () => {
    const m = createMiner();
    const a = m.add('');
    assert.equal(m.add('').id, a.id);
    assert.equal(a.template, '');
  });

  test('templates() lists groups most frequent first, with an example and event times', () => {
    const m = createMiner();
    m.add('Deleting file /tmp/a1', 1000);
    m.add('Opening port 80', 2000);
    m.add('Opening port 443', 3000);
    const t = m.templates();
    assert.equal(t.length, 2);
    assert.deepEqual(
      { template: t[0]!.template, count: t[0]!.count, example: t[0]!.example, firstSeen: t[0]!.firstSeen, lastSeen: t[0]!.lastSeen },
      { template: 'Opening port <*>', count: 2, example: 'Opening port 80', firstSeen: 2000, lastSeen: 3000 },
    );
  });
});

describe('ids', () => {
  test('an id is a hash of the masked message that founded the group, and never changes as the template generalises', () => {
    const m = createMiner();
    const first = m.add('Worker started task copy on queue main for tenant 12');
    assert.equal(first.id, shortHash(maskMessage('Worker started task copy on queue main for tenant 12', 80).join(' ')));
    const ids: string[] = [];
    // Tenants are values: the id stays. Queue names are words: the first few found variants, which fold
    // into the first group once more than splitValues of them are seen.
    for (const q of ['main', 'bulk', 'low', 'high', 'urgent', 'spare', 'night']) {
      for (const tenant of ['acme.example.com', 'initech.example.org', '42']) ids.push(m.add(`Worker started task copy on queue ${q} for tenant ${tenant}`).id);
    }
    assert.deepEqual(ids.slice(0, 3), [first.id, first.id, first.id]);
    assert.deepEqual(ids.slice(-9), Array(9).fill(first.id));
    assert.deepEqual(new Set(ids.map((id) => m.resolve(id)?.id)), new Set([first.id]));
    assert.equal(m.resolve(first.id)?.template, 'Worker started task copy on queue <*> for tenant <*>');
    assert.equal(m.templates().length, 1);
  });

  test('the same founding line gives the same id in another run', () => {
    const a = createMiner().add('Connection reset by peer 10.0.0.1:443');
    const b = createMiner().add('Connection reset by peer 192.168.7.7:80');
    assert.equal(a.id, b.id);
  });

  test('variants that fold into one keep resolving: their ids become aliases of the oldest', () => {
    const m = createMiner({ splitValues: 2 });
    const a = m.add('cache entry evicted reason alpha now');
    const b = m.add('cache entry evicted reason bravo now');
    assert.notEqual(b.id, a.id, 'two words stay apart');
    const c = m.add('cache entry evicted reason charlie now');
    assert.equal(c.isNew, false, 'the third folds the position into <*>');
    for (const id of [a.id, b.id, c.id]) assert.equal(m.resolve(id)?.id, a.id);
    assert.equal(m.resolve(a.id)?.template, 'cache entry evicted reason <*> now');
    assert.deepEqual(m.resolve(a.id)?.aliases, [b.id]);
    assert.equal(m.resolve(a.id)?.count, 3);
  });
});

describe('words that tell events apart', () => {
  test('a word with few values founds a variant (flushed to disk / memory)', () => {
    const m = createMiner();
    const a = m.add('Segment seg_1 flushed to disk early (size 5.3 KB, left 317.5 KB)');
    const b = m.add('Segment seg_2 flushed to memory early (size 9.0 KB, left 326.5 KB)');
    assert.notEqual(b.id, a.id);
    assert.equal(b.isNew, true);
    assert.equal(b.variantOf, a.id);
    assert.equal(m.add('Segment seg_3 flushed to disk early (size 1.0 KB, left 3.5 MB)').id, a.id);
  });

  test('a word after `user`, `for`, `from` is a value', () => {
    const m = createMiner();
    const a = m.add('bad password for root from 1.2.3.4 port 22 ssh2');
    assert.equal(m.add('bad password for admin from 1.2.3.5 port 23 ssh2').id, a.id);
  });

  test('more distinct words than splitValues fold into one template', () => {
    const m = createMiner({ splitValues: 4 });
    const states = ['Started', 'Paused', 'Resumed', 'Stopped', 'Crashed', 'Migrated'];
    // (The word sits past the tree's routing depth: the first two tokens route, as in Drain.)
    const ids = states.map((s) => m.add(`machine m-1 ${s} (power event) on node`).id);
    assert.equal(new Set(ids.slice(0, 4)).size, 4);
    assert.equal(m.resolve(ids[0]!)?.id, m.resolve(ids[5]!)?.id);
    assert.equal(m.templates().length, 1);
  });

  test('booleans and long ALL-CAPS enum values are values', () => {
    const m = createMiner();
    const a = m.add('state changed to RUNNING for job now');
    assert.equal(m.add('state changed to SUCCEEDED for job now').id, a.id);
    const b = m.add('displayActive: true');
    assert.equal(m.add('displayActive: false').id, b.id);
  });

  test('splitValues: 0 is the original Drain rule', () => {
    const m = createMiner({ splitValues: 0 });
    const a = m.add('Segment s1 flushed to disk now');
    assert.equal(m.add('Segment s2 flushed to memory now').id, a.id);
  });
});

describe('groups across lengths', () => {
  test('an optional value (`*64`) does not split an event', () => {
    const m = createMiner();
    const a = m.add('browser.exe - www.example.com:443 open through proxy proxy.example.net:5070 HTTPS');
    m.add('mailer.exe - www.example.org:443 open through proxy proxy.example.com:5070 HTTPS');
    m.add('browser.exe *64 - mail.example.com:443 open through proxy proxy.example.net:5070 HTTPS');
    const d = m.add('syncagent.exe *64 - files.example.org:443 open through proxy proxy.example.net:5070 HTTPS');
    assert.equal(m.resolve(d.id)?.id, a.id);
    // host:port is one value (mask.ts), so the proxy address is <*> too.
    assert.equal(m.resolve(a.id)?.template, '<*> - <*> open through proxy <*> HTTPS');
  });
});

describe('bounded memory', () => {
  test('the least recently seen cluster is evicted past maxTemplates, and onEvict hears of it', () => {
    const evicted: TemplateInfo[] = [];
    const m = createMiner({ maxTemplates: 3, onEvict: (t) => evicted.push(t) });
    const a = m.add('alpha event one');
    m.add('bravo event two');
    m.add('charlie event three');
    m.add('alpha event one'); // a is now the most recently seen
    m.add('delta event four');
    assert.equal(m.size, 3);
    assert.deepEqual(evicted.map((t) => t.template), ['bravo event two']);
    assert.ok(m.resolve(a.id));
  });

  test('a leaf holds at most maxClustersPerLeaf clusters', () => {
    const m = createMiner({ maxClustersPerLeaf: 8, maxTemplates: 1000, splitValues: 0 });
    for (let i = 0; i < 100; i++) m.add(`same prefix ${'abcdefghijklmnopqrstuvwxyz'[i % 26]}${'abcdefghij'[Math.floor(i / 26)]} only`);
    assert.ok(m.size <= 8, `${m.size}`);
  });

  test('long lines are cut at maxTokens', () => {
    const m = createMiner({ maxTokens: 5 });
    const a = m.add('one two three four five six seven');
    const b = m.add('one two three four five nine ten eleven twelve');
    assert.equal(b.id, a.id);
    assert.equal(a.template, 'one two three four five');
  });

  test('a million random lines: templates capped, heap bounded (the speed is the benchmark\'s: npm run bench:monitor)', (t) => {
    const cap = 500;
    const m = createMiner({ maxTemplates: cap });
    let seed = 42;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x${Math.floor(rnd() * 1e6).toString(36)}`.replace(/\d/g, 'q'));
    const before = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const N = 1_000_000;
    let maxSize = 0;
    for (let i = 0; i < N; i++) {
      const n = 3 + Math.floor(rnd() * 8);
      let line = words[Math.floor(rnd() * words.length)]!;
      for (let k = 1; k < n; k++) line += ' ' + words[Math.floor(rnd() * words.length)]!;
      m.add(line, i);
      if ((i & 1023) === 0 && m.size > maxSize) maxSize = m.size;
    }
    const secs = (performance.now() - t0) / 1000;
    const grown = (process.memoryUsage().heapUsed - before) / 1048576;
    assert.ok(m.size <= cap && maxSize <= cap, `${m.size} templates`);
    assert.equal(maxSize, cap, 'the cap was reached, so eviction ran');
    assert.ok(m.templates().length <= cap);
    assert.ok(grown < 150, `heap grew ${grown.toFixed(0)} MB`);
    t.diagnostic(`1,000,000 random lines in ${secs.toFixed(2)} s, ${m.size} templates kept, heap +${grown.toFixed(0)} MB`);
  });
});

describe('logs templates grouping: one group per statement', () => {
  /** The number of groups, and whether lines `a` and `b` share one. */
  const groups = (lines: string[]) => {
    const g = groupMessages(lines);
    return { n: g.groups.length, same: (a: number, b: number) => g.groupOf(a) === g.groupOf(b), g };
  };

  test('a word that varies at one position is a value', () => {
    const r = groups(['link eth0 went up', 'link eth1 went down', 'link eth2 went up', 'link eth3 went flapping']);
    assert.equal(r.n, 1);
  });

  test('a name before a colon keeps the colon, so a command of any length after it is one value', () => {
    const lines = [];
    const who = ['root', 'postgres', 'www-data', 'backup'];
    const cmd = ['/sbin/reboot', '/usr/bin/apt upgrade', '/usr/bin/systemctl restart web', '/bin/ls'];
    for (let i = 0; i < 16; i++) lines.push(`alice ran command on pts/${i} as ${who[i % 4]}: ${cmd[i >> 2]}`);
    const r = groups(lines);
    assert.equal(r.n, 1, r.g.groups.map((x) => x.template).join('\n'));
    assert.match(r.g.templateOf(0), /as <\*>: <\*>$/);
  });

  test('a phrase that ends the line after a comma, or follows a bracketed label, is one value', () => {
    const r = groups([
      'client session 0x1a closed, expired',
      'client session 0x2b closed, idle too long',
      'client session 0x3c closed, closed by client',
      'app com.example.mail not responding (reason: input dispatch timeout)',
      'app org.sample.chat not responding (reason: broadcast timeout)',
      'app org.sample.chat not responding (reason: input dispatch timeout)',
      'app com.example.mail not responding (reason: broadcast timeout)',
    ]);
    assert.equal(r.n, 2);
    assert.ok(r.same(0, 1) && r.same(0, 2) && r.same(3, 4) && r.same(3, 6));
  });

  test('optional key=value fields at the end do not part an event', () => {
    const r = groups([
      'connection authorized: user=app database=shop',
      'connection authorized: user=etl database=billing application_name=loader',
      'connection authorized: user=reporter database=shop',
    ]);
    assert.equal(r.n, 1);
  });

  test('two statements that share a value and differ after it stay apart', () => {
    const r = groups([
      'nfs: server home1 not responding, still trying',
      'nfs: server scratch2 OK',
      'nfs: server proj not responding, still trying',
      'nfs: server home1 OK',
    ]);
    assert.equal(r.n, 2);
    assert.ok(r.same(0, 2) && r.same(1, 3) && !r.same(0, 1));
  });

  test('masked tokens do not make two events one pattern', () => {
    const r = groups([
      'compute.agent [req-1f2e] [vm 4a] power state now running (was paused)',
      'compute.agent [req-2a3b] [vm 5b] power state now paused (was running)',
      'compute.agent [req-3c4d] [vm 6c] migration to hv-a01.example.net failed after 3.2s',
      'compute.agent [req-4d5e] [vm 7d] migration to hv-b02.example.net completed after 9.9s',
    ]);
    assert.equal(r.n, 2);
    assert.ok(r.same(0, 1) && r.same(2, 3));
  });
});
