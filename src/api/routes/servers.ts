/** Server administrative state (ready, drain, maint): live at once, kept across reloads. */
import type Router from '@koa/router';
import { actorOf, body, type ApiDeps } from '../context.js';
import { changeServerState } from '../../haproxy/changes/domains.js';
import { listBackends } from '../../storage/domains.js';
import { backendsWithHealth } from '../../haproxy/adapters/server-health.js';
import { validateName } from '../../validate/names.js';
import { validationError } from '../../errors.js';

export function serverRoutes(r: Router, d: ApiDeps): void {
  // Stored backends with HAProxy's live view of each server (one `show stat`).
  r.get('/api/backends', async (ctx) => {
    const { backends } = await backendsWithHealth(d.control.runtime, listBackends(d.reader));
    ctx.body = backends;
  });
  r.post('/api/servers/state', async (ctx) => {
    const b = body(ctx);
    const backend = validateName(b.backend, 'backend');
    const server = validateName(b.server, 'server');
    const state = b.state;
    if (state !== 'ready' && state !== 'drain' && state !== 'maint') throw validationError('state', 'must be ready, drain or maint');
    const res = await changeServerState(d.ops, actorOf(ctx), backend, server, state);
    ctx.body = { status: 'success', backend, server, state, runtime_updated: res.runtimeApplied };
  });
}
