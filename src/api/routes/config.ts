/**
 * Config endpoints: the original's GET /api/regenerate, GET /api/reload and
 * POST /api/config/reload (all validated before anything goes live), plus a
 * preview of what the database renders to and its diff against the live files.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { createPatch } from 'diff';
import { actorOf, type ApiDeps } from '../context.js';
import type { Rendered } from '../../haproxy/config/render.js';
import { AppError, describe, isAppError } from '../../errors.js';
import { envelope, httpStatus } from '../errors.js';
import { mount, route } from '../contract/route.js';
import { appliedOk, previewOk } from '../schemas/operations.js';

const applied = {
  200: { description: 'Applied', schema: appliedOk, example: { status: 'success', reloaded: true } },
  500: { description: "Refused or failed (the live configuration is the last good one); HAProxy's lines in detail" },
  503: { description: 'HAProxy is not serving, or the state cannot be written' },
};

export const regenerate = route({
  id: 'regenerate',
  method: 'GET',
  path: '/api/regenerate',
  tag: 'config',
  summary: 'Render haproxy.cfg from the database, check it with haproxy -c, swap it in and reload (the original\'s state-changing GET)',
  auth: 'api_key',
  responses: applied,
});
export const configReload = route({
  id: 'configReload',
  method: 'POST',
  path: '/api/config/reload',
  tag: 'config',
  summary: 'The same as GET /api/regenerate',
  auth: 'api_key',
  responses: applied,
});
export const reload = route({
  id: 'reload',
  method: 'GET',
  path: '/api/reload',
  tag: 'config',
  summary: 'Check the live configuration and reload HAProxy without dropping connections',
  auth: 'api_key',
  responses: applied,
});
export const preview = route({
  id: 'configPreview',
  method: 'GET',
  path: '/api/config/preview',
  tag: 'config',
  summary: 'What the database renders to, and its diff against the live files',
  auth: 'api_key',
  responses: { 200: { description: 'The rendered files', schema: previewOk, example: { status: 'success', config: 'global\n  ...', files: { 'maps/hosts.map': 'app.example.com be_app\n' }, diff: '' } } },
});
export const diff = route({
  id: 'configDiff',
  method: 'GET',
  path: '/api/config/diff',
  tag: 'config',
  summary: 'The unified diff, live -> rendered (empty when they match)',
  auth: 'api_key',
  responses: { 200: { description: 'The diff', contentType: 'text/x-diff', example: '' } },
});

/** A refused apply in the error envelope; the status is the server's (nothing the client sent is at fault). */
function failed(ctx: { status: number; body: unknown }, e: unknown): void {
  ctx.status = httpStatus(e, { serverSide: true });
  ctx.body = envelope(isAppError(e) ? e.kind : 'internal', describe(e), e instanceof AppError && e.detail !== undefined ? { detail: e.detail } : {});
}

/** A unified diff of haproxy.cfg and every generated file, live -> rendered. Empty when they match. */
export function renderedDiff(d: ApiDeps, rendered: Rendered): string {
  const live = d.applier.liveFiles();
  const parts: string[] = [];
  if (live.config !== rendered.config) parts.push(createPatch('haproxy.cfg', live.config, rendered.config, 'live', 'rendered'));
  for (const [rel, text] of rendered.files) {
    const cur = live.files.get(rel) ?? '';
    if (cur !== text) parts.push(createPatch(rel, cur, text, 'live', 'rendered'));
  }
  return parts.join('');
}

export function configRoutes(r: Router, d: ApiDeps): void {
  const regenerateNow = async (ctx: Context) => {
    try {
      const res = await d.applier.regenerate(actorOf(ctx), true);
      ctx.body = { status: 'success', reloaded: res.reloaded, ...(res.warning ? { warning: res.warning } : {}) };
    } catch (e) {
      failed(ctx, e);
    }
  };
  mount(r, regenerate, regenerateNow);
  mount(r, configReload, regenerateNow);

  mount(r, reload, async (ctx) => {
    try {
      const res = await d.applier.reloadLive(actorOf(ctx));
      ctx.body = { status: 'success', reloaded: res.reloaded, ...(res.warning ? { warning: res.warning } : {}) };
    } catch (e) {
      failed(ctx, e);
    }
  });

  mount(r, preview, (ctx) => {
    const rendered = d.applier.renderCurrent();
    ctx.body = { status: 'success', config: rendered.config, files: Object.fromEntries(rendered.files), diff: renderedDiff(d, rendered) };
  });

  mount(r, diff, (ctx) => {
    ctx.type = 'text/x-diff';
    ctx.body = renderedDiff(d, d.applier.renderCurrent());
  });
}
