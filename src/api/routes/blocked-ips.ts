/**
 * Blocked addresses: the original's /api/blocked-ips (GET, POST, DELETE),
 * /api/blocked-ips/sync and /api/security/{temporary-block,clear-expired}.
 * Every address is validated and canonical before it reaches the database,
 * a map file or a runtime command; a block is judged by the guardrails'
 * coverage check first (api/ip-entry.ts): never loopback or wider than /16
 * (/32), a protected address only with `force: true` (audited).
 */
import type Router from '@koa/router';
import { z } from 'zod';
import { actorOf, type ApiDeps } from '../context.js';
import { blocked } from '../../storage/ip-lists.js';
import { blockIp, clearExpired, syncBlocked, unblockIp } from '../../haproxy/changes/ip-lists.js';
import { judgeManualBlock } from '../ip-entry.js';
import { mount, route } from '../contract/route.js';
import { blockBody, blockDryRunOut, blockQuery, blockedOk, blockedOut, clearExpiredOk, ipAddressOnly, syncOk, temporaryBlockBody, temporaryBlockOk, unblockedOk } from '../schemas/ip-lists.js';

const view = (b: ReturnType<typeof blocked.list>[number]) => ({ ...b, expiry_time: b.expires_at });
const guarded = { 403: { description: 'A guardrail refused the range (loopback, the daemon\'s own path, too wide, or protected without force); detail names it and what the range covers' } };

export const list = route({
  id: 'listBlockedIps',
  method: 'GET',
  path: '/api/blocked-ips',
  tag: 'blocks',
  summary: 'Every blocked address or network',
  auth: 'api_key',
  responses: {
    200: {
      description: 'The blocks, by address',
      schema: z.array(blockedOut),
      example: [{ id: 1, ip_address: '203.0.113.7', reason: 'scanner', blocked_at: '2026-12-01T10:00:00.000Z', blocked_by: 'api', expires_at: null, expiry_time: null }],
    },
  },
});

export const add = route({
  id: 'blockIp',
  method: 'POST',
  path: '/api/blocked-ips',
  tag: 'blocks',
  summary: 'Block an address or network permanently (live at once through the runtime API)',
  auth: 'api_key',
  body: blockBody,
  query: blockQuery,
  bodyExample: { ip_address: '203.0.113.7', reason: 'scanner' },
  responses: {
    200: {
      description: 'With dry_run: what the block would do (nothing is changed)',
      schema: blockDryRunOut,
      example: { status: 'success', dry_run: true, ip_address: '203.0.113.0/24', already_blocked: false, covers_protected: [], message: '203.0.113.0/24 can be blocked' },
    },
    201: { description: 'Blocked', schema: blockedOk, example: { status: 'success', blocked_ip_id: 1, ip_address: '203.0.113.7', message: '203.0.113.7 blocked', runtime_map_updated: true, reloaded: false } },
    ...guarded,
    409: { description: 'Already blocked' },
  },
});

export const remove = route({
  id: 'unblockIp',
  method: 'DELETE',
  path: '/api/blocked-ips',
  tag: 'blocks',
  summary: 'Lift a block',
  auth: 'api_key',
  queryOrBody: true,
  body: ipAddressOnly,
  bodyExample: { ip_address: '203.0.113.7' },
  responses: {
    200: { description: 'Lifted', schema: unblockedOk, example: { status: 'success', message: '203.0.113.7 unblocked', runtime_map_updated: true, reloaded: false } },
    404: { description: 'Not blocked' },
  },
});

export const sync = route({
  id: 'syncBlockedIps',
  method: 'POST',
  path: '/api/blocked-ips/sync',
  tag: 'blocks',
  summary: "Write every stored block into HAProxy's map again",
  auth: 'api_key',
  responses: { 200: { description: 'Synced', schema: syncOk, example: { status: 'success', total_ips: 12, synced_ips: 12, runtime_map_synced: true, reloaded: false } } },
});

export const temporary = route({
  id: 'temporaryBlock',
  method: 'POST',
  path: '/api/security/temporary-block',
  tag: 'blocks',
  summary: 'Block an address for some minutes; an address already blocked is extended, never shortened (a permanent block stays permanent)',
  auth: 'api_key',
  // The maximum is blocks.max_duration_minutes; the document shows its default.
  body: temporaryBlockBody(525_600),
  query: blockQuery,
  bodyExample: { ip_address: '198.51.100.23', duration_minutes: 30, reason: 'credential stuffing' },
  responses: {
    200: { description: 'Already blocked: extended (or left permanent); with dry_run, what the block would do (nothing is changed)', schema: z.union([temporaryBlockOk, blockDryRunOut]) },
    201: {
      description: 'Blocked',
      schema: temporaryBlockOk,
      example: { status: 'success', message: '198.51.100.23 blocked until 2026-12-01T10:30:00.000Z', ip_address: '198.51.100.23', expires_at: '2026-12-01T10:30:00.000Z', permanent: false, created: true, runtime_map_updated: true },
    },
    ...guarded,
  },
});

export const clear = route({
  id: 'clearExpiredBlocks',
  method: 'POST',
  path: '/api/security/clear-expired',
  tag: 'blocks',
  summary: 'Lift every temporary block that has expired now (the daemon also does it every second)',
  auth: 'api_key',
  responses: { 200: { description: 'Cleared', schema: clearExpiredOk, example: { status: 'success', cleared_ips: ['198.51.100.23'], runtime_map_failures: 0, runtime_map_updated: true } } },
});

/** A dry run's answer, once the guardrails let the block through (a refusal was thrown, as for a real block). */
function dryRunAnswer(d: ApiDeps, ip: string, forcedOver: string[]) {
  const already = blocked.get(d.reader, ip) !== null;
  return {
    status: 'success',
    dry_run: true,
    ip_address: ip,
    already_blocked: already,
    covers_protected: forcedOver,
    message: already ? `${ip} is already blocked` : forcedOver.length ? `${ip} can be blocked by force; it covers protected ${forcedOver.join(', ')}` : `${ip} can be blocked`,
  };
}

export function blockedIpRoutes(r: Router, d: ApiDeps): void {
  mount(r, list, (ctx) => {
    ctx.body = blocked.list(d.reader).map(view);
  });

  mount(r, add, async (ctx, { body: b, query }) => {
    const ip = b.ip_address;
    const reason = b.reason ?? null;
    // Absent: the caller. Sent (null and "" mean none): as sent.
    const blockedBy = b.blocked_by === undefined ? actorOf(ctx) : b.blocked_by;
    const forcedOver = judgeManualBlock(d, ip, b.force ?? false);
    if (query.dry_run) return void (ctx.body = dryRunAnswer(d, ip, forcedOver));
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

  mount(r, remove, async (ctx, { body: { ip_address: ip } }) => {
    const res = await unblockIp(d.ops, actorOf(ctx), ip);
    ctx.body = { status: 'success', message: `${ip} unblocked`, runtime_map_updated: res.runtimeApplied, reloaded: res.reloaded };
  });

  mount(r, sync, async (ctx) => {
    const res = await syncBlocked(d.ops, actorOf(ctx));
    ctx.body = { status: 'success', total_ips: res.result.length, synced_ips: res.result.length, runtime_map_synced: res.runtimeApplied, reloaded: res.reloaded };
  });

  mount(
    r,
    temporary,
    async (ctx, { body: b, query }) => {
      const ip = b.ip_address;
      const minutes = b.duration_minutes ?? 60;
      const reason = b.reason === undefined ? 'temporary block' : b.reason;
      const forcedOver = judgeManualBlock(d, ip, b.force ?? false);
      if (query.dry_run) return void (ctx.body = dryRunAnswer(d, ip, forcedOver));
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
    },
    { body: temporaryBlockBody(d.cfg.blocks.max_duration_minutes) },
  );

  mount(r, clear, async (ctx) => {
    const res = await clearExpired(d.ops, actorOf(ctx));
    ctx.body = { status: 'success', cleared_ips: res.result, runtime_map_failures: 0, runtime_map_updated: res.runtimeApplied };
  });
}
