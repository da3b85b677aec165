import type { Migration } from './migration.js';

export const migration: Migration = {
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
};
