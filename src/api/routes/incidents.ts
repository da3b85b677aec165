/** Incidents and the monitor's status: GET /api/incidents, GET /api/incidents/:id (with its analyses), GET /api/monitor/status (with the analysis tier's usage and spend), POST /api/notifications/test. */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../context.js';
import { incidents } from '../../storage/incidents.js';
import { analyses } from '../../storage/analyses.js';
import { AppError } from '../../errors.js';
import { mount, route } from '../contract/route.js';
import { idParams, incidentDetail, incidentOut, incidentQuery, monitorStatus, notificationTestBody, notificationTestOk } from '../schemas/monitor.js';

const example = {
  id: 3,
  rule: 'secret-file-probe',
  category: 'recon',
  severity: 'high',
  subject: { type: 'ip', value: '203.0.113.7' },
  status: 'open',
  first_seen: '2026-12-01T10:00:00.000Z',
  last_seen: '2026-12-01T10:00:04.000Z',
  count: 12,
  escalate: false,
  actions: [],
  samples: ['203.0.113.7 GET /.env 404'],
  resolved_at: null,
  node: 'edge-a',
  fleet_incident_id: 41,
  fleet_notifier: 'edge-b',
};

export const list = route({
  id: 'listIncidents',
  method: 'GET',
  path: '/api/incidents',
  tag: 'incidents',
  summary: 'Incidents, newest first; filter by status, severity, rule and subject, page back with before',
  auth: 'api_key',
  query: incidentQuery,
  responses: { 200: { description: 'The incidents', schema: z.array(incidentOut), example: [example] } },
});
export const get = route({
  id: 'getIncident',
  method: 'GET',
  path: '/api/incidents/:id',
  tag: 'incidents',
  summary: 'One incident with its analyses (model text marked as such in the schema)',
  auth: 'api_key',
  params: idParams,
  responses: { 200: { description: 'The incident', schema: incidentDetail, example: { ...example, analyses: [] } }, 404: { description: 'No such incident' } },
});
export const status = route({
  id: 'monitorStatus',
  method: 'GET',
  path: '/api/monitor/status',
  tag: 'monitor',
  summary: "The log monitor's sources, rates and counters, the outbox and the analysis tier's usage",
  auth: 'api_key',
  responses: {
    200: {
      description: 'The status',
      schema: monitorStatus,
      example: {
        enabled: true,
        rules: 24,
        intake: { socket: '/run/haproxy-manager/log.sock', listening: true, forged_lines: 0 },
        sources: [{ name: 'haproxy', lines: 120394, bytes: 30120394, lines_per_second: 210.5, lines_per_second_10s: 388.1, decode_errors: 0, truncated: 0, dropped: 0, lag_bytes: 0, last_line_at: '2026-12-01T10:00:04.000Z' }],
        pipeline: { parsed: 120390, unparsed: 4 },
        incidents: { open: 2, stored: { open: 2, resolved: 40 } },
        blocked_ips: 3,
        notifications: { pending: 0, delivered: 52, failed_attempts: 1, dead: 0 },
        analysis: { enabled: true, api_key: 'set' },
      },
    },
  },
});
export const notifyTest = route({
  id: 'testNotification',
  method: 'POST',
  path: '/api/notifications/test',
  tag: 'monitor',
  summary: 'Queue a test message on a channel (delivered by the outbox, retried until it succeeds)',
  auth: 'api_key',
  body: notificationTestBody,
  bodyExample: { channel: 'ops-mail', message: 'hello from haproxy-manager' },
  responses: {
    202: { description: 'Queued', schema: notificationTestOk, example: { status: 'success', channel: 'ops-mail', queued: 1, message: 'test message queued; delivery is retried until it succeeds' } },
    404: { description: 'No such channel' },
  },
});

export function incidentRoutes(r: Router, d: ApiDeps): void {
  mount(r, list, (ctx, { query: { limit, before, status, severity, rule, subject } }) => {
    d.monitor?.flush();
    ctx.body = incidents.list(d.reader, { limit, ...(before ? { before } : {}), ...(status ? { status } : {}), ...(severity ? { severity } : {}), ...(rule ? { rule } : {}), ...(subject ? { subject } : {}) });
  });
  mount(r, get, (ctx, { params: { id } }) => {
    d.monitor?.flush();
    const row = incidents.get(d.reader, id);
    if (!row) throw new AppError('not_found', `no incident ${id}`, { field: 'id' });
    ctx.body = { ...row, analyses: analyses.forIncident(d.reader, id) };
  });
  mount(r, status, (ctx) => {
    ctx.body = {
      ...(d.monitor ? d.monitor.status() : { enabled: false }),
      notifications: d.notifications?.stats() ?? null,
      analysis: d.analysis?.status() ?? { enabled: false },
    };
  });
  mount(r, notifyTest, (ctx, { body: { channel, message } }) => {
    // Own keys only: "constructor" is no channel.
    if (!d.notifications || !Object.hasOwn(d.cfg.notifications.channels, channel)) throw new AppError('not_found', `no notification channel named "${channel}"`, { field: 'channel' });
    const queued = d.notifications.notifier.test(channel, message ?? undefined);
    ctx.status = 202;
    ctx.body = { status: 'success', channel, queued: queued.length, message: 'test message queued; delivery is retried until it succeeds' };
  });
}
