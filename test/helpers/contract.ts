/**
 * Every answer the end-to-end suites get through the harness (`t.api`) is
 * checked against the route's declared contract (src/api/contract/route.ts):
 * the route is declared, the status is one it declares (or an error status
 * the document lists for every route), a JSON body matches the status's
 * schema, an error is the one envelope, and no key anywhere is camelCase.
 * A mismatch throws, so the test that made the request fails and says why.
 *
 * With HM_CONTRACT_LOG=<file>, each checked answer appends "<operationId>
 * <status>" to the file (what the suites exercise).
 */
import { appendFileSync } from 'node:fs';
import '../../src/api/app.js';
import { declaredRoutes, type RouteSpec } from '../../src/api/contract/route.js';
import { errorEnvelope } from '../../src/api/schemas/common.js';
import { errorStatuses } from '../../src/api/contract/openapi.js';

const compiled = () =>
  declaredRoutes().map((spec) => ({ spec, re: new RegExp(`^${spec.path.replace(/[.]/g, '\\.').replace(/:[A-Za-z_]+/g, '[^/]+')}$`) }));
let routes: ReturnType<typeof compiled> | null = null;

export function specFor(method: string, path: string): RouteSpec | null {
  routes ??= compiled();
  const p = path.split('?')[0]!;
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return routes.find((r) => r.spec.method === m && r.re.test(p))?.spec ?? null;
}

function camelKeys(v: unknown, at: string, out: string[]): void {
  if (Array.isArray(v)) v.forEach((x, i) => camelKeys(x, `${at}[${i}]`, out));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (/^[a-z][a-z0-9]*[A-Z]/.test(k)) out.push(`${at}.${k}`);
      camelKeys(x, `${at}.${k}`, out);
    }
  }
}

export function checkAnswer(method: string, path: string, status: number, contentType: string, body: string): void {
  const where = `${method} ${path} -> ${status}`;
  const spec = specFor(method, path);
  const isJson = /^application\/json/.test(contentType);
  const json = (): unknown => {
    try {
      return JSON.parse(body);
    } catch {
      throw new Error(`contract: ${where}: the body is not JSON: ${body.slice(0, 200)}`);
    }
  };
  if (!spec) {
    if (status !== 404 && status !== 405) throw new Error(`contract: ${where}: no route is declared for ${method} ${path.split('?')[0]}`);
    const e = errorEnvelope.safeParse(json());
    if (!e.success) throw new Error(`contract: ${where}: not the error envelope: ${body.slice(0, 300)}`);
    return;
  }
  const answer = spec.responses[status];
  if (process.env.HM_CONTRACT_LOG) appendFileSync(process.env.HM_CONTRACT_LOG, `${spec.id} ${status}\n`);
  // Beside its own statuses, a route may answer the error statuses the document lists for it (contract/openapi.ts).
  if (!answer && !errorStatuses(spec).includes(status)) throw new Error(`contract: ${where}: ${spec.id} does not declare status ${status}: ${body.slice(0, 300)}`);
  const schema = answer?.schema ?? (status >= 400 ? errorEnvelope : undefined);
  if (!schema) {
    const want = answer?.contentType ?? 'application/json';
    if (!contentType.startsWith(want.split(';')[0]!)) throw new Error(`contract: ${where}: content type ${contentType}, declared ${want}`);
    return;
  }
  if (!isJson) throw new Error(`contract: ${where}: content type ${contentType}, declared JSON`);
  const value = json();
  // A route's error that has its own schema (health's 503, a certificate batch's 500) is checked by it; others by the envelope.
  const r = schema.safeParse(value);
  if (!r.success && !(status >= 400 && errorEnvelope.safeParse(value).success)) {
    const i = r.error.issues[0]!;
    throw new Error(`contract: ${where}: the answer does not match ${spec.id}'s schema at ${i.path.join('.') || '(root)'}: ${i.message}: ${body.slice(0, 400)}`);
  }
  if (spec.id !== 'openapi') {
    const camel: string[] = [];
    camelKeys(value, '$', camel);
    if (camel.length) throw new Error(`contract: ${where}: camelCase keys in the answer: ${camel.slice(0, 5).join(', ')}`);
  }
}
