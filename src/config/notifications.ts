/**
 * The `notifications` section of the daemon's config (zod, strict: unknown
 * keys fail), merged into config/schema.ts. Strings pass the shared text check
 * (validate/text.ts): a CRLF in an address or a header would start another line.
 * Secrets are never inline: passwords and webhook signing secrets are read
 * from files (`*_file`) at start.
 */
import { z } from 'zod';
import { durationSchema as duration } from '../util/duration.js';
import { safeText } from '../validate/text.js';
import { SEVERITIES } from '../pipeline/types.js';

/** What a notification can be about (routes filter on these). */
export type EventKind = 'opened' | 'escalated' | 'acted' | 'resolved' | 'test';
export const EVENT_KINDS: readonly EventKind[] = ['opened', 'escalated', 'acted', 'resolved', 'test'];

const severity = z.enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical']);
const eventKind = z.enum(EVENT_KINDS as unknown as ['opened', 'escalated', 'acted', 'resolved', 'test']);

export const emailChannelSchema = z
  .strictObject({
    type: z.literal('email'),
    host: safeText().min(1).describe('SMTP server host name or address'),
    port: z.number().int().min(1).max(65535).default(587),
    tls: z
      .enum(['starttls', 'tls', 'none'])
      .default('starttls')
      .describe('starttls: plain connect then STARTTLS, required (587); tls: TLS from the first byte (465); none: cleartext, loopback only'),
    ca_file: safeText().optional().describe('PEM CA bundle to trust for the server certificate (besides the system store)'),
    reject_unauthorized: z.boolean().default(true).describe('verify the server certificate; false only for tests'),
    username: safeText().optional(),
    password_file: safeText().optional().describe('file holding the SMTP password (first line); required with username'),
    from: safeText().min(3),
    to: z.array(safeText().min(3)).min(1),
    timeout: duration.default('15s').describe('connect, greeting and socket timeout'),
  })
  .refine((c) => (c.username === undefined) === (c.password_file === undefined), {
    message: 'username and password_file go together',
    path: ['password_file'],
  });

export const webhookChannelSchema = z
  .strictObject({
    type: z.literal('webhook'),
    url: z.url().describe('http(s) URL the body is POSTed to'),
    format: z
      .enum(['json', 'slack', 'discord'])
      .default('json')
      .describe('json: the generic signed body; slack: {"text"}; discord: {"content"}'),
    secret_file: safeText()
      .optional()
      .describe('file holding the HMAC-SHA256 key; signs json bodies (X-Haproxy-Manager-Signature)'),
    timeout: duration.default('10s'),
    headers: z.record(safeText(), safeText()).default({}).describe('extra request headers'),
  })
  .refine((c) => c.format !== 'json' || c.secret_file !== undefined, {
    message: 'a json webhook must be signed: set secret_file',
    path: ['secret_file'],
  });

export const channelSchema = z.union([emailChannelSchema, webhookChannelSchema]);

export const routeSchema = z.strictObject({
  kinds: z.array(eventKind).optional().describe('event kinds this route takes; all when absent'),
  min_severity: severity.optional().describe('lowest incident severity this route takes'),
  categories: z.array(safeText().min(1)).optional().describe('incident categories; all when absent'),
  channels: z.array(safeText().min(1)).min(1),
  stop: z.boolean().default(false).describe('later routes are not consulted when this one matches'),
});

export const notificationsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    channels: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/), channelSchema).default({}),
    /** Which events go where; none: every event to every channel. */
    routes: z.array(routeSchema).default([]),
    digest: z
      .strictObject({
        threshold: z.number().int().min(1).default(5).describe('messages a channel gets one by one per window; the rest are merged'),
        window: duration.default('1m'),
      })
      .default({ threshold: 5, window: '1m' }),
    outbox: z
      .strictObject({
        concurrency: z.number().int().min(1).max(64).default(4),
        poll_interval: duration.default('1s'),
        backoff_base: duration.default('2s'),
        backoff_max: duration.default('10m'),
        give_up_after: duration.default('3d').describe('a message still undelivered this long after it was queued is dropped (kept as dead)'),
        keep: duration.default('7d').describe('delivered and dead messages are deleted this long after they were queued'),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    c.routes.forEach((r, i) =>
      r.channels.forEach((ch, j) => {
        if (!(ch in c.channels)) {
          ctx.addIssue({ code: 'custom', message: `unknown channel "${ch}"`, path: ['routes', i, 'channels', j] });
        }
      }),
    );
  });

export type NotificationsConfig = z.infer<typeof notificationsSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
export type EmailChannelConfig = z.infer<typeof emailChannelSchema>;
export type WebhookChannelConfig = z.infer<typeof webhookChannelSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
