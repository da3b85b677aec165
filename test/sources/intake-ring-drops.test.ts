/**
 * What HAProxy's ring loses is counted, on real HAProxy (2.6 and 3.0): the
 * daemon stops taking lines (its thread is busy: here it waits for a child
 * process that sends the requests) with a small queue bound, so the
 * receiving thread pauses the connection, HAProxy's small ring (16 KiB)
 * fills and HAProxy drops what does not fit; once the daemon takes lines
 * again, HAProxy sends what it held and announces the rest (`<n> events
 * dropped`). The source counts them as ring_dropped and dropped: every
 * request is then either a line delivered or a line counted.
 *
 * HAProxy 3.0 (3.0.11 here) in the same test drops from the full ring
 * without announcing it (about half of the lines, every run; with a 1 MiB
 * ring every line arrives): for it the test checks that the daemon counts
 * what is announced and loses nothing of what it was sent (every line
 * delivered once; a line the overflow garbled counted as dropped), not that
 * the sum is whole. The ring's size is
 * the guard there.
 *
 * (A ring with no reader connected at all drops nothing it counts: it
 * overwrites its oldest lines. That is the restart case the ring's size is
 * for.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAPROXIES, freePort } from '../helpers/harness.js';
import { SocketSource } from '../../src/pipeline/sources/socket-source.js';
import { Collector, tempDir, waitFor } from './helpers.js';

const REQUESTS = 1500;

for (const h of HAPROXIES) {
  test(`${h.name}: the lines a full ring dropped are counted as HAProxy announces them (ring_dropped); none delivered twice`, async () => {
    const { dir, cleanup } = tempDir('ring-drops');
    const sock = join(dir, 'log', 'haproxy.sock');
    const port = await freePort();
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      `global
  log ring@intake len 4096 format rfc5424 local0 info
ring intake
  format rfc5424
  maxlen 4096
  size 16384
  timeout connect 2s
  timeout server 10s
  server daemon unix@${sock}
defaults
  mode http
  log global
  option httplog
  timeout client 5s
  timeout server 5s
  timeout connect 1s
frontend web
  bind 127.0.0.1:${port}
  http-request return status 200 content-type text/plain string ok
`,
    );
    const hp = spawn(h.bin, ['-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    const c = new Collector();
    const src = new SocketSource({ name: 'haproxy', path: sock, group: null, maxQueuedBytes: 1 }, c.deps());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const get = (path: string) => new Promise<boolean>((resolve) => http.get({ host: '127.0.0.1', port, path, agent }, (r) => (r.resume(), r.on('end', () => resolve(true)))).on('error', () => resolve(false)));
    try {
      await src.start();
      let up = false;
      for (let i = 0; i < 50 && !up; i++) if (!(up = await get('/up'))) await new Promise((r) => setTimeout(r, 100));
      assert.ok(up, 'HAProxy answers');
      await waitFor(() => src.stats().connections === 1 && c.lines.length >= 1, 10_000, () => 'HAProxy connected to the intake and its first line arrived');
      // This thread is held while a child process sends the requests: nothing is taken, reading pauses, the ring fills.
      const child = spawnSync(
        process.execPath,
        [
          '-e',
          `const http = require('node:http'); const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
           const get = (i) => new Promise((res, rej) => http.get({ host: '127.0.0.1', port: ${port}, path: '/r' + i, agent }, (r) => { r.resume(); r.on('end', res); }).on('error', rej));
           (async () => { for (let i = 0; i < ${REQUESTS}; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => get(i + k))); agent.destroy(); })();`,
        ],
        { stdio: 'inherit', timeout: 60_000 },
      );
      assert.equal(child.status, 0, 'the requests were sent');
      // HAProxy announces its drops before the next line it writes: one more request.
      await waitFor(() => src.stats().read_pauses > 0, 10_000, () => 'reading paused');
      const total = REQUESTS + 2; // and /up, /last
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(await get('/last'));
      const announces = h.name === 'haproxy-2.6';
      // The last request's line is the last HAProxy writes: once it is delivered, everything sent was.
      await waitFor(() => c.texts().some((l) => l.includes('"GET /last HTTP/1.1"')), 20_000, () => `the last line (${src.stats().lines} delivered)`);
      const st = src.stats();
      const paths = c.texts().map((l) => /"GET \/r(\d+) /.exec(l)?.[1]).filter((x) => x !== undefined).map(Number);
      assert.equal(new Set(paths).size, paths.length, 'no line twice');
      assert.ok(st.lines < total, 'the 16 KiB ring dropped lines');
      if (announces) {
        assert.ok(st.ring_dropped > 0, 'HAProxy announced its drops');
        assert.equal(st.lines + st.ring_dropped, total, `delivered ${st.lines} + ring_dropped ${st.ring_dropped}`);
        assert.equal(st.dropped, st.ring_dropped);
      } else {
        assert.ok(st.lines + st.ring_dropped <= total, `delivered ${st.lines} + ring_dropped ${st.ring_dropped}`);
        // 3.0 can also send a line the overflow cut into garbage: counted as dropped (a decode error), not delivered.
        assert.equal(st.dropped, st.ring_dropped + st.decode_errors);
      }
      assert.ok(!c.texts().some((l) => /events? dropped/.test(l)), 'the announcements are not delivered as lines');
    } finally {
      agent.destroy();
      hp.kill();
      await src.stop();
      cleanup();
    }
  });
}
