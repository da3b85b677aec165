/** Trusted addresses (exempt from rate limits) and trusted proxies (whose headers are believed). */
import type Router from '@koa/router';
import { z } from 'zod';
import { actorOf, type ApiDeps } from '../context.js';
import { proxies, trusted } from '../../storage/ip-lists.js';
import { addProxy, removeProxy, trustIp, untrustIp } from '../../haproxy/changes/ip-lists.js';
import { judgeManualProxy, judgeManualTrust } from '../ip-entry.js';
import { mount, route } from '../contract/route.js';
import { proxyBody, proxyOk, proxyOut, proxyRemoveBody, removedOk, trustBody, trustedOk, trustedOut, untrustBody } from '../schemas/ip-lists.js';

const tooWide = { 403: { description: 'Wider than the guardrails allow (a trust never covers a whole family)' } };

export const listTrusted = route({
  id: 'listTrustedIps',
  method: 'GET',
  path: '/api/trusted-ips',
  tag: 'trusted',
  summary: 'Addresses exempt from rate limits',
  auth: 'api_key',
  responses: { 200: { description: 'The entries', schema: z.array(trustedOut), example: [{ id: 1, ip_address: '192.0.2.10', scope: 'real_ip', note: 'monitoring', created_at: '2026-12-01T10:00:00.000Z' }] } },
});
export const addTrusted = route({
  id: 'trustIp',
  method: 'POST',
  path: '/api/trusted-ips',
  tag: 'trusted',
  summary: 'Exempt an address or network from rate limits (live at once)',
  auth: 'api_key',
  body: trustBody,
  bodyExample: { ip_address: '192.0.2.10', scope: 'real_ip', note: 'monitoring' },
  responses: {
    201: { description: 'Trusted', schema: trustedOk, example: { status: 'success', id: 1, ip_address: '192.0.2.10', scope: 'real_ip', runtime_updated: true } },
    ...tooWide,
    409: { description: 'Already trusted in that scope' },
  },
});
export const removeTrusted = route({
  id: 'untrustIp',
  method: 'DELETE',
  path: '/api/trusted-ips',
  tag: 'trusted',
  summary: 'End a trust',
  auth: 'api_key',
  queryOrBody: true,
  body: untrustBody,
  bodyExample: { ip_address: '192.0.2.10' },
  responses: { 200: { description: 'Removed', schema: removedOk, example: { status: 'success', message: '192.0.2.10 no longer trusted', runtime_updated: true } }, 404: { description: 'Not trusted' } },
});
export const listProxies = route({
  id: 'listTrustedProxies',
  method: 'GET',
  path: '/api/trusted-proxies',
  tag: 'trusted',
  summary: 'Proxies whose X-Forwarded-For and Forwarded headers are believed',
  auth: 'api_key',
  responses: { 200: { description: 'The entries', schema: z.array(proxyOut), example: [{ id: 1, cidr: '10.1.0.0/16', note: 'load balancers', created_at: '2026-12-01T10:00:00.000Z' }] } },
});
export const addProxyRoute = route({
  id: 'addTrustedProxy',
  method: 'POST',
  path: '/api/trusted-proxies',
  tag: 'trusted',
  summary: 'Believe the forwarding headers of a proxy address or network (live at once)',
  auth: 'api_key',
  body: proxyBody,
  bodyExample: { cidr: '10.1.0.0/16', note: 'load balancers' },
  responses: {
    201: { description: 'Added', schema: proxyOk, example: { status: 'success', id: 1, cidr: '10.1.0.0/16', runtime_updated: true } },
    ...tooWide,
    409: { description: 'Already a trusted proxy' },
  },
});
export const removeProxyRoute = route({
  id: 'removeTrustedProxy',
  method: 'DELETE',
  path: '/api/trusted-proxies',
  tag: 'trusted',
  summary: 'Stop believing a proxy',
  auth: 'api_key',
  queryOrBody: true,
  body: proxyRemoveBody,
  bodyExample: { cidr: '10.1.0.0/16' },
  responses: { 200: { description: 'Removed', schema: removedOk, example: { status: 'success', message: '10.1.0.0/16 no longer a trusted proxy', runtime_updated: true } }, 404: { description: 'Not a trusted proxy' } },
});

export function trustedRoutes(r: Router, d: ApiDeps): void {
  mount(r, listTrusted, (ctx) => {
    ctx.body = trusted.list(d.reader);
  });
  mount(r, addTrusted, async (ctx, { body: b }) => {
    const ip = b.ip_address;
    const scope = b.scope ?? 'real_ip';
    judgeManualTrust(ip);
    const res = await trustIp(d.ops, actorOf(ctx), ip, scope, b.note ?? null);
    ctx.status = 201;
    ctx.body = { status: 'success', id: res.result, ip_address: ip, scope, runtime_updated: res.runtimeApplied };
  });
  mount(r, removeTrusted, async (ctx, { body: b }) => {
    const ip = b.ip_address;
    const res = await untrustIp(d.ops, actorOf(ctx), ip, b.scope ?? 'real_ip');
    ctx.body = { status: 'success', message: `${ip} no longer trusted`, runtime_updated: res.runtimeApplied };
  });

  mount(r, listProxies, (ctx) => {
    ctx.body = proxies.list(d.reader);
  });
  mount(r, addProxyRoute, async (ctx, { body: { cidr, note } }) => {
    judgeManualProxy(cidr);
    const res = await addProxy(d.ops, actorOf(ctx), cidr, note);
    ctx.status = 201;
    ctx.body = { status: 'success', id: res.result, cidr, runtime_updated: res.runtimeApplied };
  });
  mount(r, removeProxyRoute, async (ctx, { body: { cidr } }) => {
    const res = await removeProxy(d.ops, actorOf(ctx), cidr);
    ctx.body = { status: 'success', message: `${cidr} no longer a trusted proxy`, runtime_updated: res.runtimeApplied };
  });
}
