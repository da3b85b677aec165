/**
 * Email channel through nodemailer (SMTP). `tls: starttls` requires STARTTLS
 * (nodemailer `requireTLS`: no silent fallback to cleartext); `tls` is TLS
 * from the first byte; `none` is cleartext (a loopback relay only). The
 * password is read from `password_file` once, at creation, and never logged.
 * The message carries `Message-ID: <message id@haproxy-manager>` and an
 * `X-Haproxy-Manager-Message-Id` header, the same on every retry.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import { durationMs } from '../../util/duration.js';
import type { EmailChannelConfig } from '../../config/notifications.js';
import { renderEmail } from './render.js';
import { readSecretFile } from './secrets.js';
import type { Channel, OutboxMessage } from './types.js';

export interface EmailChannelOptions {
  name: string;
  config: EmailChannelConfig;
  source: string;
  templateDir?: string;
}

export function createEmailChannel(opts: EmailChannelOptions): Channel {
  const { config } = opts;
  const timeout = durationMs(config.timeout);
  const auth =
    config.username !== undefined && config.password_file !== undefined
      ? { user: config.username, pass: readSecretFile(config.password_file) }
      : undefined;
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.tls === 'tls',
    requireTLS: config.tls === 'starttls',
    ignoreTLS: config.tls === 'none',
    auth,
    tls: {
      rejectUnauthorized: config.reject_unauthorized,
      ...(config.ca_file ? { ca: readFileSync(config.ca_file, 'utf8') } : {}),
      // SNI takes host names only.
      ...(isIP(config.host) === 0 ? { servername: config.host } : {}),
    },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // A new connection per message: nothing to keep alive between sparse notifications.
    pool: false,
    logger: false,
    debug: false,
  });

  return {
    name: opts.name,
    type: 'email',
    async send(msg: OutboxMessage, signal: AbortSignal): Promise<void> {
      if (signal.aborted) throw signal.reason;
      const { subject, text } = renderEmail({ messageId: msg.messageId, payload: msg.payload, source: opts.source }, opts.templateDir);
      try {
        await transport.sendMail({
          from: config.from,
          to: config.to,
          subject,
          text,
          messageId: `<${msg.messageId}@haproxy-manager>`,
          headers: { 'X-Haproxy-Manager-Message-Id': msg.messageId },
        });
      } catch (e) {
        // nodemailer errors carry the SMTP reply, not the credentials.
        throw new Error(`SMTP ${config.host}:${config.port}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    close() {
      transport.close();
    },
  };
}
