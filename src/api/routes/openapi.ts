/** GET /api/openapi.json: the OpenAPI 3.1 document of this API, built from the routes' own schemas (contract/openapi.ts). */
import type Router from '@koa/router';
import { z } from 'zod';
import { mount, route } from '../contract/route.js';
import { openApiDocument } from '../contract/openapi.js';
import { DAEMON_VERSION } from '../../version.js';

export const openapi = route({
  id: 'openapi',
  method: 'GET',
  path: '/api/openapi.json',
  tag: 'health',
  summary: 'This document',
  auth: 'api_key',
  responses: { 200: { description: 'The OpenAPI 3.1 document', schema: z.object({ openapi: z.literal('3.1.0'), info: z.object({}).loose(), paths: z.record(z.string(), z.unknown()) }).loose(), example: { openapi: '3.1.0', info: { title: 'haproxy-manager', version: '0.1.0' }, paths: { '/health': {} } } } },
});

export function openapiRoutes(r: Router): void {
  // Sent as text: the document's own keys (operationId, requestBody) are not the API's snake_case data.
  let doc: string | null = null;
  mount(r, openapi, (ctx) => {
    doc ??= JSON.stringify(openApiDocument(DAEMON_VERSION), null, 2);
    ctx.type = 'application/json';
    ctx.body = doc;
  });
}
