/** Builds the channels of the config (reads password and secret files: the I/O phase of config checking). */
import type { NotificationsConfig } from '../../config/notifications.js';
import { createEmailChannel } from './email.js';
import { createWebhookChannel } from './webhook.js';
import type { Channel } from './types.js';

export function createChannels(config: NotificationsConfig, source: string, templateDir?: string): Map<string, Channel> {
  const out = new Map<string, Channel>();
  for (const [name, c] of Object.entries(config.channels)) {
    try {
      out.set(
        name,
        c.type === 'email'
          ? createEmailChannel({ name, config: c, source, templateDir })
          : createWebhookChannel({ name, config: c, source, templateDir }),
      );
    } catch (e) {
      throw new Error(`notifications.channels.${name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  return out;
}
