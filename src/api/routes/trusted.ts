/** Trusted addresses (exempt from rate limits) and trusted proxies (whose headers are believed). */
import type Router from '@koa/router';
import { actorOf, body, bodyOrQuery, type ApiDeps } from '../context.js';
import { proxies, trusted } from '../../storage/ip-lists.js';
import { addProxy, removeProxy, trustIp, untrustIp } from '../../haproxy/changes/ip-lists.js';
import { validateIp, validateNote } from '../../validate/names.js';
import { validationError } from '../../errors.js';
import { judgeManualProxy, judgeManualTrust } from '../ip-entry.js';

/** The scope as sent; "real_ip" only when absent (null is refused, not read as the default). */
function scopeOf(v: unknown): 'real_ip' | 'source' {
  if (v === undefined) return 'real_ip';
  if (v === 'real_ip' || v === 'source') return v;
  throw validationError('scope', 'must be "real_ip" (the client address, from trusted proxy headers) or "source" (the TCP peer)');
}

export function trustedRoutes(r: Router, d: ApiDeps): void {
  r.get('/api/trusted-ips', (ctx) => {
    ctx.body = trusted.list(d.reader);
  });
  r.post('/api/trusted-ips', async (ctx) => {
    const b = body(ctx);
    const ip = validateIp(b.ip_address, 'ip_address');
    const scope = scopeOf(b.scope);
    judgeManualTrust(ip);
    const res = await trustIp(d.ops, actorOf(ctx), ip, scope, validateNote(b.note, 'note'));
    ctx.status = 201;
    ctx.body = { status: 'success', id: res.result, ip_address: ip, scope, runtime_updated: res.runtimeApplied };
  });
  r.delete('/api/trusted-ips', async (ctx) => {
    const b = body(ctx);
    const ip = validateIp(bodyOrQuery(b, ctx, 'ip_address'), 'ip_address');
    const res = await untrustIp(d.ops, actorOf(ctx), ip, scopeOf(bodyOrQuery(b, ctx, 'scope')));
    ctx.body = { status: 'success', message: `${ip} no longer trusted`, runtime_updated: res.runtimeApplied };
  });

  r.get('/api/trusted-proxies', (ctx) => {
    ctx.body = proxies.list(d.reader);
  });
  r.post('/api/trusted-proxies', async (ctx) => {
    const b = body(ctx);
    // `ip_address` is the original's name for `cidr`.
    const cidr = validateIp(b.cidr !== undefined ? b.cidr : b.ip_address, 'cidr');
    judgeManualProxy(cidr);
    const res = await addProxy(d.ops, actorOf(ctx), cidr, validateNote(b.note, 'note'));
    ctx.status = 201;
    ctx.body = { status: 'success', id: res.result, cidr, runtime_updated: res.runtimeApplied };
  });
  r.delete('/api/trusted-proxies', async (ctx) => {
    const b = body(ctx);
    const cidr = validateIp(b.cidr === undefined && b.ip_address !== undefined ? b.ip_address : bodyOrQuery(b, ctx, 'cidr'), 'cidr');
    const res = await removeProxy(d.ops, actorOf(ctx), cidr);
    ctx.body = { status: 'success', message: `${cidr} no longer a trusted proxy`, runtime_updated: res.runtimeApplied };
  });
}
