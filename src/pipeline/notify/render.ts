/**
 * Notification bodies from the templates in templates/notify/. Pure apart
 * from reading the templates (cached by nunjucks).
 *
 * Incident samples and subjects are attacker-controlled and an analysis'
 * summary and cause are model-written: every string of the payload has its
 * control characters replaced before any template sees it
 * (src/pipeline/redact/controls.ts: ESC, NUL, C0/C1, bidi overrides), the
 * text templates label such text as written by a client or by the model, the
 * JSON body lists those fields under `untrusted`, Slack text is escaped
 * (`&`, `<`, `>`: no `<!channel>` or fake links) and Discord bodies disable
 * mentions (`allowed_mentions`). Samples were redacted when the incident kept
 * them (src/pipeline/incidents/group.ts).
 */
import nunjucks from 'nunjucks';
import { fileURLToPath } from 'node:url';
import type { MessagePayload } from './types.js';
import { stripControlsDeep } from '../redact/controls.js';
import { toWire } from '../../util/wire.js';

/** Where a JSON body holds text written by clients or by the model (paths into `events[]`, in the wire's snake_case). */
export const UNTRUSTED_FIELDS = {
  client_written: ['incident.samples', 'incident.subject.value'],
  model_written: ['analysis.summary', 'analysis.likely_cause'],
};

export const NOTIFY_TEMPLATE_DIR = fileURLToPath(new URL('../../../templates/notify', import.meta.url));

const envs = new Map<string, nunjucks.Environment>();

function env(dir: string): nunjucks.Environment {
  let e = envs.get(dir);
  if (!e) {
    e = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: false }), {
      autoescape: false,
      throwOnUndefined: false,
      trimBlocks: true,
      lstripBlocks: true,
    });
    e.addFilter('isotime', (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : ''));
    e.addFilter('slack', (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    // One line, bounded: a sample must not forge lines or flood a chat.
    e.addFilter('oneline', (s: unknown, max = 300) => {
      const t = String(s ?? '').replace(/[\r\n\t]+/g, ' ');
      return t.length > (max as number) ? `${t.slice(0, max as number)}…` : t;
    });
    envs.set(dir, e);
  }
  return e;
}

export interface RenderContext {
  messageId: string;
  payload: MessagePayload;
  /** Shown in subjects and texts ("haproxy-manager on <host>"). */
  source: string;
}

/** `wire`: the events in the public JSON shape (snake_case, ISO times: util/wire.ts), for the JSON body; text templates read the records' own names. */
function render(name: string, ctx: RenderContext, dir: string, wire = false): string {
  return env(dir).render(name, {
    message_id: ctx.messageId,
    kind: ctx.payload.kind,
    events: stripControlsDeep(wire ? toWire(ctx.payload.events) : ctx.payload.events),
    untrusted: UNTRUSTED_FIELDS,
    digest: ctx.payload.kind === 'digest',
    omitted: ctx.payload.omitted ?? 0,
    source: stripControlsDeep(ctx.source),
  });
}

export function renderEmail(ctx: RenderContext, dir = NOTIFY_TEMPLATE_DIR): { subject: string; text: string } {
  return {
    subject: render('email-subject.njk', ctx, dir).replace(/[\r\n]+/g, ' ').trim().slice(0, 200),
    text: render('email-text.njk', ctx, dir),
  };
}

/** The webhook body for a format, as the exact string that is sent (and signed). */
export function renderWebhookBody(format: 'json' | 'slack' | 'discord', ctx: RenderContext, dir = NOTIFY_TEMPLATE_DIR): string {
  if (format === 'slack') return JSON.stringify({ text: render('slack.njk', ctx, dir).trim() });
  if (format === 'discord') {
    // Discord caps content at 2000 characters.
    const content = render('discord.njk', ctx, dir).trim().slice(0, 2000);
    return JSON.stringify({ content, allowed_mentions: { parse: [] } });
  }
  return render('webhook.json.njk', ctx, dir, true).trim();
}
