/** TCP services (issue 13): GET /api/tcp-services, POST /api/tcp-services (create or replace by name), DELETE /api/tcp-services/{name}. */
import type Router from '@koa/router';
import { z } from 'zod';
import { actorOf, type ApiDeps } from '../context.js';
import { listTcpServices } from '../../storage/tcp-services.js';
import { removeTcpService, saveTcpService } from '../../haproxy/changes/tcp-services.js';
import { mount, route } from '../contract/route.js';
import { tcpServiceBody, tcpServiceBodyExample, tcpServiceOut, tcpServiceParam, tcpServiceRemoved, tcpServiceSaved } from '../schemas/tcp-services.js';

export const list = route({
  id: 'listTcpServices',
  method: 'GET',
  path: '/api/tcp-services',
  tag: 'tcp-services',
  summary: 'Every TCP service (TLS passthrough by SNI, plain TCP ports) with its servers',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The services, by name',
      schema: z.array(tcpServiceOut),
      example: [
        { name: 'git', kind: 'tls_passthrough', sni: 'git.example.com', port: null, balance: 'roundrobin', send_proxy: false, servers: [{ name: 'git1', address: '10.0.0.21', port: 443, check: true, backup: false, weight: 100, maxconn: null }] },
        { name: 'pg', kind: 'tcp', sni: null, port: 5432, balance: 'leastconn', send_proxy: true, servers: [{ name: 'pg1', address: '10.0.0.31', port: 5432, check: true, backup: false, weight: 100, maxconn: 200 }] },
      ],
    },
  },
});

export const upsert = route({
  id: 'saveTcpService',
  method: 'POST',
  path: '/api/tcp-services',
  tag: 'tcp-services',
  summary: 'Create or replace a TCP service by name',
  description:
    'tls_passthrough: TLS connections to the HTTPS port whose SNI is `sni` go to the servers unread (their certificate, not HAProxy\'s); every other name still reaches the HTTP sites, terminated by HAProxy. tcp: a port of its own on haproxy.bind_address. Blocked addresses are refused on the connection\'s own address. The configuration is rendered, checked with `haproxy -c`, swapped in and reloaded; a refused candidate changes nothing.',
  auth: 'api_key',
  body: tcpServiceBody,
  bodyExample: tcpServiceBodyExample,
  responses: {
    200: { description: 'Replaced', schema: tcpServiceSaved, example: { status: 'success', name: 'git', created: false, reloaded: true } },
    201: { description: 'Created', schema: tcpServiceSaved, example: { status: 'success', name: 'git', created: true, reloaded: true } },
    409: { description: 'The port is taken (by a setting or another service), the SNI is another service\'s or an HTTP domain, or passthrough without haproxy.https_port' },
  },
});

export const remove = route({
  id: 'removeTcpService',
  method: 'DELETE',
  path: '/api/tcp-services/:name',
  tag: 'tcp-services',
  summary: 'Remove a TCP service',
  auth: 'api_key',
  params: tcpServiceParam,
  responses: {
    200: { description: 'Removed', schema: tcpServiceRemoved, example: { status: 'success', message: 'TCP service git removed', reloaded: true } },
    404: { description: 'No such service' },
  },
});

export function tcpServiceRoutes(r: Router, d: ApiDeps): void {
  mount(r, list, (ctx) => {
    ctx.body = listTcpServices(d.reader).map((s) => ({ name: s.name, kind: s.kind, sni: s.sni, port: s.port, balance: s.balance, send_proxy: s.sendProxy, servers: s.servers }));
  });

  mount(r, upsert, async (ctx, { body: input }) => {
    const { result, apply } = await saveTcpService(d.ops, actorOf(ctx), input);
    ctx.status = result.created ? 201 : 200;
    ctx.body = { status: 'success', name: input.name, created: result.created, reloaded: apply.reloaded, ...(apply.warning ? { warning: apply.warning } : {}) };
  });

  mount(r, remove, async (ctx, { params: { name } }) => {
    const { apply } = await removeTcpService(d.ops, actorOf(ctx), name);
    ctx.body = { status: 'success', message: `TCP service ${name} removed`, reloaded: apply.reloaded };
  });
}
