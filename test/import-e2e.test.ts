/**
 * POST /api/import and `haproxy-manager import` through a real daemon and
 * real HAProxy 2.6 and 3.0 (issue 13): a dry run changes nothing; apply
 * creates the domains in one change and a client request through HAProxy
 * reaches the imported backend; an existing domain is reported and kept;
 * bad inputs are 400s naming the field with nothing changed; the CLI prints
 * the report and exits 0, 1 or 2. A configuration this project rendered
 * itself, with path routes, basic auth and a site in maintenance, imports
 * with an empty report and serves the same: the routed path reaches the
 * other backend, the imported hash answers 401/200, maintenance 503 with
 * Retry-After.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encrypt } from 'unixcrypt';
import { HAPROXIES, startBackend, startTestDaemon, type TestDaemon } from './helpers/harness.js';
import { builtBin } from './helpers/built-cli.js';
import { render } from '../src/haproxy/config/render.js';
import { DEFAULT_SITE_OPTIONS } from '../src/storage/site-options.js';
import { backend, server } from './unit/_haproxy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const cfgFor = (port: number, port2: number) => `global
	daemon
defaults
	mode http
	timeout connect 5s
frontend web
	bind :80
	acl is_shop hdr(host) -i shop.import.test
	acl listed hdr(host) -i -f hosts.lst
	stick-table type ip size 1m
	http-request set-header X-Imported "yes \\"quoted\\"" if is_shop
	http-response set-header X-From-Import shop if is_shop
	use_backend shop if is_shop
	use_backend other if listed
backend shop
	balance leastconn
	server s1 127.0.0.1:${port} weight 10
	server s2 127.0.0.1:${port2} backup inter 3s
backend other
	server o1 127.0.0.1:${port2}
`;

/** What must not change on a refused or dry-run import: the live config, the generated maps and the domains. */
const state = async (t: TestDaemon) => ({
  cfg: readFileSync(t.daemon.cfg.paths.configPath, 'utf8'),
  hosts: readFileSync(join(t.daemon.cfg.paths.generatedDir, 'maps/hosts.map'), 'utf8'),
  domains: (await t.api('GET', '/api/domains')).body,
});

interface Answer {
  applied: boolean;
  reloaded: boolean;
  domains: Record<string, unknown>[];
  skipped: { file: string; line: number; text: string; reason: string }[];
  notes: string[];
}

for (const [n, h] of HAPROXIES.entries()) {
  test(`${h.name}: POST /api/import plans, applies in one change, and a request reaches the imported backend`, async () => {
    const main = await startBackend('imported-main');
    const spare = await startBackend('imported-spare');
    const t = await startTestDaemon(h.bin);
    try {
      const config = cfgFor(main.port, spare.port);
      const maps = { 'hosts.lst': 'listed.import.test\n' };
      const before = await state(t);

      // Dry run (the default): the plan and the report, nothing changed.
      const dry = await t.api('POST', '/api/import', { config, maps, file_name: 'site.cfg' });
      assert.equal(dry.status, 200, dry.body);
      const plan = dry.json<Answer>();
      assert.equal(plan.applied, false);
      assert.deepEqual(plan.domains.map((d) => d.domain), ['shop.import.test', 'listed.import.test']);
      assert.deepEqual(plan.domains[0]!.servers, [
        { name: 's1', address: '127.0.0.1', port: main.port, check: false, weight: 10 },
        { name: 's2', address: '127.0.0.1', port: spare.port, check: false, backup: true, weight: 1 },
      ]);
      assert.deepEqual(plan.domains[0]!.headers, { request: [{ action: 'set', name: 'X-Imported', value: 'yes "quoted"' }], response: [{ action: 'set', name: 'X-From-Import', value: 'shop' }] });
      const at = (line: number) => plan.skipped.filter((s) => s.file === 'site.cfg' && s.line === line).map((s) => s.reason);
      assert.deepEqual(at(10), ['"stick-table" is not expressible']);
      assert.deepEqual(at(18), ['server s2: "inter 3s" not expressible; the server is imported without it']);
      assert.match(at(2)[0]!, /a global setting/);
      assert.deepEqual(await state(t), before, 'a dry run changes nothing');

      // Apply: both domains in one change; traffic reaches the imported servers with the imported headers.
      const reloadsBefore = t.logs.filter((l) => /reload/i.test(l)).length;
      const applied = await t.api('POST', '/api/import', { config, maps, apply: true });
      assert.equal(applied.status, 200, applied.body);
      assert.equal(applied.json<Answer>().applied, true);
      const r = await t.get('shop.import.test', '/x');
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json<{ server: string }>().server, 'imported-main');
      assert.equal(main.seen.at(-1)!.headers['x-imported'], 'yes "quoted"');
      assert.equal(r.headers['x-from-import'], 'shop');
      assert.equal((await t.get('listed.import.test', '/')).json<{ server: string }>().server, 'imported-spare');
      const listed = (await t.api('GET', '/api/domains')).json<{ domain: string; backend_name: string; balance: string }[]>();
      assert.deepEqual(listed.map((d) => [d.domain, d.backend_name, d.balance]).sort(), [['listed.import.test', 'other', 'roundrobin'], ['shop.import.test', 'shop', 'leastconn']]);
      const importLines = t.logs.filter((l) => /domain\.import/.test(l));
      assert.ok(importLines.length >= 1, 'the change is logged as one domain.import');
      assert.ok(t.logs.filter((l) => /reload/i.test(l)).length > reloadsBefore);

      // Again: existing domains are reported and kept, nothing applied.
      const changed = config.replace(`server s1 127.0.0.1:${main.port}`, `server s1 127.0.0.1:${spare.port}`);
      const again = await t.api('POST', '/api/import', { config: changed, maps, apply: true });
      assert.equal(again.status, 200);
      const a2 = again.json<Answer>();
      assert.equal(a2.applied, false);
      assert.deepEqual(a2.domains, []);
      assert.ok(a2.skipped.some((s) => s.line === 13 && s.reason === 'shop.import.test exists already: kept as it is (an import never overwrites)'), JSON.stringify(a2.skipped));
      assert.equal((await t.get('shop.import.test')).json<{ server: string }>().server, 'imported-main', 'not overwritten');

      // Bad input: 400 naming the field and the reason, nothing changed.
      const kept = await state(t);
      const bad = async (b: unknown, field: string, reason: RegExp) => {
        const res = await t.api('POST', '/api/import', b);
        assert.equal(res.status, 400, res.body);
        const e = res.json<{ field: string; message: string }>();
        assert.equal(e.field, field, res.body);
        assert.match(e.message, reason);
      };
      await bad({ config: `${config}\0`, apply: true }, 'config', /control character \(U\+0000\)/);
      await bad({ config: 'x'.repeat(524_289), apply: true }, 'config', /at most 524288 characters/);
      await bad({ config: 'frontend a\r bind :80\n', apply: true }, 'config', /U\+000D\) not followed by a line feed/);
      await bad({ config: '', apply: true }, 'config', /must not be empty/);
      await bad({ config, apply: 'yes' }, 'apply', /true or false/);
      await bad({ config, maps: { 'hosts.lst': 5 }, apply: true }, 'maps.hosts.lst', /string/);
      await bad({ config, maps: { 'bad path': 'x' }, apply: true }, 'maps.bad path', /path as written/);
      await bad({ config, applied: true }, 'applied', /not a known field/);
      await bad({ config, file_name: '../x.cfg' }, 'file_name', /no directory/);
      await bad({ maps: {} }, 'config', /required/);
      assert.deepEqual(await state(t), kept, 'refused imports changed nothing');

      if (n === 0) await cliChecks(t);
    } finally {
      await t.stop();
      await main.close();
      await spare.close();
    }
  });
}

for (const h of HAPROXIES) {
  test(`${h.name}: the daemon's own haproxy.cfg with routes, basic auth and maintenance imports with an empty report and serves the same`, async () => {
    const main = await startBackend('own-main');
    const other = await startBackend('own-other');
    const t = await startTestDaemon(h.bin);
    try {
      // As another daemon rendered it (its generated files elsewhere): three sites.
      const root = '/srv/old-daemon/generated';
      const site = (o: Partial<typeof DEFAULT_SITE_OPTIONS>) => ({ ...DEFAULT_SITE_OPTIONS, ...o });
      const old = render(t.daemon.cfg, { h2FrontendTunables: true, statsFile: true, prometheusExporter: false }, {
        backends: [
          backend('app', ['app.own.test'], [server('m1', '127.0.0.1', main.port)], {
            site: site({
              routes: [{ path: '/api', match: 'prefix', backend: 'svc', stripPrefix: true }, { path: '/exact', match: 'exact', backend: 'svc', stripPrefix: false }],
              access: { deny: [], allow: [], trustedOnly: false, auth: { realm: 'Own realm', users: [{ name: 'alice', hash: encrypt('correct horse battery') }], paths: ['/admin'] } },
            }),
          }),
          backend('down', ['down.own.test'], [server('d1', '127.0.0.1', main.port)], { site: site({ maintenance: { enabled: true, retryAfter: 120 } }) }),
          // Routes both ways between app and svc: the apply creates the sites first and their routes after.
          backend('svc', ['svc.own.test'], [server('o1', '127.0.0.1', other.port)], { site: site({ routes: [{ path: '/back', match: 'exact', backend: 'app', stripPrefix: false }] }) }),
        ],
        blocked: [], trustedRealIp: [], trustedSource: [], trustedProxies: [], acmePort: null, crtList: null, tcpServices: [],
      }, root);
      const maps = Object.fromEntries([...old.files].filter(([rel]) => !rel.endsWith('.html') || rel.startsWith('pages/errors/')).map(([rel, text]) => [join(root, rel), text]));

      const res = await t.api('POST', '/api/import', { config: old.config, maps, apply: true });
      assert.equal(res.status, 200, res.body);
      const a = res.json<Answer & { tcp_services: unknown[] }>();
      assert.equal(a.applied, true);
      assert.deepEqual(a.skipped, [], 'nothing of the sites is lost');
      assert.deepEqual(a.domains.map((d) => d.domain).sort(), ['app.own.test', 'down.own.test', 'svc.own.test']);
      assert.match(a.notes[0]!, /^this is haproxy-manager's own configuration: \d+ lines of its machinery/);

      // A routed prefix reaches the other backend, stripped; an exact route too; the rest stays.
      const routed = await t.get('app.own.test', '/api/users?x=1');
      assert.equal(routed.status, 200, routed.body);
      assert.deepEqual([routed.json<{ server: string }>().server, routed.json<{ path: string }>().path], ['own-other', '/users?x=1']);
      assert.equal((await t.get('app.own.test', '/exact')).json<{ server: string }>().server, 'own-other');
      assert.equal((await t.get('app.own.test', '/apix')).json<{ server: string }>().server, 'own-main');
      assert.equal((await t.get('svc.own.test', '/back')).json<{ server: string }>().server, 'own-main');
      // Basic auth with the imported hash: 401 without or with a wrong password, 200 with the right one; other paths open.
      const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
      const denied = await t.get('app.own.test', '/admin');
      assert.equal(denied.status, 401);
      assert.match(String(denied.headers['www-authenticate']), /realm="Own realm"/);
      assert.equal((await t.get('app.own.test', '/admin', { headers: basic('alice', 'wrong password') })).status, 401);
      const ok = await t.get('app.own.test', '/admin/x', { headers: basic('alice', 'correct horse battery') });
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.json<{ server: string }>().server, 'own-main');
      // Maintenance: 503 with Retry-After, the site's backend never reached.
      const seen = main.seen.length;
      const down = await t.get('down.own.test', '/');
      assert.equal(down.status, 503);
      assert.equal(down.headers['retry-after'], '120');
      assert.equal(main.seen.length, seen);
      const listed = (await t.api('GET', '/api/domains')).json<{ domain: string; maintenance: unknown; routes: unknown; access: { auth: unknown } }[]>();
      assert.deepEqual(listed.find((d) => d.domain === 'down.own.test')!.maintenance, { enabled: true, retry_after: 120 });
      assert.deepEqual(listed.find((d) => d.domain === 'app.own.test')!.access.auth, { realm: 'Own realm', users: [{ name: 'alice' }], paths: ['/admin'] });
    } finally {
      await t.stop();
      await main.close();
      await other.close();
    }
  });
}

/** The CLI against the same daemon: the report, --json, and its exit codes. */
async function cliChecks(t: TestDaemon): Promise<void> {
  const dir = join(t.dir, 'import');
  mkdirSync(join(dir, 'lists'), { recursive: true });
  writeFileSync(join(dir, 'lists', 'hosts.lst'), 'cli.import.test\n');
  writeFileSync(join(dir, 'haproxy.cfg'), 'defaults\n mode http\nfrontend f\n use_backend cli if { hdr(host) -i -f lists/hosts.lst }\n option forwardfor\nbackend cli\n server c1 127.0.0.1:9\n');
  writeFileSync(join(dir, 'nul.cfg'), 'defaults\n mode http\0\n');
  writeFileSync(join(dir, 'key'), `${t.apiKey}\n`);
  // Asynchronous: the daemon answering the CLI runs in this very process.
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      execFile(process.execPath, [builtBin(), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, HAPROXY_MANAGER_API_KEY: '' } }, (e, out, err) => {
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, out, err });
      });
    });
  const cli = (...args: string[]) => run(['import', ...args]);
  const common = ['--config', join(t.dir, 'config.yaml'), '--url', `http://127.0.0.1:${t.apiPort}`, '--api-key-file', join(dir, 'key')];
  const dry = await cli(join(dir, 'haproxy.cfg'), ...common);
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, /^Would create \(dry run; --apply creates them\) 1 domain:\n {2}cli\.import\.test -> cli \(1 server\)\n/);
  assert.match(dry.out, /haproxy\.cfg:5: "option forwardfor": "option forwardfor" is not expressible/);
  assert.equal((await t.api('GET', '/api/domains')).json<{ domain: string }[]>().some((d) => d.domain === 'cli.import.test'), false, 'a dry run creates nothing');
  const json = await cli(join(dir, 'haproxy.cfg'), '--json', '--apply', ...common);
  assert.equal(json.code, 0, json.err);
  const a = JSON.parse(json.out) as Answer;
  assert.equal(a.applied, true);
  assert.deepEqual(a.domains.map((d) => d.domain), ['cli.import.test']);
  assert.equal((await t.api('GET', '/api/domains')).json<{ domain: string }[]>().some((d) => d.domain === 'cli.import.test'), true);
  // Exit codes: 2 for bad usage or input, 1 when the daemon cannot be reached.
  const missing = await cli(join(dir, 'nope.cfg'), ...common);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot read .*nope\.cfg/);
  const refused = await cli(join(dir, 'nul.cfg'), ...common);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /refused the import \(400\): config: contains a control character \(U\+0000\)/);
  assert.equal((await cli(join(dir, 'haproxy.cfg'), '--dry-run', '--apply', ...common)).code, 2);
  assert.equal((await cli(join(dir, 'haproxy.cfg'), ...common.slice(0, 2), '--url', 'ftp://x', '--api-key-file', join(dir, 'key'))).code, 2);
  const down = await cli(join(dir, 'haproxy.cfg'), ...common.slice(0, 2), '--url', 'http://127.0.0.1:9', '--api-key-file', join(dir, 'key'));
  assert.equal(down.code, 1);
  assert.match(down.err, /cannot reach the daemon's API/);
  const help = await cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /--dry-run[\s\S]*--apply[\s\S]*--json/);
}
