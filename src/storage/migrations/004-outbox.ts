import type { Migration } from './migration.js';

/**
 * The notification outbox table.
 *
 * Times are integers, milliseconds since the epoch (the worker compares them
 * on every poll). A row is:
 * - pending:   delivered_at IS NULL AND next_attempt_at IS NOT NULL
 * - delivered: delivered_at IS NOT NULL (never sent again)
 * - dead:      delivered_at IS NULL AND next_attempt_at IS NULL (gave up; last_error says why)
 * `attempts` counts claims, so it rises before the send, not after.
 */
export const OUTBOX_SQL = `
  CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    delivered_at    INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
  );
  CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL;
  CREATE INDEX outbox_channel_created ON outbox(channel, created_at);
`;

export const migration: Migration = {
  version: 4,
  name: 'notification outbox',
  sql: OUTBOX_SQL,
};
