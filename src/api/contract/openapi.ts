/**
 * The OpenAPI 3.1 document, built from the route registry (contract/route.ts)
 * and the zod schemas the routes validate with: nothing in it is written by
 * hand apart from the titles. Served at GET /api/openapi.json and written to
 * src/api/openapi.json by `npm run openapi` (a test fails when the shipped
 * file differs from what the code describes).
 *
 * Request schemas are described as the client sends them (zod's input side),
 * answers as the daemon writes them (the output side). Every operation lists
 * the error envelope for the statuses it can answer.
 */
import { z } from 'zod';
import { declaredRoutes, type RouteSpec } from './route.js';
import { errorEnvelope, errorExample } from '../schemas/common.js';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad input: the field and the reason; nothing changed',
  401: 'No valid key (Authorization: Bearer <key>)',
  403: 'Refused by a guardrail or the policy; nothing changed',
  504: 'A check (haproxy -c) or a command did not finish in time; nothing changed',
  507: 'The disk is full; nothing changed',
  404: 'Not found',
  405: 'Method not allowed on this path (see the Allow header)',
  409: 'Conflicts with what exists; nothing changed',
  413: 'Body over api.body_limit',
  415: 'A body that is not application/json',
  500: 'The daemon failed (see its log)',
  502: 'HAProxy refused the change (runtime API or reload); nothing changed',
  503: 'A part of the daemon is not running, or the database cannot be used',
};

type Json = Record<string, unknown>;

function jsonSchema(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12', reused: 'inline' }) as Json;
  delete out.$schema;
  return out;
}

const openPath = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'query', obj: z.ZodObject | undefined) => {
    if (!obj) return;
    const js = jsonSchema(obj, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = schema as { description?: string };
      out.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest });
    }
  };
  add('path', spec.params);
  add('query', spec.query);
  if (spec.queryOrBody && spec.body) {
    // DELETE routes: each body field may be given as a query parameter instead.
    const js = jsonSchema(spec.body, 'input') as { properties?: Record<string, Json> };
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = schema as { description?: string };
      out.push({ name, in: 'query', required: false, description: `${description ?? name} (instead of the body field)`, schema: rest });
    }
  }
  return out;
}

/**
 * The error statuses a route may answer beside those it declares, all with
 * the envelope: 405 and 500 anywhere, 401 behind a key, 400 with input, 413
 * and 415 with a body, and for a change (POST, DELETE) what applying it can
 * meet: HAProxy refusing (502), the daemon or the disk unable (503, 507), a
 * check that did not finish (504).
 */
export function errorStatuses(spec: RouteSpec): number[] {
  const s = new Set<number>([405, 500, 503]);
  if (spec.auth !== 'none') s.add(401);
  if (spec.body || spec.query || spec.params || spec.queryOrBody) s.add(400);
  if (spec.body) [413, 415].forEach((x) => s.add(x));
  if (spec.method !== 'GET' || ['regenerate', 'reload'].includes(spec.id)) [502, 504, 507].forEach((x) => s.add(x));
  for (const k of Object.keys(spec.responses)) s.delete(Number(k));
  return [...s].sort();
}

const security = (auth: RouteSpec['auth']) => (auth === 'none' ? [] : auth === 'metrics_token' ? [{ bearer: [] }, { metricsToken: [] }] : [{ bearer: [] }]);

function operation(spec: RouteSpec): Json {
  const responses: Json = {};
  for (const [status, a] of Object.entries(spec.responses)) {
    const type = a.contentType ?? 'application/json';
    const isError = Number(status) >= 400 && a.schema === undefined && type === 'application/json';
    const schema = a.schema ? jsonSchema(a.schema, 'output') : isError ? { $ref: '#/components/schemas/Error' } : { type: 'string' };
    responses[status] = { description: a.description, content: { [type]: { schema, ...(a.example !== undefined ? { example: a.example } : isError ? { example: errorExample } : {}) } } };
  }
  for (const status of errorStatuses(spec)) {
    responses[String(status)] = {
      description: STATUS_TEXT[status] ?? 'Error',
      ...(status === 405 ? { headers: { Allow: { schema: { type: 'string' }, description: 'The methods the path has' } } } : {}),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: { ...errorExample, ...(status === 400 ? {} : { error: 'see the status', field: undefined }) } } },
    };
  }
  return {
    operationId: spec.id,
    tags: [spec.tag],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    security: security(spec.auth),
    ...(parameters(spec).length ? { parameters: parameters(spec) } : {}),
    ...(spec.body && !spec.queryOrBody
      ? { requestBody: { required: spec.method === 'POST' && spec.body !== undefined, content: { 'application/json': { schema: jsonSchema(spec.body, 'input'), ...(spec.bodyExample !== undefined ? { example: spec.bodyExample } : {}) } } } }
      : spec.body
        ? { requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(spec.body, 'input'), ...(spec.bodyExample !== undefined ? { example: spec.bodyExample } : {}) } } } }
        : {}),
    responses,
  };
}

export function openApiDocument(version: string): Json {
  const paths: Record<string, Json> = {};
  for (const spec of declaredRoutes().sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method))) {
    const p = (paths[openPath(spec.path)] ??= {});
    p[spec.method.toLowerCase()] = operation(spec);
  }
  const env = jsonSchema(errorEnvelope, 'output');
  delete env.id;
  return JSON.parse(
    JSON.stringify({
      openapi: '3.1.0',
      info: {
        title: 'haproxy-manager',
        version,
        description:
          'The management API of haproxy-manager. Every answer is JSON with snake_case keys and ISO 8601 UTC times unless its content type says otherwise; every error has the same envelope (components.schemas.Error).',
      },
      servers: [{ url: 'http://127.0.0.1:8000' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'The API key (api.key_file, or the generated <state_dir>/api-key)' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'The read-only metrics token (api.metrics_token_file, or the generated <state_dir>/metrics-token): opens GET /metrics only' },
        },
        schemas: { Error: env },
      },
      paths,
    }),
  );
}
