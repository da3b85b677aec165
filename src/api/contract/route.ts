/**
 * One description per route, used both to validate and to document: the
 * method and path, who may call it, the zod schemas of its query, path
 * parameters and body (which validate the request before the handler runs),
 * and the schema and an example of each answer (which the OpenAPI document
 * in contract/openapi.ts is built from, and the tests check live answers
 * against).
 *
 * Contract of validation: the body first passes the shared text check
 * (api/context.ts `body`), then its schema; the first problem is a 400
 * naming the field (`servers[1].port`) and the reason, and the handler never
 * runs. Unknown fields are reported before the others, as they were before
 * the schemas: a misspelled field is the likelier mistake.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { body as jsonBody } from '../context.js';
import { validationError } from '../../errors.js';
import { checkText } from '../../validate/text.js';

export type Auth = 'api_key' | 'metrics_token' | 'none';
export type Method = 'GET' | 'POST' | 'DELETE';

export interface Answer {
  description: string;
  /** The JSON body; absent for a body that is not JSON (see contentType). */
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  example?: unknown;
}

export interface RouteSpec {
  /** The OpenAPI operationId. */
  id: string;
  method: Method;
  /** Koa's form: /api/actions/:id. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** A request body that validates against `body` (checked by a test). */
  bodyExample?: unknown;
  /** Top-level body fields that hold a file's text (lines and tabs allowed; see api/context.ts body). */
  documents?: readonly string[];
  /** Query parameters that are also read from the body when it has them (the DELETE routes take both). */
  queryOrBody?: boolean;
  responses: Record<number, Answer>;
}

const REGISTRY = new Map<string, RouteSpec>();

/** Declares a route; the registry is what the OpenAPI document lists. */
export function route<const S extends RouteSpec>(spec: S): S {
  const key = `${spec.method} ${spec.path}`;
  if (REGISTRY.has(key) && REGISTRY.get(key) !== spec) throw new Error(`route ${key} is declared twice`);
  REGISTRY.set(key, spec);
  return spec;
}

export const declaredRoutes = (): RouteSpec[] => [...REGISTRY.values()];

/** A zod path as the API names fields: servers[1].port. */
export function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(body)';
}

/** The first issue as a validation error: unknown fields first, then in the order of the fields. */
export function issueError(issues: readonly z.core.$ZodIssue[]): Error {
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const key = String(unknown.keys[0]).slice(0, 40);
    return validationError(fieldOf([...unknown.path, key]), 'is not a known field');
  }
  const i = issues[0]!;
  const absent = i.code === 'invalid_type' && (i.expected === 'nonoptional' || /received undefined$/.test(i.message));
  return validationError(fieldOf(i.path), absent ? 'is required' : i.message);
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw issueError(r.error.issues);
  return r.data;
}

/** Query values pass the shared text check; a parameter given twice is a list, which a field's schema refuses. */
function queryOf(ctx: Context): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx.query)) out[k] = typeof v === 'string' ? checkText(v, k) : v;
  return out;
}

export interface Input<S extends RouteSpec> {
  params: S['params'] extends z.ZodObject ? z.output<S['params']> : Record<string, never>;
  query: S['query'] extends z.ZodObject ? z.output<S['query']> : Record<string, never>;
  body: S['body'] extends z.ZodType ? z.output<S['body']> : Record<string, never>;
}

/**
 * Registers the route on the router: the request is validated against the
 * spec, then the handler runs with the parsed values. For `queryOrBody`
 * routes, a query parameter fills a field the body does not have (a body
 * field that is present wins, even null: null is judged as sent).
 */
export function mount<S extends RouteSpec>(r: Router, spec: S, handler: (ctx: Context, input: Input<S>) => unknown, opts: { body?: S['body'] } = {}): void {
  // `opts.body`: the same schema with bounds from the running config (the document shows the defaults').
  const bodySchema = opts.body ?? spec.body;
  const method = spec.method.toLowerCase() as 'get' | 'post' | 'delete';
  r[method](spec.path, async (ctx) => {
    const params = spec.params ? parseWith(spec.params, ctx.params) : {};
    let b: Record<string, unknown> = spec.method === 'GET' ? {} : jsonBody(ctx, spec.documents);
    let query: unknown = {};
    if (spec.queryOrBody) {
      const q = queryOf(ctx);
      b = { ...Object.fromEntries(Object.entries(q).filter(([k]) => !Object.hasOwn(b, k))), ...b };
    } else if (spec.query) query = parseWith(spec.query, queryOf(ctx));
    const body = bodySchema ? parseWith(bodySchema, b) : {};
    await handler(ctx as Context, { params, query, body } as Input<S>);
  });
}
