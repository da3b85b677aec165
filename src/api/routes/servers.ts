/** Backends with HAProxy's view of their servers, and server administrative state (ready, drain, maint): live at once, kept across reloads. */
import type Router from '@koa/router';
import { z } from 'zod';
import { actorOf, type ApiDeps } from '../context.js';
import { changeServerState } from '../../haproxy/changes/domains.js';
import { listBackends } from '../../storage/domains.js';
import { backendsWithHealth } from '../../haproxy/adapters/server-health.js';
import { mount, route } from '../contract/route.js';
import { backendOut } from '../schemas/domains.js';
import { serverStateBody, serverStateOk } from '../schemas/operations.js';

export const backends = route({
  id: 'listBackends',
  method: 'GET',
  path: '/api/backends',
  tag: 'servers',
  summary: 'Every backend with its servers: the stored settings and HAProxy\'s live state of each',
  description:
    "From HAProxy's runtime API (one stat dump): each server's operational state (UP, DOWN, MAINT, DRAIN, NOLB), last check and duration, weight and sessions, and per backend how many servers are up. When HAProxy cannot be asked, `health` is null and `servers_up` null; `state` is the administrative state the daemon keeps.",
  auth: 'api_key',
  responses: {
    200: {
      description: 'The backends',
      schema: z.array(backendOut),
      example: [
        {
          name: 'app',
          kind: 'default',
          health_check_path: null,
          balance: 'roundrobin',
          domains: ['app.example.com'],
          health: { state: 'UP', status: 'UP', current_sessions: 3 },
          servers_up: 1,
          servers_total: 2,
          servers: [
            {
              name: 'app1', address: '10.0.0.11', port: 8080, check: true, backup: false, weight: 100, maxconn: null, tls: false, tls_verify: true, tls_ca_file: null, tls_sni: null, state: 'ready',
              health: { state: 'UP', status: 'UP', check_status: 'L4OK', check_duration_ms: 0, last_check: 'Layer4 check passed', weight: 100, current_sessions: 3 },
            },
            {
              name: 'app2', address: '10.0.0.12', port: 8080, check: true, backup: false, weight: 100, maxconn: null, tls: false, tls_verify: true, tls_ca_file: null, tls_sni: null, state: 'ready',
              health: { state: 'DOWN', status: 'DOWN', check_status: 'L4CON', check_duration_ms: 0, last_check: 'Connection refused', weight: 100, current_sessions: 0 },
            },
          ],
        },
      ],
    },
  },
});

export const serverState = route({
  id: 'setServerState',
  method: 'POST',
  path: '/api/servers/state',
  tag: 'servers',
  summary: 'Set a server\'s administrative state (ready, drain, maint) through the runtime API, kept across reloads',
  description:
    "In a fleet the state is set on every node: shared through the change log (key `server_state:<backend>/<server>`, last writer wins) and applied through each node's runtime API. Health (UP, DOWN) is not shared: each node's HAProxy checks its servers itself.",
  auth: 'api_key',
  body: serverStateBody,
  bodyExample: { backend: 'app', server: 'app1', state: 'drain' },
  responses: {
    200: { description: 'Set', schema: serverStateOk, example: { status: 'success', backend: 'app', server: 'app1', state: 'drain', runtime_updated: true } },
    404: { description: 'No such backend or server' },
  },
});

export function serverRoutes(r: Router, d: ApiDeps): void {
  mount(r, backends, async (ctx) => {
    ctx.body = (await backendsWithHealth(d.control.runtime, listBackends(d.reader))).backends;
  });
  mount(r, serverState, async (ctx, { body: { backend, server, state } }) => {
    const res = await changeServerState(d.ops, actorOf(ctx), backend, server, state);
    ctx.body = { status: 'success', backend, server, state, runtime_updated: res.runtimeApplied };
  });
}
