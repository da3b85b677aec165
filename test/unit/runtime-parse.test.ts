/**
 * Unit tests for the pure parsers of src/haproxy/runtime/ on real HAProxy
 * 2.6 and 3.0 output (captured here and live), and socketClient/setListEntry
 * against a real HAProxy of both versions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createConnection, createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeError, socketClient, type SocketClient } from '../../src/haproxy/runtime/client.js';
import { isErrorReply } from '../../src/haproxy/runtime/replies.js';
import { setListEntries, parseListDump, setListEntry } from '../../src/haproxy/runtime/maps.js';
import { parseShowProc } from '../../src/haproxy/runtime/proc.js';
import { parseShowTable } from '../../src/haproxy/runtime/tables.js';
import { BINARIES, freePort, sleep, startWithSockets, type RunningHaproxy } from './_haproxy.js';

// --- Captured output -------------------------------------------------------

const PROC_26 =
  '#<PID>          <type>          <reloads>       <uptime>        <version>      \n7504            master          1 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4\n# workers\n7519            worker          0               0d00h00m00s     2.6.12-1+deb12u4\n# programs\n';
const PROC_30 =
  '#<PID>          <type>          <reloads>       <uptime>        <version>      \n7604            master          1 [failed: 0]   0d00h00m01s     3.0.11-1+deb13u4\n# workers\n7619            worker          0               0d00h00m00s     3.0.11-1+deb13u4\n# programs\n';
/** After a failed reload (a bad line added to the config). */
const PROC_26_FAILED =
  '#<PID>          <type>          <reloads>       <uptime>        <version>      \n12248           master          2 [failed: 1]   0d00h00m04s     2.6.12-1+deb12u4\n# workers\n12276           worker          1               0d00h00m02s     2.6.12-1+deb12u4\n# programs\n\n';
/** After a reload while a connection held the previous worker: it is listed under "# old workers". */
const PROC_26_OLD =
  '#<PID>          <type>          <reloads>       <uptime>        <version>      \n12669           master          1 [failed: 0]   0d00h00m02s     2.6.12-1+deb12u4\n# workers\n12692           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n# old workers\n12672           worker          1               0d00h00m02s     2.6.12-1+deb12u4\n# programs\n\n';
const PROC_30_OLD =
  '#<PID>          <type>          <reloads>       <uptime>        <version>      \n12699           master          1 [failed: 0]   0d00h00m02s     3.0.11-1+deb13u4\n# workers\n12710           worker          0               0d00h00m01s     3.0.11-1+deb13u4\n# old workers\n12702           worker          1               0d00h00m02s     3.0.11-1+deb13u4\n# programs\n\n';

const TABLE_26 =
  '# table: web, type: ipv6, size:1024, used:1\n0x561099e312a8: key=::ffff:127.0.0.1 use=0 exp=599992 conn_rate(10000)=1 conn_cur=0 http_req_rate(10000)=1 http_err_rate(30000)=0\n\n';
const TABLE_30 =
  '# table: web, type: ipv6, size:1024, used:1\n0x7f21dd1512c8: key=::ffff:127.0.0.1 use=0 exp=599993 shard=0 conn_rate(10000)=1 conn_cur=0 http_req_rate(10000)=1 http_err_rate(30000)=0\n\n';

const MAP_DUMP = '0x561099c49ec0 1.2.3.4 1\n0x561099c49f10 2001:db8::/32 1\n0x7f22780468b0 9.9.9.9 1\n\n';
const ACL_DUMP = '0x7f21de0294d0 1.2.3.4\n0x7f21de041300 10.0.0.0/8\n\n';
const SHOW_MAP_INDEX =
  "# id (file) description\n2 (/tmp/h/blocked.map) pattern loaded from file '/tmp/h/blocked.map' used by map at file '/tmp/h/h.cfg' line 13. curr_ver=0 next_ver=0 entry_cnt=2\n\n";

describe('parseShowProc', () => {
  test('2.6 sample', () => {
    assert.deepEqual(parseShowProc(PROC_26), { masterPid: 7504, reloads: 1, failedReloads: 0, workers: [{ pid: 7519, reloads: 0, version: '2.6.12-1+deb12u4' }] });
  });
  test('3.0 sample', () => {
    assert.deepEqual(parseShowProc(PROC_30), { masterPid: 7604, reloads: 1, failedReloads: 0, workers: [{ pid: 7619, reloads: 0, version: '3.0.11-1+deb13u4' }] });
  });
  test('failed reloads are counted', () => {
    assert.deepEqual(parseShowProc(PROC_26_FAILED), { masterPid: 12248, reloads: 2, failedReloads: 1, workers: [{ pid: 12276, reloads: 1, version: '2.6.12-1+deb12u4' }] });
  });
  for (const [name, text, current] of [
    ['2.6', PROC_26_OLD, { pid: 12692, reloads: 0, version: '2.6.12-1+deb12u4' }],
    ['3.0', PROC_30_OLD, { pid: 12710, reloads: 0, version: '3.0.11-1+deb13u4' }],
  ] as const) {
    test(`${name}: workers lists only the current workers, not the "# old workers" still draining`, () => {
      const p = parseShowProc(text);
      assert.ok(p);
      assert.equal(p.masterPid, name === '2.6' ? 12669 : 12699);
      assert.deepEqual(p.workers, [current]);
    });
  }
  test('not a show proc answer gives null', () => {
    assert.equal(parseShowProc(''), null);
    assert.equal(parseShowProc('Unknown command, but maybe one of the following ones is a better match:\n'), null);
    assert.equal(parseShowProc('# workers\n7519            worker          0               0d00h00m00s     2.6.12\n'), null);
  });
  test('a master with no worker parses with an empty worker list', () => {
    const p = parseShowProc('#<PID>          <type>          <reloads>       <uptime>        <version>      \n7504            master          3 [failed: 2]   0d00h00m01s     2.6.12-1+deb12u4\n# workers\n# programs\n');
    assert.deepEqual(p, { masterPid: 7504, reloads: 3, failedReloads: 2, workers: [] });
  });
});

describe('parseShowTable', () => {
  const expectedEntry = { key: '::ffff:127.0.0.1', use: '0', 'conn_rate(10000)': '1', conn_cur: '0', 'http_req_rate(10000)': '1', 'http_err_rate(30000)': '0' };
  test('2.6 and 3.0 dumps parse to the same fields by name (3.0 adds shard=)', () => {
    const a = parseShowTable(TABLE_26);
    const b = parseShowTable(TABLE_30);
    assert.deepEqual(a.header, { table: 'web', type: 'ipv6', size: '1024', used: '1' });
    assert.deepEqual(b.header, a.header);
    assert.equal(a.entries.length, 1);
    assert.equal(b.entries.length, 1);
    const { exp: expA, ...restA } = a.entries[0]!;
    const { exp: expB, shard, ...restB } = b.entries[0]!;
    assert.equal(expA, '599992');
    assert.equal(expB, '599993');
    assert.equal(shard, '0');
    assert.deepEqual(restA, expectedEntry);
    assert.deepEqual(restB, expectedEntry);
    assert.equal(a.entries[0]!.shard, undefined);
  });
  test('an empty table', () => {
    assert.deepEqual(parseShowTable('# table: web, type: ipv6, size:1024, used:0\n\n'), { header: { table: 'web', type: 'ipv6', size: '1024', used: '0' }, entries: [] });
  });
  test('several entries, IPv6 keys', () => {
    const t = parseShowTable(
      '# table: web, type: ipv6, size:204800, used:2\n0x1: key=2001:db8::1 use=0 exp=1000 shard=3 conn_rate(10000)=5 conn_cur=2 http_req_rate(10000)=40 http_err_rate(30000)=7\n0x2: key=::ffff:10.0.0.1 use=1 exp=2000 shard=1 conn_rate(10000)=0 conn_cur=1 http_req_rate(10000)=0 http_err_rate(30000)=0\n',
    );
    assert.equal(t.header.size, '204800');
    assert.deepEqual(
      t.entries.map((e) => [e.key, e['http_req_rate(10000)'], e.conn_cur]),
      [
        ['2001:db8::1', '40', '2'],
        ['::ffff:10.0.0.1', '0', '1'],
      ],
    );
  });
  test('an error answer throws a RuntimeError', () => {
    assert.throws(() => parseShowTable('No such table\n\n'), RuntimeError);
    assert.throws(() => parseShowTable(''), RuntimeError);
  });
});

describe('parseListDump', () => {
  test('show map: keys, values dropped', () => {
    assert.deepEqual(parseListDump(MAP_DUMP), ['1.2.3.4', '2001:db8::/32', '9.9.9.9']);
  });
  test('show acl: keys', () => {
    assert.deepEqual(parseListDump(ACL_DUMP), ['1.2.3.4', '10.0.0.0/8']);
  });
  test('duplicates are kept (so they can be detected)', () => {
    assert.deepEqual(parseListDump('0x1 9.9.9.9 1\n0x2 9.9.9.9 1\n'), ['9.9.9.9', '9.9.9.9']);
  });
  test('the map index, errors and empty answers give no keys', () => {
    assert.deepEqual(parseListDump(SHOW_MAP_INDEX), []);
    assert.deepEqual(parseListDump('Unknown map identifier. Please use #<id> or <file>.\n'), []);
    assert.deepEqual(parseListDump('\n'), []);
    assert.deepEqual(parseListDump(''), []);
  });
});

describe('isErrorReply', () => {
  test('successes', () => {
    for (const r of ['', '\n', '\n\n', 'Done.', 'Done.\n', 'Success!\n', 'Transaction created for version 1\n', 'Transaction committed for version 1\n']) assert.equal(isErrorReply(r), false, JSON.stringify(r));
  });
  test('errors', () => {
    for (const r of [
      'Unknown command, but maybe one of the following ones is a better match:\n  add acl [@<ver>] <acl> <pattern> : add an acl entry\n',
      "Unknown command: 'foo', but maybe one of the following ones is a better match:\n",
      'Key not found.\n',
      'Unknown map identifier. Please use #<id> or <file>.\n',
      'Unknown ACL identifier. Please use #<id> or <file>.\n',
      "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n",
      'No such table\n',
      'Permission denied\n',
      "[0]: error: 'x'\n",
      'something unexpected\n',
    ]) {
      assert.equal(isErrorReply(r), true, JSON.stringify(r));
    }
  });
});

describe('socketClient refuses to chain commands', () => {
  let srv: NetServer;
  let path: string;
  let dir: string;
  let connections = 0;
  let received = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hm-sock-'));
    path = join(dir, 'fake.sock');
    srv = createServer((s) => {
      connections++;
      s.setEncoding('utf8');
      s.on('data', (d: string) => (received += d));
      s.on('end', () => s.end('ok\n'));
    });
    await new Promise<void>((r) => srv.listen(path, () => r()));
  });
  after(async () => {
    await new Promise((r) => srv.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('";", "\\n" and "\\r" are refused before anything is sent', async () => {
    const c = socketClient(path, 2000);
    for (const cmd of ['show info;show env', 'add map /x 1.2.3.4 1; clear map /x', 'show info\nshow env', 'show info\r\nshow env', 'show info\n']) {
      await assert.rejects(c.send(cmd), (e: unknown) => e instanceof RuntimeError && /newline or ";"/.test(e.message), JSON.stringify(cmd));
    }
    assert.equal(connections, 0);
    assert.equal(received, '');
  });
  test('a payload with an empty line is refused before anything is sent', async () => {
    const c = socketClient(path, 2000);
    await assert.rejects(c.send('add map /x <<', { payload: '1.2.3.4 1\n\nshow env' }), RuntimeError);
    assert.equal(connections, 0);
  });
  test('a plain command is sent with one newline, and its answer read', async () => {
    const c = socketClient(path, 2000);
    assert.equal(await c.send('show info'), 'ok\n');
    assert.equal(received, 'show info\n');
    assert.equal(connections, 1);
  });
  test('no answer within the timeout is a RuntimeError', async () => {
    const mute = createServer(() => {});
    const p = join(dir, 'mute.sock');
    await new Promise<void>((r) => mute.listen(p, () => r()));
    try {
      const t0 = Date.now();
      await assert.rejects(socketClient(p, 200).send('show info'), (e: unknown) => e instanceof RuntimeError && /no answer/.test(e.message));
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      mute.close();
    }
  });
  test('a missing socket is a RuntimeError', async () => {
    await assert.rejects(socketClient(join(dir, 'nope.sock'), 500).send('show info'), (e: unknown) => e instanceof RuntimeError && /cannot talk/.test(e.message));
  });
});

// --- Against a real HAProxy ------------------------------------------------

for (const b of BINARIES) {
  describe(`${b.name}: live runtime API`, () => {
    let dir: string;
    let h: RunningHaproxy;
    let port: number;
    let stats: SocketClient;
    let master: SocketClient;
    let mapFile: string;
    let aclFile: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hm-rt-'));
      port = await freePort();
      mapFile = join(dir, 'blocked.map');
      aclFile = join(dir, 'trusted.list');
      writeFileSync(mapFile, '198.51.100.1 1\n2001:db8:1::/48 1\n');
      writeFileSync(aclFile, '203.0.113.0/24\n');
      h = await startWithSockets(b.bin, dir, port, [
        'frontend web',
        `  bind 127.0.0.1:${port}`,
        '  stick-table type ipv6 size 1k expire 10m store conn_cur,conn_rate(10s),http_req_rate(10s),http_err_rate(30s)',
        '  http-request track-sc0 src',
        `  acl trusted src -f ${aclFile}`,
        `  http-request set-var(txn.blocked) src,map_ip(${mapFile},0)`,
        '  http-request return status 200 content-type text/plain string ok',
      ]);
      stats = socketClient(join(dir, 'run', 'stats.sock'), 5000);
      master = socketClient(join(dir, 'run', 'master.sock'), 5000);
    });
    after(async () => {
      await h?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('show proc parses: master, one worker, the running version', async () => {
      // Right after start the worker may not be listed yet (and a loaded machine is slow): poll.
      let raw = '';
      let p: ReturnType<typeof parseShowProc> = null;
      for (let i = 0; i < 100 && (!p || p.workers.length === 0); i++) {
        if (i) await sleep(100);
        raw = await master.send('show proc').catch((e: Error) => `(error: ${e.message})`);
        p = parseShowProc(raw);
      }
      assert.ok(p, `show proc did not parse:\n${raw}`);
      assert.equal(p.masterPid, h.child.pid, raw);
      assert.equal(p.reloads, 0, raw);
      assert.equal(p.failedReloads, 0, raw);
      assert.equal(p.workers.length, 1, raw);
      assert.ok(p.workers[0]!.pid > 0 && p.workers[0]!.pid !== p.masterPid);
      assert.match(p.workers[0]!.version, b.name === 'haproxy-2.6' ? /^2\.6\./ : /^3\.0\./);
    });

    test('show table after a request: parsed by name', async () => {
      await new Promise<void>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        }).on('error', reject);
      });
      const raw = await stats.send('show table web');
      const t = parseShowTable(raw);
      assert.deepEqual(t.header, { table: 'web', type: 'ipv6', size: '1024', used: '1' }, raw);
      assert.equal(t.entries.length, 1, raw);
      const e = t.entries[0]!;
      assert.equal(e.key, '::ffff:127.0.0.1');
      assert.equal(e['http_req_rate(10000)'], '1');
      assert.equal(e['conn_rate(10000)'], '1');
      assert.equal(e['http_err_rate(30000)'], '0');
      assert.match(e.conn_cur!, /^[01]$/);
      assert.match(e.exp!, /^\d+$/);
      if (b.name === 'haproxy-3.0') assert.match(e.shard!, /^\d+$/, raw);
      assert.throws(() => parseShowTable(''), RuntimeError);
    });

    test('show map / show acl parse to the file\'s keys', async () => {
      assert.deepEqual(parseListDump(await stats.send(`show map ${mapFile}`)), ['198.51.100.1', '2001:db8:1::/48']);
      assert.deepEqual(parseListDump(await stats.send(`show acl ${aclFile}`)), ['203.0.113.0/24']);
      assert.deepEqual(parseListDump(await stats.send('show map')), []);
    });

    test('isErrorReply on real answers', async () => {
      assert.equal(isErrorReply(await stats.send(`show map /nonexistent.map`)), true);
      assert.equal(isErrorReply(await stats.send(`del map ${mapFile} 192.0.2.99`)), true);
      assert.equal(isErrorReply(await stats.send('no such command')), true);
      assert.equal(isErrorReply(await stats.send(`add map ${mapFile} 192.0.2.200 1`)), false);
      assert.equal(isErrorReply(await stats.send(`del map ${mapFile} 192.0.2.200`)), false);
    });

    const count = async (kind: 'map' | 'acl', file: string, key: string) => parseListDump(await stats.send(`show ${kind} ${file}`)).filter((k) => k === key).length;

    for (const key of ['192.0.2.7', '10.20.0.0/16', '2001:db8:abcd::1', '2001:db8:ab00::/40']) {
      test(`setListEntry map ${key}: add, add again, delete, delete again`, async () => {
        await setListEntry(stats, 'map', mapFile, key, true);
        assert.equal(await count('map', mapFile, key), 1);
        await setListEntry(stats, 'map', mapFile, key, true);
        assert.equal(await count('map', mapFile, key), 1, 'a second add must not create a duplicate');
        await setListEntry(stats, 'map', mapFile, key, false);
        assert.equal(await count('map', mapFile, key), 0);
        await setListEntry(stats, 'map', mapFile, key, false);
        assert.equal(await count('map', mapFile, key), 0);
        // The entries loaded from the file are untouched.
        assert.deepEqual(parseListDump(await stats.send(`show map ${mapFile}`)), ['198.51.100.1', '2001:db8:1::/48']);
      });
    }

    test('setListEntry map: the value is stored', async () => {
      await setListEntry(stats, 'map', mapFile, '192.0.2.8', true, '7');
      assert.match(await stats.send(`show map ${mapFile}`), /^0x[0-9a-f]+ 192\.0\.2\.8 7$/m);
      await setListEntry(stats, 'map', mapFile, '192.0.2.8', false);
    });

    test('setListEntry acl: add, add again, delete, delete again', async () => {
      const key = '192.0.2.0/25';
      await setListEntry(stats, 'acl', aclFile, key, true);
      assert.equal(await count('acl', aclFile, key), 1);
      await setListEntry(stats, 'acl', aclFile, key, true);
      assert.equal(await count('acl', aclFile, key), 1);
      await setListEntry(stats, 'acl', aclFile, key, false);
      assert.equal(await count('acl', aclFile, key), 0);
      await setListEntry(stats, 'acl', aclFile, key, false);
      assert.deepEqual(parseListDump(await stats.send(`show acl ${aclFile}`)), ['203.0.113.0/24']);
    });

    test('setListEntries: 1,200 map keys of both families in payloads (more than one), read back with their value; present ones not doubled; all removed; acl too', async () => {
      const keys = Array.from({ length: 1200 }, (_, i) => (i % 2 ? `192.0.${i >> 8}.${i & 255}` : `2001:db8:77::${i.toString(16)}`));
      await setListEntries(stats, 'map', mapFile, [...keys.slice(0, 10), ...keys], true, '9');
      const dump = await stats.send(`show map ${mapFile}`);
      const have = parseListDump(dump);
      for (const k of keys) assert.equal(have.filter((x) => x === k).length, 1, k);
      assert.match(dump, /^0x[0-9a-f]+ 192\.0\.0\.1 9$/m);
      await setListEntries(stats, 'map', mapFile, keys.slice(0, 600), true);
      assert.equal(parseListDump(await stats.send(`show map ${mapFile}`)).length, 1202, 'present keys are not added twice');
      await setListEntries(stats, 'map', mapFile, keys, false);
      assert.deepEqual(parseListDump(await stats.send(`show map ${mapFile}`)), ['198.51.100.1', '2001:db8:1::/48']);
      await setListEntries(stats, 'acl', aclFile, ['192.0.2.0/25', '192.0.2.128/25'], true);
      assert.deepEqual(parseListDump(await stats.send(`show acl ${aclFile}`)).sort(), ['192.0.2.0/25', '192.0.2.128/25', '203.0.113.0/24']);
      await setListEntries(stats, 'acl', aclFile, ['192.0.2.0/25', '192.0.2.128/25'], false);
      await assert.rejects(setListEntries(stats, 'map', mapFile, ['192.0.2.1 1\nadd map x'], true), RuntimeError, 'a key that is not an address never reaches a payload');
    });

    test('setListEntry on a file HAProxy does not know is a RuntimeError', async () => {
      await assert.rejects(setListEntry(stats, 'map', join(dir, 'unknown.map'), '192.0.2.1', true), (e: unknown) => e instanceof RuntimeError && /does not know/.test(e.message));
      await assert.rejects(setListEntry(stats, 'acl', join(dir, 'unknown.list'), '192.0.2.1', true), RuntimeError);
    });

    test('a key with ";" or a newline is refused and nothing changes', async () => {
      const before = await stats.send(`show map ${mapFile}`);
      for (const key of [`192.0.2.9;clear map ${mapFile}`, `192.0.2.9\nclear map ${mapFile}`, '192.0.2.9 1\nadd map x y z']) {
        await assert.rejects(setListEntry(stats, 'map', mapFile, key, true), RuntimeError, JSON.stringify(key));
      }
      await assert.rejects(stats.send(`show map ${mapFile};clear map ${mapFile}`), RuntimeError);
      await assert.rejects(master.send('show proc;@1 show info'), RuntimeError);
      assert.equal(await stats.send(`show map ${mapFile}`), before);
    });

    test('commands on one socket are serialized: concurrent sends all get their own answers', async () => {
      const keys = Array.from({ length: 20 }, (_, i) => `192.0.2.${100 + i}`);
      await Promise.all(keys.map((k) => setListEntry(stats, 'map', mapFile, k, true)));
      const have = parseListDump(await stats.send(`show map ${mapFile}`));
      for (const k of keys) assert.equal(have.filter((x) => x === k).length, 1, k);
      await Promise.all(keys.map((k) => setListEntry(stats, 'map', mapFile, k, false)));
      assert.deepEqual(parseListDump(await stats.send(`show map ${mapFile}`)), ['198.51.100.1', '2001:db8:1::/48']);
    });

    // Last: it reloads HAProxy.
    test('show proc after a reload while the old worker still holds a connection', async () => {
      const before = parseShowProc(await master.send('show proc'));
      assert.ok(before && before.workers.length === 1);
      const oldPid = before.workers[0]!.pid;
      // A half-sent request keeps the old worker alive after the reload.
      const held = createConnection({ host: '127.0.0.1', port });
      await new Promise<void>((r) => held.once('connect', () => r()));
      held.write('GET / HTTP/1.1\r\nHost: x\r\n');
      try {
        await sleep(200);
        await master.send('reload');
        let raw = '';
        for (let i = 0; i < 100; i++) {
          // 2.6 re-executes the master on reload: its socket refuses connections for a moment.
          raw = await master.send('show proc').catch(() => '');
          if (/^# old workers/m.test(raw) && /^# workers\n\d+/m.test(raw)) break;
          await sleep(50);
        }
        assert.match(raw, /^# old workers\n\d+\s+worker/m, `no old worker listed:\n${raw}`);
        const p = parseShowProc(raw);
        assert.ok(p, raw);
        assert.equal(p.reloads, 1, raw);
        assert.equal(p.workers.length, 1, `expected only the new worker, got ${JSON.stringify(p.workers)} from\n${raw}`);
        assert.notEqual(p.workers[0]!.pid, oldPid);
        assert.equal(p.workers[0]!.reloads, 0);
      } finally {
        held.destroy();
      }
    });
  });
}
