/**
 * The typed runtime API (src/haproxy/runtime/): reply classification on
 * HAProxy's known texts, the header-named parsers, and servers / stats /
 * tables / maps against a real HAProxy 2.6 and 3.0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, RuntimeError, socketClient, type Runtime } from '../../src/haproxy/runtime/index.js';
import { expectSuccess, isErrorReply } from '../../src/haproxy/runtime/replies.js';
import { parseReloadReply } from '../../src/haproxy/runtime/proc.js';
import { parseServersState, parseStat } from '../../src/haproxy/runtime/servers.js';
import { parseShowInfo } from '../../src/haproxy/runtime/stats.js';
import { AppError } from '../../src/errors.js';
import { BINARIES, freePort, sleep, startWithSockets, type RunningHaproxy } from './_haproxy.js';

// --- Reply classification ---------------------------------------------------

/** HAProxy's error answers (2.6 and 3.0 texts). */
const ERRORS = [
  'Unknown map identifier. Please use #<id> or <file>.\n',
  'Unknown ACL identifier. Please use #<id> or <file>.\n',
  'Key not found.\n',
  "Can't find backend.\n",
  "Can't unset the crt-list entry.\n",
  'Unknown command: \'frobnicate\'\n',
  'Unknown command. Please enter one of the following commands only :\n  help           : full commands list\n',
  'No such server.\n',
  'No such backend.\n',
  'Permission denied\n',
  'Require \'backend/server\'.\n',
  "'set server <srv> state' requires 'ready', 'drain' and 'maint'.\n",
  'Missing argument\n',
  'Unable to allocate memory\n',
  '[0]: error: something\n',
  'operation failed\n',
  'something HAProxy says we do not know\n',
];
const SUCCESSES = ['', '\n', 'Done.\n', 'Success!\n', 'Transaction created for certificate /x.pem!\n', 'Transaction updated for certificate /x.pem!\n', 'Transaction committed\n'];

test('every known error text is an error reply, and expectSuccess throws a runtime AppError naming the command', () => {
  for (const e of ERRORS) {
    assert.equal(isErrorReply(e), true, JSON.stringify(e));
    assert.throws(
      () => expectSuccess('set server web/s1 state ready', e),
      (err: unknown) => err instanceof RuntimeError && err instanceof AppError && err.kind === 'runtime' && /HAProxy refused "set server web\/s1 state ready"/.test(err.message),
      JSON.stringify(e),
    );
  }
});

test('the success shapes are ok', () => {
  for (const s of SUCCESSES) {
    assert.equal(isErrorReply(s), false, JSON.stringify(s));
    assert.equal(expectSuccess('add map /m 1.2.3.4 1', s), s);
  }
});

test('with an expected confirmation: it must be there and nothing else may read as an error', () => {
  assert.doesNotThrow(() => expectSuccess('commit ssl cert /x.pem', 'Committing /x.pem.\nSuccess!\n', /Success!/));
  assert.doesNotThrow(() => expectSuccess('new ssl cert /x.pem', "New empty certificate store '/x.pem'!\n", /New empty certificate store/));
  assert.throws(() => expectSuccess('commit ssl cert /x.pem', '', /Success!/), RuntimeError, 'an empty reply is not the confirmation');
  assert.throws(() => expectSuccess('commit ssl cert /x.pem', 'Committing /x.pem.\nError: unable to load.\nSuccess!\n', /Success!/), RuntimeError);
  // The payload never appears in the message.
  assert.throws(() => expectSuccess('set ssl cert /x.pem <<', 'Unknown command\n', /Transaction/), (e: Error) => !e.message.includes('<<'));
});

test('the master reload verdict: 3.0 ok / failed (with the ALERT lines), 2.6 pending', () => {
  assert.equal(parseReloadReply('Success=1\n--\n[NOTICE] loaded\n').outcome, 'ok');
  const f = parseReloadReply('Success=0\n--\n[ALERT]    (1) : config : parsing [x.cfg:3] : unknown keyword\n[NOTICE] fine\n');
  assert.equal(f.outcome, 'failed');
  assert.match(f.outcome === 'failed' ? f.why : '', /^\[ALERT\].*unknown keyword$/);
  assert.equal(parseReloadReply('').outcome, 'pending');
});

test('show stat is parsed by header name, whatever the column count and order, with quoted fields', () => {
  const csv = '# svname,pxname,weight,status,extra,check_status,last_chk,scur,check_duration\nFRONTEND,web,,OPEN,x,,,0,\ns1,be_web,3,UP,x,L4OK,"Layer4 check passed, ok",2,1\nBACKEND,be_web,3,UP,x,,,2,\n';
  const rows = parseStat(csv);
  assert.equal(rows.length, 3);
  assert.deepEqual([rows[1]!.pxname, rows[1]!.svname, rows[1]!.status, rows[1]!.last_chk, rows[1]!.scur], ['be_web', 's1', 'UP', 'Layer4 check passed, ok', '2']);
  assert.throws(() => parseStat('Unknown command\n'), RuntimeError);
  assert.throws(() => parseServersState('No such backend.\n'), RuntimeError);
  assert.throws(() => parseShowInfo(''), RuntimeError);
});

// --- Against a real HAProxy ------------------------------------------------

for (const b of BINARIES) {
  describe(`${b.name}: typed runtime API`, () => {
    let dir: string;
    let h: RunningHaproxy;
    let rt: Runtime;
    let up: NetServer;
    let mapFile: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hm-rtt-'));
      const port = await freePort();
      up = createServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\nok'));
      await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
      const upPort = (up.address() as { port: number }).port;
      mapFile = join(dir, 'm.map');
      writeFileSync(mapFile, '198.51.100.1 1\n');
      h = await startWithSockets(b.bin, dir, port, [
        'frontend web',
        `  bind 127.0.0.1:${port}`,
        '  stick-table type ipv6 size 1k expire 10m store conn_cur',
        `  http-request set-var(txn.m) src,map_ip(${mapFile},0)`,
        '  default_backend be_web',
        'backend be_web',
        `  server s1 127.0.0.1:${upPort} check inter 200ms weight 7`,
        `  server s2 127.0.0.1:${upPort} weight 5`,
      ]);
      rt = createRuntime(socketClient(join(dir, 'run', 'stats.sock'), 5000));
    });
    after(async () => {
      await h?.stop();
      up?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('servers.health: the backend row and each server, by header (check status and duration, weight, sessions)', async () => {
      let rows = await rt.servers.health('be_web');
      for (let i = 0; i < 50 && rows.find((r) => r.server === 's1')?.checkStatus !== 'L4OK'; i++) {
        await sleep(100);
        rows = await rt.servers.health('be_web');
      }
      assert.deepEqual(rows.map((r) => r.server ?? 'BACKEND'), ['s1', 's2', 'BACKEND']);
      const s1 = rows[0]!;
      assert.equal(s1.status, 'UP');
      assert.equal(s1.checkStatus, 'L4OK');
      assert.ok(s1.checkDurationMs !== null && s1.checkDurationMs >= 0);
      assert.equal(s1.weight, 7);
      assert.equal(s1.currentSessions, 0);
      assert.equal(rows[1]!.checkStatus, '', 's2 has no check');
      assert.deepEqual((await rt.servers.health('be_web', 's2')).map((r) => r.server ?? 'BACKEND'), ['s2', 'BACKEND']);
      assert.deepEqual(await rt.servers.health('nope'), []);
      // The column count differs between versions: parsed by name all the same.
      const head = Object.keys((await rt.servers.stat())[0]!);
      assert.ok(b.name === 'haproxy-2.6' ? head.length < 150 : head.length > 150, String(head.length));
    });

    test('servers.setState: drain, maint, ready, read back; an unknown server is a RuntimeError', async () => {
      const admin = async () => Number((await rt.servers.state('be_web')).find((r) => r.srv_name === 's2')!.srv_admin_state);
      await rt.servers.setState('be_web', 's2', 'drain');
      assert.equal((await admin()) & 0x08, 0x08);
      await rt.servers.setState('be_web', 's2', 'maint');
      assert.equal((await admin()) & 0x01, 0x01);
      await rt.servers.setState('be_web', 's2', 'ready', 5);
      assert.equal((await admin()) & 0x09, 0);
      await assert.rejects(rt.servers.setState('be_web', 'nope', 'maint'), RuntimeError);
      await assert.rejects(rt.servers.setState('nope', 's2', 'maint'), RuntimeError);
    });

    test('stats.info by name; dumpStatsFile on 3.0, a RuntimeError on 2.6', async () => {
      const info = await rt.stats.info();
      assert.equal(info.Name, 'HAProxy');
      assert.match(info.Version!, b.name === 'haproxy-2.6' ? /^2\.6\./ : /^3\.0\./);
      if (b.name === 'haproxy-3.0') assert.match(await rt.stats.dumpStatsFile(), /^#/);
      else await assert.rejects(rt.stats.dumpStatsFile(), RuntimeError);
    });

    test('observe: each command with its duration and outcome; a throwing observer changes nothing; unsubscribe stops it', async () => {
      const seen: { command: string; ms: number; ok: boolean }[] = [];
      const stop = rt.observe((command, ms, ok) => seen.push({ command, ms, ok }));
      const stopBad = rt.observe(() => {
        throw new Error('observer failure');
      });
      assert.equal((await rt.stats.info()).Name, 'HAProxy');
      await assert.rejects(rt.maps.keys('map', join(dir, 'none.map')), RuntimeError);
      stop();
      stopBad();
      await rt.stats.info();
      assert.deepEqual(seen.map((s) => s.command), ['show info', `show map ${join(dir, 'none.map')}`]);
      assert.ok(seen.every((s) => s.ms >= 0 && s.ok), 'HAProxy answered both (the second with an error text)');
      const dead = createRuntime(socketClient(join(dir, 'run', 'missing.sock'), 500));
      const failed: boolean[] = [];
      dead.observe((_c, _ms, ok) => failed.push(ok));
      await assert.rejects(dead.stats.info(), RuntimeError);
      assert.deepEqual(failed, [false]);
    });

    test('tables.show and maps: entries, set, clear (read back); unknown names are RuntimeErrors', async () => {
      assert.equal((await rt.tables.show('web')).header.table, 'web');
      await assert.rejects(rt.tables.show('nope'), RuntimeError);
      await rt.maps.set('map', mapFile, '192.0.2.1', true, '9');
      assert.equal((await rt.maps.entries(mapFile)).get('192.0.2.1'), '9');
      await rt.maps.clear('map', mapFile);
      assert.deepEqual(await rt.maps.keys('map', mapFile), []);
      await assert.rejects(rt.maps.keys('map', join(dir, 'none.map')), RuntimeError);
      await assert.rejects(rt.maps.clear('map', join(dir, 'none.map')), RuntimeError);
    });
  });
}
