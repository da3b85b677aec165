/**
 * Blocked addresses: the original's /api/blocked-ips (GET, POST, DELETE),
 * /api/blocked-ips/sync and /api/security/{temporary-block,clear-expired}.
 * Every address is validated and canonical before it reaches the database,
 * a map file or a runtime command; a block is judged by the guardrails'
 * coverage check first (api/ip-entry.ts): never loopback or wider than /16
 * (/32), a protected address only with `force: true` (audited).
 */
import type Router from '@koa/router';
import { actorOf, body, bodyOrQuery, type ApiDeps } from '../context.js';
import { blocked } from '../../storage/ip-lists.js';
import { blockIp, clearExpired, syncBlocked, unblockIp } from '../../haproxy/changes/ip-lists.js';
import { validateIp, validateNote } from '../../validate/names.js';
import { validationError } from '../../errors.js';
import { forceOf, judgeManualBlock } from '../ip-entry.js';

const view = (b: ReturnType<typeof blocked.list>[number]) => ({ ...b, expiry_time: b.expires_at });

export function blockedIpRoutes(r: Router, d: ApiDeps): void {
  r.get('/api/blocked-ips', (ctx) => {
    ctx.body = blocked.list(d.reader).map(view);
  });

  r.post('/api/blocked-ips', async (ctx) => {
    const b = body(ctx);
    const ip = validateIp(b.ip_address, 'ip_address', { allowCidr: true, exactNetwork: true });
    const reason = validateNote(b.reason, 'reason');
    // Absent: the caller. Sent (null and "" mean none): as sent.
    const blockedBy = b.blocked_by === undefined ? actorOf(ctx) : validateNote(b.blocked_by, 'blocked_by', 100);
    const forcedOver = judgeManualBlock(d, ip, forceOf(b.force));
    if (forcedOver.length) d.log.warn('a protected address is blocked by force', { actor: actorOf(ctx), ip, covers: forcedOver.join(',') });
    const res = await blockIp(d.ops, actorOf(ctx), { ip, reason, blockedBy, expiresAt: null, forcedOver }, { extendIfPresent: false });
    ctx.status = 201;
    ctx.body = {
      status: 'success',
      blocked_ip_id: res.result.id,
      ip_address: ip,
      message: `${ip} blocked`,
      runtime_map_updated: res.runtimeApplied,
      reloaded: res.reloaded,
      ...(res.warning ? { warning: res.warning } : {}),
    };
  });

  r.delete('/api/blocked-ips', async (ctx) => {
    const b = body(ctx);
    const ip = validateIp(bodyOrQuery(b, ctx, 'ip_address'), 'ip_address');
    const res = await unblockIp(d.ops, actorOf(ctx), ip);
    ctx.body = { status: 'success', message: `${ip} unblocked`, runtime_map_updated: res.runtimeApplied, reloaded: res.reloaded };
  });

  r.post('/api/blocked-ips/sync', async (ctx) => {
    const res = await syncBlocked(d.ops, actorOf(ctx));
    ctx.body = { status: 'success', total_ips: res.result.length, synced_ips: res.result.length, runtime_map_synced: res.runtimeApplied, reloaded: res.reloaded };
  });

  r.post('/api/security/temporary-block', async (ctx) => {
    const b = body(ctx);
    const ip = validateIp(b.ip_address, 'ip_address', { allowCidr: true, exactNetwork: true });
    const minutes = b.duration_minutes === undefined ? 60 : b.duration_minutes;
    if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > d.cfg.blocks.max_duration_minutes) {
      throw validationError('duration_minutes', `must be an integer from 1 to ${d.cfg.blocks.max_duration_minutes}`);
    }
    const reason = b.reason === undefined ? 'temporary block' : validateNote(b.reason, 'reason');
    const forcedOver = judgeManualBlock(d, ip, forceOf(b.force));
    if (forcedOver.length) d.log.warn('a protected address is blocked by force', { actor: actorOf(ctx), ip, covers: forcedOver.join(',') });
    const expiresAt = new Date(Date.now() + minutes * 60_000).toISOString();
    const res = await blockIp(d.ops, actorOf(ctx), { ip, reason, blockedBy: actorOf(ctx), expiresAt, forcedOver }, { extendIfPresent: true });
    const row = res.result.row;
    // A new block is created (201); one already there is extended, never shortened (200).
    ctx.status = res.result.existing ? 200 : 201;
    ctx.body = {
      status: 'success',
      message: row.expires_at === null ? `${ip} is permanently blocked; left permanent` : `${ip} blocked until ${row.expires_at}`,
      ip_address: ip,
      expires_at: row.expires_at,
      permanent: row.expires_at === null,
      created: !res.result.existing,
      runtime_map_updated: res.runtimeApplied,
    };
  });

  r.post('/api/security/clear-expired', async (ctx) => {
    const res = await clearExpired(d.ops, actorOf(ctx));
    ctx.body = { status: 'success', cleared_ips: res.result, runtime_map_failures: 0, runtime_map_updated: res.runtimeApplied };
  });
}
