/**
 * Config endpoints: the original's GET /api/regenerate, GET /api/reload and
 * POST /api/config/reload (all validated before anything goes live), plus a
 * preview of what the database renders to and its diff against the live files.
 */
import type Router from '@koa/router';
import { createPatch } from 'diff';
import { actorOf, type ApiDeps } from '../context.js';
import type { Rendered } from '../../haproxy/config/render.js';
import { AppError, describe, isAppError } from '../../errors.js';
import { envelope, httpStatus } from '../errors.js';

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
  const regenerate = async (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    try {
      const res = await d.applier.regenerate(actorOf(ctx), true);
      ctx.body = { status: 'success', reloaded: res.reloaded, ...(res.warning ? { warning: res.warning } : {}) };
    } catch (e) {
      failed(ctx, e);
    }
  };
  r.get('/api/regenerate', regenerate);
  r.post('/api/config/reload', regenerate);

  r.get('/api/reload', async (ctx) => {
    try {
      const res = await d.applier.reloadLive(actorOf(ctx));
      ctx.body = { status: 'success', reloaded: res.reloaded, ...(res.warning ? { warning: res.warning } : {}) };
    } catch (e) {
      failed(ctx, e);
    }
  });

  r.get('/api/config/preview', (ctx) => {
    const rendered = d.applier.renderCurrent();
    ctx.body = { status: 'success', config: rendered.config, files: Object.fromEntries(rendered.files), diff: renderedDiff(d, rendered) };
  });

  r.get('/api/config/diff', (ctx) => {
    ctx.type = 'text/x-diff';
    ctx.body = renderedDiff(d, d.applier.renderCurrent());
  });
}
