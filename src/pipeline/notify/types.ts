/**
 * Notification data shared by routing, digests, the outbox and the channels.
 */
import type { Incident } from '../incidents/group.js';
import type { Severity } from '../types.js';

import type { EventKind } from '../../config/notifications.js';

/** What a notification says about one incident; plain JSON so it can sit in the outbox. */
export interface IncidentSummary {
  id: number;
  rule: string;
  category: string;
  severity: Severity;
  subject: { type: string; value: string };
  status: 'open' | 'resolved';
  firstSeen: number;
  lastSeen: number;
  count: number;
  resolvedAt: number | null;
  /** At most a few sample lines (attacker-controlled: templates print them as data). */
  samples: string[];
}

/** One state change to tell people about. */
export interface NotifyEvent {
  kind: EventKind;
  /** Wall-clock ms when the change happened. */
  at: number;
  /** Absent for `test`. */
  incident?: IncidentSummary;
  /** Free text: the action taken for `acted`, the operator's note for `test`. */
  detail?: string;
  /** `acted`: what was done, proposed or failed in this round (one message per round, not per action). */
  actions?: ActedAction[];
  /**
   * Sent on its own, never merged into a digest: the one message that
   * explains a flood of others (a block-rate spike) must not be one of the
   * events a digest leaves unlisted.
   */
  standalone?: boolean;
  /** `acted` after an LLM analysis: what it said (its recommendations are in `actions` as decided). */
  analysis?: { summary: string; likelyCause?: string; severity?: Severity; confidence: number; model?: string };
}

/** One action as a notification tells it. */
export interface ActedAction {
  id: number;
  action: string;
  target: string | null;
  /** done, proposed (waits for a person), failed, ... */
  status: string;
  mode: string;
  decidedBy: string;
  /** ms since epoch, blocks only. */
  expiresAt: number | null;
  result: string | null;
}

/** The payload stored in the outbox: one event, or a digest of several. */
export interface MessagePayload {
  kind: EventKind | 'digest';
  events: NotifyEvent[];
  /** Digests only: the dedupe keys of the merged events (a repeated event is not merged twice). */
  keys?: string[];
  /** Digests only: events merged but not listed (beyond MAX_DIGEST_EVENTS). */
  omitted?: number;
}

/** A row claimed from the outbox, handed to a channel. */
export interface OutboxMessage {
  id: number;
  /** Stable across retries and restarts; receivers drop duplicates by it. */
  messageId: string;
  channel: string;
  kind: string;
  payload: MessagePayload;
  /** 1 on the first try. */
  attempt: number;
  createdAt: number;
}

/**
 * A delivery channel. Contract: `send` resolves only when the receiver has
 * accepted the message (2xx, SMTP 250) and rejects otherwise; it must stop
 * and reject when `signal` aborts (the outbox's timeout). It does not retry:
 * the outbox does. It never logs secrets.
 */
export interface Channel {
  readonly name: string;
  readonly type: string;
  send(msg: OutboxMessage, signal: AbortSignal): Promise<void>;
  close?(): Promise<void> | void;
}

export function summarize(inc: Incident, maxSamples = 3): IncidentSummary {
  return {
    id: inc.id,
    rule: inc.rule,
    category: inc.category,
    severity: inc.severity,
    subject: { type: inc.subject.type, value: inc.subject.value },
    status: inc.status,
    firstSeen: inc.firstSeen,
    lastSeen: inc.lastSeen,
    count: inc.count,
    resolvedAt: inc.resolvedAt,
    samples: inc.samples.slice(0, maxSamples),
  };
}

/** A failed delivery; `retryAfterMs` when the receiver said when to come back (429/503 Retry-After). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}
