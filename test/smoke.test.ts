import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody } from './helpers/harness.js';

for (const h of HAPROXIES) {
  test(`${h.name}: a domain added over the API routes to its server`, async () => {
    const be = await startBackend('one');
    const t = await startTestDaemon(h.bin);
    try {
      const r = await t.api('POST', '/api/domain', domainBody('smoke.test', 'smoke', [be.port]));
      assert.equal(r.status, 201, r.body);
      const g = await t.get('smoke.test');
      assert.equal(g.status, 200);
      assert.equal(g.json<{ server: string }>().server, 'one');
    } finally {
      await t.stop();
      await be.close();
    }
  });
}
