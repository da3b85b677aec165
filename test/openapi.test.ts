/**
 * The OpenAPI document against the code it describes: every route the
 * router serves is in it (and nothing else), it is a valid OpenAPI 3.1
 * document, every operation has an example for each success answer, every
 * example validates (request examples through the zod schema the route
 * validates with, answers through the answer's schema and through the JSON
 * Schema the document publishes for it), and the copy shipped in the
 * repository is what the code generates. Live answers are checked against
 * the same schemas by the harness (helpers/contract.ts) in every e2e suite;
 * the last test here runs a daemon and reads the document it serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { apiRouter } from '../src/api/app.js';
import type { ApiDeps } from '../src/api/context.js';
import { declaredRoutes } from '../src/api/contract/route.js';
import { openApiDocument } from '../src/api/contract/openapi.js';
import { DAEMON_VERSION } from '../src/version.js';
import { HAPROXIES, startTestDaemon } from './helpers/harness.js';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; security: unknown[]; requestBody?: { content: Record<string, { schema: object; example?: unknown }> }; responses: Record<string, { content?: Record<string, { schema: object; example?: unknown }> }> }>>;
  components: { schemas: Record<string, object> };
};
const doc = openApiDocument(DAEMON_VERSION) as Doc;
const openPath = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');

test('every route the router serves is in the document, and the document has no route the router lacks', () => {
  // Mounting reads only the configured block maximum; no route runs here.
  const router = apiRouter({ cfg: { blocks: { max_duration_minutes: 525_600 } } } as unknown as ApiDeps);
  const served = new Set<string>();
  for (const layer of router.stack) for (const m of layer.methods) if (m !== 'HEAD') served.add(`${m} ${openPath(String(layer.path))}`);
  served.add('GET /metrics'); // served by its middleware before the router (api/metrics.ts), declared all the same
  const described = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
  assert.deepEqual([...served].filter((x) => !described.has(x)), [], 'served but not described');
  assert.deepEqual([...described].filter((x) => !served.has(x)), [], 'described but not served');
  assert.ok(described.size >= 45, `${described.size} operations`);
  // The original's paths are all there.
  for (const p of ['GET /api/domains', 'POST /api/domain', 'DELETE /api/domain', 'GET /api/regenerate', 'GET /api/reload', 'POST /api/ssl', 'POST /api/ssl/bundle', 'GET /api/certificates/status', 'POST /api/certificates/renew', 'GET /api/blocked-ips', 'POST /api/security/temporary-block', 'GET /health']) {
    assert.ok(described.has(p), p);
  }
});

test('the document is valid OpenAPI 3.1', async () => {
  const r = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
  assert.equal(r.valid, true, JSON.stringify(r.errors, null, 1)?.slice(0, 3000));
  assert.equal(doc.openapi, '3.1.0');
});

test('every operation states its auth, its error answers, and an example of each success answer', () => {
  for (const spec of declaredRoutes()) {
    const op = doc.paths[openPath(spec.path)]![spec.method.toLowerCase()]!;
    assert.equal(op.operationId, spec.id);
    assert.equal(op.security.length > 0, spec.auth !== 'none', `${spec.id}: security`);
    if (spec.auth !== 'none') assert.ok(op.responses['401'], `${spec.id}: 401`);
    assert.ok(op.responses['405'], `${spec.id}: 405`);
    if (spec.body || spec.query || spec.params) assert.ok(op.responses['400'], `${spec.id}: 400`);
    if (spec.body && !spec.queryOrBody) {
      assert.ok(op.requestBody?.content['application/json']?.example !== undefined, `${spec.id}: a request example`);
    }
    for (const [status, a] of Object.entries(op.responses)) {
      const c = Object.values(a.content ?? {})[0];
      assert.ok(c, `${spec.id} ${status}: content`);
      if (status.startsWith('4') || status.startsWith('5')) {
        assert.ok(c.schema, `${spec.id} ${status}: a schema`);
      }
    }
    const successExamples = Object.entries(op.responses).filter(([s, a]) => s.startsWith('2') && Object.values(a.content ?? {})[0]?.example !== undefined);
    assert.ok(successExamples.length >= 1, `${spec.id}: an example of a success answer`);
  }
});

test('every example validates: requests through the route\'s zod schema, answers through theirs and through the published JSON Schema', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats.default(ajv);
  let n = 0;
  for (const spec of declaredRoutes()) {
    if (spec.bodyExample !== undefined) {
      assert.ok(spec.body, `${spec.id}: an example without a schema`);
      const r = spec.body.safeParse(spec.bodyExample);
      assert.ok(r.success, `${spec.id}: the request example does not validate: ${JSON.stringify(r.error?.issues)}`);
      const js = doc.paths[openPath(spec.path)]![spec.method.toLowerCase()]!.requestBody?.content['application/json']?.schema;
      if (js) assert.ok(ajv.validate(js, spec.bodyExample), `${spec.id}: the request example against the document: ${ajv.errorsText()}`);
      n++;
    }
    for (const [status, a] of Object.entries(spec.responses)) {
      if (a.example === undefined || !a.schema) continue;
      const r = a.schema.safeParse(a.example);
      assert.ok(r.success, `${spec.id} ${status}: the example does not match its schema: ${JSON.stringify(r.error?.issues)}`);
      const js = Object.values(doc.paths[openPath(spec.path)]![spec.method.toLowerCase()]!.responses[status]!.content ?? {})[0]!.schema;
      assert.ok(ajv.validate(js, a.example), `${spec.id} ${status}: the example against the document's JSON Schema: ${ajv.errorsText()}`);
      n++;
    }
  }
  // The error envelope's example, and a wrong one, through the published schema.
  assert.ok(ajv.validate(doc.components.schemas.Error!, { status: 'error', error: 'validation', field: 'x', message: 'x: bad' }));
  assert.equal(ajv.validate(doc.components.schemas.Error!, { status: 'failed', error: 'reload failed' }), false);
  assert.ok(n >= 45, `${n} examples checked`);
});

test('a wrong request example is caught: the schemas refuse what the API refuses', () => {
  const save = declaredRoutes().find((s) => s.id === 'saveDomain')!;
  for (const bad of [{ domain: 'a.test' }, { domain: 'a.test', backend_name: 'a', servers: [{ name: 's', address: '127.0.0.1', port: 0 }] }, { domain: 'a.test', backend_name: 'a', is_wildcard: 'yes' }, { domain: 'a.test', backend_name: 'a', evil: 1 }]) {
    assert.equal(save.body!.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('the copy shipped in the repository is what the code generates (npm run openapi)', () => {
  const shipped = readFileSync(new URL('../src/api/openapi.json', import.meta.url), 'utf8');
  assert.equal(shipped, JSON.stringify(doc, null, 2) + '\n', 'src/api/openapi.json is out of date: run npm run openapi');
});

test(`${HAPROXIES[0]!.name}: the daemon serves the same document at GET /api/openapi.json, behind the API key; a wrong method is a 405 with Allow and the envelope`, async () => {
  const t = await startTestDaemon(HAPROXIES[0]!.bin);
  try {
    const r = await t.api('GET', '/api/openapi.json');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.deepEqual(r.json(), doc);
    const anon = await t.api('GET', '/api/openapi.json', undefined, { authorization: '' });
    assert.equal(anon.status, 401);
    const put = await t.api('PUT', '/api/domains');
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'HEAD, GET');
    assert.deepEqual(put.json(), { status: 'error', error: 'method_not_allowed', message: 'PUT is not allowed on /api/domains', detail: ['HEAD', 'GET'] });
    const del = await t.api('GET', '/api/domain');
    assert.equal(del.status, 405);
    assert.match(String(del.headers.allow), /POST/);
    assert.match(String(del.headers.allow), /DELETE/);
    const none = await t.api('GET', '/api/nothing-here');
    assert.equal(none.status, 404);
    assert.equal(none.json<{ error: string }>().error, 'not_found');

    // The routes no other suite calls, each once, so every route's live answer is checked against its schema (helpers/contract.ts).
    assert.equal((await t.api('POST', '/api/config/reload')).status, 200);
    const preview = await t.api('GET', '/api/config/preview');
    assert.equal(preview.status, 200);
    assert.equal(preview.json<{ diff: string }>().diff, '', 'in sync after the reload');
    assert.equal((await t.api('POST', '/api/blocked-ips', { ip_address: '203.0.113.9' })).status, 201);
    assert.equal((await t.api('POST', '/api/blocked-ips/sync')).json<{ total_ips: number }>().total_ips, 1);
    assert.equal((await t.api('POST', '/api/security/clear-expired')).status, 200);
    assert.equal((await t.api('POST', '/api/trusted-ips', { ip_address: '192.0.2.10', note: 'monitoring' })).status, 201);
    const untrust = await t.api('DELETE', '/api/trusted-ips?ip_address=192.0.2.10');
    assert.equal(untrust.status, 200, untrust.body);
    assert.equal((await t.api('GET', '/api/trusted-ips')).json<unknown[]>().length, 0);
  } finally {
    await t.stop();
  }
});
