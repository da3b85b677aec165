/**
 * Backup and restore around a real daemon with real HAProxy 2.6 and 3.0: the
 * retention unit runs at start; a backup taken while the API is writing is a
 * clean copy; restore refuses while the daemon holds the state directory
 * (exit 1, nothing changed); stopped, the backup is restored, and the daemon
 * started on it serves the domains of the backup and not the one added after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor, type TestDaemon } from './helpers/harness.js';
import { cli } from './helpers/cli.js';

for (const h of HAPROXIES) {
  test(`${h.name}: backup while the daemon writes, restore refused while it runs, restored daemon serves the backup's domains`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-restore-e2e-'));
    const httpPort = await freePort();
    const statsPort = await freePort();
    const be = await startBackend('kept');
    const config = join(dir, 'config.yaml');
    const stateDir = join(dir, 'state');
    const backup = join(dir, 'backup.db');
    let t: TestDaemon | null = await startTestDaemon(h.bin, { dir, httpPort, statsPort });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('kept.test', 'kept', [be.port]))).status, 201);
      assert.equal((await t.get('kept.test')).status, 200);
      const d = t;
      assert.ok(await waitFor(() => d.logs.some((l) => /^retention: history pruned .*audit=0/.test(l))), 'the retention unit ran at start');

      // Writes through the API while the backup runs.
      let writing = true;
      const writes = (async () => {
        let n = 0;
        while (writing && n < 200) {
          const r = await d.api('POST', '/api/blocked-ips', { ip_address: `198.51.100.${n % 250}`, reason: 'backup test' });
          assert.ok(r.status === 201 || r.status === 409, r.body);
          n++;
        }
        return n;
      })();
      const b = await cli(['backup', backup, '-c', config, '--json']);
      writing = false;
      assert.ok((await writes) > 0);
      assert.equal(b.code, 0, b.stderr);
      const snap = new Database(backup, { readonly: true });
      try {
        assert.equal(snap.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(snap.prepare('SELECT domain FROM domains').pluck().all(), ['kept.test']);
      } finally {
        snap.close();
      }

      // Refused while the daemon runs: exit 1, the state directory as it was.
      const listing = readdirSync(stateDir).sort();
      const refused = await cli(['restore', backup, '-c', config]);
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, new RegExp(`another haproxy-manager \\(PID ${process.pid}\\) is running on the state directory ${stateDir}`));
      assert.deepEqual(readdirSync(stateDir).sort(), listing);
      assert.equal((await t.api('GET', '/api/domains')).status, 200);

      // A change after the backup, which the restore undoes.
      assert.equal((await t.api('POST', '/api/domain', domainBody('gone.test', 'gone', [be.port]))).status, 201);
      assert.equal((await t.get('gone.test')).status, 200);
      await t.stop();
      t = null;

      const restored = await cli(['restore', backup, '-c', config]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(restored.stdout, /^restored .*haproxy-manager\.db from .*backup\.db: \d+ tables, [\d,]+ rows, schema version \d+\nthe database it replaced is kept as .*before-restore-/);

      t = await startTestDaemon(h.bin, { dir, httpPort, statsPort });
      const kept = await t.get('kept.test');
      assert.equal(kept.status, 200);
      assert.equal(kept.json<{ server: string }>().server, 'kept');
      assert.equal((await t.get('gone.test')).status, 404);
      const domains = (await t.api('GET', '/api/domains')).json<{ domain: string }[]>();
      assert.deepEqual(domains.map((x) => x.domain), ['kept.test']);
    } finally {
      await t?.stop();
      await be.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
