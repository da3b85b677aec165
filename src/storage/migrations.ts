/**
 * Numbered, forward-only schema migrations. The database's `user_version` is
 * the number of the last one applied. Never edit a shipped migration: add the
 * next one. Before migrating a non-empty database the file is backed up.
 */
import { OUTBOX_SQL } from '../notify/outbox-schema.js';
import { ACTIONS_TABLE_SQL } from '../pipeline/policy/actions.js';
import { migration7 } from './migration-7-actions.js';

export const migrations: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'core tables',
    sql: `
      CREATE TABLE domains (
        id          INTEGER PRIMARY KEY,
        domain      TEXT NOT NULL UNIQUE,
        is_wildcard INTEGER NOT NULL DEFAULT 0 CHECK (is_wildcard IN (0, 1)),
        ssl_enabled INTEGER NOT NULL DEFAULT 0 CHECK (ssl_enabled IN (0, 1)),
        ssl_cert_path TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE TABLE backends (
        id        INTEGER PRIMARY KEY,
        name      TEXT NOT NULL UNIQUE,
        domain_id INTEGER UNIQUE REFERENCES domains(id) ON DELETE CASCADE,
        kind      TEXT NOT NULL DEFAULT 'default' CHECK (kind IN ('default', 'http_check', 'long_lived')),
        health_check_path TEXT,
        balance   TEXT NOT NULL DEFAULT 'roundrobin' CHECK (balance IN ('roundrobin', 'leastconn', 'source'))
      );
      CREATE TABLE servers (
        id         INTEGER PRIMARY KEY,
        backend_id INTEGER NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        address    TEXT NOT NULL,
        port       INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
        check_enabled INTEGER NOT NULL DEFAULT 1,
        backup     INTEGER NOT NULL DEFAULT 0,
        weight     INTEGER NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 256),
        maxconn    INTEGER CHECK (maxconn IS NULL OR maxconn > 0),
        tls        INTEGER NOT NULL DEFAULT 0,
        tls_verify INTEGER NOT NULL DEFAULT 1,
        tls_ca_file TEXT,
        tls_sni    TEXT,
        state      TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'drain', 'maint')),
        UNIQUE (backend_id, name)
      );
      CREATE TABLE blocked_ips (
        id         INTEGER PRIMARY KEY,
        ip_address TEXT NOT NULL UNIQUE,
        reason     TEXT,
        blocked_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        blocked_by TEXT,
        expires_at TEXT
      );
      CREATE INDEX blocked_ips_expiry ON blocked_ips(expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE trusted_ips (
        id         INTEGER PRIMARY KEY,
        ip_address TEXT NOT NULL,
        scope      TEXT NOT NULL DEFAULT 'real_ip' CHECK (scope IN ('real_ip', 'source')),
        note       TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        UNIQUE (ip_address, scope)
      );
      CREATE TABLE trusted_proxies (
        id         INTEGER PRIMARY KEY,
        cidr       TEXT NOT NULL UNIQUE,
        note       TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT,
        detail  TEXT,
        result  TEXT NOT NULL CHECK (result IN ('ok', 'failed')),
        error   TEXT
      );
      CREATE INDEX audit_log_at ON audit_log(at);
    `,
  },
  {
    version: 2,
    name: 'certificates',
    sql: `
      CREATE TABLE certificates (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        names       TEXT NOT NULL,
        file        TEXT NOT NULL UNIQUE,
        issuer      TEXT,
        serial      TEXT,
        not_before  TEXT,
        not_after   TEXT,
        key_type    TEXT NOT NULL,
        challenge   TEXT NOT NULL CHECK (challenge IN ('http-01', 'dns-01', 'dns-01-manual', 'self-signed')),
        order_url   TEXT,
        last_attempt_at TEXT,
        last_error  TEXT,
        failures    INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
    `,
  },
  {
    version: 3,
    name: 'incidents and source positions',
    sql: `
      CREATE TABLE incidents (
        id            INTEGER PRIMARY KEY,
        rule          TEXT NOT NULL,
        category      TEXT NOT NULL,
        severity      TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
        subject_type  TEXT NOT NULL,
        subject_value TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
        first_seen    TEXT NOT NULL,
        last_seen     TEXT NOT NULL,
        count         INTEGER NOT NULL,
        escalate      INTEGER NOT NULL DEFAULT 0,
        actions       TEXT NOT NULL DEFAULT '[]',
        samples       TEXT NOT NULL DEFAULT '[]',
        resolved_at   TEXT,
        updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE UNIQUE INDEX incidents_open ON incidents(rule, subject_type, subject_value) WHERE status = 'open';
      CREATE INDEX incidents_last_seen ON incidents(last_seen);
      CREATE TABLE source_positions (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
    `,
  },
  {
    version: 4,
    name: 'notification outbox',
    sql: OUTBOX_SQL,
  },
  {
    version: 5,
    name: 'remediation actions',
    sql: ACTIONS_TABLE_SQL,
  },
  {
    version: 6,
    name: 'analyses; expired blocks as an action status',
    // SQLite cannot change a CHECK in place: the actions table is rebuilt
    // (the self-reference names the new table so the rename carries it over).
    sql: `
      CREATE TABLE actions_v6 (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        incident_id      INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
        action           TEXT    NOT NULL CHECK (action IN ('block_ip','unblock_ip','trust_ip','untrust_ip','disable_server','enable_server','drain_server','reload_haproxy','restart_haproxy','notify')),
        target           TEXT,
        ttl_s            INTEGER CHECK (ttl_s IS NULL OR ttl_s > 0),
        expires_at       INTEGER,
        decided_by       TEXT    NOT NULL CHECK (decided_by IN ('rule','llm','person')),
        actor            TEXT,
        mode             TEXT    NOT NULL CHECK (mode IN ('enforce','propose','dry-run','refused')),
        status           TEXT    NOT NULL CHECK (status IN ('proposed','approved','rejected','done','failed','reverted','recorded','refused','expired')),
        reason           TEXT    NOT NULL,
        analysis_summary TEXT,
        result           TEXT,
        reviewed_by      TEXT,
        reverts_id       INTEGER REFERENCES actions_v6(id) ON DELETE SET NULL,
        CHECK (action <> 'block_ip' OR mode = 'refused' OR ttl_s IS NOT NULL OR decided_by = 'person')
      );
      INSERT INTO actions_v6 SELECT id, created_at, updated_at, incident_id, action, target, ttl_s, expires_at, decided_by, actor, mode, status, reason, analysis_summary, result, reviewed_by, reverts_id FROM actions;
      DROP TABLE actions;
      ALTER TABLE actions_v6 RENAME TO actions;
      CREATE INDEX actions_created ON actions (created_at);
      CREATE INDEX actions_status ON actions (status, created_at);
      CREATE INDEX actions_target ON actions (action, target, created_at);
      CREATE INDEX actions_incident ON actions (incident_id);
      CREATE INDEX actions_expiry ON actions (expires_at) WHERE status = 'done' AND expires_at IS NOT NULL;

      CREATE TABLE analyses (
        id              INTEGER PRIMARY KEY,
        incident_id     INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
        created_at      INTEGER NOT NULL,
        status          TEXT    NOT NULL CHECK (status IN ('analysed','skipped','failed')),
        reason          TEXT,
        trigger         TEXT    NOT NULL,
        model           TEXT,
        cached          INTEGER NOT NULL DEFAULT 0,
        escalated       INTEGER NOT NULL DEFAULT 0,
        summary         TEXT,
        likely_cause    TEXT,
        severity        TEXT,
        confidence      REAL,
        recommendations TEXT    NOT NULL DEFAULT '[]',
        dropped         TEXT    NOT NULL DEFAULT '[]'
      );
      CREATE INDEX analyses_incident ON analyses (incident_id, id);
      -- The open digest of a channel is looked up on every notification.
      CREATE INDEX outbox_open_digest ON outbox (channel, id) WHERE kind = 'digest' AND delivered_at IS NULL AND attempts = 0;
    `,
  },
  migration7,
];
