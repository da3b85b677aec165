/**
 * One writer that never loses a write (real HAProxy 2.6 and 3.0): incidents
 * opened by real probes through HAProxy, while refused changes and dry runs
 * run back to back, are all kept, each with its own id; rows other units
 * write while a change is being checked (outbox, actions, file positions)
 * survive that change's failure; a second daemon on the same state
 * directory exits at once, naming the holder, and the first keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtBin } from './helpers/built-cli.js';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor, sleep } from './helpers/harness.js';
import { positions } from '../src/storage/incidents.js';
import { enqueueMessage } from '../src/pipeline/notify/outbox.js';
import { actions as actionStore } from '../src/storage/actions.js';

// The program compiled from the current sources (built-cli.ts), not bin/ of the checkout (which prefers a dist/ that may be older).
const MAIN = builtBin();

/** A server whose CA file does not exist: only `haproxy -c` refuses it (a 400 after the check ran). */
const refusedBody = (i: number) => ({ domain: `refused${i}.test`, backend_name: `refused${i}`, servers: [{ name: 's1', address: '127.0.0.1', port: 9, check: false, tls: true, tls_ca_file: '/nonexistent/ca.pem' }] });

for (const h of HAPROXIES) {
  test(`${h.name}: incidents opened while refused changes and dry runs run back to back are all kept, with their own ids`, async () => {
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin, { config: { monitor: { syslog: { address: '127.0.0.1', port: await freePort() }, incident_quiet: '10m' } } });
    let churn = true;
    const refusals: number[] = [];
    const dryRuns: number[] = [];
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      // Changes that hold the applier (a check that fails; a dry run) without pause.
      const loop = (async () => {
        for (let i = 0; churn; i++) {
          refusals.push((await t.api('POST', '/api/domain', refusedBody(i))).status);
          dryRuns.push((await t.api('POST', '/api/domain?dry_run=true', domainBody(`dry${i}.test`, `dry${i}`, [be.port]))).status);
        }
      })();
      const clients = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 10}`);
      for (const ip of clients) {
        await t.get('shop.test', '/.env', { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': ip, 'User-Agent': 'curl/8.0' } });
        await sleep(15);
      }
      type Inc = { id: number; rule: string; subject: { value: string } };
      const opened = () => t.api('GET', '/api/incidents?limit=500').then((r) => r.json<Inc[]>().filter((x) => x.rule === 'sensitive-files'));
      const all = await waitFor(async () => (await opened()).length >= clients.length, 15_000, 200);
      churn = false;
      await loop;
      const list = await opened();
      assert.ok(all, `${list.length} of ${clients.length} incidents kept`);
      assert.deepEqual(new Set(list.map((x) => x.subject.value)), new Set(clients), 'one incident per prober');
      assert.equal(new Set(list.map((x) => x.id)).size, list.length, 'no id reused');
      assert.ok(refusals.length >= 3 && refusals.every((s) => s === 400), `refused changes answered 400: ${refusals.join(',')}`);
      assert.ok(dryRuns.every((s) => s === 200), `dry runs answered 200: ${dryRuns.join(',')}`);
      // What the database holds is what HAProxy serves: no refused or dry-run domain got in.
      const domains = (await t.api('GET', '/api/domains')).json<{ domain: string }[]>().map((d) => d.domain);
      assert.deepEqual(domains, ['shop.test']);
      // The policy's blocks (runtime changes interleaved with the churn) are all recorded and live.
      // (The last ones may still queue behind the churn's changes.)
      let blocks: string[] = [];
      await waitFor(async () => {
        blocks = (await t.api('GET', '/api/blocked-ips')).json<{ ip_address: string }[]>().map((b) => b.ip_address);
        return clients.every((ip) => blocks.includes(ip));
      }, 15_000, 200);
      for (const ip of clients) assert.ok(blocks.includes(ip), `${ip} blocked`);
      assert.equal((await t.get('shop.test', '/', { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': clients[0]! } })).status, 403);
      assert.equal((await t.get('shop.test', '/', { localAddress: '127.0.0.12' })).status, 200);
    } finally {
      churn = false;
      await t.stop();
      await be.close();
    }
  });

  test(`${h.name}: rows other units write while a change is being checked survive the change's failure`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-slow-'));
    const wrapper = join(dir, 'haproxy');
    // The real binary, except that `-c` takes a second: a window in which other units write.
    writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = "-c" ]; then sleep 1; fi\nexec ${h.bin} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const t = await startTestDaemon(wrapper);
    try {
      const db = t.daemon.db.writer;
      const pending = t.api('POST', '/api/domain', refusedBody(1));
      await sleep(300);
      // The applier is inside its check now: a position, an outbox row and an action record.
      positions.set(db, 'file:/var/log/app.log', '{"offset":1234}');
      const msgId = enqueueMessage(db, 'ops-mail', { kind: 'opened', payload: { note: 'written during a failed apply' } } as never);
      const rec = actionStore.save(db, { id: 0, createdAt: Date.now(), updatedAt: Date.now(), incidentId: null, action: 'notify', target: null, ttlS: null, expiresAt: null, decidedBy: 'person', actor: 'test', mode: 'enforce', status: 'done', reason: 'written during a failed apply', analysisSummary: null, result: null, reviewedBy: null, revertsId: null } as never);
      const r = await pending;
      assert.equal(r.status, 400, r.body);
      assert.equal(positions.get(db, 'file:/var/log/app.log'), '{"offset":1234}', 'the file position survived');
      assert.ok(msgId, 'the outbox row was queued');
      assert.equal((t.daemon.db.reader.prepare('SELECT count(*) AS n FROM outbox WHERE message_id = ?').get(msgId) as { n: number }).n, 1, 'the outbox row survived');
      assert.ok(actionStore.get(t.daemon.db.reader, rec.id), 'the action record survived');
      // The refusal itself is audited.
      const audit = (await t.api('GET', '/api/audit?limit=5')).json<{ action: string; result: string }[]>();
      assert.ok(audit.some((a) => a.action === 'domain.upsert' && a.result === 'failed'), JSON.stringify(audit));
    } finally {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a second daemon on the same state directory exits non-zero at once, naming the holder; the first keeps serving', async () => {
  const be = await startBackend('app');
  const t = await startTestDaemon(HAPROXIES[0]!.bin);
  try {
    assert.equal((await t.api('POST', '/api/domain', domainBody('keep.test', 'keep', [be.port]))).status, 201);
    const t0 = Date.now();
    const second = spawnSync(process.execPath, [MAIN, 'run', '--config', join(t.dir, 'config.yaml')], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '' } });
    assert.ok(Date.now() - t0 < 15_000, 'exits at once');
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`another haproxy-manager \\(PID ${process.pid}\\) is running on the state directory`));
    assert.equal((await t.get('keep.test')).status, 200, 'the first daemon\'s HAProxy still serves');
    assert.equal((await t.api('GET', '/health')).status, 200);
    assert.equal((await t.api('POST', '/api/domain', domainBody('next.test', 'next', [be.port]))).status, 201, 'and still applies changes');
    assert.equal((await t.get('next.test')).status, 200);
  } finally {
    await t.stop();
    await be.close();
  }
});
