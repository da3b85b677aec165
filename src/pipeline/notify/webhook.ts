/**
 * Webhook channel: POSTs the rendered body with the message id in
 * `X-Haproxy-Manager-Message-Id`; generic JSON bodies are signed (see
 * signature.ts). 2xx is success; anything else, a network error or the
 * timeout is a failure the outbox retries. The secret and the URL's
 * credentials/query (Slack and Discord put tokens in the path) never reach
 * the log: errors name only the origin.
 */
import { durationMs } from '../../util/duration.js';
import { parseRetryAfter } from '../../util/backoff.js';
import type { WebhookChannelConfig } from '../../config/notifications.js';
import { renderWebhookBody } from './render.js';
import { readSecretFile } from './secrets.js';
import { MESSAGE_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './signature.js';
import { DeliveryError } from './types.js';
import type { Channel, OutboxMessage } from './types.js';

export interface WebhookChannelOptions {
  name: string;
  config: WebhookChannelConfig;
  source: string;
  /** The secret itself (tests); otherwise read from config.secret_file at creation. */
  secret?: string;
  templateDir?: string;
  nowSec?: () => number;
}

export function createWebhookChannel(opts: WebhookChannelOptions): Channel {
  const { config } = opts;
  const secret = opts.secret ?? (config.secret_file ? readSecretFile(config.secret_file) : undefined);
  const timeoutMs = durationMs(config.timeout);
  const origin = new URL(config.url).origin;
  const nowSec = opts.nowSec ?? (() => Math.floor(Date.now() / 1000));

  return {
    name: opts.name,
    type: `webhook/${config.format}`,
    async send(msg: OutboxMessage, signal: AbortSignal): Promise<void> {
      const body = renderWebhookBody(config.format, { messageId: msg.messageId, payload: msg.payload, source: opts.source }, opts.templateDir);
      const headers: Record<string, string> = {
        ...config.headers,
        'content-type': 'application/json',
        'user-agent': 'haproxy-manager',
        [MESSAGE_ID_HEADER]: msg.messageId,
      };
      if (secret !== undefined) {
        const ts = nowSec();
        headers[TIMESTAMP_HEADER] = String(ts);
        headers[SIGNATURE_HEADER] = signWebhook(secret, ts, body);
      }
      let res: Response;
      try {
        res = await fetch(config.url, {
          method: 'POST',
          headers,
          body,
          redirect: 'error',
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        });
      } catch (e) {
        const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
        throw new Error(`POST ${origin} failed: ${e instanceof Error ? e.message : String(e)}${cause}`);
      }
      // Drain the body so the connection can be reused; keep a little for the error.
      const text = (await res.text().catch(() => '')).slice(0, 200);
      if (!res.ok) {
        throw new DeliveryError(`POST ${origin} answered ${res.status}${text ? `: ${text}` : ''}`, parseRetryAfter(res.headers.get('retry-after')));
      }
    },
  };
}

